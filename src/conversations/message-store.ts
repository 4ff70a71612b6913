import { Worker } from 'node:worker_threads'
import type SqliteDatabase from 'better-sqlite3'
import type { Kysely, Transaction } from 'kysely'
import { isUniqueViolation } from '../db/index.js'
import type { Database, MessageRow } from '../db/types.js'
import type { BatchNotes, WriteBatcher } from '../db/write-batch.js'
import { notFound } from '../errors.js'
import { type AppendOutcome, createAppender, NO_CONVERSATION } from './message-appender.js'
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
  /** After drain: releases what the store holds (the writer thread). */
  close(): Promise<void>
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
      const write = async (trx: Transaction<Database>, notes: BatchNotes) => {
        // Checked inside the transaction: a retry may share a batch with its first try.
        const first =
          input.clientId === null ? undefined : await findByClientId(trx, input.senderId, input.clientId)
        if (first) return { row: first, created: false }
        return { row: await appendMessage(trx, notes, input), created: true }
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
    async close() {},
  }
}

/** Told of every commit: its size, its time, and the thread that ran it. */
export type CommitObserver = (size: number, ms: number, thread: 'main' | 'writer') => void

/** An outcome from the appender (message-appender.js) as the caller sees it. */
function settle(outcome: AppendOutcome): AppendResult {
  if (outcome.ok) return { row: outcome.row as unknown as MessageRow, created: outcome.created }
  throw toError(outcome.code, outcome.message)
}

function toError(code: string | undefined, message: string): Error {
  if (code === NO_CONVERSATION) return notFound('Conversation')
  // Keeps the driver's code (SQLITE_BUSY, SQLITE_FULL, ...): it decides between 503 and 500.
  return Object.assign(new Error(message), { code })
}

type Waiter = { input: AppendInput; resolve: (r: AppendResult) => void; reject: (e: unknown) => void }

/** Each waiter of a committed batch gets its message, or the error its own append failed with. */
function settleBatch(batch: Waiter[], outcomes: AppendOutcome[]): void {
  batch.forEach((item, i) => {
    try {
      item.resolve(settle(outcomes[i]))
    } catch (error) {
      item.reject(error)
    }
  })
}

/** Runs a batch on this thread's connection; the waiters are settled before it returns. */
function commitHere(
  appendBatch: (inputs: AppendInput[]) => AppendOutcome[],
  batch: Waiter[],
  onCommit?: CommitObserver,
): void {
  const started = performance.now()
  let outcomes: AppendOutcome[]
  try {
    outcomes = appendBatch(batch.map((item) => item.input))
  } catch (error) {
    for (const item of batch) item.reject(error)
    return
  }
  onCommit?.(batch.length, performance.now() - started, 'main')
  settleBatch(batch, outcomes)
}

/**
 * SQLite in this thread (an in-memory database, which no other thread can open): every message
 * of one event-loop turn in one transaction.
 */
export function sqliteMessageStore(sqlite: SqliteDatabase.Database, onCommit?: CommitObserver): MessageStore {
  const appendBatch = createAppender(sqlite)
  let queue: Waiter[] = []
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
    commitHere(appendBatch, batch, onCommit)
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
    async close() {},
  }
}

/** Batches up to this size commit on the main connection when the writer thread is idle. */
const LOCAL_BATCH_MAX = 16

const WORKER_URL = new URL('./message-writer.worker.js', import.meta.url)

/**
 * SQLite on a file: the writes and their fsync run in a worker thread with its own connection.
 * One batch is in the worker at a time; what is asked for meanwhile forms the next batch, so
 * batches grow with the load (group commit) while the main thread keeps fanning out.
 */
