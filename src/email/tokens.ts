import { createHmac, timingSafeEqual } from 'node:crypto'

// The links of emails carry a signed token, so following one needs no session: `verify` proves
// the account received mail at that address, `unsubscribe` turns its digests off.

export type TokenPurpose = 'verify' | 'unsubscribe'

export interface TokenClaims {
  purpose: TokenPurpose
  userId: number
  email: string
  /** Milliseconds since the epoch. */
  expires: number
}

const sign = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('base64url')

export function makeToken(secret: string, claims: TokenClaims): string {
  const body = Buffer.from(
    JSON.stringify([claims.purpose, claims.userId, claims.email, claims.expires]),
  ).toString('base64url')
  return `${body}.${sign(secret, body)}`
}

/** The claims of a token of this purpose, signed by this secret and not expired; undefined otherwise. */
export function readToken(secret: string, token: string, purpose: TokenPurpose, now = Date.now()) {
  const [body, signature] = token.split('.')
  if (!body || !signature) return undefined
  const expected = Buffer.from(sign(secret, body))
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined
  try {
    const [kind, userId, email, expires] = JSON.parse(Buffer.from(body, 'base64url').toString())
    if (kind !== purpose || typeof userId !== 'number' || typeof email !== 'string') return undefined
    if (typeof expires !== 'number' || expires < now) return undefined
    return { purpose, userId, email, expires } satisfies TokenClaims
  } catch {
    return undefined
  }
}
