import type { MemberSettings } from '../caches/members.js'
import type { AppContext } from '../context.js'
import { setNotificationLevel as storeLevel } from '../db/queries/conversation-members.js'
import { notFound } from '../errors.js'
import { publishToUsers } from './events.js'
import { conversationFor } from './membership.js'
import { effectiveLevel, type NotificationLevel } from './notification-levels.js'
import type { ConversationView, MessageView } from './views.js'

// Who is notified of a message, and why. Decided once per message, after its commit, on the node
// that committed it (from the cached member settings): the `notification` frames go out from here,
// and anything else that notifies (push, email) starts from the same list.

export type NotificationReason = 'direct' | 'mention' | 'all'

export interface NotificationTarget {
  user_id: number
  reason: NotificationReason
}

/**
 * The rule, for one message: never the sender; level `none` nothing; a mention (at `all` or
 * `mentions`) gives reason `mention`; otherwise level `all` gives `direct` in a direct
 * conversation and `all` elsewhere; level `mentions` without a mention nothing.
 */
export function decideTargets(
  settings: MemberSettings,
  message: Pick<MessageView, 'sender_id' | 'mentions'>,
): NotificationTarget[] {
  const mentioned = new Set(message.mentions)
  const targets: NotificationTarget[] = []
  for (const [userId, chosen] of settings.levels) {
    if (userId === message.sender_id) continue
    const level = effectiveLevel(settings.kind, chosen)
    if (level === 'none') continue
    if (mentioned.has(userId)) targets.push({ user_id: userId, reason: 'mention' })
    else if (level === 'all')
      targets.push({ user_id: userId, reason: settings.kind === 'direct' ? 'direct' : 'all' })
  }
  return targets
}

/** Who gets a `notification` for this new message, and why (from the cached member settings). */
export async function notificationTargets(
  ctx: AppContext,
  message: MessageView,
): Promise<NotificationTarget[]> {
  const settings = await ctx.members.settings(message.conversation_id)
  return settings ? decideTargets(settings, message) : []
}

/** One `notification` event per reason, to the sockets of the users it names (on every node). */
export function publishNotifications(
  ctx: AppContext,
  message: MessageView,
  targets: NotificationTarget[],
): void {
  const byReason = new Map<NotificationReason, number[]>()
  for (const { user_id, reason } of targets) {
    const list = byReason.get(reason)
    if (list) list.push(user_id)
    else byReason.set(reason, [user_id])
  }
  for (const [reason, userIds] of byReason) {
    publishToUsers(ctx, userIds, {
      type: 'notification',
      conversation_id: message.conversation_id,
      message,
      reason,
    })
  }
}

/** Decides and announces the notifications of a new message; returns whom it notified. */
export async function notifyNewMessage(ctx: AppContext, message: MessageView): Promise<NotificationTarget[]> {
  const targets = await notificationTargets(ctx, message)
  publishNotifications(ctx, message, targets)
  return targets
}

/**
 * An edit that mentions someone it did not before notifies them (reason `mention`, if their level
 * lets mentions through); nobody else is told again.
 */
export async function notifyNewMentions(
  ctx: AppContext,
  message: MessageView,
  before: number[],
): Promise<void> {
  const earlier = new Set(before)
  const added = message.mentions.filter((id) => !earlier.has(id))
  if (added.length === 0) return
  const targets = (await notificationTargets(ctx, { ...message, mentions: added })).filter(
    (target) => target.reason === 'mention',
  )
  publishNotifications(ctx, message, targets)
}

/** Sets my notification level for a conversation; my other sockets get the conversation again. */
export async function setNotifications(
  ctx: AppContext,
  userId: number,
  conversationId: number,
  level: NotificationLevel,
  acknowledge?: (conversation: ConversationView) => void,
): Promise<ConversationView> {
  ctx.limits.spendWrite(userId)
  if (!(await storeLevel(ctx.db, conversationId, userId, level))) throw notFound('Conversation')
  ctx.members.changed(conversationId)
  const conversation = await conversationFor(ctx, conversationId, userId)
  acknowledge?.(conversation)
  publishToUsers(ctx, [userId], { type: 'conversation', conversation })
  return conversation
}
