// @ts-check
// The SQLite hot path of sending a message: the same writes as appendMessage (kysely.ts), as
// statements prepared once, every message of a batch in one IMMEDIATE transaction (one fsync).
// Plain JavaScript, type-checked by tsc (`@ts-check`), because it also runs in the writer thread
// (writer.worker.js), which starts without a TypeScript loader. It is the one place besides
// src/db/queries/ where SQL is written.

/**
 * The code of the error a message fails with when its conversation does not exist (any more) or
 * its sender is not a member at the moment it would commit.
 */
export const NO_CONVERSATION = 'PARLEY_NO_CONVERSATION'

/** The code of an upload that would take its uploader over their quota (the message carries the quota). */
export const QUOTA_EXCEEDED = 'PARLEY_QUOTA_EXCEEDED'

/**
 * @typedef {{ name: string, size: number, contentType: string, sha256: string, storageName: string, width: number | null, height: number | null, thumbnailName: string | null, projectId: number | null, quotaBytes: number }} AttachmentInput
 * @typedef {{ conversationId: number, senderId: number, content: string, clientId: string | null, attachment?: AttachmentInput, mentions?: number[] }} AppendInput
 * @typedef {{ ok: true, row: Record<string, unknown>, created: boolean, file?: Record<string, unknown> }} AppendSuccess
 * @typedef {AppendSuccess | { ok: false, code: string | undefined, message: string }} AppendOutcome
 */

/**
 * @param {import('better-sqlite3').Database} sqlite
 * @returns {(inputs: AppendInput[]) => AppendOutcome[]} runs one batch; throws when the batch as a
 *   whole could not commit (busy past busy_timeout, disk full), in which case none of it happened.
 */
