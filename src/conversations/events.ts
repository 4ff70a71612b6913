import type { AppContext } from '../context.js'
import type { MessageView } from './views.js'

// Frames are serialized once here and the same string goes to every recipient socket.

export const frame = (type: string, payload: object): string => JSON.stringify({ type, ...payload })

export function memberIds(ctx: AppContext, conversationId: number): Promise<number[]> {
  return ctx.members.get(conversationId)
}

export async function publishToMembers(
  ctx: AppContext,
  conversationId: number,
  payload: string,
): Promise<void> {
  ctx.hub.publish({ kind: 'users', userIds: await memberIds(ctx, conversationId), frame: payload })
}

export async function publishMessage(ctx: AppContext, message: MessageView): Promise<void> {
  const started = performance.now()
  await publishToMembers(ctx, message.conversation_id, frame('message', { message }))
  ctx.metrics.fanoutSeconds.observe((performance.now() - started) / 1000)
}
