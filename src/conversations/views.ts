import type { Kysely } from 'kysely'
import type { AppContext } from '../context.js'
import { type MemberConversationRow, membersInJoinOrder } from '../db/queries/conversation-members.js'
import { filesOfMessages } from '../db/queries/files.js'
import { latestLiveMessages } from '../db/queries/messages.js'
import { findUserViews } from '../db/queries/users.js'
import type { Database, FileRow, MessageRow } from '../db/types.js'
import { presenceOfPeers } from '../presence/scope.js'
import { toUserView, type UserView } from '../presence/user-view.js'
import { parseMentions } from './mentions.js'
import { effectiveLevel, type NotificationLevel } from './notification-levels.js'

export type { MemberConversationRow }

// Rows to the contract's objects. Kept apart from the rules so every caller shapes them alike.

export interface FileView {
  id: number
  name: string
  size: number
  content_type: string
  sha256: string
  uploaded_by: number
  project_id: number | null
  conversation_id: number
  created_at: string
  /** Images: the displayed size, and where the thumbnail is; null for other files. */
  width: number | null
  height: number | null
  thumbnail_url: string | null
}

export interface MessageView {
  id: number
  conversation_id: number
  sender_id: number
  content: string | null
  client_id: string | null
  attachments: FileView[]
  created_at: string
  edited_at: string | null
  deleted: boolean
  /** The user ids it mentions, resolved when it was sent (and again at each edit). */
  mentions: number[]
  /** Who deleted it, once deleted (when recorded). */
  deleted_by?: number
}

export interface ConversationView {
  id: number
  kind: 'direct' | 'group' | 'project'
  title: string | null
  project_id: number | null
  members: UserView[]
  last_message: MessageView | null
  unread_count: number
  /** Mentions of me in live messages after my read pointer. */
  unread_mentions: number
  /** My notification level here (the kind's default until I choose). */
  notification_level: NotificationLevel
  last_read_message_id: number
  /** Every member's read pointer, for read receipts. */
  read_pointers: Array<{ user_id: number; message_id: number }>
  created_by: number | null
  created_at: string
  last_activity_at: string
}

/** A conversation's row with the viewer's member row: read pointer and stored counts. */
export function toFileView(row: FileRow): FileView {
  return {
    id: Number(row.id),
    name: row.name,
    size: Number(row.size),
    content_type: row.content_type,
    sha256: row.sha256,
    uploaded_by: Number(row.uploaded_by),
    project_id: row.project_id === null ? null : Number(row.project_id),
    conversation_id: Number(row.conversation_id),
    created_at: row.created_at,
    width: row.width === null ? null : Number(row.width),
    height: row.height === null ? null : Number(row.height),
    thumbnail_url: row.thumbnail_name === null ? null : `/files/${Number(row.id)}/thumbnail`,
  }
}

export function toMessageView(row: MessageRow, attachments: FileView[] = []): MessageView {
  const deleted = row.deleted_at !== null
  return {
    id: Number(row.id),
    conversation_id: Number(row.conversation_id),
    sender_id: Number(row.sender_id),
    content: deleted ? null : row.content,
    client_id: row.client_id,
    attachments: deleted ? [] : attachments,
    created_at: row.created_at,
    edited_at: row.edited_at,
    deleted,
    mentions: deleted ? [] : parseMentions(row.mentions),
    ...(deleted && row.deleted_by != null ? { deleted_by: Number(row.deleted_by) } : {}),
  }
}

/** Message views with their attachments, in the order given. */
export async function messageViews(db: Kysely<Database>, rows: MessageRow[]): Promise<MessageView[]> {
  const ids = rows.filter((row) => row.deleted_at === null).map((row) => Number(row.id))
  const byMessage = new Map<number, FileView[]>()
  if (ids.length > 0) {
    const files = await filesOfMessages(db, ids)
    for (const file of files) {
      const list = byMessage.get(Number(file.message_id)) ?? []
      list.push(toFileView(file))
      byMessage.set(Number(file.message_id), list)
    }
  }
  return rows.map((row) => toMessageView(row, byMessage.get(Number(row.id))))
}

/**
 * The conversations as the member whose rows these are sees them: members, latest message, their
 * unread counts (stored on their member row: reading them does not count messages).
 */
export async function conversationViews(
  ctx: AppContext,
  rows: MemberConversationRow[],
): Promise<ConversationView[]> {
  if (rows.length === 0) return []
  const ids = rows.map((row) => Number(row.id))
  const db = ctx.db
  const memberRows = await membersInJoinOrder(db, ids)
  const membersOf = new Map<number, typeof memberRows>()
  for (const member of memberRows) {
    const conversationId = Number(member.conversation_id)
    const list = membersOf.get(conversationId)
    if (list) list.push(member)
    else membersOf.set(conversationId, [member])
  }
  const users = new Map(
    (await findUserViews(db, [...new Set(memberRows.map((row) => Number(row.user_id)))])).map((user) => [
      Number(user.id),
      // The viewer is a member: the other members share this conversation with them.
      toUserView(user, presenceOfPeers(ctx)),
    ]),
  )
  const lastMessages = await latestLiveMessages(db, ids)
  const lastViews = new Map(
    (await messageViews(db, lastMessages)).map((message) => [message.conversation_id, message]),
  )

  return rows.map((row) => {
    const id = Number(row.id)
    const members = membersOf.get(id) ?? []
    return {
      id,
      kind: row.kind,
      title: row.title,
      project_id: row.project_id === null ? null : Number(row.project_id),
      members: members
        .map((member) => users.get(Number(member.user_id)))
        .filter((user): user is UserView => user !== undefined),
      last_message: lastViews.get(id) ?? null,
      unread_count: Number(row.unread_count),
      unread_mentions: Number(row.unread_mentions),
      notification_level: effectiveLevel(row.kind, row.notification_level),
      last_read_message_id: Number(row.last_read_message_id),
      read_pointers: members.map((member) => ({
        user_id: Number(member.user_id),
        message_id: Number(member.last_read_message_id),
      })),
      created_by: row.created_by === null ? null : Number(row.created_by),
      created_at: row.created_at,
      last_activity_at: row.last_activity_at,
    }
  })
}
