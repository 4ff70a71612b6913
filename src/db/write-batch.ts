import type { Kysely, Transaction } from 'kysely'
import { isRetryableConflict } from './index.js'
import type { Database } from './types.js'

/** Work a batch does once, just before COMMIT, with the notes its committed writes left. */
export type BatchFinisher<N> = (trx: Transaction<Database>, notes: N[]) => Promise<void>

/**
 * Lets a write leave a note for its batch's finisher instead of doing the same small update once
 * per write (unread counts: one UPDATE per conversation per batch). A write that fails leaves none.
 */
export interface BatchNotes {
  add<N>(finisher: BatchFinisher<N>, note: N): void
}

type Work<T> = (trx: Transaction<Database>, notes: BatchNotes) => Promise<T>
type Note = { finisher: BatchFinisher<unknown>; note: unknown }

interface Pending {
  work: Work<unknown>
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  /** Lock-order key (a conversation id): a batch runs its keyed writes in ascending key order. */
  key: number | undefined
  attempts: number
}

export interface WriteOptions {
  /**
   * The row this write locks first (a conversation id). Batches run keyed writes in ascending
   * key order, so two nodes' batches take their locks in the same order and do not deadlock.
   */
  key?: number
}

/** A write that lost a deadlock or a serialization conflict runs again, this many times in all. */
export const MAX_ATTEMPTS = 5

export interface BatchStats {
  batches: number
  writes: number
  lastBatchSize: number
  lastCommitMs: number
  /** Writes run again after a deadlock or serialization failure (PostgreSQL, several nodes). */
  retries: number
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
  readonly stats: BatchStats = { batches: 0, writes: 0, lastBatchSize: 0, lastCommitMs: 0, retries: 0 }
  /** Called after each batch commits, for metrics. */
  onCommit: ((size: number, ms: number) => void) | undefined

  constructor(private readonly db: Kysely<Database>) {}

  run<T>(work: Work<T>, options: WriteOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        work,
        resolve: resolve as (value: unknown) => void,
        reject,
        key: options.key,
        attempts: 0,
      })
      this.schedule()
    })
  }

  /** Puts writes that lost a lock conflict back in the queue, or fails them after MAX_ATTEMPTS. */
  private retry(items: Pending[], error: unknown): void {
    for (const item of items) {
      item.attempts++
      if (item.attempts >= MAX_ATTEMPTS) {
        item.reject(error)
        continue
      }
      this.stats.retries++
      this.queue.push(item)
    }
    if (this.queue.length > 0) this.schedule()
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
    // Keyed writes first, in key order (a stable sort keeps one conversation's writes in the
    // order they were asked for); unkeyed ones after them, in their own order.
    const rank = (item: Pending) => (item.key === undefined ? Number.MAX_SAFE_INTEGER : item.key)
    const batch = this.queue.sort((a, b) => rank(a) - rank(b))
    this.queue = []
    if (batch.length === 0) return
    const started = performance.now()
    const results: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = []
    try {
      const trx = await this.db.startTransaction().execute()
      const kept = new Map<BatchFinisher<unknown>, unknown[]>()
      const keep = (notes: Note[]) => {
        for (const { finisher, note } of notes) {
          const list = kept.get(finisher) ?? []
          list.push(note)
          kept.set(finisher, list)
        }
      }
      try {
        for (const item of batch) {
          const notes: Note[] = []
          const collect: BatchNotes = {
            add: (finisher, note) => notes.push({ finisher: finisher as BatchFinisher<unknown>, note }),
          }
          if (batch.length === 1) {
            results.push({ ok: true, value: await item.work(trx, collect) })
            keep(notes)
            continue
          }
          const savepoint = await trx.savepoint('write').execute()
          try {
            const value = await item.work(savepoint, collect)
            await savepoint.releaseSavepoint('write').execute()
            results.push({ ok: true, value })
            keep(notes)
          } catch (error) {
            await savepoint.rollbackToSavepoint('write').execute()
            results.push({ ok: false, error })
          }
        }
        for (const [finisher, notes] of kept) await finisher(trx, notes)
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
      // A deadlock or serialization failure is nobody's fault: the whole batch runs again.
      if (isRetryableConflict(error)) return this.retry(batch, error)
      for (const item of batch) item.reject(error)
      return
    }
    const ms = performance.now() - started
    this.stats.batches++
    this.stats.writes += batch.length
    this.stats.lastBatchSize = batch.length
    this.stats.lastCommitMs = ms
    this.onCommit?.(batch.length, ms)
    const again: Pending[] = []
    let conflict: unknown
    batch.forEach((item, i) => {
      const result = results[i]
      if (result.ok) item.resolve(result.value)
      else if (isRetryableConflict(result.error)) {
        // Rolled back to its savepoint alone: it runs again in the next batch.
        again.push(item)
        conflict = result.error
      } else item.reject(result.error)
    })
    if (again.length > 0) this.retry(again, conflict)
  }

  /** Resolves when everything queued so far has committed or failed. */
  async drain(): Promise<void> {
    for (;;) {
      while (this.queue.length > 0 || this.scheduled) await new Promise((resolve) => setImmediate(resolve))
      await this.flushing
      // A batch that lost a lock conflict queued its writes again.
      if (this.queue.length === 0 && !this.scheduled) return
    }
  }
}
