// The SQLite hot path of sending a message: the same writes as appendMessage (messages.ts), as
// statements prepared once, every message of a batch in one IMMEDIATE transaction (one fsync).
// Plain JavaScript because it also runs in the writer worker (message-writer.worker.js), which
// starts without a TypeScript loader.

/**
 * The code of the error a message fails with when its conversation does not exist (any more) or
 * its sender is not a member at the moment it would commit.
 */
export const NO_CONVERSATION = 'PARLEY_NO_CONVERSATION'

/**
 * @typedef {{ conversationId: number, senderId: number, content: string, clientId: string | null }} AppendInput
 * @typedef {{ ok: true, row: Record<string, unknown>, created: boolean } | { ok: false, code: string | undefined, message: string }} AppendOutcome
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
  // Unread counts (see unread.ts), once per conversation per batch.
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
    `INSERT INTO messages (conversation_id, sender_id, content, client_id, created_at, change_seq)
     VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
  )

  /** @param {AppendInput} input */
  const appendOne = (input) => {
    if (input.clientId !== null) {
      const first = byClientId.get(input.senderId, input.clientId)
      if (first) return { ok: true, row: first, created: false }
    }
    const now = new Date().toISOString()
    const conversation = /** @type {{ change_seq: number } | undefined} */ (
      bump.get(now, input.conversationId, input.conversationId, input.senderId)
    )
    if (!conversation) throw Object.assign(new Error('Conversation not found'), { code: NO_CONVERSATION })
    const row = insert.get(
      input.conversationId,
      input.senderId,
      input.content,
      input.clientId,
      now,
      conversation.change_seq,
    )
    return { ok: true, row, created: true }
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
        return inputs.length === 1 ? appendOne(input) : appendInSavepoint(input)
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
