import { type Kysely, type RawBuilder, sql } from 'kysely'
import { isPostgres } from '../schema-helpers.js'
import type { Database, FileRow, MessageRow } from '../types.js'

// Full-text search over messages (the indexes are made in migrations/0006_search.ts) and the
// search of files by name. Both only ever read the conversations the searcher is a member of.

type Db = Kysely<Database>

/** What the words must match, as each database's index is asked. */
export interface MessageMatch {
  /** SQLite: FTS5 expression over `messages_fts.body`. */
  ftsWords?: string
  /** SQLite: the same over `messages_fts.scoped`, in the filter's conversations only. */
  ftsScoped?: string
  /** SQLite: FTS5 expression over the trigram table `messages_cjk`. */
  ftsSubstrings?: string
  /** PostgreSQL: to_tsquery text (folded in SQL, as the index is). */
  tsQuery?: string
  /** PostgreSQL: texts that must occur in the folded content. */
  substrings: string[]
}

export interface MessageFilter {
  userId: number
  /** The conversations to search: the searcher's, or the one asked for (a member of it). */
  conversationIds: number[]
  senderId?: number
  /** created_at >= after, created_at < before (ISO text compares in time order). */
  after?: string
  before?: string
  hasFile?: boolean
  /** Only messages older (smaller id) than this: the page cursor. */
  belowId?: number
  limit: number
}

/**
 * Above this many conversations the SQLite query names none of them in the index expression and
 * checks each match's conversation instead (an OR of this many terms costs more than it saves).
 */
export const MAX_SCOPED_CONVERSATIONS = 500

function filters(filter: MessageFilter): RawBuilder<unknown>[] {
  const where: RawBuilder<unknown>[] = []
  if (filter.senderId !== undefined) where.push(sql`m.sender_id = ${filter.senderId}`)
  if (filter.after !== undefined) where.push(sql`m.created_at >= ${filter.after}`)
  if (filter.before !== undefined) where.push(sql`m.created_at < ${filter.before}`)
  if (filter.hasFile) where.push(sql`exists (select 1 from files where files.message_id = m.id)`)
  if (filter.belowId !== undefined) where.push(sql`m.id < ${filter.belowId}`)
  return where
}

const memberOf = (userId: number) =>
  sql`m.conversation_id in (select conversation_id from conversation_members where user_id = ${userId})`

const inConversations = (filter: MessageFilter) =>
  filter.conversationIds.length > MAX_SCOPED_CONVERSATIONS
    ? memberOf(filter.userId)
    : sql`m.conversation_id in (${sql.join(filter.conversationIds)})`

/**
 * The newest live messages of the filter's conversations that match, newest first. SQLite walks
 * the FTS index from its newest row down, asking for the words of the searcher's conversations
 * only (the `scoped` column), so a word common elsewhere costs no more than the searcher's own
 * matches.
 */
export async function searchMessages(
  db: Db,
  match: MessageMatch,
  filter: MessageFilter,
): Promise<MessageRow[]> {
  if (filter.conversationIds.length === 0) return []
  if (isPostgres(db)) return searchPostgres(db, match, filter)
  const where = filters(filter)
  if (match.ftsSubstrings !== undefined) {
    // Text without spaces: the trigram table leads, the words (if any) are checked per row.
    if (match.ftsWords !== undefined) {
      where.push(
        sql`exists (select 1 from messages_fts w where w.messages_fts match ${match.ftsWords} and w.rowid = m.id)`,
      )
    }
    where.push(inConversations(filter))
    const result = await sql<MessageRow>`
      select m.* from messages_cjk cross join messages m on m.id = messages_cjk.rowid
      where messages_cjk match ${match.ftsSubstrings} and ${sql.join(where, sql` and `)}
      order by messages_cjk.rowid desc limit ${filter.limit}`.execute(db)
    return result.rows
  }
  const expression = match.ftsScoped ?? match.ftsWords ?? ''
  if (match.ftsScoped === undefined) where.push(inConversations(filter))
  if (filter.belowId !== undefined) where.push(sql`messages_fts.rowid < ${filter.belowId}`)
  const result = await sql<MessageRow>`
    select m.* from messages_fts cross join messages m on m.id = messages_fts.rowid
    where messages_fts match ${expression}${where.length > 0 ? sql` and ${sql.join(where, sql` and `)}` : sql``}
    order by messages_fts.rowid desc limit ${filter.limit}`.execute(db)
  return result.rows
}