export function createAppender(sqlite) {
  const byClientId = sqlite.prepare('SELECT * FROM messages WHERE sender_id = ? AND client_id = ?')
  // The membership check is part of the write: a sender removed before this commit gets nothing in.
  const bump = sqlite.prepare(
    `UPDATE conversations SET change_seq = change_seq + 1, last_activity_at = ?
     WHERE id = ? AND EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = ? AND user_id = ?)
     RETURNING change_seq`,
  )
  // Unread counts (see src/db/queries/unread-counts.ts), once per conversation per batch.
  const unreadToOthers = sqlite.prepare(
    'UPDATE conversation_members SET unread_count = unread_count + ? WHERE conversation_id = ? AND user_id <> ?',
  )
  const unreadToAll = sqlite.prepare(
    'UPDATE conversation_members SET unread_count = unread_count + ? WHERE conversation_id = ?',
  )
  const unreadFromSender = sqlite.prepare(
    'UPDATE conversation_members SET unread_count = unread_count - ? WHERE conversation_id = ? AND user_id = ?',
  )
  const insert = sqlite.prepare(
    `INSERT INTO messages (conversation_id, sender_id, content, client_id, created_at, change_seq, mentions)
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  )
  // The mentioned members' unread_mentions, with the message (mentions: JSON text of their ids).
  const mentionUnread = sqlite.prepare(
    `UPDATE conversation_members SET unread_mentions = unread_mentions + 1
     WHERE conversation_id = ? AND user_id IN (SELECT value FROM json_each(?))`,
  )
  // An upload: the file row commits with the message that carries it, within the uploader's quota
  // (SQLite writes one transaction at a time, so two uploads cannot both pass the sum).
  const storedBytes = sqlite.prepare(
    'SELECT coalesce(sum(size), 0) AS bytes FROM files WHERE uploaded_by = ?',
  )
  const insertFile = sqlite.prepare(
    `INSERT INTO files (name, size, content_type, sha256, storage_name, uploaded_by, project_id,
       conversation_id, message_id, created_at, width, height, thumbnail_name)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  )

  // The push outbox row (src/db/queries/push-outbox.ts, the same statement): commits with the
  // message, only if another member of the conversation has a push subscription.
  const queuePush = sqlite.prepare(
    `INSERT INTO push_outbox (message_id, created_at)
     SELECT id, created_at FROM messages WHERE id = ? AND EXISTS (
       SELECT 1 FROM conversation_members m JOIN push_subscriptions s ON s.user_id = m.user_id
       WHERE m.conversation_id = ? AND m.user_id <> ?)`,
  )

  /** @type {(input: AppendInput) => AppendSuccess} */
  const appendOne = (input) => {
    if (input.clientId !== null) {
      const first = /** @type {Record<string, unknown> | undefined} */ (
        byClientId.get(input.senderId, input.clientId)
      )
      if (first) return { ok: true, row: first, created: false }
    }
    const { attachment } = input
    if (attachment) {
      const { bytes } = /** @type {{ bytes: number }} */ (storedBytes.get(input.senderId))
      if (bytes + attachment.size > attachment.quotaBytes) {
        throw Object.assign(new Error(String(attachment.quotaBytes)), { code: QUOTA_EXCEEDED })
      }
    }
    const now = new Date().toISOString()
    const mentions = input.mentions && input.mentions.length > 0 ? JSON.stringify(input.mentions) : null
    const conversation = /** @type {{ change_seq: number } | undefined} */ (
      bump.get(now, input.conversationId, input.conversationId, input.senderId)
    )
    if (!conversation) throw Object.assign(new Error('Conversation not found'), { code: NO_CONVERSATION })
    const row = /** @type {Record<string, unknown>} */ (
      insert.get(
        input.conversationId,
        input.senderId,
        input.content,
        input.clientId,
        now,
        conversation.change_seq,
        mentions,
      )
    )
    if (mentions !== null) mentionUnread.run(input.conversationId, mentions)
    queuePush.run(row.id, input.conversationId, input.senderId)
    if (!attachment) return { ok: true, row, created: true }
    const file = /** @type {Record<string, unknown>} */ (
      insertFile.get(
        attachment.name,
        attachment.size,
        attachment.contentType,
        attachment.sha256,
        attachment.storageName,
        input.senderId,
        attachment.projectId,
        input.conversationId,
        row.id,
        now,
        attachment.width,
        attachment.height,
        attachment.thumbnailName,
      )
    )
    return { ok: true, row, created: true, file }
  }
  // Each message in its own savepoint (a nested better-sqlite3 transaction), so one that fails is
  // undone alone and the rest of the batch still commits.
  const appendInSavepoint = sqlite.transaction(appendOne)

  /** +n for every member but the sender; with several senders, +n for all then -k for each. */
  const countUnread = (/** @type {AppendInput[]} */ inputs, /** @type {AppendOutcome[]} */ outcomes) => {
    /** @type {Map<number, Map<number, number>>} conversation -> sender -> new messages */
    const tally = new Map()
    outcomes.forEach((outcome, i) => {
      if (!outcome.ok || !outcome.created) return
      const { conversationId, senderId } = inputs[i]
      const senders = tally.get(conversationId) ?? new Map()
      senders.set(senderId, (senders.get(senderId) ?? 0) + 1)
      tally.set(conversationId, senders)
    })
    for (const [conversationId, senders] of tally) {
      if (senders.size === 1) {
        const [[senderId, n]] = senders
        unreadToOthers.run(n, conversationId, senderId)
        continue
      }
      let total = 0
      for (const n of senders.values()) total += n
      unreadToAll.run(total, conversationId)
      for (const [senderId, k] of senders) unreadFromSender.run(k, conversationId, senderId)
    }
  }

  const appendAll = sqlite.transaction((/** @type {AppendInput[]} */ inputs) => {
    const outcomes = inputs.map((input) => {
      try {
        // Alone in its batch a message needs no savepoint: it fails before its first write, unless it
        // carries a file (two inserts).
        return inputs.length === 1 && !input.attachment ? appendOne(input) : appendInSavepoint(input)
      } catch (error) {
        const { code, message } = /** @type {{ code?: string, message: string }} */ (error)
        return /** @type {AppendOutcome} */ ({ ok: false, code, message })
      }
    })
    countUnread(inputs, outcomes)
    return outcomes
  })
  return (inputs) => appendAll.immediate(inputs)
}
