import { unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Kysely, Transaction } from 'kysely'
import type { AppContext } from '../context.js'
import { insertAudit } from '../db/queries/audit-log.js'
import { bumpChangeSeq, findChangeWindow } from '../db/queries/conversations.js'
import { deleteFilesOfMessage } from '../db/queries/files.js'
import {
  changedSince,
  earliestChangeAfter,
  findMessage as findStoredMessage,
  liveMessages,
  tombstone,
  updateContent,
} from '../db/queries/messages.js'
import { findProjectOwner } from '../db/queries/projects.js'
import { moveReadPointer, recountMentions, uncountDeleted } from '../db/queries/unread-counts.js'
import { findUserById } from '../db/queries/users.js'
import type { Database, MessageRow } from '../db/types.js'
import { AppError, badRequest, conflict, forbidden, notFound } from '../errors.js'
import { nowIso } from '../time.js'
import type { ConversationContext } from './context.js'
import { publishMessage, publishToMembers } from './events.js'
import { requireMembership } from './membership.js'
import { parseMentions, resolveMentions, storedMentions } from './mentions.js'
import { notifyNewMentions, notifyNewMessage } from './notifications.js'
import { type MessageView, messageViews, toMessageView } from './views.js'

export const MAX_CONTENT = 4000

/** The one rule for message text: 1-4000 characters and not blank. */
export function checkContent(content: string): string {
  if (content.length === 0 || content.length > MAX_CONTENT) {
    throw badRequest(`content must be 1-${MAX_CONTENT} characters`)
  }
  if (content.trim() === '') throw badRequest('content must not be blank')
  return content
}

async function oneView(ctx: AppContext, row: MessageRow): Promise<MessageView> {
  const [view] = await messageViews(ctx.db, [row])
  return view
}

const clientIdReused = () =>
  conflict(
    'CLIENT_ID_REUSED',
    'That client_id names another message of yours: use a new client_id for a new message',
  )

/**
 * Whether the message a client_id named is this send again (a retry): same conversation, same
 * text. A message edited or deleted since no longer has the text it was sent with, so there the
 * conversation alone decides.
 */
function isSameSend(first: MessageRow, conversationId: number, content: string): boolean {
  if (Number(first.conversation_id) !== conversationId) return false
  return first.edited_at !== null || first.deleted_at !== null || first.content === content
}

export interface SentMessage {
  message: MessageView
  /** false when the client_id named an earlier message: nothing new to announce. */
  created: boolean
  /** The change number the message got (the `cursor` of its `message` frame). */
  cursor: number
}

/**
 * Sends a message: commits (grouped with the other writes of this loop turn) and returns what
 * happened, announced to nobody yet: the caller answers its own client first, then calls
 * announceSent, so a socket's `ack` goes out ahead of the `message` frame its own socket gets too.
 * A repeated client_id from the same sender returns the first message if it is the same send
 * (same conversation and text), and is refused with CLIENT_ID_REUSED otherwise (nothing stored).
 */
export async function sendMessage(
  ctx: ConversationContext,
  senderId: number,
  conversationId: number,
  input: { content: string; client_id?: string },
): Promise<SentMessage> {
  ctx.limits.spendWrite(senderId)
  const content = checkContent(input.content)
  if (!(await ctx.members.has(conversationId, senderId))) throw notFound('Conversation')
  const result = await ctx.messages.append({
    conversationId,
    senderId,
    content,
    clientId: input.client_id ?? null,
    mentions: await resolveMentions(ctx, conversationId, senderId, content),
  })
  if (!result.created) {
    if (!isSameSend(result.row, conversationId, content)) throw clientIdReused()
    return { message: await oneView(ctx, result.row), created: false, cursor: Number(result.row.change_seq) }
  }
  ctx.metrics.messagesIn.inc()
  return { message: toMessageView(result.row), created: true, cursor: Number(result.row.change_seq) }
}

/**
 * Tells the members of a message sendMessage created (a repeat announces nothing), then those it
 * should notify (notifications.ts decides who).
 */
export async function announceSent(ctx: AppContext, sent: SentMessage): Promise<void> {
  if (!sent.created) return
  await publishMessage(ctx, sent.message, sent.cursor)
  await notifyNewMessage(ctx, sent.message)
}

async function findMessage(ctx: AppContext, conversationId: number, messageId: number): Promise<MessageRow> {
  const row = await findStoredMessage(ctx.db, conversationId, messageId)
  if (!row || row.deleted_at !== null) throw notFound('Message')
  return row
}