async function searchPostgres(db: Db, match: MessageMatch, filter: MessageFilter): Promise<MessageRow[]> {
  const where = filters(filter)
  where.push(sql`m.deleted_at is null`, inConversations(filter))
  if (match.tsQuery !== undefined) {
    // The same expression as the index messages_search, so the planner can use it.
    where.push(
      sql`to_tsvector('simple'::regconfig, parley_fold(m.content)) @@ to_tsquery('simple'::regconfig, parley_fold(${match.tsQuery}))`,
    )
  }
  for (const text of match.substrings)
    where.push(sql`strpos(parley_fold(m.content), parley_fold(${text})) > 0`)
  const result = await sql<MessageRow>`
    select m.* from messages m where ${sql.join(where, sql` and `)}
    order by m.id desc limit ${filter.limit}`.execute(db)
  return result.rows
}

/** Temporary (per connection) view of the SQLite word index's vocabulary, made on first use. */
const vocabularyReady = new WeakSet<Db>()

/**
 * SQLite: the prefix and the longer indexed words that start with it (lower case ASCII), or
 * undefined when there are more than `max` longer ones (or on PostgreSQL). A prefix match makes
 * FTS5 merge the whole doclist of every such word before the first row; these few words ORed are
 * walked lazily instead. The range starts just above the prefix itself: the vocabulary counts each
 * word's rows as it lists it, and the prefix, often a common word, would cost the most.
 */
export async function prefixExpansions(db: Db, prefix: string, max: number): Promise<string[] | undefined> {
  if (isPostgres(db)) return undefined
  if (!vocabularyReady.has(db)) {
    await sql`create virtual table if not exists temp.messages_fts_words using fts5vocab(main, messages_fts, 'col')`.execute(
      db,
    )
    vocabularyReady.add(db)
  }
  const above = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
  const result = await sql<{ term: string }>`
    select term from temp.messages_fts_words where col = 'body' and term >= ${`${prefix}\u0001`} and term < ${above}
    limit ${max + 1}`.execute(db)
  return result.rows.length > max ? undefined : [prefix, ...result.rows.map((row) => row.term)]
}

/** The conversation ids `userId` is a member of now. */
export async function conversationIdsOf(db: Db, userId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('conversation_members')
    .select('conversation_id')
    .where('user_id', '=', userId)
    .execute()
  return rows.map((row) => Number(row.conversation_id))
}

const likePattern = (word: string) => `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

/**
 * Files of the conversations `userId` is a member of whose name holds every word (case ignored),
 * newest first, below `belowId`.
 */
export function searchFiles(
  db: Db,
  query: { userId: number; words: string[]; conversationId?: number; belowId?: number; limit: number },
): Promise<FileRow[]> {
  const postgres = isPostgres(db)
  let select = db
    .selectFrom('files')
    .innerJoin('conversation_members as cm', 'cm.conversation_id', 'files.conversation_id')
    .selectAll('files')
    .where('cm.user_id', '=', query.userId)
  for (const word of query.words) {
    // ESCAPE names the backslash in both dialects; SQLite's LIKE ignores ASCII case, ILIKE all case.
    const pattern = likePattern(word)
    select = select.where(
      postgres
        ? sql<boolean>`parley_fold(files.name) like parley_fold(${pattern}) escape '\\'`
        : sql<boolean>`files.name like ${pattern} escape '\\'`,
    )
  }
  if (query.conversationId !== undefined)
    select = select.where('files.conversation_id', '=', query.conversationId)
  if (query.belowId !== undefined) select = select.where('files.id', '<', query.belowId)
  return select.orderBy('files.id', 'desc').limit(query.limit).execute()
}
