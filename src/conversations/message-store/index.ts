import type { DatabaseHandle } from '../../db/index.js'
import type { WriteBatcher } from '../../db/write-batch.js'
import { kyselyMessageStore } from './kysely.js'
import { sqliteMessageStore } from './sqlite-inline.js'
import { workerMessageStore } from './sqlite-worker.js'
import type { CommitObserver, MessageStore } from './types.js'

// Where a message is appended. Three implementations of one interface, one chosen per database:
// - a SQLite file: a writer thread with its own connection (sqlite-worker.ts, writer.worker.js),
//   small batches inline when the thread is idle;
// - SQLite in memory (no other thread can open it): inline on the main connection (sqlite-inline.ts);
// - PostgreSQL: Kysely through the shared group-commit batcher (kysely.ts).
// The two SQLite ones run the same prepared statements (sqlite-appender.js, plain checked
// JavaScript because the thread starts without a TypeScript loader).

export { appendMessage, kyselyMessageStore } from './kysely.js'
export { sqliteMessageStore } from './sqlite-inline.js'
export { workerMessageStore } from './sqlite-worker.js'
export type { AppendInput, AppendResult, CommitObserver, MessageStore } from './types.js'

export function openMessageStore(
  database: DatabaseHandle,
  writes: WriteBatcher,
  busyTimeoutMs: number,
  onCommit?: CommitObserver,
): MessageStore {
  if (database.sqlitePath)
    return workerMessageStore(database.sqlitePath, busyTimeoutMs, onCommit, database.sqlite)
  if (database.sqlite) return sqliteMessageStore(database.sqlite, onCommit)
  return kyselyMessageStore(database.db, writes)
}
