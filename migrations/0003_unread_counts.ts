import { type Kysely, sql } from 'kysely'

// Unread counts kept per member, so listing conversations reads them instead of counting every
// unread message on each call. Every write that changes one keeps it in step (see
// src/conversations/unread.ts); this fills them in from the messages already there.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('conversation_members')
    .addColumn('unread_count', 'integer', (col) => col.notNull().defaultTo(0))
    .execute()
  // For mentions: nothing counts them yet; the column is there so the object can carry it.
  await db.schema
    .alterTable('conversation_members')
    .addColumn('unread_mentions', 'integer', (col) => col.notNull().defaultTo(0))
    .execute()
  await sql`
    update conversation_members set unread_count = (
      select count(*) from messages
      where messages.conversation_id = conversation_members.conversation_id
        and messages.id > conversation_members.last_read_message_id
        and messages.sender_id <> conversation_members.user_id
        and messages.deleted_at is null
    )`.execute(db)
}
