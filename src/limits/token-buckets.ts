/**
 * A token bucket per key (an account id): `ratePerSecond` tokens flow in, up to `burst`; a spend
 * takes tokens or, when there are too few, takes none and says how long until there are enough.
 * Buckets live in this process's memory: with several nodes each node keeps its own.
 */
export class TokenBuckets {
  private readonly buckets = new Map<number, { tokens: number; at: number }>()
  private lastSweep = 0

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
  ) {}

  /** Tokens available to `key` now. */
  available(key: number, now = Date.now()): number {
    const bucket = this.buckets.get(key)
    if (!bucket) return this.burst
    return Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond)
  }

  /** Seconds until `key` has `cost` tokens (0 if it has them now). */
  waitSeconds(key: number, cost = 1, now = Date.now()): number {
    const missing = cost - this.available(key, now)
    return missing <= 0 ? 0 : missing / this.ratePerSecond
  }

  /** Takes `cost` tokens; the caller checked they are there (see waitSeconds). */
  take(key: number, cost = 1, now = Date.now()): void {
    this.buckets.set(key, { tokens: this.available(key, now) - cost, at: now })
    this.sweep(now)
  }

  /**
   * A full bucket is the same as no bucket: once a minute the full ones are dropped, so memory
   * follows the accounts active in the last moments, not every account ever seen.
   */
  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return
    this.lastSweep = now
    for (const key of this.buckets.keys()) {
      if (this.available(key, now) >= this.burst) this.buckets.delete(key)
    }
  }

  /** Accounts with a bucket that is not full (for tests of the sweep). */
  get size(): number {
    return this.buckets.size
  }
}
