import { Type } from '@sinclair/typebox'
import { DisplayName } from '../auth/schemas.js'
import { Id, User } from '../common-schemas.js'

export const ListUsersQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, description: 'Last id of the previous page' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    q: Type.Optional(Type.String({ maxLength: 100, description: 'Username or display name contains' })),
  },
  { additionalProperties: false },
)

export const UserPage = Type.Object({ users: Type.Array(Type.Ref(User)), has_more: Type.Boolean() })

export const UpdateMeBody = Type.Object(
  {
    display_name: Type.Optional(DisplayName),
    email: Type.Optional(
      Type.Union([Type.String({ pattern: '^[^\\s@]+@[^\\s@]+$', maxLength: 254 }), Type.Null()], {
        description: 'For email notifications: confirmed by a link sent to it; null removes it',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
)

export const AddContactBody = Type.Object({ user_id: Id }, { additionalProperties: false })

export const ContactParams = Type.Object({ userId: Id })

export const EmailSettings = Type.Object({
  email: Type.Union([Type.String(), Type.Null()], { description: 'My address for email digests, if any' }),
  verified: Type.Boolean({ description: 'Whether the link mailed to the address was followed' }),
  notifications: Type.Boolean({
    description: 'Whether digests are on (the unsubscribe link turns them off)',
  }),
  available: Type.Boolean({ description: 'Whether this server sends email at all (SMTP_URL set)' }),
})

export const EmailSettingsBody = Type.Object(
  { notifications: Type.Boolean({ description: 'Email digests on or off' }) },
  { additionalProperties: false },
)
