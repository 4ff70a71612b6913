import type { Config } from '../config.js'
import { RateLimitedError } from '../errors.js'
import { TokenBuckets } from './token-buckets.js'

// What one account may do per unit of time, whichever way it comes (HTTP or socket): every write
// calls one of the spend functions below before doing anything, so each rule exists once.

type Budget = 'write' | 'creation' | 'upload'

/** The config that sets the budgets. */
export type LimitsConfig = Pick<Config, 'writeRateLimit' | 'createRateLimit' | 'uploadRateLimit'>

/**
 * The per-account budgets, in this node's memory:
 * - write: every write (messages, edits, deletes, uploads, creations, member changes),
 *   WRITE_RATE_LIMIT a second with bursts of twice that;
 * - creation: conversations and projects created and members added (each costs the people added
 *   a place in their lists), CREATE_RATE_LIMIT a minute with bursts of three times that;
 * - upload: uploads, UPLOAD_RATE_LIMIT a minute with bursts of three times that.
 */
export class AccountLimits {
  private readonly budgets: Record<Budget, TokenBuckets>

  constructor(config: LimitsConfig) {
    this.budgets = {
      write: new TokenBuckets(config.writeRateLimit, config.writeRateLimit * 2),
      creation: new TokenBuckets(config.createRateLimit / 60, config.createRateLimit * 3),
      upload: new TokenBuckets(config.uploadRateLimit / 60, config.uploadRateLimit * 3),
    }
  }

  /** A write: refused with RATE_LIMITED past WRITE_RATE_LIMIT. */
  spendWrite(userId: number): void {
    this.spend(userId, ['write'], 'Too many writes from this account')
  }

  /** Creating a conversation or a project, or adding a member: a write, and a creation. */
  spendCreation(userId: number): void {
    this.spend(userId, ['write', 'creation'], 'Too many conversations, projects or members added')
  }

  /** An upload: a write, and an upload. */
  spendUpload(userId: number): void {
    this.spend(userId, ['write', 'upload'], 'Too many uploads from this account')
  }

  /** Takes a token from each budget named, or from none of them if one is empty. */
  private spend(userId: number, names: Budget[], what: string): void {
    const now = Date.now()
    let wait = 0
    for (const name of names) wait = Math.max(wait, this.budgets[name].waitSeconds(userId, 1, now))
    if (wait > 0) {
      const seconds = Math.ceil(wait)
      throw new RateLimitedError(seconds, `${what}: try again in ${seconds} s`)
    }
    for (const name of names) this.budgets[name].take(userId, 1, now)
  }
}
