// @ts-check
// The SQLite message writer, in its own thread: statements and the fsync of each group commit run
// here, so the main thread goes on reading and fanning out frames meanwhile. It owns a second
// connection to the same database file (WAL: readers on the main connection are not blocked).
//
// in:  { type: 'batch', id, inputs: AppendInput[] } | { type: 'close' }
// out: { type: 'done', id, outcomes: AppendOutcome[], ms } | { type: 'failed', id, code, message }

import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { createAppender } from './sqlite-appender.js'

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort)
const sqlite = new Database(workerData.path)
// Per connection: an acked write is on disk; wait for the main connection's writes, never fail at once.
sqlite.pragma('synchronous = FULL')
sqlite.pragma('foreign_keys = ON')
sqlite.pragma(`busy_timeout = ${Number(workerData.busyTimeoutMs)}`)
const appendBatch = createAppender(sqlite)

port.on('message', (message) => {
  if (message.type === 'close') {
    sqlite.close()
    port.close()
    return
  }
  const started = performance.now()
  try {
    const outcomes = appendBatch(message.inputs)
    port.postMessage({ type: 'done', id: message.id, outcomes, ms: performance.now() - started })
  } catch (error) {
    const { code, message: text } = /** @type {{ code?: string, message: string }} */ (error)
    port.postMessage({ type: 'failed', id: message.id, code, message: text })
  }
})
