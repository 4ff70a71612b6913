import { type Kysely, sql } from 'kysely'
import { isPostgres } from '../src/db/schema-helpers.js'

// SQLite: the search index is rebuilt in a new shape and kept after commit instead of in the
// message's own transaction.
// - After commit: FTS5 writes a new index segment (and merges older ones) at every commit, which
//   at group-commit sizes more than doubled the writer's work per message; a chunk of thousands of
//   rows costs about a tenth of that per row. `search_progress.indexed_upto` is the newest message
//   id in the index, `search_reindex` the indexed messages edited since; a search first brings the
//   index up to the newest commit (src/conversations/message-store/sqlite-search-index.js), so
//   whatever has committed is found as it is now. An edit or deletion takes the old text out of
//   the index in its own transaction.
// - Words per conversation: each word is indexed prefixed with the message's conversation id
//   (`12xmeeting`, column `scoped`), so a search asks for its words in the searcher's
//   conversations only and reads nothing of anyone else's: a word common elsewhere costs no more
//   than a rare one.
// The new tables start empty; the writer fills them from the oldest message up, in chunks, and a
// search waits for that. PostgreSQL keeps its expression index as rows are written: no change.
const statements = [
  'DROP TRIGGER messages_search_insert',
  'DROP TRIGGER messages_search_update',
  'DROP TRIGGER messages_search_delete',
  'DROP TABLE messages_fts',
  'DROP TABLE messages_cjk',
  `CREATE VIRTUAL TABLE messages_fts USING fts5(scoped, content='', contentless_delete=1,
     tokenize='unicode61 remove_diacritics 2')`,
  `CREATE VIRTUAL TABLE messages_cjk USING fts5(body, content='', contentless_delete=1,
     tokenize='trigram remove_diacritics 1')`,
  'CREATE TABLE search_progress (id INTEGER PRIMARY KEY CHECK (id = 1), indexed_upto INTEGER NOT NULL)',
  'INSERT INTO search_progress (id, indexed_upto) VALUES (1, 0)',
  'CREATE TABLE search_reindex (message_id INTEGER PRIMARY KEY)',
  // A message above indexed_upto is not in the index yet: the indexer reads it as it is then.
  `CREATE TRIGGER messages_search_update AFTER UPDATE OF content, deleted_at ON messages
   WHEN old.id <= (SELECT indexed_upto FROM search_progress WHERE id = 1) BEGIN
     DELETE FROM messages_fts WHERE rowid = old.id;
     DELETE FROM messages_cjk WHERE rowid = old.id;
     INSERT OR IGNORE INTO search_reindex (message_id) SELECT new.id WHERE new.deleted_at IS NULL;
   END`,
  `CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
     DELETE FROM messages_fts WHERE rowid = old.id;
     DELETE FROM messages_cjk WHERE rowid = old.id;
     DELETE FROM search_reindex WHERE message_id = old.id;
   END`,
]

export async function up(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) return
  for (const statement of statements) await sql.raw(statement).execute(db)
}
