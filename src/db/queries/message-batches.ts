import type { MessageRow } from '../types.js'

// PostgreSQL only: a batch of new messages as set operations (the message store's PostgreSQL
// path, src/conversations/message-store/pg-batches.ts). One statement, whatever the batch's size,
// run on its own (its own transaction: one round trip, no BEGIN or COMMIT) as a named prepared
// statement: its text never changes (the batch rides in arrays), so each connection parses it once
// and PostgreSQL keeps its plan. The SQLite appender (sqlite-appender.js) and appendMessage
// (kysely.ts, uploads) do the same writes one message at a time: the message, its change number,
// the unread counts and mentions, the push outbox row.

export interface BatchMessage {
  conversationId: number
  senderId: number
  content: string
  clientId: string | null
  /** Whom it mentions (resolved before the batch); stored as JSON text, like the other stores. */
  mentions?: number[]
}

/** What runs a named statement: pg's Pool or Client (`query({ name, text, values })`). */
export interface PreparedQueryRunner {
  query<R>(config: {
    name: string
    text: string
    values: unknown[]
    rowMode: 'array'
  }): Promise<{ rows: R[] }>
}

/**
 * Each message's outcome, in batch order: the message, created now (`created`) or stored before
 * under the same (sender, client_id) (then it took no number), or no row when its sender is not a
 * member of its conversation (and it had no such stored message).
 */
export interface BatchOutcome {
  row: MessageRow | undefined
  created: boolean
}

export const APPEND_BATCH_STATEMENT = 'parley_append_message_batch_v2'

/**
 * The statement. `locked` takes the locks first, before any write (every write below needs a row
 * of `fresh`, whose window functions read all of `checked`, which reads all of `locked`): the
 * batch's conversations in ascending id order, the order every writer takes them in, so two
 * nodes' batches do not deadlock, and a share lock on each sender's membership (a removal waits
 * for this commit, or wins). Rows another transaction changed while this one waited are seen as
 * they are now (READ COMMITTED re-reads a locked or updated row): the change number grows from
 * the latest one, the unread counts too. Rows committed meanwhile are not seen: a client_id another
 * transaction (another node) committed while this one waited fails the statement with a unique
 * violation, and nothing of it stays (no number is lost); run again, it finds that message. No two
 * messages of the batch may share a (sender, client_id).
 */
export const APPEND_BATCH_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])
    WITH ORDINALITY AS t(conversation_id, sender_id, content, client_id, mentions, ord)
),
locked AS MATERIALIZED (
  SELECT c.id AS conversation_id, m.user_id
  FROM conversations c
  JOIN conversation_members m ON m.conversation_id = c.id
  WHERE (c.id, m.user_id) IN (SELECT conversation_id, sender_id FROM input)
  ORDER BY c.id, m.user_id
  FOR NO KEY UPDATE OF c FOR KEY SHARE OF m
),
checked AS MATERIALIZED (
  SELECT i.*, l.user_id IS NOT NULL AS allowed
  FROM input i
  LEFT JOIN locked l ON l.conversation_id = i.conversation_id AND l.user_id = i.sender_id
),
existing AS MATERIALIZED (
  -- One lookup in messages_client_id per message: a join could be planned as a scan of messages.
  SELECT m.* FROM messages m
  WHERE m.id = ANY(ARRAY(
    SELECT (SELECT e.id FROM messages e WHERE e.sender_id = i.sender_id AND e.client_id = i.client_id)
    FROM input i WHERE i.client_id IS NOT NULL
  ))
),
fresh AS (
  SELECT c.*,
    row_number() OVER (PARTITION BY c.conversation_id ORDER BY c.ord) AS rank,
    count(*) OVER (PARTITION BY c.conversation_id) AS n
  FROM checked c
  WHERE c.allowed AND NOT EXISTS (
    SELECT 1 FROM existing e WHERE e.sender_id = c.sender_id AND e.client_id = c.client_id
  )
),
bumped AS (
  UPDATE conversations c
  SET change_seq = c.change_seq + f.n, last_activity_at = $6::text
  FROM (SELECT DISTINCT conversation_id, n FROM fresh) f
  WHERE c.id = f.conversation_id
  RETURNING c.id, c.change_seq
),
numbered AS (
  SELECT f.*, b.change_seq - f.n + f.rank AS seq
  FROM fresh f JOIN bumped b ON b.id = f.conversation_id
),
inserted AS (
  INSERT INTO messages (conversation_id, sender_id, content, client_id, mentions, created_at, change_seq)
  SELECT conversation_id, sender_id, content, client_id, mentions, $6::text, seq
  FROM numbered ORDER BY ord
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
),
-- A new message comes back as its id and change number only (the caller has the rest); one
-- stored before as the whole row.
outcome AS (
  SELECT i.ord, false AS created, e.id, e.change_seq, e.conversation_id, e.sender_id, e.content,
    e.client_id, e.created_at, e.edited_at, e.deleted_at, e.deleted_by, e.mentions
  FROM input i JOIN existing e ON e.sender_id = i.sender_id AND e.client_id = i.client_id
  UNION ALL
  SELECT n.ord, true, x.id, x.change_seq, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM inserted x JOIN numbered n ON n.conversation_id = x.conversation_id AND n.seq = x.change_seq
)
SELECT o.created, o.id, o.change_seq, o.conversation_id, o.sender_id, o.content, o.client_id,
  o.created_at, o.edited_at, o.deleted_at, o.deleted_by, o.mentions
