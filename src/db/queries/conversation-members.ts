import type { Kysely } from 'kysely'
import type { ConversationRow, Database } from '../types.js'

// The `conversation_members` table: who is in which conversation, with their read pointer. The
// unread counts it also holds are kept by unread-counts.ts.

type Db = Kysely<Database>

/** A conversation as one member sees it: the conversation's row and the member's own. */
export type MemberConversationRow = ConversationRow & {
  last_read_message_id: number
  unread_count: number
  unread_mentions: number
  notification_level: string | null
}

/** What a member's row adds to the conversation's: their read pointer and counts. */
const MEMBER_COLUMNS = [
  'conversation_members.last_read_message_id',
  'conversation_members.unread_count',
  'conversation_members.unread_mentions',
  'conversation_members.notification_level',
] as const

const memberConversations = (db: Db, userId: number) =>
  db
    .selectFrom('conversations')
    .innerJoin('conversation_members', 'conversation_members.conversation_id', 'conversations.id')
    .selectAll('conversations')
    .select(MEMBER_COLUMNS)
    .where('conversation_members.user_id', '=', userId)

/** The conversation with `userId`'s member row; undefined if they are not a member (or it is gone). */
export function findMembership(
  db: Db,
  conversationId: number,
  userId: number,
): Promise<MemberConversationRow | undefined> {
  return memberConversations(db, userId).where('conversations.id', '=', conversationId).executeTakeFirst()
}

/**
 * `userId`'s conversations, latest activity first, from before `before` when given. Two steps:
 * the ordering sorts narrow (id, activity) pairs, and only the page's rows are read whole; one
 * query sorting whole rows cost 2.5x as much for a member of 200 conversations.
 */
export async function pageOfMemberConversations(
  db: Db,
  userId: number,
  limit: number,
  before?: { lastActivityAt: string; id: number },
): Promise<MemberConversationRow[]> {
  const page = await db
    .selectFrom('conversations')
    .innerJoin('conversation_members', 'conversation_members.conversation_id', 'conversations.id')
    .select('conversations.id')
    .where('conversation_members.user_id', '=', userId)
    .$if(before !== undefined, (query) =>
      query.where(({ or, and, eb }) =>
        or([
          eb('conversations.last_activity_at', '<', before?.lastActivityAt ?? ''),
          and([
            eb('conversations.last_activity_at', '=', before?.lastActivityAt ?? ''),
            eb('conversations.id', '<', before?.id ?? 0),
          ]),
        ]),
      ),
    )
    .orderBy('conversations.last_activity_at', 'desc')
    .orderBy('conversations.id', 'desc')
    .limit(limit)
    .execute()
  if (page.length === 0) return []
  return memberConversations(db, userId)
    .where(
      'conversations.id',
      'in',
      page.map((row) => row.id),
    )
    .orderBy('conversations.last_activity_at', 'desc')
    .orderBy('conversations.id', 'desc')
    .execute()
}

export async function isMember(db: Db, conversationId: number, userId: number): Promise<boolean> {
  const row = await db
    .selectFrom('conversation_members')
    .select('user_id')
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return row !== undefined
}

export async function memberIdsOf(db: Db, conversationId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('conversation_members')
    .select('user_id')
    .where('conversation_id', '=', conversationId)
    .execute()
  return rows.map((row) => Number(row.user_id))
}

/** The members of these conversations in the order they joined, with their read pointers. */
export function membersInJoinOrder(db: Db, conversationIds: number[]) {
  return db
    .selectFrom('conversation_members')
    .select(['conversation_id', 'user_id', 'last_read_message_id'])
    .where('conversation_id', 'in', conversationIds)
    .orderBy('joined_at')
    .orderBy('user_id')
    .execute()
}

/** New members of a new conversation (existing ones join through unread-counts.ts's insertMember). */
export async function insertMembers(db: Db, conversationId: number, userIds: number[], joinedAt: string) {
  await db
    .insertInto('conversation_members')
    .values(
      userIds.map((userId) => ({ conversation_id: conversationId, user_id: userId, joined_at: joinedAt })),
    )
    .execute()
}

export async function deleteMembers(db: Db, conversationId: number, userIds: number[]): Promise<void> {
  await db
    .deleteFrom('conversation_members')
    .where('conversation_id', '=', conversationId)
    .where('user_id', 'in', userIds)
    .execute()
}

/**
 * The users who share a conversation or a contact (either direction) with `userId`, among
 * `among` when given (one query; see src/presence/scope.ts).
 */
export async function conversationOrContactPeers(
  db: Db,
  userId: number,
  among?: number[],
): Promise<Set<number>> {
  const rows = await db
    .selectFrom('conversation_members as mine')
    .innerJoin('conversation_members as other', 'other.conversation_id', 'mine.conversation_id')
    .select('other.user_id as user_id')
    .where('mine.user_id', '=', userId)
    .$if(among !== undefined, (qb) => qb.where('other.user_id', 'in', among ?? []))
    .union((eb) =>
      eb
        .selectFrom('contacts')
        .select('contact_id as user_id')
        .where('user_id', '=', userId)
        .$if(among !== undefined, (qb) => qb.where('contact_id', 'in', among ?? [])),
    )
    .union((eb) =>
      eb
        .selectFrom('contacts')
        .select('user_id')
        .where('contact_id', '=', userId)
        .$if(among !== undefined, (qb) => qb.where('user_id', 'in', among ?? [])),
    )
    .execute()
  return new Set(rows.map((row) => Number(row.user_id)))
}

/** The conversations `userId` is in (ids). */
export async function conversationIdsOf(db: Db, userId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('conversation_members')
    .select('conversation_id')
    .where('user_id', '=', userId)
    .execute()
  return rows.map((row) => Number(row.conversation_id))
}

/** The account is deleted: it leaves groups and projects; a direct conversation keeps it. */
export async function leaveAllButDirect(db: Db, userId: number): Promise<void> {
  await db
    .deleteFrom('conversation_members')
    .where('user_id', '=', userId)
    .where('conversation_id', 'in', (eb) =>
      eb.selectFrom('conversations').select('id').where('kind', '!=', 'direct'),
    )
    .execute()
}

/** The member who joined first. */
export async function firstMember(db: Db, conversationId: number): Promise<number | undefined> {
  const row = await db
    .selectFrom('conversation_members')
    .select('user_id')
    .where('conversation_id', '=', conversationId)
    .orderBy('joined_at')
    .orderBy('user_id')
    .executeTakeFirst()
  return row && Number(row.user_id)
}

/** A conversation's kind and each member's chosen notification level (null: the kind's default). */
export function notificationLevelsOf(db: Db, conversationId: number) {
  return db
    .selectFrom('conversations')
    .innerJoin('conversation_members', 'conversation_members.conversation_id', 'conversations.id')
    .select(['conversations.kind', 'conversation_members.user_id', 'conversation_members.notification_level'])
    .where('conversations.id', '=', conversationId)
    .execute()
}

/** Sets a member's notification level; false when they are not a member. */
export async function setNotificationLevel(
  db: Db,
  conversationId: number,
  userId: number,
  level: string,
): Promise<boolean> {
  const result = await db
    .updateTable('conversation_members')
    .set({ notification_level: level })
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}
