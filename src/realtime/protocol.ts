import type { Static, TObject } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { ValueErrorType } from '@sinclair/typebox/errors'
import { historyKey } from '../caches/history-pages.js'
import type { ConversationContext } from '../conversations/context.js'
import { memberIds } from '../conversations/events.js'
import { requireMembership } from '../conversations/membership.js'
import {
  announceSent,
  changes,
  deleteMessage,
  editMessage,
  historyWithCursor,
  markRead,
  sendMessage,
} from '../conversations/messages.js'
import { setNotifications } from '../conversations/notifications.js'
import { findUserViews } from '../db/queries/users.js'
import { notFound } from '../errors.js'
import { presenceFor } from '../presence/scope.js'
import { toUserView } from '../presence/user-view.js'
import { searchMessagesOf } from '../search/search.js'
import { ruleMessage, typeboxRule } from '../validation-messages.js'
import { type Connection, type Connections, send } from './connections.js'
import { frame } from './frames.js'
import { ClientFrames, type ClientFrameType } from './schemas.js'
import { announceTyping, type Typing } from './typing.js'

/** What a handler gets: the app, this socket, and a way to reply with the frame's ref. */
export interface SocketSession {
  ctx: ConversationContext
  connections: Connections
  typing: Typing
  connection: Connection
  reply(type: string, payload: object): void
  /** The same, for a payload already serialized: a JSON object with at least one member. */
  replyJson(type: string, body: string): void
}

type Handler<T extends TObject> = (session: SocketSession, frame: Static<T>) => Promise<void> | void

interface Entry<T extends TObject> {
  schema: T
  handle: Handler<T>
}

const entry = <T extends TObject>(schema: T, handle: Handler<T>): Entry<T> => ({ schema, handle })

async function onlineMembers(session: SocketSession, conversationId: number): Promise<number[]> {
  return (await memberIds(session.ctx, conversationId)).filter((id) => session.ctx.presence.isOnline(id))
}

async function announce(
  session: SocketSession,
  conversationId: number,
  state: 'joined' | 'left',
): Promise<void> {
  const payload = frame('status', {
    conversation_id: conversationId,
    user_id: session.connection.userId,
    state,
    online_user_ids: await onlineMembers(session, conversationId),
  })
  session.ctx.hub.publish({ kind: 'room', conversationId, frame: payload })
}

/**
 * The body of `recent_messages` for a join without a cursor, as JSON: from the page cache when the
 * conversation is still at `version` (many members join the same room after a restart), else read
 * and kept if it was read at exactly that state (its cursor is that change number).
 */
async function recentMessages(
  ctx: ConversationContext,
  msg: { conversation_id: number; after?: number; limit?: number },
  version: number,
): Promise<string> {
  const key = `join:${historyKey(msg.conversation_id, msg)}`
  const kept = ctx.historyPages.get(key, version)
  if (kept !== undefined) return kept
  const page = await historyWithCursor(ctx.db, msg.conversation_id, { after: msg.after, limit: msg.limit })
  const body = JSON.stringify({ conversation_id: msg.conversation_id, ...page })
  if (page.cursor === version) ctx.historyPages.set(key, version, body)
  return body
}

