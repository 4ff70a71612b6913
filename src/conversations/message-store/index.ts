import type { DatabaseHandle } from '../../db/index.js'
import type { WriteBatcher } from '../../db/write-batch.js'
import { pgMessageStore } from './pg-batches.js'
import { sqliteMessageStore } from './sqlite-inline.js'
import { workerMessageStore } from './sqlite-worker.js'
import type { MessageStore } from './types.js'

// Where a message is appended. Three implementations of one interface, one chosen per database:
// - a SQLite file: a writer thread with its own connection (sqlite-worker.ts, writer.worker.js),
//   small batches inline when the thread is idle;
// - SQLite in memory (no other thread can open it): inline on the main connection (sqlite-inline.ts);
// - PostgreSQL: batches as set operations in a few lanes (pg-batches.ts); uploads through the
//   shared group-commit batcher (kysely.ts).
// The two SQLite ones run the same prepared statements (sqlite-appender.js, plain checked
// JavaScript because the thread starts without a TypeScript loader).

export { appendMessage, kyselyMessageStore } from './kysely.js'
export { pgMessageStore } from './pg-batches.js'
export { sqliteMessageStore } from './sqlite-inline.js'
export { workerMessageStore } from './sqlite-worker.js'
export type { AppendInput, AppendResult, CommitObserver, MessageStore } from './types.js'

export function openMessageStore(
  database: DatabaseHandle,
  writes: WriteBatcher,
  busyTimeoutMs: number,
  /** Told of every commit; the thread is given on SQLite only. */
  onCommit?: (size: number, ms: number, thread?: 'main' | 'writer') => void,
): MessageStore {
  if (database.sqlitePath)
    return workerMessageStore(database.sqlitePath, busyTimeoutMs, onCommit, database.sqlite)
  if (database.sqlite) return sqliteMessageStore(database.sqlite, onCommit)
  return pgMessageStore(database.db, writes, onCommit)
}
