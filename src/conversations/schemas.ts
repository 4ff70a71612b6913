import { Type } from '@sinclair/typebox'
import { Id, Timestamp, User } from '../common-schemas.js'

export const FileObject = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    size: Type.Integer(),
    content_type: Type.String(),
    sha256: Type.String(),
    uploaded_by: Type.Integer(),
    project_id: Type.Union([Type.Integer(), Type.Null()]),
    conversation_id: Type.Integer(),
    created_at: Timestamp,
    width: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Images (PNG, JPEG, GIF, WebP): the width as displayed, after EXIF orientation',
    }),
    height: Type.Union([Type.Integer(), Type.Null()], { description: 'Images: the height as displayed' }),
    thumbnail_url: Type.Union([Type.String(), Type.Null()], {
      description: 'Images: a WebP of at most 480 px on the long side, metadata stripped',
    }),
  },
  { $id: 'File' },
)

export const Message = Type.Object(
  {
    id: Type.Integer(),
    conversation_id: Type.Integer(),
    sender_id: Type.Integer(),
    content: Type.Union([Type.String(), Type.Null()], { description: 'null once deleted' }),
    client_id: Type.Union([Type.String(), Type.Null()]),
    attachments: Type.Array(Type.Ref(FileObject)),
    created_at: Timestamp,
    edited_at: Type.Union([Timestamp, Type.Null()]),
    deleted: Type.Boolean(),
    mentions: Type.Array(Type.Integer(), {
      description: 'The user ids it mentions (@username, @all, @here), resolved when sent and at each edit',
    }),
    deleted_by: Type.Optional(Type.Integer({ description: 'Once deleted: who deleted it' })),
  },
  { $id: 'Message' },
)

export const NotificationLevel = Type.Union(
  [Type.Literal('all'), Type.Literal('mentions'), Type.Literal('none')],
  {
    description:
      'What notifies me: every message, only mentions of me, nothing (default: all in direct conversations, mentions elsewhere)',
  },
)

export const Conversation = Type.Object(
  {
    id: Type.Integer(),
    kind: Type.Union([Type.Literal('direct'), Type.Literal('group'), Type.Literal('project')]),
    title: Type.Union([Type.String(), Type.Null()]),
    project_id: Type.Union([Type.Integer(), Type.Null()]),
    members: Type.Array(Type.Ref(User)),
    last_message: Type.Union([Type.Ref(Message), Type.Null()]),
    unread_count: Type.Integer(),
    unread_mentions: Type.Integer({ description: 'Mentions of me after my read pointer' }),
    notification_level: NotificationLevel,
    last_read_message_id: Type.Integer(),
    read_pointers: Type.Array(Type.Object({ user_id: Type.Integer(), message_id: Type.Integer() }), {
      description: "Every member's read pointer",
    }),
    created_by: Type.Union([Type.Integer(), Type.Null()]),
    created_at: Timestamp,
    last_activity_at: Timestamp,
  },
  { $id: 'Conversation' },
)

/** Message text: 1-4000 characters, not blank. */
export const Content = Type.String({ minLength: 1, maxLength: 4000, pattern: '\\S' })
export const ClientId = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'Idempotency key chosen by the sender',
})
export const Title = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' })
export const PageLimit = Type.Integer({ minimum: 1, maximum: 200 })
export const Cursor = Type.Integer({ minimum: 0, description: 'A position in the conversation change feed' })

export const CreateConversationBody = Type.Object(
  { member_ids: Type.Array(Id, { minItems: 1, maxItems: 500 }), title: Type.Optional(Title) },
  { additionalProperties: false },
)
export const ConversationEnvelope = Type.Object({ conversation: Type.Ref(Conversation) })
export const ConversationListQuery = Type.Object(
  {
    limit: Type.Optional(PageLimit),
    before: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'The `next` of the previous page' }),
    ),
  },
  { additionalProperties: false },
)
export const ConversationList = Type.Object({
  conversations: Type.Array(Type.Ref(Conversation)),
  has_more: Type.Boolean(),
  next: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as `before` for the next page (older activity); null on the last page',
  }),
})

export const ConversationParams = Type.Object({ id: Id })
export const MemberParams = Type.Object({ id: Id, userId: Id })
export const MessageParams = Type.Object({ id: Id, messageId: Id })
export const AddMemberBody = Type.Object({ user_id: Id }, { additionalProperties: false })

export const HistoryQuery = Type.Object(
  {
    before: Type.Optional(Id),
    after: Type.Optional(Type.Integer({ minimum: 0 })),
    around: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: Number.MAX_SAFE_INTEGER,
        description:
          'A message id: the page centred on it, answered as {messages, has_more_before, has_more_after}',
      }),
    ),
    limit: Type.Optional(PageLimit),
  },
  { additionalProperties: false },
)
export const MessagePage = Type.Object({ messages: Type.Array(Type.Ref(Message)), has_more: Type.Boolean() })
/** The history page asked for with `around`. */
export const AroundPage = Type.Object({
  messages: Type.Array(Type.Ref(Message)),
  has_more_before: Type.Boolean(),
  has_more_after: Type.Boolean(),
})
/** The history route's answer: a page, or with `around` a page centred on a message. */
export const HistoryPage = Type.Union([MessagePage, AroundPage])

export const ChangesQuery = Type.Object(
  { cursor: Type.Optional(Cursor), limit: Type.Optional(PageLimit) },
  { additionalProperties: false },
)
export const ChangesPage = Type.Object({
  messages: Type.Array(Type.Ref(Message)),
  has_more: Type.Boolean(),
  cursor: Type.Integer(),
})

export const SendMessageBody = Type.Object(
  { content: Content, client_id: Type.Optional(ClientId) },
  { additionalProperties: false },
)
export const EditMessageBody = Type.Object({ content: Content }, { additionalProperties: false })
export const MessageEnvelope = Type.Object({ message: Type.Ref(Message) })
export const NotificationsBody = Type.Object({ level: NotificationLevel }, { additionalProperties: false })
export const ReadBody = Type.Object(
  { message_id: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
)

export const UserSearchQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
  },
  { additionalProperties: false },
)
