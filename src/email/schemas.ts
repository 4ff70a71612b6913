import { Type } from '@sinclair/typebox'

export const EmailTokenQuery = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 1000, description: 'The token of the emailed link' }) },
  { additionalProperties: false },
)

export const EmailLinkResult = Type.Object({
  done: Type.Boolean(),
  message: Type.String(),
})
