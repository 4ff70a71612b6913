import { Worker } from 'node:worker_threads'
import type SqliteDatabase from 'better-sqlite3'
import { commitHere, settleBatch, toError, type Waiter } from './batches.js'
import { type AppendOutcome, createAppender } from './sqlite-appender.js'
import { createSearchIndexer, INDEX_CHUNK_ROWS } from './sqlite-search-index.js'
import type { CommitObserver, MessageStore } from './types.js'

/** Batches up to this size commit on the main connection when the writer thread is idle. */
const LOCAL_BATCH_MAX = 16

/** How long the writer stays idle before it brings the search index up to date. */
const INDEX_WHEN_IDLE_MS = 200

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
  /** How long the writer stays idle before it brings the search index up to date. */
  indexWhenIdleMs = INDEX_WHEN_IDLE_MS,
): MessageStore {
  const here = local && {
    sqlite: local,
    appendBatch: createAppender(local),
    searchIndex: createSearchIndexer(local),
  }
  let worker: Worker | undefined
  let queue: Waiter[] = []
  let inFlight: { id: number; batch: Waiter[]; searches?: IndexWaiter[] } | undefined
  let nextId = 1
  let scheduled = false
  const idle: Array<() => void> = []
  // The search index: wanted by searches waiting on it, and after an idle spell with new messages
  // (`idleWork`), when it is also merged a step at a time.
  let indexWanted = false
  let searches: IndexWaiter[] = []
  let tidyWanted = false
  /** The last turn of the writer thread indexed and left more to do. */
  let lastWasIndex = false
  let idleWork = false
  let idleTimer: NodeJS.Timeout | undefined

  const start = (): Worker => {
    const thread = new Worker(WORKER_URL, {
      workerData: { path, busyTimeoutMs },
      execArgv: profilingFlags(process.execArgv),
    })
    thread.on('message', (reply: WorkerReply) => {
      const current = inFlight
      if (!current || current.id !== reply.id) return
      inFlight = undefined
      if (current.searches) {
        if (reply.type === 'failed') {
          const error = toError(reply.code, reply.message)
          for (const search of current.searches) search.reject(error)
        } else if (reply.type === 'indexed' && !reply.caughtUp) {
          // More to index: another turn after the batches waiting now; the searches wait for it.
          searches.push(...current.searches)
          indexWanted = true
          lastWasIndex = true
        } else {
          for (const search of current.searches) search.resolve()
          // More to merge: another step after the next idle spell.
          if (reply.type === 'indexed' && reply.merged) idleWork = true
        }
      } else if (reply.type === 'done') {
        onCommit?.(current.batch.length, reply.ms, 'writer')
        settleBatch(current.batch, reply.outcomes)
        idleWork = true
      } else if (reply.type === 'failed') {
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
      const waiting = inFlight?.searches ?? []
      inFlight = undefined
      const reason = toError('SQLITE_IOERR', `message writer stopped: ${describe(error)}`)
      for (const item of failed) item.reject(reason)
      for (const search of waiting) search.reject(reason)
      sendNext()
    }
    thread.on('error', lost)
    thread.on('exit', (code) => lost(`exit ${code}`))
    return thread
  }

  /**
   * Brings the search index up to date, and when idle merges a step of its segments: on the
   * writer thread if it runs or much is to be done (a rebuild must not stall this thread), else
   * here. False when this connection is busy.
   */
  const runIndex = (): boolean => {
    const waiting = searches
    // A waiting search is answered first; merging waits for the next idle spell.
    const tidy = tidyWanted && waiting.length === 0
    const behind = here ? here.searchIndex.lag() : Number.POSITIVE_INFINITY
    const onThread = worker !== undefined || !here || behind > INDEX_CHUNK_ROWS
    if (!onThread && (behind > 0 || tidy) && here?.sqlite.inTransaction) return false
    searches = []
    indexWanted = false
    tidyWanted = false
    if (tidy) idleWork = false
    if (behind === 0 && !tidy) {
      for (const search of waiting) search.resolve()
      return true
    }
    if (onThread) {
      inFlight = { id: nextId++, batch: [], searches: waiting }
      worker ??= start()
      worker.ref()
      worker.postMessage({ type: 'index', id: inFlight.id, tidy })
      return true
    }
    const { searchIndex } = here
    try {
      searchIndex.catchUp()
      for (const search of waiting) search.resolve()
      // More to merge: another step after the next idle spell.
      if (tidy && searchIndex.tidy()) idleWork = true
    } catch (error) {
      for (const search of waiting) search.reject(error)
    }
    return true
  }

  // Idle means no append asked for during the whole spell, not an empty queue for a moment
  // (between two batches of a steady load the queue is often empty).
  let lastAppendAt = 0
  const armIdleTimer = (ms: number) => {
    idleTimer = setTimeout(() => {
      idleTimer = undefined
      const quietFor = performance.now() - lastAppendAt
      if (quietFor < indexWhenIdleMs) return armIdleTimer(indexWhenIdleMs - quietFor)
      indexWanted = true
      tidyWanted = true
      if (!inFlight && !scheduled) sendNext()
    }, ms)
    idleTimer.unref()
  }
  const whenIdle = () => {
    if (idleWork && !idleTimer) armIdleTimer(indexWhenIdleMs)
  }

  const sendNext = () => {
    if (inFlight) return
    // A waiting search goes before the next batch (under steady load the queue never empties),
    // but a long catch-up takes turns with the batches.
    const indexFirst = searches.length > 0 && !lastWasIndex
    lastWasIndex = false
    if (indexWanted && (indexFirst || queue.length === 0)) {
      if (runIndex()) return sendNext()
      setImmediate(sendNext)
      return
    }
    if (queue.length === 0) {
      // An idle writer does not keep the process alive; one holding a batch does (see below).
      worker?.unref()
      for (const resolve of idle.splice(0)) resolve()
      whenIdle()
      return
    }
    const batch = queue
    queue = []
    // A small batch while the thread is idle costs less here than two thread hops (light load);
    // the thread takes over as batches grow. Never inside a Kysely transaction on this connection.
    if (here && batch.length <= LOCAL_BATCH_MAX && !here.sqlite.inTransaction) {
      commitHere(here.appendBatch, batch, onCommit)
      idleWork = true
      sendNext()
      return
    }
    inFlight = { id: nextId++, batch }
    worker ??= start()
    worker.ref()
    worker.postMessage({ type: 'batch', id: inFlight.id, inputs: batch.map((item) => item.input) })
  }

  // A search index behind since the last run (or rebuilt by a migration) catches up soon after
  // boot; one up to date waits for new messages.
  if (!here || here.searchIndex.lag() > 0) {
    idleWork = true
    whenIdle()
  }

  // The thread starts with the first batch too large for the main connection, not at boot: a
  // server at rest does not hold its isolate (about 9 MB), and light traffic never needs it.
  return {
    append(input) {
      lastAppendAt = performance.now()
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
    searchable() {
      if (here && here.searchIndex.lag() === 0) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        searches.push({ resolve, reject })
        indexWanted = true
        if (!inFlight && !scheduled) sendNext()
      })
    },
    drain() {
      if (!inFlight && queue.length === 0 && !scheduled) return Promise.resolve()
      return new Promise((resolve) => idle.push(resolve))
    },
    async close() {
      clearTimeout(idleTimer)
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

type IndexWaiter = { resolve: () => void; reject: (error: unknown) => void }

type WorkerReply =
  | { type: 'done'; id: number; outcomes: AppendOutcome[]; ms: number }
  | { type: 'indexed'; id: number; caughtUp: boolean; merged: boolean }
  | { type: 'failed'; id: number; code: string | undefined; message: string }
