import type { Kysely, Transaction } from 'kysely'
import type { Database } from './types.js'

type Work<T> = (trx: Transaction<Database>) => Promise<T>

interface Pending {
  work: Work<unknown>
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

export interface BatchStats {
  batches: number
  writes: number
  lastBatchSize: number
  lastCommitMs: number
}

/**
 * Group commit: the writes asked for in one event-loop turn share one transaction, so a burst of
 * messages costs one fsync instead of one each. Each write runs in its own savepoint, so one that
 * fails is rolled back alone and the others still commit. Callers are resolved only after COMMIT.
 */
export class WriteBatcher {
  private queue: Pending[] = []
  private flushing: Promise<void> | undefined
  private scheduled = false
  readonly stats: BatchStats = { batches: 0, writes: 0, lastBatchSize: 0, lastCommitMs: 0 }
  /** Called after each batch commits, for metrics. */
  onCommit: ((size: number, ms: number) => void) | undefined

  constructor(private readonly db: Kysely<Database>) {}

  run<T>(work: Work<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject })
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      // One batch at a time; what arrives meanwhile forms the next batch.
      this.flushing = (this.flushing ?? Promise.resolve()).then(() => this.flush())
    })
  }

  private async flush(): Promise<void> {
    const batch = this.queue
    this.queue = []
    if (batch.length === 0) return
    const started = performance.now()
    const results: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = []
    try {
      const trx = await this.db.startTransaction().execute()
      try {
        for (const item of batch) {
          if (batch.length === 1) {
            results.push({ ok: true, value: await item.work(trx) })
            continue
          }
          const savepoint = await trx.savepoint('write').execute()
          try {
            const value = await item.work(savepoint)
            await savepoint.releaseSavepoint('write').execute()
            results.push({ ok: true, value })
          } catch (error) {
            await savepoint.rollbackToSavepoint('write').execute()
            results.push({ ok: false, error })
          }
        }
        await trx.commit().execute()
      } catch (error) {
        await trx
          .rollback()
          .execute()
          .catch(() => {})
        throw error
      }
    } catch (error) {
      // A single write's own failure, or the transaction could not commit: nothing of it happened.
      for (const item of batch) item.reject(error)
      return
    }
    const ms = performance.now() - started
    this.stats.batches++
    this.stats.writes += batch.length
    this.stats.lastBatchSize = batch.length
    this.stats.lastCommitMs = ms
    this.onCommit?.(batch.length, ms)
    batch.forEach((item, i) => {
      const result = results[i]
      if (result.ok) item.resolve(result.value)
      else item.reject(result.error)
    })
  }

  /** Resolves when everything queued so far has committed or failed. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled) await new Promise((resolve) => setImmediate(resolve))
    await this.flushing
  }
}
