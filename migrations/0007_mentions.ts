import type { Kysely } from 'kysely'

// Mentions and notification levels. A message's mentions are stored on its row as JSON text
// (`[3,17]`, null for none: most messages mention nobody and pay nothing), read with the row
// wherever a message is shown; conversation_members.unread_mentions (0003) counts them per member.
// A member's notification_level is null until they choose one: the default follows the
// conversation's kind (`all` direct, `mentions` group and project).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('mentions', 'text').execute()
  await db.schema.alterTable('conversation_members').addColumn('notification_level', 'text').execute()
}
