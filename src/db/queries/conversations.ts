import { type Insertable, type Kysely, sql, type Transaction } from 'kysely'
import { isPostgres } from '../schema-helpers.js'
import type { ConversationsTable, Database } from '../types.js'

// The `conversations` table. Its `change_seq` numbers every change to a conversation's messages
// (the change feed's cursor); bumping it also locks the row (PostgreSQL), so the writes of one
// conversation commit in order.

type Db = Kysely<Database>

/**
 * Takes the conversation's next change number and returns it; undefined when the conversation
 * is gone, or with `ifMember` when that user is not a member at this moment (on PostgreSQL the
 * membership row is then share-locked: a removal waits for this commit, or wins).
 */
export async function bumpChangeSeq(
  trx: Transaction<Database>,
  conversationId: number,
  options: { activityAt?: string; ifMember?: number } = {},
): Promise<number | undefined> {
  const { activityAt, ifMember } = options
  const row = await trx
    .updateTable('conversations')
    .set(
      activityAt === undefined
        ? { change_seq: sql`change_seq + 1` }
        : { change_seq: sql`change_seq + 1`, last_activity_at: activityAt },
    )
    .where('id', '=', conversationId)
    .$if(ifMember !== undefined, (query) =>
      query.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('conversation_members')
            .select('user_id')
            .where('conversation_id', '=', conversationId)
            .where('user_id', '=', ifMember ?? 0)
            .$if(isPostgres(trx), (members) => members.forKeyShare()),
        ),
      ),
    )
    .returning('change_seq')
    .executeTakeFirst()
  return row && Number(row.change_seq)
}

/** Waits for the writes in flight on the conversation (PostgreSQL; SQLite writes one at a time). */
export async function lockConversation(trx: Transaction<Database>, conversationId: number): Promise<void> {
  if (!isPostgres(trx)) return
  await trx
    .selectFrom('conversations')
    .select('id')
    .where('id', '=', conversationId)
    .forNoKeyUpdate()
    .execute()
}

/** The conversation's change window: its latest change number and the oldest a cursor may hold. */
export function findChangeWindow(db: Db, conversationId: number) {
  return db
    .selectFrom('conversations')
    .select(['change_seq', 'change_floor'])
    .where('id', '=', conversationId)
    .executeTakeFirst()
}

export function findDirectConversationId(db: Db, directKey: string) {
  return db.selectFrom('conversations').select('id').where('direct_key', '=', directKey).executeTakeFirst()
}

export async function insertConversation(db: Db, values: Insertable<ConversationsTable>): Promise<number> {
  const row = await db.insertInto('conversations').values(values).returning('id').executeTakeFirstOrThrow()
  return Number(row.id)
}

export async function setConversationProject(
  db: Db,
  conversationId: number,
  projectId: number,
): Promise<void> {
  await db
    .updateTable('conversations')
    .set({ project_id: projectId })
    .where('id', '=', conversationId)
    .execute()
}

/** Members and messages go with it (ON DELETE CASCADE). */
export async function deleteConversation(db: Db, conversationId: number): Promise<void> {
  await db.deleteFrom('conversations').where('id', '=', conversationId).execute()
}
