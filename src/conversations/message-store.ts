import type SqliteDatabase from 'better-sqlite3'
import type { Kysely, Transaction } from 'kysely'
import { nowIso } from '../context.js'
import { isUniqueViolation } from '../db/index.js'
import type { Database, MessageRow } from '../db/types.js'
import type { WriteBatcher } from '../db/write-batch.js'
import { notFound } from '../errors.js'
import { appendMessage } from './messages.js'

export interface AppendInput {
  conversationId: number
  senderId: number
  content: string
  clientId: string | null
}

export interface AppendResult {
  row: MessageRow
  /** false when the sender's client_id named an earlier message, which is returned instead. */
  created: boolean
}

/** Appends messages with group commit and client_id dedupe; resolves only after COMMIT. */
export interface MessageStore {
  append(input: AppendInput): Promise<AppendResult>
  /** Resolves when every append asked for so far has committed or failed. */
  drain(): Promise<void>
}

const findByClientId = (db: Kysely<Database>, senderId: number, clientId: string) =>
  db
    .selectFrom('messages')
    .selectAll()
    .where('sender_id', '=', senderId)
    .where('client_id', '=', clientId)
    .executeTakeFirst()

/** Any dialect, through Kysely and the shared WriteBatcher. */
export function kyselyMessageStore(db: Kysely<Database>, writes: WriteBatcher): MessageStore {
  return {
    async append(input) {
      const write = async (trx: Transaction<Database>) => {
        // Checked inside the transaction: a retry may share a batch with its first try.
        const first =
          input.clientId === null ? undefined : await findByClientId(trx, input.senderId, input.clientId)
        if (first) return { row: first, created: false }
        return { row: await appendMessage(trx, input), created: true }
      }
      return writes.run(write, { key: input.conversationId }).catch(async (error) => {
        // The same client_id committed meanwhile in another transaction (another node): the first wins.
        const first =
          input.clientId !== null &&
          isUniqueViolation(error) &&
          (await findByClientId(db, input.senderId, input.clientId))
        if (first) return { row: first, created: false }
        throw error
      })
    },
    drain: () => writes.drain(),
  }
}

/**
 * SQLite's hot path: the same writes as appendMessage, as statements prepared once, and every
 * message of one event-loop turn in one synchronous transaction (one fsync). Each message runs in
 * its own savepoint, so one failure does not undo the others.
 */
export function sqliteMessageStore(
  sqlite: SqliteDatabase.Database,
  onCommit?: (size: number, ms: number) => void,
): MessageStore {
  const byClientId = sqlite.prepare('SELECT * FROM messages WHERE sender_id = ? AND client_id = ?')
  const bump = sqlite.prepare(
    'UPDATE conversations SET change_seq = change_seq + 1, last_activity_at = ? WHERE id = ? RETURNING change_seq',
  )
  const insert = sqlite.prepare(
    `INSERT INTO messages (conversation_id, sender_id, content, client_id, created_at, change_seq)
     VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
  )

  const appendOne = sqlite.transaction((input: AppendInput): AppendResult => {
    if (input.clientId !== null) {
      const first = byClientId.get(input.senderId, input.clientId) as MessageRow | undefined
      if (first) return { row: first, created: false }
    }
    const now = nowIso()
    const conversation = bump.get(now, input.conversationId) as { change_seq: number } | undefined
    if (!conversation) throw notFound('Conversation')
    const row = insert.get(
      input.conversationId,
      input.senderId,
      input.content,
      input.clientId,
      now,
      conversation.change_seq,
    ) as MessageRow
    return { row, created: true }
  })
  type Outcome = { ok: true; value: AppendResult } | { ok: false; error: unknown }
  const appendAll = sqlite.transaction((inputs: AppendInput[]): Outcome[] =>
    inputs.map((input) => {
      try {
        return { ok: true, value: appendOne(input) }
      } catch (error) {
        return { ok: false, error }
      }
    }),
  )

  let queue: Array<{ input: AppendInput; resolve: (r: AppendResult) => void; reject: (e: unknown) => void }> =
    []
  let scheduled = false
  const flush = () => {
    // A Kysely transaction is open on this connection (awaiting between its statements): wait.
    if (sqlite.inTransaction) {
      setImmediate(flush)
      return
    }
    scheduled = false
    const batch = queue
    queue = []
    let outcomes: Outcome[]
    const started = performance.now()
    try {
      outcomes = appendAll.immediate(batch.map((item) => item.input))
    } catch (error) {
      for (const item of batch) item.reject(error)
      return
    }
    onCommit?.(batch.length, performance.now() - started)
    batch.forEach((item, i) => {
      const outcome = outcomes[i]
      if (outcome.ok) item.resolve(outcome.value)
      else item.reject(outcome.error)
    })
  }

  return {
    append(input) {
      return new Promise((resolve, reject) => {
        queue.push({ input, resolve, reject })
        if (!scheduled) {
          scheduled = true
          setImmediate(flush)
        }
      })
    },
    async drain() {
      while (queue.length > 0) await new Promise((resolve) => setImmediate(resolve))
    },
  }
}
