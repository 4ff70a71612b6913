import type { Kysely } from 'kysely'
import { isRetryableConflict, isUniqueViolation, postgresPoolOf } from '../../db/index.js'
import { appendBatch, type BatchOutcome, type PreparedQueryRunner } from '../../db/queries/message-batches.js'
import type { Database } from '../../db/types.js'
import { MAX_ATTEMPTS, type WriteBatcher } from '../../db/write-batch.js'
import { notFound } from '../../errors.js'
import { nowIso } from '../../time.js'
import { kyselyMessageStore } from './kysely.js'
import type { AppendInput, AppendResult, MessageStore } from './types.js'

// PostgreSQL: the messages of one moment as one statement (message-batches.ts), whatever their
// number: one round trip, a prepared statement run by name, no transaction around it. The
// conversations are spread over a few lanes (conversation id modulo LANES), each with one batch in
// flight on its own pool connection: batches of different conversations commit side by side, and
// one conversation's messages stay in one lane, in the order they were asked for. Uploads (a file
// row and a quota check with their message) take the shared batcher's path (kysely.ts).

/** Lanes of a node, each one connection and one batch at a time. */
export const LANES = 4

interface Waiter {
  input: AppendInput
  resolve: (result: AppendResult) => void
  reject: (error: unknown) => void
  attempts: number
}

const clientKey = (senderId: number | string, clientId: string) => `${senderId}\u0000${clientId}`

class Lane {
  private queue: Waiter[] = []
  private running = false

  constructor(
    private readonly runner: PreparedQueryRunner,
    private readonly onCommit?: (size: number, ms: number) => void,
  ) {}

  push(waiter: Waiter): void {
    this.queue.push(waiter)
    if (!this.running) {
      this.running = true
      setImmediate(() => void this.loop())
    }
  }

  get idle(): boolean {
    return !this.running && this.queue.length === 0
  }

  /** One batch at a time; what arrives meanwhile forms the next. */
  private async loop(): Promise<void> {
    while (this.queue.length > 0) {
      // A repeated (sender, client_id) waits for the next batch, where it finds the first one stored.
      const seen = new Set<string>()
      const batch: Waiter[] = []
      const later: Waiter[] = []
      for (const waiter of this.queue) {
        const { senderId, clientId } = waiter.input
        const key = clientId === null ? undefined : clientKey(senderId, clientId)
        if (key !== undefined && seen.has(key)) later.push(waiter)
        else {
          if (key !== undefined) seen.add(key)
          batch.push(waiter)
        }
      }
      this.queue = later
      await this.commit(batch)
    }
    this.running = false
  }

  private async commit(batch: Waiter[]): Promise<void> {
    const started = performance.now()
    let outcomes: BatchOutcome[]
    try {
      outcomes = await appendBatch(
        this.runner,
        batch.map((waiter) => waiter.input),
        nowIso(),
      )
    } catch (error) {
      if (isRetryableConflict(error) || isUniqueViolation(error)) {
        // A deadlock, a serialization failure or a client_id another node committed while the
        // batch waited for its locks is nobody's fault: the batch runs again (and finds that one).
        const again = batch.filter((waiter) => {
          waiter.attempts++
          if (waiter.attempts < MAX_ATTEMPTS) return true
          waiter.reject(error)
          return false
        })
        this.queue.unshift(...again)
        return
      }
      if (batch.length === 1) {
        batch[0].reject(error)
        return
      }
      // Something in one message failed the batch: each alone, in order, so it fails by itself.
      for (const waiter of batch) await this.commit([waiter])
      return
    }
    this.onCommit?.(batch.length, performance.now() - started)
    for (let i = 0; i < batch.length; i++) {
      const { row, created } = outcomes[i]
      if (row) batch[i].resolve({ row, created })
      else batch[i].reject(notFound('Conversation'))
    }
  }
}

/** PostgreSQL's message store: lanes of batches as set operations; uploads through `writes`. */
export function pgMessageStore(
  db: Kysely<Database>,
  writes: WriteBatcher,
  onCommit?: (size: number, ms: number) => void,
): MessageStore {
  const pool = postgresPoolOf(db)
  if (!pool) throw new Error('pgMessageStore: not a PostgreSQL database')
  const runner = pool as unknown as PreparedQueryRunner
  const lanes = Array.from({ length: LANES }, () => new Lane(runner, onCommit))
  const uploads = kyselyMessageStore(db, writes)
  return {
    append(input) {
      if (input.attachment) return uploads.append(input)
      return new Promise((resolve, reject) => {
        lanes[input.conversationId % LANES].push({ input, resolve, reject, attempts: 0 })
      })
    },
    // PostgreSQL's search index is kept as rows are written.
    async searchable() {},
    async drain() {
      while (!lanes.every((lane) => lane.idle)) await new Promise((resolve) => setImmediate(resolve))
      await uploads.drain()
    },
    async close() {},
  }
}
