import type { Kysely } from 'kysely'
import { isPostgres } from '../schema-helpers.js'
import type { Database } from '../types.js'

// The `push_outbox` table: messages that may notify someone by push. A row is written in the
// message's own transaction (the SQLite appender writes the same statement), so a committed message
// is never forgotten; a node claims it after the commit and turns it into deliveries
// (push-deliveries.ts). Only a conversation with a subscribed member besides the sender gets one:
// a server without subscriptions writes nothing more per message.

type Db = Kysely<Database>

/** In the message's transaction: the outbox row, if anyone else in the conversation has a device. */
export async function queuePush(
  trx: Db,
  message: { id: number; conversation_id: number; sender_id: number },
) {
  await trx
    .insertInto('push_outbox')
    .columns(['message_id', 'created_at'])
    .expression((eb) =>
      eb
        .selectFrom('messages')
        .select(['messages.id', 'messages.created_at'])
        .where('messages.id', '=', message.id)
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom('conversation_members')
              .innerJoin('push_subscriptions', 'push_subscriptions.user_id', 'conversation_members.user_id')
              .select('push_subscriptions.id')
              .where('conversation_members.conversation_id', '=', message.conversation_id)
              .where('conversation_members.user_id', '<>', message.sender_id),
          ),
        ),
    )
    .execute()
}

/** Whether any row is free: a read, so that a node with nothing to do never takes the write lock. */
export async function anyFreeOutbox(db: Db, now: string): Promise<boolean> {
  const row = await db
    .selectFrom('push_outbox')
    .select('message_id')
    .where('claimed_until', '<', now)
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}

/**
 * Claims up to `limit` free rows until `until` (one node at a time: the row must still be free
 * when the UPDATE writes it; PostgreSQL skips rows another node is claiming).
 */
export async function claimOutbox(db: Db, now: string, until: string, limit: number): Promise<number[]> {
  const rows = await db
    .updateTable('push_outbox')
    .set({ claimed_until: until })
    .where('message_id', 'in', (qb) => {
      const free = qb
        .selectFrom('push_outbox')
        .select('message_id')
        .where('claimed_until', '<', now)
        .orderBy('message_id')
        .limit(limit)
      return isPostgres(db) ? free.forUpdate().skipLocked() : free
    })
    .where('claimed_until', '<', now)
    .returning('message_id')
    .execute()
  return rows.map((row) => Number(row.message_id))
}

export async function deleteOutbox(db: Db, messageId: number): Promise<void> {
  await db.deleteFrom('push_outbox').where('message_id', '=', messageId).execute()
}

/** What a push says of a message: its text, its conversation, its sender's name. */
export function outboxMessage(db: Db, messageId: number) {
  return db
    .selectFrom('messages')
    .innerJoin('conversations', 'conversations.id', 'messages.conversation_id')
    .innerJoin('users', 'users.id', 'messages.sender_id')
    .select([
      'messages.id',
      'messages.conversation_id',
      'messages.sender_id',
      'messages.content',
      'messages.mentions',
      'messages.deleted_at',
      'conversations.kind',
      'conversations.title',
      'users.display_name as sender_name',
    ])
    .where('messages.id', '=', messageId)
    .executeTakeFirst()
}
