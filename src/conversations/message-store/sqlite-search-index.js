// @ts-check
// SQLite: brings the search index (messages_fts, messages_cjk; migration 0011) up to the newest
// committed message, a chunk of rows per transaction, and re-indexes edited messages. Messages
// are not indexed in their own transaction: FTS5 writes a segment per commit, which at
// group-commit sizes cost the writer more than the message itself; in chunks of thousands a row
// costs about a tenth. Runs on whichever connection holds the writes at the time (the writer
// thread, or the main connection when the thread is idle), like sqlite-appender.js, and is the
// other place besides src/db/queries/ where SQL is written.

/** Scripts written without spaces between words: also indexed by trigrams (messages_cjk). */
export const CJK_TEXT = /[\u0E00-\u0E7F\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF]/u

/** The same scripts as a GLOB pattern, for SQL: as migration 0006 wrote it (its last range starts at U+8C48, the NFC form of U+F900); test/search-index.test.ts checks. */
export const CJK_GLOB = '*[\u0E01-\u0E7F\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uAC00-\uD7AF\u8C48-\uFAFF]*'

const NOT_WORD = /[^\p{L}\p{N}\p{M}]+/u

/**
 * The words of `text`, split on anything but letters, digits and marks: how search splits a query
 * and the indexed text alike.
 * @param {string} text
 */
export function wordsOf(text) {
  return text.split(NOT_WORD).filter((word) => word !== '')
}

/**
 * The words of `text` as the `scoped` column holds them: each prefixed with the conversation id
 * (`12xmeeting`). Queries build their terms with this same function, so both sides split alike;
 * the tokenizer then folds case and accents of the whole token.
 * @param {number} conversationId
 * @param {string} text
 */
export function scopedWords(conversationId, text) {
  return wordsOf(text)
    .map((word) => `${conversationId}x${word}`)
    .join(' ')
}

/** Rows per indexing transaction: bounds how long the index holds the write lock (~20 ms). */
export const INDEX_CHUNK_ROWS = 2000

/** Chunks one request to the writer thread may index before the batches waiting go first. */
export const INDEX_CHUNKS_PER_TURN = 10

/**
 * Index pages one tidying step may write (~10 ms). Each chunk adds an index segment and FTS5
 * merges them only so far; every search reads every segment (at a million messages, 14 segments
 * made a search's index part 5x slower than one), so an idle writer merges them, a step at a time.
 */
export const MERGE_PAGES = 250

/**
 * @param {import('better-sqlite3').Database} sqlite
 */
export function createSearchIndexer(sqlite) {
  /** @type {ReturnType<typeof prepare> | undefined} */
  let statements
  // Prepared on first use: a connection opened before migrating has no search_progress yet.
  const ready = () => {
    statements ??= prepare(sqlite)
    return statements
  }
  return {
    /** How many messages the index is behind: new ones and edited ones (index probes, no lock). */
    lag() {
      const { newest, progress, edited } = ready()
      return Math.max(0, Number(newest.get()) - Number(progress.get())) + Number(edited.get())
    },
    /** Indexes one chunk; returns how many messages it covered (0: the index is up to date). */
    step(rows = INDEX_CHUNK_ROWS) {
      return ready().chunk.immediate(rows)
    },
    /** One step of merging index segments; returns whether there was anything to merge. */
    tidy() {
      return ready().tidy.immediate()
    },
    /**
     * Indexes committed messages a chunk per transaction, at most `maxChunks` of them; returns
     * whether it caught up (false: more to do, e.g. a whole index to rebuild after a migration).
     */
    catchUp(maxChunks = Number.POSITIVE_INFINITY) {
      const { chunk } = ready()
      for (let i = 0; i < maxChunks; i++) if (chunk.immediate(INDEX_CHUNK_ROWS) === 0) return true
      return false
    },
  }
}

