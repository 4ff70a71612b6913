import type { Kysely } from 'kysely'
import { membersWithUsernames } from '../db/queries/push-outbox.js'
import type { Database } from '../db/types.js'

// Who a message notifies. THE ONE PLACE to swap for the mentions domain's decision (notification
// levels, @all/@here): until then, the plain rule below.

export interface NotificationTarget {
  user_id: number
  reason: 'direct' | 'mention' | 'all'
}

export interface NotifyingMessage {
  id: number
  conversation_id: number
  sender_id: number
  content: string
  kind: 'direct' | 'group' | 'project'
}

/**
 * Stand-in rule: in a direct conversation, the other member; in a group or project, the members
 * named by `@username` in the content. Never the sender.
 */
export async function notificationTargets(
  db: Kysely<Database>,
  message: NotifyingMessage,
): Promise<NotificationTarget[]> {
  const members = await membersWithUsernames(db, message.conversation_id)
  const others = members.filter((m) => Number(m.id) !== message.sender_id)
  if (message.kind === 'direct') return others.map((m) => ({ user_id: Number(m.id), reason: 'direct' }))
  const named = new Set<string>()
  for (const match of message.content.matchAll(/@([A-Za-z0-9_.-]+)/g)) {
    const name = (match[1] as string).toLowerCase()
    // "@bob." at the end of a sentence names bob (a username may still end in a dot).
    named.add(name).add(name.replace(/[.-]+$/, ''))
  }
  return others
    .filter((m) => named.has(m.username_key))
    .map((m) => ({ user_id: Number(m.id), reason: 'mention' }))
}
