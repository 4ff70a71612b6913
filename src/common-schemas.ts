import { type TSchema, Type } from '@sinclair/typebox'

// Schemas shared by several domains' routes and by the WebSocket protocol.

export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
export const Timestamp = Type.String({ description: 'ISO-8601 UTC with milliseconds' })

export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String({ description: 'Stable upper-snake code, e.g. USERNAME_TAKEN' }),
    error: Type.String(),
    message: Type.String(),
  },
  { $id: 'Error' },
)

export const User = Type.Object(
  {
    id: Type.Integer(),
    username: Type.String(),
    display_name: Type.String(),
    role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
    online: Type.Boolean(),
    last_seen_at: Type.Union([Timestamp, Type.Null()]),
    created_at: Timestamp,
    deleted: Type.Boolean({ description: 'The account was deleted; kept as the sender of old messages' }),
    avatar_url: Type.Union([Type.String(), Type.Null()], {
      description:
        'A 256x256 WebP (GET /users/:id/avatar), versioned so a new picture gets a new URL; null when none',
    }),
    deactivated: Type.Boolean({ description: 'An admin suspended the account: it cannot log in' }),
  },
  { $id: 'User' },
)

export const UserList = Type.Object({ users: Type.Array(Type.Ref(User)) })
export const UserEnvelope = Type.Object({ user: Type.Ref(User) })

export const IdParams = Type.Object({ id: Id })

/** Error responses a route may give, for the OpenAPI document. */
export function errors(...codes: number[]): Record<number, TSchema> {
  return Object.fromEntries(codes.map((code) => [code, Type.Ref(ErrorResponse)]))
}

export const NoContent = Type.Null({ description: 'No content' })
