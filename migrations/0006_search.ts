import { type Kysely, sql } from 'kysely'
import { isPostgres } from '../src/db/schema-helpers.js'

// Full-text search over live messages. The index is kept by the database itself (SQLite
// triggers, a PostgreSQL expression index), so it commits in the same transaction as the message
// write whichever code path writes it.

/**
 * Scripts written without spaces between words: such text is also indexed by trigrams, so any
 * 3+ character piece of a run matches. Kept equal to CJK_CHARS in src/search/query.ts.
 */
export const CJK_GLOB = '*[ก-๿぀-ヿ㐀-䶿一-鿿가-힯豈-﫿]*'

// SQLite: two contentless FTS5 tables. `messages_fts` has the words (case and Latin accents
// folded) and, in `conv`, a token for the message's conversation so a search can be limited to
// the searcher's conversations inside the index. `messages_cjk` holds trigrams of the messages
// that have CJK (or Thai) text. Deleted messages are taken out (their tombstone has no text).
const sqliteStatements = [
  `CREATE VIRTUAL TABLE messages_fts USING fts5(body, conv, content='', contentless_delete=1,
     tokenize='unicode61 remove_diacritics 2')`,
  `CREATE VIRTUAL TABLE messages_cjk USING fts5(body, content='', contentless_delete=1,
     tokenize='trigram remove_diacritics 1')`,
  `CREATE TRIGGER messages_search_insert AFTER INSERT ON messages WHEN new.deleted_at IS NULL BEGIN
     INSERT INTO messages_fts(rowid, body, conv) VALUES (new.id, new.content, 'c' || new.conversation_id);
     INSERT INTO messages_cjk(rowid, body) SELECT new.id, new.content WHERE new.content GLOB '${CJK_GLOB}';
   END`,
  `CREATE TRIGGER messages_search_update AFTER UPDATE OF content, deleted_at ON messages BEGIN
     DELETE FROM messages_fts WHERE rowid = old.id;
     DELETE FROM messages_cjk WHERE rowid = old.id;
     INSERT INTO messages_fts(rowid, body, conv)
       SELECT new.id, new.content, 'c' || new.conversation_id WHERE new.deleted_at IS NULL;
     INSERT INTO messages_cjk(rowid, body)
       SELECT new.id, new.content WHERE new.deleted_at IS NULL AND new.content GLOB '${CJK_GLOB}';
   END`,
  `CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
     DELETE FROM messages_fts WHERE rowid = old.id;
     DELETE FROM messages_cjk WHERE rowid = old.id;
   END`,
  // Messages stored before this migration.
  `INSERT INTO messages_fts(rowid, body, conv)
     SELECT id, content, 'c' || conversation_id FROM messages WHERE deleted_at IS NULL`,
  `INSERT INTO messages_cjk(rowid, body)
     SELECT id, content FROM messages WHERE deleted_at IS NULL AND content GLOB '${CJK_GLOB}'`,
]

// The Latin letters with diacritics SQLite's unicode61 tokenizer folds (those that decompose to a
// base letter and marks), and what they fold to.
const ACCENTED = 'àáâãäåāăąǎçćĉċčďèéêëēĕėęěĝğġģĥìíîïĩīĭįǐĵķĺļľñńņňòóôõöōŏőǒŕŗřśŝşšţťùúûüũūŭůűųǔŵýÿŷźżž'
const PLAIN = 'aaaaaaaaaacccccdeeeeeeeeegggghiiiiiiiiijklllnnnnooooooooorrrssssttuuuuuuuuuuuwyyyzzz'

// PostgreSQL: no extension (extensions are per database, and test runs share one): the folding is
// an immutable SQL function, the words a GIN index on the 'simple' text-search vector of the folded
// text, for live messages only.
const postgresStatements = [
  `CREATE OR REPLACE FUNCTION parley_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
     AS $$ SELECT translate(lower(t), '${ACCENTED}', '${PLAIN}') $$`,
  `CREATE INDEX messages_search ON messages USING gin (to_tsvector('simple'::regconfig, parley_fold(content)))
     WHERE deleted_at IS NULL`,
]

export async function up(db: Kysely<unknown>): Promise<void> {
  if (ACCENTED.length !== PLAIN.length) throw new Error('folding table out of step')
  const statements = isPostgres(db) ? postgresStatements : sqliteStatements
  for (const statement of statements) await sql.raw(statement).execute(db)
  // Files by conversation, newest first: the file search reads the searcher's conversations.
  await db.schema.createIndex('files_conversation').on('files').columns(['conversation_id', 'id']).execute()
}
