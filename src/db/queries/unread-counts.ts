import { type Kysely, sql, type Transaction } from 'kysely'
import type { Database } from '../types.js'
import type { BatchFinisher } from '../write-batch.js'
import { lockConversation } from './conversations.js'

// Unread counts are stored per member (conversation_members.unread_count), so reading them costs
// the same however many messages are unread. The rule they keep equal to: the live messages of
// others after the member's read pointer. Every write that changes that updates them in its own
// transaction: a new message (here and in conversations/message-store/sqlite-appender.js), a deletion, a read pointer that
// moves, a member who joins. On PostgreSQL those writes lock the conversation's row first, as a
// new message does, so a count never misses a message committed beside it.

type Db = Kysely<Database> | Transaction<Database>

/** Live messages of others after `pointer`: bounded by the messages after it, 0 at the latest. */
function unreadAfter(db: Db, conversationId: number, userId: number, pointer: number) {
  return db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('conversation_id', '=', conversationId)
    .where('id', '>', pointer)
    .where('sender_id', '!=', userId)
    .where('deleted_at', 'is', null)
}

/**
 * Live messages after `pointer` that mention the member. Mentions are JSON text (`[3,17]`): with
 * its brackets turned to commas, a mention of 3 is the text `,3,` in it, on either dialect.
 */
function mentionsAfter(db: Db, conversationId: number, userId: number, pointer: number) {
  return db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('conversation_id', '=', conversationId)
    .where('id', '>', pointer)
    .where('deleted_at', 'is', null)
    .where('mentions', 'is not', null)
    .where(sql`replace(replace(mentions, '[', ','), ']', ',')`, 'like', `%,${userId},%`)
}

/**
 * Adds `delta` to these members' unread_mentions: a new message mentions them (+1), or an edit or
 * a deletion changes whom a message mentions; with `messageId`, only for the members whose read
 * pointer is before that message (it is unread for them).
 */
export async function countMentions(
  trx: Transaction<Database>,
  conversationId: number,
  userIds: number[],
  delta: number,
  messageId?: number,
): Promise<void> {
  if (userIds.length === 0) return
  await trx
    .updateTable('conversation_members')
    .set({ unread_mentions: sql`unread_mentions + ${delta}` })
    .where('conversation_id', '=', conversationId)
    .where('user_id', 'in', userIds)
    .$if(messageId !== undefined, (qb) => qb.where('last_read_message_id', '<', messageId ?? 0))
    .execute()
}

/** An edit changed whom a message mentions: +1 for those gained, -1 for those lost (if unread). */
export async function recountMentions(
  trx: Transaction<Database>,
  edit: { conversationId: number; messageId: number; before: number[]; after: number[] },
): Promise<void> {
  const { conversationId, messageId, before, after } = edit
  await countMentions(
    trx,
    conversationId,
    after.filter((id) => !before.includes(id)),
    1,
    messageId,
  )
  await countMentions(
    trx,
    conversationId,
    before.filter((id) => !after.includes(id)),
    -1,
    messageId,
  )
}

/**
 * Moves a member's read pointer forward and counts again what is after it. Returns whether it
 * moved (a pointer never goes back).
 */
export function moveReadPointer(
  db: Kysely<Database>,
  conversationId: number,
  userId: number,
  messageId: number,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await lockConversation(trx, conversationId)
    const result = await trx
      .updateTable('conversation_members')
      .set({
        last_read_message_id: messageId,
        unread_count: unreadAfter(trx, conversationId, userId, messageId),
        unread_mentions: mentionsAfter(trx, conversationId, userId, messageId),
      })
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .where('last_read_message_id', '<', messageId)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  })
}

/**
 * Adds a member with a count that matches their read pointer (0: every live message of others
 * is unread). Returns false when they were a member already. Call inside a transaction that
 * holds lockConversation.
 */
export async function insertMember(
  trx: Transaction<Database>,
  conversationId: number,
  userId: number,
  joinedAt: string,
): Promise<boolean> {
  const result = await trx
    .insertInto('conversation_members')
    .values({
      conversation_id: conversationId,
      user_id: userId,
      joined_at: joinedAt,
      unread_count: unreadAfter(trx, conversationId, userId, 0),
      unread_mentions: mentionsAfter(trx, conversationId, userId, 0),
    })
    .onConflict((oc) => oc.columns(['conversation_id', 'user_id']).doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0
}

/**
 * A message was deleted: one fewer for the members (not its sender) who had not read it, and one
 * mention fewer for those of them it mentioned.
 */
export async function uncountDeleted(
  trx: Transaction<Database>,
  message: { conversationId: number; messageId: number; senderId: number; mentions?: number[] },
): Promise<void> {
  await countMentions(trx, message.conversationId, message.mentions ?? [], -1, message.messageId)
  await trx
    .updateTable('conversation_members')
    .set({ unread_count: sql`unread_count - 1` })
    .where('conversation_id', '=', message.conversationId)
    .where('user_id', '!=', message.senderId)
    .where('last_read_message_id', '<', message.messageId)
    .execute()
}

export interface NewMessageNote {
  conversationId: number
  senderId: number
}

/** Conversation id -> sender id -> messages, conversations in ascending order (the lock order). */
export function tallyNewMessages(notes: NewMessageNote[]): Map<number, Map<number, number>> {
  const tally = new Map<number, Map<number, number>>()
  for (const { conversationId, senderId } of [...notes].sort((a, b) => a.conversationId - b.conversationId)) {
    const senders = tally.get(conversationId) ?? new Map<number, number>()
    senders.set(senderId, (senders.get(senderId) ?? 0) + 1)
    tally.set(conversationId, senders)
  }
  return tally
}

/**
 * The batch's new messages, counted once per conversation: +n for every member but the sender
 * (one UPDATE), or with several senders +n for all then -k for each sender.
 */
export const countNewMessages: BatchFinisher<NewMessageNote> = async (trx, notes) => {
  const members = () => trx.updateTable('conversation_members')
  for (const [conversationId, senders] of tallyNewMessages(notes)) {
    if (senders.size === 1) {
      const [[senderId, n]] = senders
      await members()
        .set({ unread_count: sql`unread_count + ${n}` })
        .where('conversation_id', '=', conversationId)
        .where('user_id', '!=', senderId)
        .execute()
      continue
    }
    const total = [...senders.values()].reduce((a, b) => a + b, 0)
    await members()
      .set({ unread_count: sql`unread_count + ${total}` })
      .where('conversation_id', '=', conversationId)
      .execute()
    for (const [senderId, k] of senders) {
      await members()
        .set({ unread_count: sql`unread_count - ${k}` })
        .where('conversation_id', '=', conversationId)
        .where('user_id', '=', senderId)
        .execute()
    }
  }
}