/** The protocol: one handler per client frame type, each with the schema its frames must pass. */
export const handlers: { [K in ClientFrameType]: Entry<(typeof ClientFrames)[K]> } = {
  join: entry(ClientFrames.join, async (session, msg) => {
    const { ctx, connection, connections } = session
    // Reserved before the membership check, so a removal landing after the check still keeps the
    // socket out of the room (see Connections.reserve).
    const ticket = connections.reserve(connection, msg.conversation_id)
    try {
      // The membership check also reads the conversation's change number: the cached page's version.
      const { change_seq } = await requireMembership(ctx, msg.conversation_id, connection.userId)
      const page =
        msg.cursor === undefined
          ? await recentMessages(ctx, msg, Number(change_seq))
          : {
              conversation_id: msg.conversation_id,
              ...(await changes(ctx.db, msg.conversation_id, msg.cursor, msg.limit ?? 200)),
            }
      if (!connections.admit(ticket)) throw notFound('Conversation')
      if (typeof page === 'string') session.replyJson('recent_messages', page)
      else session.reply('recent_messages', page)
    } finally {
      connections.release(ticket)
    }
    await announce(session, msg.conversation_id, 'joined')
    for (const userId of session.typing.typingIn(msg.conversation_id)) {
      send(
        connection,
        frame('typing', { conversation_id: msg.conversation_id, user_id: userId, is_typing: true }),
      )
    }
  }),

  leave: entry(ClientFrames.leave, async (session, msg) => {
    if (!session.connection.rooms.has(msg.conversation_id)) return session.reply('ack', {})
    session.connections.leave(session.connection, msg.conversation_id)
    session.reply('ack', {})
    await announce(session, msg.conversation_id, 'left')
  }),

  send_message: entry(ClientFrames.send_message, async (session, msg) => {
    const sent = await sendMessage(session.ctx, session.connection.userId, msg.conversation_id, msg)
    // The contract's order: the sender's ack before the `message` frame its own socket gets too.
    session.reply('ack', { message: sent.message })
    await announceSent(session.ctx, sent)
  }),

  edit_message: entry(ClientFrames.edit_message, async (session, msg) => {
    const { ctx, connection } = session
    await editMessage(ctx, connection.userId, msg.conversation_id, msg.message_id, msg.content, (message) =>
      session.reply('ack', { message }),
    )
  }),

  delete_message: entry(ClientFrames.delete_message, async (session, msg) => {
    await deleteMessage(session.ctx, session.connection.userId, msg.conversation_id, msg.message_id, () =>
      session.reply('ack', {}),
    )
  }),

  typing: entry(ClientFrames.typing, async (session, msg) => {
    const { connection } = session
    // Only a room's sockets hear typing, so only a socket in the room may type there.
    if (!connection.rooms.has(msg.conversation_id)) {
      await requireMembership(session.ctx, msg.conversation_id, connection.userId)
    }
    if (!session.typing.update(msg.conversation_id, connection.userId, msg.is_typing, connection.id)) return
    announceTyping(session.ctx.hub, msg.conversation_id, connection.userId, msg.is_typing, connection.id)
  }),

  mark_read: entry(ClientFrames.mark_read, async (session, msg) => {
    await markRead(session.ctx, session.connection.userId, msg.conversation_id, msg.message_id, () =>
      session.reply('ack', {}),
    )
  }),

  get_presence: entry(ClientFrames.get_presence, async (session, msg) => {
    const { ctx, connection } = session
    const users = await findUserViews(ctx.db, [...new Set(msg.user_ids)])
    const viewer = { id: connection.userId, role: connection.role }
    const presence = await presenceFor(
      ctx,
      viewer,
      users.map((user) => Number(user.id)),
    )
    session.reply('presence_list', {
      presence: users.map((row) => {
        const user = toUserView(row, presence)
        return { user_id: user.id, online: user.online, last_seen_at: user.last_seen_at }
      }),
    })
  }),

  set_notifications: entry(ClientFrames.set_notifications, async (session, msg) => {
    await setNotifications(session.ctx, session.connection.userId, msg.conversation_id, msg.level, () =>
      session.reply('ack', {}),
    )
  }),

  search: entry(ClientFrames.search, async (session, msg) => {
    // The rules of GET /search, in the one function behind both (membership, filters, paging).
    const { type: _type, ref: _ref, ...query } = msg
    const page = await searchMessagesOf(session.ctx, session.connection.userId, query)
    session.reply('search_results', { q: msg.q, ...page })
  }),

  ping: entry(ClientFrames.ping, (session) => session.reply('pong', {})),
}

const FRAME_TYPES = Object.keys(handlers).join(', ')

const checkers = new Map(
  Object.entries(handlers).map(([type, { schema }]) => [type, TypeCompiler.Compile(schema)] as const),
)

/** Why a frame fails its schema, in words a person can act on; undefined when it passes. */
export function frameProblem(type: string, value: unknown): string | undefined {
  const checker = checkers.get(type)
  if (!checker) return `unknown type ${JSON.stringify(type).slice(0, 80)}: the types are ${FRAME_TYPES}`
  if (checker.Check(value)) return undefined
  const first = checker.Errors(value).First()
  if (!first) return 'invalid frame'
  const path = first.path ? first.path.slice(1).replaceAll('/', '.') : ''
  if (first.type === ValueErrorType.ObjectRequiredProperty) return `${path} is required`
  if (first.type === ValueErrorType.ObjectAdditionalProperties) return `unknown field ${path}`
  const rule = typeboxRule(first)
  return (rule && ruleMessage(path || 'frame', rule)) ?? `${path || 'frame'}: ${first.message}`
}