FROM input i LEFT JOIN outcome o ON o.ord = i.ord
ORDER BY i.ord`

/** A row of the statement's result, as an array (pg's rowMode 'array': no object per row to build). */
type OutcomeRow = [
  created: boolean | null,
  id: number | null,
  changeSeq: number | null,
  conversationId: number | null,
  senderId: number | null,
  content: string | null,
  clientId: string | null,
  createdAt: string | null,
  editedAt: string | null,
  deletedAt: string | null,
  deletedBy: number | null,
  mentions: string | null,
]

/** The statement's parameters: one array per column, so its text is the same for every batch. */
export function appendBatchValues(messages: BatchMessage[], now: string): unknown[] {
  const n = messages.length
  const conversations = new Array<number>(n)
  const senders = new Array<number>(n)
  const contents = new Array<string>(n)
  const clientIds = new Array<string | null>(n)
  const mentions = new Array<string | null>(n)
  for (let i = 0; i < n; i++) {
    const m = messages[i]
    conversations[i] = m.conversationId
    senders[i] = m.senderId
    contents[i] = m.content
    clientIds[i] = m.clientId
    mentions[i] = m.mentions?.length ? JSON.stringify(m.mentions) : null
  }
  return [conversations, senders, contents, clientIds, mentions, now]
}

/** Writes the batch (see APPEND_BATCH_SQL); one outcome per message, in batch order. */
export async function appendBatch(
  runner: PreparedQueryRunner,
  messages: BatchMessage[],
  now: string,
): Promise<BatchOutcome[]> {
  const values = appendBatchValues(messages, now)
  const { rows } = await runner.query<OutcomeRow>({
    name: APPEND_BATCH_STATEMENT,
    text: APPEND_BATCH_SQL,
    values,
    rowMode: 'array',
  })
  const mentions = values[4] as Array<string | null>
  const outcomes = new Array<BatchOutcome>(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]
    const m = messages[i]
    if (r[1] === null) outcomes[i] = { row: undefined, created: false }
    else if (r[0] === true)
      outcomes[i] = {
        created: true,
        row: {
          id: r[1],
          conversation_id: m.conversationId,
          sender_id: m.senderId,
          content: m.content,
          client_id: m.clientId,
          created_at: now,
          edited_at: null,
          deleted_at: null,
          deleted_by: null,
          change_seq: r[2] as number,
          mentions: mentions[i],
        },
      }
    else
      outcomes[i] = {
        created: false,
        row: {
          id: r[1],
          conversation_id: r[3] as number,
          sender_id: r[4] as number,
          content: r[5] as string,
          client_id: r[6],
          created_at: r[7] as string,
          edited_at: r[8],
          deleted_at: r[9],
          deleted_by: r[10],
          change_seq: r[2] as number,
          mentions: r[11],
        },
      }
  }
  return outcomes
}
