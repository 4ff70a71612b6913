import type { Kysely } from 'kysely'
import { isRetryableConflict } from '../../db/index.js'
import { type BatchRow, insertBatch, lockSenders } from '../../db/queries/message-batches.js'
import { findByClientId } from '../../db/queries/messages.js'
import type { Database, MessageRow } from '../../db/types.js'
import { MAX_ATTEMPTS, type WriteBatcher } from '../../db/write-batch.js'
import { notFound } from '../../errors.js'
import { nowIso } from '../../time.js'
import { kyselyMessageStore } from './kysely.js'
import type { AppendInput, AppendResult, MessageStore } from './types.js'

// PostgreSQL: the messages of one moment as one transaction of two statements (message-batches.ts),
// whatever their number, instead of several statements per message in a savepoint each. The
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

const pairKey = (input: { conversationId: number; senderId: number }) =>
  `${input.conversationId}:${input.senderId}`
const clientKey = (senderId: number | string, clientId: string) => `${senderId}\u0000${clientId}`

/** What each waiter gets from the rows of its batch: its message, or its own error. */
function settle(batch: Waiter[], allowed: Set<string>, rows: BatchRow[]): Array<AppendResult | undefined> {
  const byClientId = new Map<string, BatchRow>()
  // Messages without a client_id, per conversation, in change order (the order they were asked for).
  const anonymous = new Map<number, BatchRow[]>()
  for (const row of rows) {
    if (row.client_id !== null) byClientId.set(clientKey(row.sender_id, row.client_id), row)
    else {
      const list = anonymous.get(Number(row.conversation_id)) ?? []
      list.push(row)
      anonymous.set(Number(row.conversation_id), list)
    }
  }
  for (const list of anonymous.values()) list.sort((a, b) => Number(a.change_seq) - Number(b.change_seq))
  return batch.map(({ input }) => {
    let row: BatchRow | undefined
    if (input.clientId !== null) row = byClientId.get(clientKey(input.senderId, input.clientId))
    else if (allowed.has(pairKey(input))) row = anonymous.get(input.conversationId)?.shift()
    if (!row) return undefined
    const { created, ...message } = row
    return { row: message as MessageRow, created }
  })
}

class Lane {
  private queue: Waiter[] = []
  private running = false

  constructor(
    private readonly db: Kysely<Database>,
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
    let outcome: { allowed: Set<string>; rows: BatchRow[] }
    try {
      outcome = await this.write(batch)
    } catch (error) {
      if (isRetryableConflict(error)) {
        // A deadlock or serialization failure is nobody's fault: the batch runs again.
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
    const results = settle(batch, outcome.allowed, outcome.rows)
    for (let i = 0; i < batch.length; i++) {
      const result = results[i]
      const { input, resolve, reject } = batch[i]
      if (result) resolve(result)
      else if (input.clientId !== null && outcome.allowed.has(pairKey(input))) {
        // Its client_id was committed by another transaction while this one ran: the first wins.
        findByClientId(this.db, input.senderId, input.clientId).then(
          (first) => (first ? resolve({ row: first, created: false }) : reject(notFound('Conversation'))),
          reject,
        )
      } else reject(notFound('Conversation'))
    }
  }

  private write(batch: Waiter[]): Promise<{ allowed: Set<string>; rows: BatchRow[] }> {
    const inputs = batch.map((waiter) => waiter.input)
    const pairs = [...new Map(inputs.map((input) => [pairKey(input), input])).values()]
    return this.db.transaction().execute(async (trx) => {
      const allowed = await lockSenders(trx, pairs)
      const flags = inputs.map((input) => allowed.has(pairKey(input)))
      const rows = await insertBatch(trx, inputs, flags, nowIso())
      return { allowed, rows }
    })
  }
}

/** PostgreSQL's message store: lanes of batches as set operations; uploads through `writes`. */
export function pgMessageStore(
  db: Kysely<Database>,
  writes: WriteBatcher,
  onCommit?: (size: number, ms: number) => void,
): MessageStore {
  const lanes = Array.from({ length: LANES }, () => new Lane(db, onCommit))
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
