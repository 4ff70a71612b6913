import type { Kysely } from 'kysely'
import { decideTargets, type NotificationTarget } from '../conversations/notifications.js'
import { notificationLevelsOf } from '../db/queries/conversation-members.js'
import type { Database } from '../db/types.js'

// Who a pushed message notifies: the same decision as the `notification` frames (levels,
// mentions, @all/@here as resolved at send time), read from the database because the outbox may
// be expanded on any node, long after the send.

export type { NotificationTarget }

export interface NotifyingMessage {
  id: number
  conversation_id: number
  sender_id: number
  content: string
  /** The ids the message mentioned, as stored (JSON text), or null. */
  mentions: string | null
  kind: 'direct' | 'group' | 'project'
}

export async function notificationTargets(
  db: Kysely<Database>,
  message: NotifyingMessage,
): Promise<NotificationTarget[]> {
  const rows = await notificationLevelsOf(db, message.conversation_id)
  if (rows.length === 0) return []
  const settings = {
    kind: rows[0].kind,
    levels: new Map(rows.map((row) => [Number(row.user_id), row.notification_level])),
  }
  const mentions = message.mentions ? (JSON.parse(message.mentions) as number[]).map(Number) : []
  return decideTargets(settings, { sender_id: message.sender_id, mentions })
}
