import { Worker } from 'node:worker_threads'
import type SqliteDatabase from 'better-sqlite3'
import { commitHere, settleBatch, toError, type Waiter } from './batches.js'
import { type AppendOutcome, createAppender } from './sqlite-appender.js'
import type { CommitObserver, MessageStore } from './types.js'

/** Batches up to this size commit on the main connection when the writer thread is idle. */
const LOCAL_BATCH_MAX = 16

const WORKER_URL = new URL('./writer.worker.js', import.meta.url)

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
