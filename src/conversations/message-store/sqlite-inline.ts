import type SqliteDatabase from 'better-sqlite3'
import { commitHere, type Waiter } from './batches.js'
import { createAppender } from './sqlite-appender.js'
import { createSearchIndexer } from './sqlite-search-index.js'
import type { CommitObserver, MessageStore } from './types.js'

/**
 * SQLite in this thread (an in-memory database, which no other thread can open): every message
 * of one event-loop turn in one transaction. No fsync to save here, so the search index is brought
 * up to date right after each batch, in a transaction of its own.
 */
export function sqliteMessageStore(sqlite: SqliteDatabase.Database, onCommit?: CommitObserver): MessageStore {
  const appendBatch = createAppender(sqlite)
  const searchIndex = createSearchIndexer(sqlite)
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
    searchIndex.catchUp()
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
    async searchable() {
      if (searchIndex.lag() === 0) return
      while (sqlite.inTransaction) await new Promise((resolve) => setImmediate(resolve))
      searchIndex.catchUp()
    },
    async drain() {
      while (queue.length > 0) await new Promise((resolve) => setImmediate(resolve))
    },
    async close() {},
  }
}
