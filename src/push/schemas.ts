import { Type } from '@sinclair/typebox'

const Base64Url = (description: string) =>
  Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+={0,2}$', description })

const Endpoint = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: "The device's push endpoint (PushSubscription.endpoint)",
})

export const PushKey = Type.Object({
  public_key: Type.String({
    description: "The server's VAPID public key (base64url), the applicationServerKey",
  }),
})

/** As a browser's PushSubscription.toJSON() gives it. */
export const SubscribeBody = Type.Object(
  {
    endpoint: Endpoint,
    expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
    keys: Type.Object(
      {
        p256dh: Base64Url("The device's P-256 public key (65 bytes)"),
        auth: Base64Url("The device's auth secret (16 bytes)"),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

export const SubscriptionEnvelope = Type.Object({
  subscription: Type.Object({ endpoint: Type.String() }),
})

export const UnsubscribeBody = Type.Object({ endpoint: Endpoint }, { additionalProperties: false })