/** @param {import('better-sqlite3').Database} sqlite */
function prepare(sqlite) {
  const progress = sqlite.prepare('SELECT indexed_upto FROM search_progress WHERE id = 1').pluck()
  const newest = sqlite.prepare('SELECT coalesce(max(id), 0) FROM messages').pluck()
  const edited = sqlite.prepare('SELECT count(*) FROM search_reindex').pluck()
  // The words are split here (scopedWords), on whichever connection indexes: a function of this
  // connection only, so the tables and triggers need nothing but SQLite.
  sqlite.function('parley_scoped_words', { deterministic: true }, (conversationId, content) =>
    scopedWords(Number(conversationId), String(content)),
  )
  const addWords = sqlite.prepare(
    `INSERT INTO messages_fts (rowid, scoped)
     SELECT id, parley_scoped_words(conversation_id, content) FROM messages
     WHERE id > ? AND id <= ? AND deleted_at IS NULL`,
  )
  const addTrigrams = sqlite.prepare(
    `INSERT INTO messages_cjk (rowid, body)
     SELECT id, content FROM messages
     WHERE id > ? AND id <= ? AND deleted_at IS NULL AND content GLOB '${CJK_GLOB}'`,
  )
  // Edited messages: the same, for the ids queued in search_reindex (live ones only).
  const editedIds = sqlite
    .prepare(
      'SELECT max(message_id) FROM (SELECT message_id FROM search_reindex ORDER BY message_id LIMIT ?)',
    )
    .pluck()
  const addEditedWords = sqlite.prepare(
    `INSERT INTO messages_fts (rowid, scoped)
     SELECT id, parley_scoped_words(conversation_id, content) FROM messages
     WHERE id IN (SELECT message_id FROM search_reindex WHERE message_id <= ?) AND deleted_at IS NULL`,
  )
  const addEditedTrigrams = sqlite.prepare(
    `INSERT INTO messages_cjk (rowid, body)
     SELECT id, content FROM messages
     WHERE id IN (SELECT message_id FROM search_reindex WHERE message_id <= ?) AND deleted_at IS NULL
       AND content GLOB '${CJK_GLOB}'`,
  )
  const forgetEdited = sqlite.prepare('DELETE FROM search_reindex WHERE message_id <= ?')
  const advance = sqlite.prepare('UPDATE search_progress SET indexed_upto = ? WHERE id = 1')
  // A negative page count merges whatever segments there are, not only full levels.
  const mergeWords = sqlite.prepare(
    `INSERT INTO messages_fts (messages_fts, rank) VALUES ('merge', -${MERGE_PAGES})`,
  )
  const mergeTrigrams = sqlite.prepare(
    `INSERT INTO messages_cjk (messages_cjk, rank) VALUES ('merge', -${MERGE_PAGES})`,
  )
  const totalChanges = sqlite.prepare('SELECT total_changes()').pluck()
  // Each command counts as one change; any more are the pages it wrote.
  const tidy = sqlite.transaction(() => {
    const before = Number(totalChanges.get())
    mergeWords.run()
    mergeTrigrams.run()
    return Number(totalChanges.get()) - before > 2
  })

  // One chunk: the edited messages first, then the ids above indexed_upto, at most `rows` of each
  // (ids grow with each insert, AUTOINCREMENT never reuses one, and with one writer at a time no
  // smaller id commits later).
  const chunk = sqlite.transaction((/** @type {number} */ rows) => {
    const lastEdited = editedIds.get(rows)
    let covered = 0
    if (lastEdited !== null && lastEdited !== undefined) {
      addEditedWords.run(lastEdited)
      addEditedTrigrams.run(lastEdited)
      covered += forgetEdited.run(lastEdited).changes
    }
    const from = Number(progress.get())
    const to = Math.min(Number(newest.get()), from + rows)
    if (to <= from) return covered
    addWords.run(from, to)
    addTrigrams.run(from, to)
    advance.run(to)
    return covered + (to - from)
  })
  return { progress, newest, edited, chunk, tidy }
}
