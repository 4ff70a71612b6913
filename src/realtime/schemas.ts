import { type TObject, type TProperties, Type } from '@sinclair/typebox'
import { Id, Timestamp, User } from '../common-schemas.js'
import {
  ClientId,
  Content,
  Conversation,
  Cursor,
  Message,
  NotificationLevel,
  PageLimit,
} from '../conversations/schemas.js'
import { SearchPage, SearchQuery, SearchText } from '../search/schemas.js'

// The WebSocket protocol's frames. Client frames are validated against these; all of them are
// exported as JSON Schema into schemas/ (npm run schemas) for clients in any language.

const Ref = Type.Optional(Type.String({ maxLength: 64, description: 'Echoed on the reply' }))

function clientFrame<T extends TProperties>(type: string, properties: T, description: string) {
  return Type.Object(
    { type: Type.Literal(type), ref: Ref, ...properties },
    { $id: `client/${type}`, additionalProperties: false, description },
  )
}

function serverFrame<T extends TProperties>(type: string, properties: T, description: string) {
  return Type.Object({ type: Type.Literal(type), ...properties }, { $id: `server/${type}`, description })
}

export const ClientFrames = {
  join: clientFrame(
    'join',
    {
      conversation_id: Id,
      after: Type.Optional(Type.Integer({ minimum: 0, description: 'A message id: the messages after it' })),
      cursor: Type.Optional(Cursor),
      limit: Type.Optional(PageLimit),
    },
    'Enter a conversation: replies recent_messages, then status and typing follow',
  ),
  leave: clientFrame('leave', { conversation_id: Id }, "Stop the room's status and typing for this socket"),
  send_message: clientFrame(
    'send_message',
    { conversation_id: Id, content: Content, client_id: Type.Optional(ClientId) },
    'Send; replies ack {message} after commit',
  ),
  edit_message: clientFrame(
    'edit_message',
    { conversation_id: Id, message_id: Id, content: Content },
    'Edit my message; replies ack {message}',
  ),
  delete_message: clientFrame(
    'delete_message',
    { conversation_id: Id, message_id: Id },
    "Delete a message (the sender, or the project's owner); replies ack",
  ),
  typing: clientFrame('typing', { conversation_id: Id, is_typing: Type.Boolean() }, 'I am (not) typing'),
  mark_read: clientFrame(
    'mark_read',
    { conversation_id: Id, message_id: Type.Integer({ minimum: 0 }) },
    'Move my read pointer',
  ),
  get_presence: clientFrame(
    'get_presence',
    { user_ids: Type.Array(Id, { maxItems: 500 }) },
    'Replies presence_list',
  ),
  set_notifications: clientFrame(
    'set_notifications',
    { conversation_id: Id, level: NotificationLevel },
    'Set my notification level for a conversation (all, mentions, none); replies ack, then my sockets get conversation',
  ),
  search: clientFrame(
    'search',
    // GET /search's parameters, q required: a page of the same results, by the same rules.
    { ...SearchQuery.properties, q: SearchText },
    'Full-text search over the messages of my conversations, as GET /search; replies search_results',
  ),
  ping: clientFrame('ping', {}, 'Replies pong'),
} satisfies Record<string, TObject>

export type ClientFrameType = keyof typeof ClientFrames

const Presence = Type.Object({
  user_id: Type.Integer(),
  online: Type.Boolean(),
  last_seen_at: Type.Union([Timestamp, Type.Null()]),
})
const ReplyRef = Type.Optional(Type.String())
const ChangeCursor = Type.Integer({
  minimum: 0,
  description:
    "The conversation's change-feed position just after this change: join with it to get only what came later",
})

export const ServerFrames = {
  ready: serverFrame('ready', { user: User }, 'Sent once the socket is open'),
  recent_messages: serverFrame(
    'recent_messages',
    {
      ref: ReplyRef,
      conversation_id: Type.Integer(),
      messages: Type.Array(Message),
      has_more: Type.Boolean(),
      cursor: Type.Integer(),
    },
    'The reply to join',
  ),
  ack: serverFrame('ack', { ref: ReplyRef, message: Type.Optional(Message) }, 'A write committed'),
  message: serverFrame(
    'message',
    { message: Message, cursor: ChangeCursor },
    'A new message, to every socket of every member',
  ),
  notification: serverFrame(
    'notification',
    {
      conversation_id: Type.Integer(),
      message: Message,
      reason: Type.Union([Type.Literal('direct'), Type.Literal('mention'), Type.Literal('all')], {
        description:
          'direct: a message in a direct conversation at level all; mention: it mentions you; all: level all in a group or project',
      }),
    },
    'A message that should notify you, by your notification level (never your own), to each of your sockets',
  ),
  message_updated: serverFrame(
    'message_updated',
    { message: Message, cursor: ChangeCursor },
    'A message was edited (or lost its attachment)',
  ),
  message_deleted: serverFrame(
    'message_deleted',
    {
      conversation_id: Type.Integer(),
      message_id: Type.Integer(),
      deleted_by: Type.Optional(Type.Integer({ description: 'The sender, a project owner or an admin' })),
      cursor: ChangeCursor,
    },
    'A message was deleted',
  ),
  status: serverFrame(
    'status',
    {
      conversation_id: Type.Integer(),
      user_id: Type.Integer(),
      state: Type.Union([Type.Literal('joined'), Type.Literal('left')]),
      online_user_ids: Type.Array(Type.Integer()),
    },
    'Someone joined or left the room; who of the members is online',
  ),
  typing: serverFrame(
    'typing',
    { conversation_id: Type.Integer(), user_id: Type.Integer(), is_typing: Type.Boolean() },
    'Someone in the room is (not) typing',
  ),
  read: serverFrame(
    'read',
    { conversation_id: Type.Integer(), user_id: Type.Integer(), message_id: Type.Integer() },
    "A member's read pointer moved",
  ),
  presence: serverFrame(
    'presence',
    Presence.properties,
    'Someone you share a conversation with, or a contact, came or went',
  ),
  presence_list: serverFrame(
    'presence_list',
    { ref: ReplyRef, presence: Type.Array(Presence) },
    'The reply to get_presence',
  ),
  conversation: serverFrame(
    'conversation',
    { conversation: Conversation },
    'You were added to a conversation, or it changed for you (your notification level)',
  ),
  member_added: serverFrame(
    'member_added',
    { conversation_id: Type.Integer(), user: User },
    'Someone was added to one of your conversations',
  ),
  member_removed: serverFrame(
    'member_removed',
    { conversation_id: Type.Integer(), user_id: Type.Integer() },
    'Someone left or was removed (you, if user_id is yours)',
  ),
  user: serverFrame(
    'user',
    { user: User },
    'Someone you share a conversation with, a contact, or you yourself changed their avatar',
  ),
  conversation_deleted: serverFrame(
    'conversation_deleted',
    { conversation_id: Type.Integer(), project_id: Type.Optional(Type.Integer()) },
    'A conversation you were in is gone (its project was deleted)',
  ),
  search_results: serverFrame(
    'search_results',
    {
      ref: ReplyRef,
      q: Type.String({ description: 'The q of the search frame it answers' }),
      ...SearchPage.properties,
    },
    'The reply to search: a page of results, as GET /search answers',
  ),
  pong: serverFrame('pong', { ref: ReplyRef }, 'The reply to ping'),
  error: serverFrame(
    'error',
    { ref: ReplyRef, code: Type.String(), message: Type.String() },
    'Something about a frame was wrong; the socket stays open',
  ),
} satisfies Record<string, TObject>
