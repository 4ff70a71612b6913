import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import {
  anyDue,
  claimDue,
  deleteDelivery,
  insertDeliveries,
  nextDueAt,
  rescheduleDelivery,
} from '../db/queries/push-deliveries.js'
import { anyFreeOutbox, claimOutbox, deleteOutbox, outboxMessage } from '../db/queries/push-outbox.js'
import { dropSubscription, subscriptionsByIds, subscriptionsOf } from '../db/queries/push-subscriptions.js'
import type { Database, PushDeliveryRow, PushSubscriptionRow } from '../db/types.js'
import { pushPayload } from './payload.js'
import { notificationTargets } from './recipients.js'
import { type PushOutcome, type SendOptions, sendPush } from './sender.js'

// The push outbox, after the commit: (1) a message's outbox row becomes one delivery per device of
// each member it notifies who has no open socket on any node; (2) due deliveries are sent, and
// kept with a later attempt time until the push service takes them. Each step claims its rows
// with an atomic UPDATE (a lease), so of several nodes exactly one works on a row, and a node that
// died mid-way leaves rows that another (or itself, restarted) takes up when the lease ends.

const BATCH = 50
const MIN_DELAY_MS = 10

export interface DispatcherOptions {
  db: Kysely<Database>
  config: Config
  log: FastifyBaseLogger
  /** Whether the user has an open socket on any node. */
  isOnline(userId: number): boolean
  send: SendOptions
  /** Tests: replaces the HTTP send. */
  sender?: typeof sendPush
}

export class PushDispatcher {
  private running: Promise<void> | undefined
  private again = false
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  private readonly leaseMs: number

  constructor(private readonly options: DispatcherOptions) {
    // Longer than one send can take, shorter than the 10 s a restarted node has to resume.
    this.leaseMs = options.config.pushRequestTimeoutMs * 2
  }

  /** Look for work now (a message committed, the node started, a retry is due). */
  kick(): void {
    if (this.stopped) return
    if (this.running) {
      this.again = true
      return
    }
    clearTimeout(this.timer)
    this.running = this.run().finally(() => {
      this.running = undefined
      this.schedule()
    })
  }

  /** Stops after the round in progress; what is left stays in the database for the next start. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  private async run(): Promise<void> {
    do {
      this.again = false
      try {
        while ((await this.expand()) === BATCH && !this.stopped) {}
        while ((await this.sendDue()) === BATCH && !this.stopped) {}
      } catch (error) {
        this.options.log.error({ err: error }, 'push dispatch failed')
      }
    } while (this.again && !this.stopped)
  }

  /** The next round: when the earliest retry is due, or at the poll interval (others' work, leases). */
  private async schedule(): Promise<void> {
    if (this.stopped) return
    let delay = this.options.config.pushPollMs
    try {
      const due = await nextDueAt(this.options.db, new Date().toISOString())
      // At least a few milliseconds: a row due now may be one another node is about to claim.
      if (due) delay = Math.max(MIN_DELAY_MS, Math.min(delay, Date.parse(due) - Date.now()))
    } catch {}
    if (this.stopped || this.running) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.kick(), delay)
    this.timer.unref()
  }

  private lease(): { now: string; until: string } {
    const now = Date.now()
    return { now: new Date(now).toISOString(), until: new Date(now + this.leaseMs).toISOString() }
  }

  private async expand(): Promise<number> {
    const { now, until } = this.lease()
    // Every message wakes every node: most find nothing, and must not queue for the write lock.
    if (!(await anyFreeOutbox(this.options.db, now))) return 0
    const ids = await claimOutbox(this.options.db, now, until, BATCH)
    for (const id of ids) {
      try {
        await this.expandOne(id)
      } catch (error) {
        // The claim lapses and the row is tried again (inserting deliveries twice adds nothing).
        this.options.log.error({ err: error, messageId: id }, 'push outbox row failed')
      }
    }
    return ids.length
  }

  private async expandOne(messageId: number): Promise<void> {
    const { db } = this.options
    const message = await outboxMessage(db, messageId)
    if (!message || message.deleted_at !== null) return deleteOutbox(db, messageId)
    const row = {
      ...message,
      id: Number(message.id),
      conversation_id: Number(message.conversation_id),
      sender_id: Number(message.sender_id),
    }
    const targets = await notificationTargets(db, row)
    const offline = targets
      .map((target) => target.user_id)
      .filter((userId) => userId !== row.sender_id && !this.options.isOnline(userId))
    const devices = await subscriptionsOf(db, offline)
    const payload = JSON.stringify(pushPayload(row))
    const now = new Date().toISOString()
    await db.transaction().execute(async (trx) => {
      await insertDeliveries(
        trx,
        devices.map((device) => ({ messageId, subscriptionId: Number(device.id), payload, now })),
      )
      await deleteOutbox(trx, messageId)
    })
  }

  private async sendDue(): Promise<number> {
    const { db } = this.options
    const { now, until } = this.lease()
    if (!(await anyDue(db, now))) return 0
    const rows = await claimDue(db, now, until, BATCH)
    if (rows.length === 0) return 0
    const devices = await subscriptionsByIds(db, [...new Set(rows.map((r) => Number(r.subscription_id)))])
    const byId = new Map(devices.map((d) => [Number(d.id), d]))
    await Promise.all(rows.map((row) => this.sendOne(row, byId.get(Number(row.subscription_id)))))
    return rows.length
  }

  private async sendOne(row: PushDeliveryRow, device: PushSubscriptionRow | undefined): Promise<void> {
    const { db, config, log } = this.options
    const id = Number(row.id)
    if (!device) return deleteDelivery(db, id)
    const send = this.options.sender ?? sendPush
    const outcome: PushOutcome = await send(device, row.payload, this.options.send)
    if (outcome.kind === 'sent') return deleteDelivery(db, id)
    if (outcome.kind === 'gone') {
      log.info({ subscriptionId: device.id, status: outcome.status }, 'push subscription dropped')
      return dropSubscription(db, Number(device.id))
    }
    if (outcome.kind === 'refused') {
      log.warn({ subscriptionId: device.id, status: outcome.status }, 'push refused by the push service')
      return deleteDelivery(db, id)
    }
    const attempts = Number(row.attempts) + 1
    const backoff = Math.min(config.pushRetryBaseMs * 2 ** (attempts - 1), config.pushRetryMaxMs)
    const delay = Math.min(outcome.retryAfterMs ?? backoff, config.pushRetryMaxMs)
    const at = Date.now() + delay
    if (at > Date.parse(row.created_at) + config.pushGiveUpMs) {
      log.warn({ subscriptionId: device.id, attempts }, 'push given up')
      return deleteDelivery(db, id)
    }
    await rescheduleDelivery(db, id, new Date(at).toISOString(), attempts)
  }
}
