import type { Kysely, Transaction } from 'kysely'
import { isUniqueViolation } from '../../db/index.js'
import { bumpChangeSeq } from '../../db/queries/conversations.js'
import { insertFile, storedBytes } from '../../db/queries/files.js'
import { findByClientId, insertMessage } from '../../db/queries/messages.js'
import { queuePush } from '../../db/queries/push-outbox.js'
import { countMentions, countNewMessages } from '../../db/queries/unread-counts.js'
import { lockUser } from '../../db/queries/users.js'
import type { Database, MessageRow } from '../../db/types.js'
import type { BatchNotes, WriteBatcher } from '../../db/write-batch.js'
import { notFound, quotaExceeded } from '../../errors.js'
import { nowIso } from '../../time.js'
import type { AppendInput, AttachmentInput, MessageStore } from './types.js'

// Any dialect, through Kysely: the append PostgreSQL runs, and that uploads run inside their own
// transaction on any dialect.

/**
 * Appends a message inside the caller's transaction, if the sender is a member at that moment
 * (NOT_FOUND otherwise, and nothing is written). Bumping the conversation's change number first
 * locks its row (PostgreSQL), so ids and change numbers follow commit order per conversation; on
 * PostgreSQL the membership row is share-locked too, so a removal waits for this commit or wins.
 * The members' unread counts are updated once per batch (countNewMessages).
 */
export async function appendMessage(
  trx: Transaction<Database>,
  notes: BatchNotes,
  input: AppendInput,
): Promise<MessageRow> {
  const now = nowIso()
  const changeSeq = await bumpChangeSeq(trx, input.conversationId, {
    activityAt: now,
    ifMember: input.senderId,
  })
  if (changeSeq === undefined) throw notFound('Conversation')
  const row = await insertMessage(trx, {
    conversation_id: input.conversationId,
    sender_id: input.senderId,
    content: input.content,
    client_id: input.clientId,
    created_at: now,
    change_seq: changeSeq,
    mentions: input.mentions?.length ? JSON.stringify(input.mentions) : null,
  })
  if (input.mentions?.length) await countMentions(trx, input.conversationId, input.mentions, 1)
  // The push outbox row commits with the message (src/push/ sends after the commit).
  await queuePush(trx, {
    id: Number(row.id),
    conversation_id: input.conversationId,
    sender_id: input.senderId,
  })
  notes.add(countNewMessages, { conversationId: input.conversationId, senderId: input.senderId })
  return row
}

/**
 * An upload's row, in the transaction of its message, within the uploader's quota: on PostgreSQL
 * the account's row is locked first, so of two uploads the second waits for the first to commit
 * and then counts its bytes (SQLite runs one write transaction at a time).
 */
async function attachFile(trx: Transaction<Database>, message: MessageRow, attachment: AttachmentInput) {
  const uploaderId = Number(message.sender_id)
  await lockUser(trx, uploaderId)
  if ((await storedBytes(trx, uploaderId)) + attachment.size > attachment.quotaBytes) {
    throw quotaExceeded(attachment.quotaBytes)
  }
  return insertFile(trx, {
    name: attachment.name,
    size: attachment.size,
    content_type: attachment.contentType,
    sha256: attachment.sha256,
    storage_name: attachment.storageName,
    width: attachment.width,
    height: attachment.height,
    thumbnail_name: attachment.thumbnailName,
    uploaded_by: uploaderId,
    project_id: attachment.projectId,
    conversation_id: Number(message.conversation_id),
    message_id: Number(message.id),
    created_at: message.created_at,
  })
}

/** Any dialect, through Kysely and the shared WriteBatcher. */
export function kyselyMessageStore(db: Kysely<Database>, writes: WriteBatcher): MessageStore {
  return {
    async append(input) {
      const write = async (trx: Transaction<Database>, notes: BatchNotes) => {
        // Checked inside the transaction: a retry may share a batch with its first try.
        const first =
          input.clientId === null ? undefined : await findByClientId(trx, input.senderId, input.clientId)
        if (first) return { row: first, created: false }
        const row = await appendMessage(trx, notes, input)
        if (!input.attachment) return { row, created: true }
        return { row, created: true, file: await attachFile(trx, row, input.attachment) }
      }
      return writes.run(write, { key: input.conversationId }).catch(async (error) => {
        // The same client_id committed meanwhile in another transaction (another node): the first wins.
        const first =
          input.clientId !== null &&
          isUniqueViolation(error) &&
          (await findByClientId(db, input.senderId, input.clientId))
        if (first) return { row: first, created: false }
        throw error
      })
    },
    searchable: async () => {},
    drain: () => writes.drain(),
    async close() {},
  }
}
