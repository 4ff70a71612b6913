import { sql, type Transaction } from 'kysely'
import type { Database, MessageRow } from '../types.js'

// PostgreSQL only: a batch of new messages as set operations (the message store's PostgreSQL
// path, src/conversations/message-store/pg-batches.ts). Two statements in one transaction, whatever
// the batch's size: the locks, then the writes. The SQLite appender (sqlite-appender.js) and
// appendMessage (kysely.ts, uploads) do the same writes one message at a time: the message, its
// change number, the unread counts and mentions, the push outbox row.

export interface BatchMessage {
  conversationId: number
  senderId: number
  content: string
  clientId: string | null
  /** Whom it mentions (resolved before the batch); stored as JSON text, like the other stores. */
  mentions?: number[]
}

const ids = (values: number[]) => sql`${values}::bigint[]`

/**
 * Locks the batch's conversations in ascending id order (the order every writer takes them in, so
 * two nodes' batches do not deadlock), and share-locks the membership of each sender that is still
 * a member (a removal waits for this commit, or wins). Returns the (conversation, sender) pairs
 * allowed to write, as `${conversation}:${sender}`.
 */
export async function lockSenders(
  trx: Transaction<Database>,
  pairs: Array<{ conversationId: number; senderId: number }>,
): Promise<Set<string>> {
  const { rows } = await sql<{ conversation_id: number; user_id: number }>`
    SELECT c.id AS conversation_id, m.user_id
    FROM conversations c
    JOIN conversation_members m ON m.conversation_id = c.id
    WHERE (c.id, m.user_id) IN (
      SELECT * FROM unnest(${ids(pairs.map((p) => p.conversationId))}, ${ids(pairs.map((p) => p.senderId))})
    )
    ORDER BY c.id, m.user_id
    FOR NO KEY UPDATE OF c FOR KEY SHARE OF m`.execute(trx)
  return new Set(rows.map((row) => `${row.conversation_id}:${row.user_id}`))
}

export type BatchRow = MessageRow & { created: boolean }

/**
 * Inserts the batch under the locks lockSenders took, in one statement: a message whose
 * (sender, client_id) is stored already is returned as it is (created = false) and takes no
 * number; the others, where `allowed`, get their conversation's next change numbers in batch
 * order (one UPDATE per conversation, the count added at once) and ids in that same order; the
 * members' unread counts grow by the new messages of others (one UPDATE per member row). A
 * client_id committed meanwhile by another transaction (another node) is skipped (ON CONFLICT) and
 * its number left unused: the caller fetches that row. No two messages of the batch may share a
 * (sender, client_id).
 */
export async function insertBatch(
  trx: Transaction<Database>,
  messages: BatchMessage[],
  allowed: boolean[],
  now: string,
): Promise<BatchRow[]> {
  const { rows } = await insertBatchQuery(messages, allowed, now).execute(trx)
  return rows
}

/** insertBatch's statement, for EXPLAIN. */
export function insertBatchQuery(messages: BatchMessage[], allowed: boolean[], now: string) {
  return sql<BatchRow>`
    WITH input AS (
      SELECT * FROM unnest(
        ${ids(messages.map((m) => m.conversationId))}, ${ids(messages.map((m) => m.senderId))},
        ${messages.map((m) => m.content)}::text[], ${messages.map((m) => m.clientId)}::text[],
        ${messages.map((m) => (m.mentions?.length ? JSON.stringify(m.mentions) : null))}::text[],
        ${allowed}::boolean[]
      ) WITH ORDINALITY AS t(conversation_id, sender_id, content, client_id, mentions, allowed, ord)
    ),
    existing AS (
      -- One lookup in messages_client_id per message: a join could be planned as a scan of messages.
      SELECT m.* FROM messages m
      WHERE m.id = ANY(ARRAY(
        SELECT (SELECT e.id FROM messages e WHERE e.sender_id = i.sender_id AND e.client_id = i.client_id)
        FROM input i WHERE i.client_id IS NOT NULL
      ))
    ),
    fresh AS (
      SELECT i.*,
        row_number() OVER (PARTITION BY i.conversation_id ORDER BY i.ord) AS rank,
        count(*) OVER (PARTITION BY i.conversation_id) AS n
      FROM input i
      WHERE i.allowed AND NOT EXISTS (
        SELECT 1 FROM existing e WHERE e.sender_id = i.sender_id AND e.client_id = i.client_id
      )
    ),
    bumped AS (
      UPDATE conversations c
      SET change_seq = c.change_seq + f.n, last_activity_at = ${now}
      FROM (SELECT DISTINCT conversation_id, n FROM fresh) f
      WHERE c.id = f.conversation_id
      RETURNING c.id, c.change_seq
    ),
    inserted AS (
      INSERT INTO messages (conversation_id, sender_id, content, client_id, mentions, created_at, change_seq)
      SELECT f.conversation_id, f.sender_id, f.content, f.client_id, f.mentions, ${now}, b.change_seq - f.n + f.rank
      FROM fresh f JOIN bumped b ON b.id = f.conversation_id
      ORDER BY f.ord
      ON CONFLICT (sender_id, client_id) DO NOTHING
      RETURNING *
    ),
    unread AS (
      SELECT m.conversation_id, m.user_id, count(*) AS n,
        count(*) FILTER (WHERE x.mentions IS NOT NULL AND x.mentions::jsonb @> to_jsonb(m.user_id)) AS mentioned
      FROM conversation_members m
      JOIN inserted x ON x.conversation_id = m.conversation_id AND x.sender_id <> m.user_id
      WHERE m.conversation_id IN (SELECT conversation_id FROM fresh)
      GROUP BY m.conversation_id, m.user_id
    ),
    counted AS (
      UPDATE conversation_members m
      SET unread_count = m.unread_count + u.n, unread_mentions = m.unread_mentions + u.mentioned
      FROM unread u
      WHERE m.conversation_id = u.conversation_id AND m.user_id = u.user_id
      RETURNING 1
    ),
    -- The push outbox row commits with its message, when anyone else there has a device.
    queued AS (
      INSERT INTO push_outbox (message_id, created_at)
      SELECT x.id, x.created_at FROM inserted x
      WHERE EXISTS (
        SELECT 1 FROM conversation_members cm
        JOIN push_subscriptions ps ON ps.user_id = cm.user_id
        WHERE cm.conversation_id = x.conversation_id AND cm.user_id <> x.sender_id
      )
      RETURNING 1
    )
    SELECT inserted.*, true AS created FROM inserted
    UNION ALL
    SELECT existing.*, false AS created FROM existing`
}
