// @ts-check
// The SQLite message writer, in its own thread: statements and the fsync of each group commit run
// here, so the main thread goes on reading and fanning out frames meanwhile. It owns a second
// connection to the same database file (WAL: readers on the main connection are not blocked).
// It also brings the search index up to date (sqlite-search-index.js): on its own once a chunk
// of new messages has committed, and when asked (the writer went idle, or a search waits); when
// idle it also merges the index's segments a step at a time (`tidy`).
//
// in:  { type: 'batch', id, inputs: AppendInput[] } | { type: 'index', id, tidy } | { type: 'close' }
// out: { type: 'done', id, outcomes: AppendOutcome[], ms } | { type: 'indexed', id, caughtUp, merged }
//    | { type: 'failed', id, code, message }

import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { createAppender } from './sqlite-appender.js'
import { createSearchIndexer, INDEX_CHUNK_ROWS, INDEX_CHUNKS_PER_TURN } from './sqlite-search-index.js'

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort)
const sqlite = new Database(workerData.path)
// Per connection: an acked write is on disk; wait for the main connection's writes, never fail at once.
sqlite.pragma('synchronous = FULL')
sqlite.pragma('foreign_keys = ON')
sqlite.pragma(`busy_timeout = ${Number(workerData.busyTimeoutMs)}`)
const appendBatch = createAppender(sqlite)
const searchIndex = createSearchIndexer(sqlite)
/** Messages this thread committed since it last indexed. */
let unindexed = 0

port.on('message', (message) => {
  if (message.type === 'close') {
    sqlite.close()
    port.close()
    return
  }
  const started = performance.now()
  try {
    if (message.type === 'index') {
      // A turn at a time: messages waiting to be written go between turns of a long catch-up.
      const caughtUp = searchIndex.catchUp(INDEX_CHUNKS_PER_TURN)
      unindexed = 0
      const merged = caughtUp && message.tidy ? searchIndex.tidy() : false
      port.postMessage({ type: 'indexed', id: message.id, caughtUp, merged })
      return
    }
    const outcomes = appendBatch(message.inputs)
    const ms = performance.now() - started
    port.postMessage({ type: 'done', id: message.id, outcomes, ms })
    // After the reply, so the batch's senders hear of their commit first. Under sustained load the
    // writer is never idle: a chunk here keeps the index from falling behind by more than that.
    unindexed += message.inputs.length
    if (unindexed >= INDEX_CHUNK_ROWS) {
      unindexed = 0
      stepIndex()
    }
  } catch (error) {
    const { code, message: text } = /** @type {{ code?: string, message: string }} */ (error)
    port.postMessage({ type: 'failed', id: message.id, code, message: text })
  }
})

/** A chunk that fails (the lock busy past busy_timeout) is indexed by the next step instead. */
function stepIndex() {
  try {
    searchIndex.step()
  } catch {}
}