/** Marks a change to a message: the next change number of its conversation (which must exist). */
async function bumpChange(trx: Transaction<Database>, conversationId: number): Promise<number> {
  const changeSeq = await bumpChangeSeq(trx, conversationId)
  if (changeSeq === undefined) throw notFound('Conversation')
  return changeSeq
}

/**
 * Told once a change committed, before the members are: a socket's `ack` goes out first, ahead
 * of the broadcast its own socket gets too (the same order for every action; see PROTOCOL.md).
 */
export type Acknowledge<T> = (result: T) => void

export async function editMessage(
  ctx: AppContext,
  actorId: number,
  conversationId: number,
  messageId: number,
  content: string,
  acknowledge?: Acknowledge<MessageView>,
): Promise<MessageView> {
  ctx.limits.spendWrite(actorId)
  checkContent(content)
  await requireMembership(ctx, conversationId, actorId)
  const existing = await findMessage(ctx, conversationId, messageId)
  if (Number(existing.sender_id) !== actorId) throw forbidden('Only the sender may edit a message')
  // Mentions are resolved again: whom the new text names is whom it mentions (see DECISIONS.md).
  const mentions = await resolveMentions(ctx, conversationId, actorId, content)
  const lockConversation = { key: conversationId }
  const { row, before } = await ctx.writes.run(async (trx) => {
    const changeSeq = await bumpChange(trx, conversationId)
    // Read after the lock (bumpChange): the mentions the counts hold now.
    const before = parseMentions((await findStoredMessage(trx, conversationId, messageId))?.mentions ?? null)
    const row = await updateContent(trx, messageId, {
      content,
      editedAt: nowIso(),
      changeSeq,
      mentions: storedMentions(mentions),
    })
    if (row) await recountMentions(trx, { conversationId, messageId, before, after: mentions })
    return { row, before }
  }, lockConversation)
  if (!row) throw notFound('Message')
  const message = await oneView(ctx, row)
  acknowledge?.(message)
  await publishToMembers(ctx, conversationId, {
    type: 'message_updated',
    message,
    cursor: Number(row.change_seq),
  })
  await notifyNewMentions(ctx, message, before)
  return message
}

/**
 * The sender deletes, and so may the owner of the project the conversation belongs to, and any
 * admin who is a member (moderation: recorded in the audit log). The row records who deleted it.
 */
export async function deleteMessage(
  ctx: AppContext,
  actorId: number,
  conversationId: number,
  messageId: number,
  acknowledge?: Acknowledge<void>,
): Promise<void> {
  ctx.limits.spendWrite(actorId)
  const conversation = await requireMembership(ctx, conversationId, actorId)
  const existing = await findMessage(ctx, conversationId, messageId)
  const senderId = Number(existing.sender_id)
  let moderation = false
  if (senderId !== actorId && !(await ownsProject(ctx, conversation.project_id, actorId))) {
    // The role read afresh: a demotion applies at once.
    moderation = (await findUserById(ctx.db, actorId))?.role === 'admin'
    if (!moderation) throw forbidden("Only the sender, the project's owner or an admin may delete a message")
  }
  const lockConversation = { key: conversationId }
  const { removedFiles, changeSeq } = await ctx.writes.run(async (trx) => {
    const changeSeq = await bumpChange(trx, conversationId)
    // The text is gone for good; the row stays as a tombstone so the change feed can say so.
    // Only the first of two deletes at once gets the row: the other is rolled back to its
    // savepoint (change number included) and answers NOT_FOUND, as for any deleted message.
    const deletedAt = nowIso()
    const deleted = await tombstone(trx, conversationId, messageId, {
      deletedAt,
      changeSeq,
      deletedBy: actorId,
    })
    if (!deleted) throw notFound('Message')
    await uncountDeleted(trx, {
      conversationId,
      messageId,
      senderId: Number(deleted.sender_id),
      mentions: parseMentions(deleted.mentions),
    })
    if (moderation) {
      await insertAudit(trx, {
        actor_id: actorId,
        action: 'message_deleted',
        target_user_id: senderId,
        details: { conversation_id: conversationId, message_id: messageId },
        created_at: deletedAt,
      })
    }
    // A project's files outlive the announcement; files sent into a conversation go with their message.
    return { removedFiles: await deleteFilesOfMessage(trx, messageId), changeSeq }
  }, lockConversation)
  await Promise.all(removedFiles.map((name) => unlink(join(ctx.config.uploadDir, name)).catch(() => {})))
  acknowledge?.()
  await publishToMembers(ctx, conversationId, {
    type: 'message_deleted',
    conversation_id: conversationId,
    message_id: messageId,
    deleted_by: actorId,
    cursor: changeSeq,
  })
}

