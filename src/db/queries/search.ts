import { type Kysely, type RawBuilder, sql } from 'kysely'
import { isPostgres } from '../schema-helpers.js'
import type { Database, FileRow, MessageRow } from '../types.js'

// Full-text search over messages (the indexes are made in migrations/0006_search.ts) and the
// search of files by name. Both only ever read the conversations the searcher is a member of.

type Db = Kysely<Database>

/** What the words must match, as each database's index is asked. */
export interface MessageMatch {
  /**
   * SQLite: the FTS5 expression of the word terms in the given conversations only (over the
   * `scoped` column), or undefined when the query has no word terms.
   */
  wordsIn?: (conversationIds: number[]) => string | undefined
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

/** At most this many conversations are named in one index expression; more take several. */
const MAX_SCOPED_CONVERSATIONS = 500

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
 * only (each word is indexed with its conversation's id), so a word common elsewhere costs no
 * more than the searcher's own matches.
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
    const words = match.wordsIn?.(filter.conversationIds)
    if (words !== undefined) {
      where.push(
        sql`exists (select 1 from messages_fts w where w.messages_fts match ${words} and w.rowid = m.id)`,
      )
    }
    where.push(inConversations(filter))
    const result = await sql<MessageRow>`
      select m.* from messages_cjk cross join messages m on m.id = messages_cjk.rowid
      where messages_cjk match ${match.ftsSubstrings} and ${sql.join(where, sql` and `)}
      order by messages_cjk.rowid desc limit ${filter.limit}`.execute(db)
    return result.rows
  }
  if (filter.belowId !== undefined) where.push(sql`messages_fts.rowid < ${filter.belowId}`)
  const also = where.length > 0 ? sql` and ${sql.join(where, sql` and `)}` : sql``
  // A member of very many conversations: a query per slice of them, newest first across all.
  const found: MessageRow[] = []
  for (let at = 0; at < filter.conversationIds.length; at += MAX_SCOPED_CONVERSATIONS) {
    const expression = match.wordsIn?.(filter.conversationIds.slice(at, at + MAX_SCOPED_CONVERSATIONS))
    if (expression === undefined) return []
    const result = await sql<MessageRow>`
      select m.* from messages_fts cross join messages m on m.id = messages_fts.rowid
      where messages_fts match ${expression}${also}
      order by messages_fts.rowid desc limit ${filter.limit}`.execute(db)
    found.push(...result.rows)
  }
  if (filter.conversationIds.length <= MAX_SCOPED_CONVERSATIONS) return found
  return found.sort((a, b) => Number(b.id) - Number(a.id)).slice(0, filter.limit)
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
