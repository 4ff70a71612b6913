import { Type } from '@sinclair/typebox'
import { Timestamp, User } from '../common-schemas.js'

export const Username = Type.String({
  minLength: 3,
  maxLength: 32,
  pattern: '^[A-Za-z0-9_.-]+$',
  description: '3-32 letters, digits, _ . -',
})
// The length cap is checked by the schema, before any hashing happens.
export const Password = Type.String({ minLength: 8, maxLength: 256, description: '8-256 characters' })
export const DisplayName = Type.String({ minLength: 1, maxLength: 64, pattern: '\\S' })

export const RegisterBody = Type.Object(
  {
    username: Username,
    password: Password,
    display_name: Type.Optional(DisplayName),
    invite: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'An invitation code (registration "invite")',
      }),
    ),
  },
  { additionalProperties: false },
)

export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 256 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
)

export const ChangePasswordBody = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: 256 }), new_password: Password },
  { additionalProperties: false },
)

export const DeleteAccountBody = Type.Object(
  { password: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
)

export const AuthResponse = Type.Object({
  user: Type.Ref(User),
  token: Type.String({ description: 'The session token, usable as Authorization: Bearer <token>' }),
})

export const SessionObject = Type.Object({
  id: Type.Integer({ description: 'The session row, never its token' }),
  created_at: Timestamp,
  last_used_at: Timestamp,
  user_agent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean({ description: 'The session this request came with' }),
})
export const SessionList = Type.Object({ sessions: Type.Array(SessionObject) })

export const TokenObject = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  created_at: Timestamp,
  last_used_at: Type.Union([Timestamp, Type.Null()], { description: 'null until first used' }),
  expires_at: Type.Union([Timestamp, Type.Null()], { description: 'null: never' }),
})
export const CreateTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '\\S' }),
    expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
)
export const TokenCreated = Type.Object({
  token: TokenObject,
  secret: Type.String({ description: 'Starts with pat_; shown this once, usable as Authorization: Bearer' }),
})
export const TokenList = Type.Object({ tokens: Type.Array(TokenObject) })

export const ResetBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 256 }), new_password: Password },
  { additionalProperties: false },
)