async function ownsProject(ctx: AppContext, projectId: number | null, userId: number): Promise<boolean> {
  if (projectId === null) return false
  return (await findProjectOwner(ctx.db, projectId)) === userId
}

/** Moves my read pointer forward (never back) and tells the members. */
export async function markRead(
  ctx: AppContext,
  userId: number,
  conversationId: number,
  messageId: number,
  acknowledge?: Acknowledge<number>,
): Promise<number> {
  const membership = await requireMembership(ctx, conversationId, userId)
  if (messageId > 0) {
    const exists = await findStoredMessage(ctx.db, conversationId, messageId)
    if (!exists) throw notFound('Message')
  }
  const current = Number(membership.last_read_message_id)
  if (messageId <= current) {
    acknowledge?.(current)
    return current
  }
  // Counted again with the move (bounded by the messages after the new pointer).
  // Not moved: a concurrent mark_read took it further, and announces that.
  const moved = await moveReadPointer(ctx.db, conversationId, userId, messageId)
  acknowledge?.(messageId)
  if (!moved) return messageId
  await publishToMembers(ctx, conversationId, {
    type: 'read',
    conversation_id: conversationId,
    user_id: userId,
    message_id: messageId,
  })
  return messageId
}

export interface HistoryPage {
  messages: MessageView[]
  has_more: boolean
}

/** Live messages, oldest first: `after` catches up, `before` pages back, neither gives the latest. */
export async function history(
  db: Kysely<Database>,
  conversationId: number,
  page: { before?: number; after?: number; limit?: number },
): Promise<HistoryPage> {
  const limit = page.limit ?? 50
  const rows = await liveMessages(db, conversationId, { ...page, limit: limit + 1 })
  const shown = rows.slice(0, limit)
  return {
    messages: await messageViews(db, page.after !== undefined ? shown : shown.reverse()),
    has_more: rows.length > limit,
  }
}

/**
 * The history page, and the change number it is exact for when nothing changed in the
 * conversation while it was read: `seen` was read before the page, and is read again after it.
 */
export async function historyAt(
  db: Kysely<Database>,
  conversationId: number,
  page: { before?: number; after?: number; limit?: number },
  seen: number,
): Promise<{ page: HistoryPage; version: number | undefined }> {
  const result = await history(db, conversationId, page)
  const now = await findChangeWindow(db, conversationId)
  return { page: result, version: now && Number(now.change_seq) === seen ? seen : undefined }
}

export interface ChangesPage extends HistoryPage {
  cursor: number
}

/** A read transaction on one snapshot (PostgreSQL's default READ COMMITTED reads each statement afresh). */
const snapshot = (db: Kysely<Database>) => db.transaction().setIsolationLevel('repeatable read')

export const cursorExpired = () =>
  new AppError(410, 'CURSOR_EXPIRED', 'That cursor is too old or unknown: load the history again')

/**
 * Every message created, edited or deleted since `cursor`, each once in its latest state.
 * Read in one transaction so the returned cursor matches the messages exactly.
 */
export function changes(
  db: Kysely<Database>,
  conversationId: number,
  cursor: number,
  limit = 50,
): Promise<ChangesPage> {
  return snapshot(db).execute(async (trx) => {
    const conversation = await findChangeWindow(trx, conversationId)
    if (!conversation) throw notFound('Conversation')
    if (cursor > Number(conversation.change_seq) || cursor < Number(conversation.change_floor)) {
      throw cursorExpired()
    }
    const rows = await changedSince(trx, conversationId, cursor, limit + 1)
    const hasMore = rows.length > limit
    const page = rows.slice(0, limit)
    return {
      messages: await messageViews(trx, page),
      has_more: hasMore,
      cursor: hasMore ? Number(page[page.length - 1].change_seq) : Number(conversation.change_seq),
    }
  })
}

/** History plus the cursor it is current to, read together (the reply to `join`). */
export function historyWithCursor(
  db: Kysely<Database>,
  conversationId: number,
  page: { after?: number; limit?: number },
): Promise<ChangesPage> {
  return snapshot(db).execute(async (trx) => {
    const conversation = await findChangeWindow(trx, conversationId)
    if (!conversation) throw notFound('Conversation')
    const result = await history(trx, conversationId, page)
    if (page.after === undefined || !result.has_more)
      return { ...result, cursor: Number(conversation.change_seq) }
    // Catching up page by page: the cursor must not pass the messages still to come, so it stops
    // just before the earliest change among them (a replay may repeat some; clients dedupe by id).
    const lastId = result.messages[result.messages.length - 1].id
    return { ...result, cursor: (await earliestChangeAfter(trx, conversationId, lastId)) - 1 }
  })
}
