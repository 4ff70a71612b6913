import type { Insertable, Kysely, Transaction } from 'kysely'
import type { Database, MessageRow, MessagesTable } from '../types.js'

// The `messages` table. Deleted messages stay as tombstones (empty content, `deleted_at`) so the
// change feed can report them.

type Db = Kysely<Database>

export function findByClientId(db: Db, senderId: number, clientId: string): Promise<MessageRow | undefined> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('sender_id', '=', senderId)
    .where('client_id', '=', clientId)
    .executeTakeFirst()
}

export function insertMessage(
  trx: Transaction<Database>,
  values: Insertable<MessagesTable>,
): Promise<MessageRow> {
  return trx.insertInto('messages').values(values).returningAll().executeTakeFirstOrThrow()
}

/** The message if it is in that conversation (deleted or not). */
export function findMessage(
  db: Db,
  conversationId: number,
  messageId: number,
): Promise<MessageRow | undefined> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('id', '=', messageId)
    .where('conversation_id', '=', conversationId)
    .executeTakeFirst()
}

/** New text for a live message; undefined if it was deleted meanwhile. */
export function updateContent(
  trx: Transaction<Database>,
  messageId: number,
  change: { content: string; editedAt: string; changeSeq: number; mentions: string | null },
): Promise<MessageRow | undefined> {
  return trx
    .updateTable('messages')
    .set({
      content: change.content,
      edited_at: change.editedAt,
      change_seq: change.changeSeq,
      mentions: change.mentions,
    })
    .where('id', '=', messageId)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst()
}

/**
 * Empties a live message into a tombstone; undefined if it was deleted already (of two deletes
 * at once, only the first gets the row).
 */
export function tombstone(
  trx: Transaction<Database>,
  conversationId: number,
  messageId: number,
  change: { deletedAt: string; changeSeq: number; deletedBy: number },
) {
  return trx
    .updateTable('messages')
    .set({
      content: '',
      deleted_at: change.deletedAt,
      deleted_by: change.deletedBy,
      change_seq: change.changeSeq,
    })
    .where('id', '=', messageId)
    .where('conversation_id', '=', conversationId)
    .where('deleted_at', 'is', null)
    .returning(['sender_id', 'mentions'])
    .executeTakeFirst()
}

/** A live message changed without new text (an attachment went): it takes a new change number. */
export function touchChange(trx: Transaction<Database>, messageId: number, changeSeq: number) {
  return trx
    .updateTable('messages')
    .set({ change_seq: changeSeq })
    .where('id', '=', messageId)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst()
}

/** Up to `limit` live messages, `after` oldest first, otherwise newest first (from `before`). */
export function liveMessages(
  db: Db,
  conversationId: number,
  page: { before?: number; after?: number; limit: number },
): Promise<MessageRow[]> {
  let query = db
    .selectFrom('messages')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('deleted_at', 'is', null)
    .limit(page.limit)
  if (page.before !== undefined) query = query.where('id', '<', page.before)
  if (page.after !== undefined) return query.where('id', '>', page.after).orderBy('id', 'asc').execute()
  return query.orderBy('id', 'desc').execute()
}

/** Messages created, edited or deleted after change number `cursor`, in change order. */
export function changedSince(
  db: Db,
  conversationId: number,
  cursor: number,
  limit: number,
): Promise<MessageRow[]> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('change_seq', '>', cursor)
    .orderBy('change_seq', 'asc')
    .limit(limit)
    .execute()
}

/** The earliest change number among the messages after `messageId`. */
export async function earliestChangeAfter(
  db: Db,
  conversationId: number,
  messageId: number,
): Promise<number> {
  const row = await db
    .selectFrom('messages')
    .select((eb) => eb.fn.min('change_seq').as('seq'))
    .where('conversation_id', '=', conversationId)
    .where('id', '>', messageId)
    .executeTakeFirstOrThrow()
  return Number(row.seq)
}

/**
 * Each conversation's latest live message, found from the end of its index (a max() grouped by
 * conversation would read every message of every conversation asked for).
 */
export function latestLiveMessages(db: Db, conversationIds: number[]): Promise<MessageRow[]> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('conversations as c')
        .select((e) =>
          e
            .selectFrom('messages as m')
            .select('m.id')
            .whereRef('m.conversation_id', '=', 'c.id')
            .where('m.deleted_at', 'is', null)
            .orderBy('m.id', 'desc')
            .limit(1)
            .as('id'),
        )
        .where('c.id', 'in', conversationIds),
    )
    .execute()
}
