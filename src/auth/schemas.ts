import { Type } from '@sinclair/typebox'
import { User } from '../common-schemas.js'

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
  { username: Username, password: Password, display_name: Type.Optional(DisplayName) },
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
