// The SQLite hot path of sending a message: the same writes as appendMessage (messages.ts), as
// statements prepared once, every message of a batch in one IMMEDIATE transaction (one fsync).
// Plain JavaScript because it also runs in the writer worker (message-writer.worker.js), which
// starts without a TypeScript loader.

/** The code of the error a message to a conversation that does not exist (any more) fails with. */
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
  const bump = sqlite.prepare(
    'UPDATE conversations SET change_seq = change_seq + 1, last_activity_at = ? WHERE id = ? RETURNING change_seq',
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
      bump.get(now, input.conversationId)
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
  const appendAll = sqlite.transaction((/** @type {AppendInput[]} */ inputs) =>
    inputs.map((input) => {
      try {
        return inputs.length === 1 ? appendOne(input) : appendInSavepoint(input)
      } catch (error) {
        const { code, message } = /** @type {{ code?: string, message: string }} */ (error)
        return { ok: false, code, message }
      }
    }),
  )
  return (inputs) => appendAll.immediate(inputs)
}
