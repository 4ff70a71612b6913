import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import nodemailer, { type Transporter } from 'nodemailer'
import type { Config } from '../config.js'
import {
  claimDigest,
  digestCandidates,
  emailState,
  markEmailVerified,
  missedMessages,
  releaseDigest,
  setEmail,
  setEmailOn,
  turnEmailOff,
} from '../db/queries/user-emails.js'
import type { Database } from '../db/types.js'
import { badRequest } from '../errors.js'
import { digestMail, verifyMail } from './digest.js'
import { makeToken, readToken } from './tokens.js'

// Email digests: an account with a verified address gets ONE email of the direct messages and
// mentions it has left unread for EMAIL_DELAY_MINUTES, then none until something newer is missed
// that long. Each account's mark (`email_digested_through`) moves by compare-and-set, so of several
// nodes one sends each digest.

export interface EmailSettings {
  email: string | null
  verified: boolean
  notifications: boolean
  /** Whether this server sends email at all (SMTP_URL set). */
  available: boolean
}

const VERIFY_TTL_MS = 24 * 3600_000
const UNSUBSCRIBE_TTL_MS = 365 * 24 * 3600_000
const DIGEST_MAX = 20

export class EmailService {
  private readonly transport: Transporter | undefined
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> | undefined
  private stopped = false

  constructor(
    private readonly db: Kysely<Database>,
    private readonly config: Config,
    private readonly secret: string,
    private readonly log: FastifyBaseLogger,
  ) {
    this.transport = config.smtpUrl ? nodemailer.createTransport(config.smtpUrl) : undefined
  }

  get enabled(): boolean {
    return this.transport !== undefined
  }

  /** A new address (or none): unverified until the link sent to it is followed. */
  async change(userId: number, email: string | null): Promise<void> {
    if (email !== null && !this.transport) throw badRequest('This server sends no email (no SMTP_URL)')
    await setEmail(this.db, userId, email)
    if (email === null || !this.transport) return
    const token = makeToken(this.secret, {
      purpose: 'verify',
      userId,
      email,
      expires: Date.now() + VERIFY_TTL_MS,
    })
    const mail = verifyMail(`${this.config.publicUrl}/email/verify?token=${token}`)
    await this.transport.sendMail({ from: this.config.emailFrom, to: email, ...mail })
  }

  /** What the account's owner sees of it: the address, whether confirmed, whether digests are on. */
  async settings(userId: number): Promise<EmailSettings> {
    const row = await emailState(this.db, userId)
    return {
      email: row?.email ?? null,
      verified: Boolean(row?.email && row.email_verified_at),
      notifications: !row?.email_off_at,
      available: this.enabled,
    }
  }

  /** Digests on or off for the account's address (there must be one). */
  async setNotifications(userId: number, on: boolean): Promise<EmailSettings> {
    const current = await this.settings(userId)
    if (current.email === null) throw badRequest('Add an email address first')
    await setEmailOn(this.db, userId, on, new Date().toISOString())
    return { ...current, notifications: on }
  }

  /** The address the link confirmed; undefined for a link that is invalid, expired or superseded. */
  async verify(token: string): Promise<string | undefined> {
    const claims = readToken(this.secret, token, 'verify')
    if (!claims) return undefined
    const done = await markEmailVerified(this.db, claims.userId, claims.email, new Date().toISOString())
    return done ? claims.email : undefined
  }

  /** The address the digest went to; undefined for a link that is invalid or expired. */
  async unsubscribe(token: string): Promise<string | undefined> {
    const claims = readToken(this.secret, token, 'unsubscribe')
    if (!claims) return undefined
    return (await turnEmailOff(this.db, claims.userId, new Date().toISOString())) ? claims.email : undefined
  }

  start(): void {
    if (!this.transport) return
    this.tick()
  }

  private tick(): void {
    if (this.stopped) return
    this.running = this.sendDue()
      .catch((error) => this.log.error({ err: error }, 'email digests failed'))
      .finally(() => {
        if (this.stopped) return
        this.timer = setTimeout(() => this.tick(), this.config.emailPollMs)
        this.timer.unref()
      })
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
    this.transport?.close()
  }

  /** Sends every digest due now; returns how many were sent. */
  async sendDue(): Promise<number> {
    const transport = this.transport
    if (!transport) return 0
    const now = new Date()
    const dueBefore = new Date(now.getTime() - this.config.emailDelayMs).toISOString()
    let sent = 0
    for (const user of await digestCandidates(this.db, dueBefore)) {
      const id = Number(user.id)
      const claimed = now.toISOString()
      if (!(await claimDigest(this.db, id, user.email_digested_through, claimed))) continue
      try {
        const messages = await missedMessages(
          this.db,
          id,
          user.email_digested_through ?? '',
          claimed,
          DIGEST_MAX,
        )
        if (messages.length === 0 || !user.email) continue
        const unsubscribe = makeToken(this.secret, {
          purpose: 'unsubscribe',
          userId: id,
          email: user.email,
          expires: now.getTime() + UNSUBSCRIBE_TTL_MS,
        })
        const mail = digestMail(
          messages.map((m) => ({ ...m, conversation_id: Number(m.conversation_id) })),
          {
            page: this.config.publicUrl,
            unsubscribe: `${this.config.publicUrl}/email/unsubscribe?token=${unsubscribe}`,
          },
        )
        await transport.sendMail({
          from: this.config.emailFrom,
          to: user.email,
          ...mail,
          headers: {
            'List-Unsubscribe': `<${this.config.publicUrl}/email/unsubscribe?token=${unsubscribe}>`,
          },
        })
        sent++
      } catch (error) {
        // Not sent: the next round tries again.
        await releaseDigest(this.db, id, claimed, user.email_digested_through)
        this.log.warn({ err: error, userId: id }, 'email digest not sent')
      }
    }
    return sent
  }
}