export function workerMessageStore(
  path: string,
  busyTimeoutMs: number,
  onCommit?: CommitObserver,
  local?: SqliteDatabase.Database,
): MessageStore {
  const here = local && { sqlite: local, appendBatch: createAppender(local) }
  let worker: Worker | undefined
  let queue: Waiter[] = []
  let inFlight: { id: number; batch: Waiter[] } | undefined
  let nextId = 1
  let scheduled = false
  const idle: Array<() => void> = []

  const start = (): Worker => {
    const thread = new Worker(WORKER_URL, {
      workerData: { path, busyTimeoutMs },
      execArgv: profilingFlags(process.execArgv),
    })
    thread.on('message', (reply: WorkerReply) => {
      const current = inFlight
      if (!current || current.id !== reply.id) return
      inFlight = undefined
      if (reply.type === 'done') {
        onCommit?.(current.batch.length, reply.ms, 'writer')
        settleBatch(current.batch, reply.outcomes)
      } else {
        const error = toError(reply.code, reply.message)
        for (const item of current.batch) item.reject(error)
      }
      sendNext()
    })
    // The thread died (out of memory, a native fault): what it held fails as "unavailable", so the
    // client retries with the same client_id (deduped if it did commit); the next batch starts a
    // new thread.
    const lost = (error: unknown) => {
      if (worker !== thread) return
      worker = undefined
      const failed = inFlight?.batch ?? []
      inFlight = undefined
      const reason = toError('SQLITE_IOERR', `message writer stopped: ${describe(error)}`)
      for (const item of failed) item.reject(reason)
      sendNext()
    }
    thread.on('error', lost)
    thread.on('exit', (code) => lost(`exit ${code}`))
    return thread
  }

  const sendNext = () => {
    if (inFlight) return
    if (queue.length === 0) {
      // An idle writer does not keep the process alive; one holding a batch does (see below).
      worker?.unref()
      for (const resolve of idle.splice(0)) resolve()
      return
    }
    const batch = queue
    queue = []
    // A small batch while the thread is idle costs less here than two thread hops (light load);
    // the thread takes over as batches grow. Never inside a Kysely transaction on this connection.
    if (here && batch.length <= LOCAL_BATCH_MAX && !here.sqlite.inTransaction) {
      commitHere(here.appendBatch, batch, onCommit)
      sendNext()
      return
    }
    inFlight = { id: nextId++, batch }
    worker ??= start()
    worker.ref()
    worker.postMessage({ type: 'batch', id: inFlight.id, inputs: batch.map((item) => item.input) })
  }

  // The thread starts with the first batch too large for the main connection, not at boot: a
  // server at rest does not hold its isolate (about 9 MB), and light traffic never needs it.
  return {
    append(input) {
      return new Promise((resolve, reject) => {
        queue.push({ input, resolve, reject })
        // Everything asked for in this event-loop turn goes in one batch.
        if (!scheduled && !inFlight) {
          scheduled = true
          setImmediate(() => {
            scheduled = false
            sendNext()
          })
        }
      })
    },
    drain() {
      if (!inFlight && queue.length === 0 && !scheduled) return Promise.resolve()
      return new Promise((resolve) => idle.push(resolve))
    },
    async close() {
      const thread = worker
      worker = undefined
      if (!thread) return
      const exited = new Promise((resolve) => thread.once('exit', resolve))
      thread.ref()
      thread.postMessage({ type: 'close' })
      await exited
    },
  }
}

/**
 * The thread starts without the main thread's flags (its TypeScript loader would slow the start),
 * except `--cpu-prof` and `--cpu-prof-dir`, so a profiled server (`npm run bench --
 * --profile-server`) also writes the writer thread's profile.
 */
function profilingFlags(argv: string[]): string[] {
  const flags: string[] = []
  argv.forEach((arg, i) => {
    if (arg === '--cpu-prof' || arg.startsWith('--cpu-prof-dir=')) flags.push(arg)
    else if (arg === '--cpu-prof-dir' && i + 1 < argv.length) flags.push(arg, argv[i + 1])
  })
  return flags
}

/** A thread's error arrives as whatever survived the structured clone: an Error, an object, a string. */
function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) return String(error.message)
  return typeof error === 'string' ? error : JSON.stringify(error)
}

type WorkerReply =
  | { type: 'done'; id: number; outcomes: AppendOutcome[]; ms: number }
  | { type: 'failed'; id: number; code: string | undefined; message: string }
