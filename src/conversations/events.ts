import type { AppContext } from '../context.js'
import type { UserView } from '../presence/user-view.js'
import type { ConversationView, MessageView } from './views.js'

// What happened, as the domains report it. They never build WebSocket frames: the realtime layer
// turns each event into its frame once per node (src/realtime/connections.ts) and fans it out.

export type ConversationEvent =
  // `cursor`: the change number the change got, where a client that saw it resumes from.
  | { type: 'message'; message: MessageView; cursor: number }
  | { type: 'message_updated'; message: MessageView; cursor: number }
  | {
      type: 'message_deleted'
      conversation_id: number
      message_id: number
      deleted_by?: number
      cursor: number
    }
  | { type: 'read'; conversation_id: number; user_id: number; message_id: number }
  // To the members a new message (or a new mention in an edit) should notify, with why.
  | {
      type: 'notification'
      conversation_id: number
      message: MessageView
      reason: 'direct' | 'mention' | 'all'
    }
  | { type: 'conversation'; conversation: ConversationView }
  | { type: 'conversation_deleted'; conversation_id: number; project_id: number | null }
  | { type: 'member_added'; conversation_id: number; user: UserView | undefined }
  | { type: 'member_removed'; conversation_id: number; user_id: number }

export function memberIds(ctx: AppContext, conversationId: number): Promise<number[]> {
  return ctx.members.get(conversationId)
}

/** The event for these users' sockets, on every node. */
export function publishToUsers(ctx: AppContext, userIds: number[], event: ConversationEvent): void {
  ctx.hub.publish({ kind: 'users', userIds, event })
}

/** The event for the sockets of the conversation's members. */
export async function publishToMembers(
  ctx: AppContext,
  conversationId: number,
  event: ConversationEvent,
): Promise<void> {
  publishToUsers(ctx, await memberIds(ctx, conversationId), event)
}

/** A new message for its conversation's members (timed: the fan-out metric); `cursor` its change number. */
export async function publishMessage(ctx: AppContext, message: MessageView, cursor: number): Promise<void> {
  const started = performance.now()
  await publishToMembers(ctx, message.conversation_id, { type: 'message', message, cursor })
  ctx.metrics.fanoutSeconds.observe((performance.now() - started) / 1000)
}
