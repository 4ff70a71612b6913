import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import { findSession, type Session, type SessionLookup } from '../db/queries/sessions.js'
import type { UserRow } from '../db/types.js'
import { forbidden, unauthorized } from '../errors.js'

export const SESSION_COOKIE = 'sid'

export interface Auth {
  user: UserRow
  session: Session
  token: string
  via: 'bearer' | 'cookie' | 'query'
  /** The session's last use and end as read when the request came in (epoch ms). */
  lastUsedMs: number
  expiresMs: number
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: Auth | null
  }
}

/** Where a request carries its token: Bearer header first, then the cookie, then `?token=` (for /ws). */
function findToken(
  request: FastifyRequest,
  allowQuery: boolean,
): { token: string; via: Auth['via'] } | undefined {
  const header = request.headers.authorization
  if (header?.startsWith('Bearer ')) return { token: header.slice(7).trim(), via: 'bearer' }
  const cookie = request.cookies?.[SESSION_COOKIE]
  if (cookie) return { token: cookie, via: 'cookie' }
  if (allowQuery) {
    const query = (request.query as { token?: unknown } | undefined)?.token
    if (typeof query === 'string' && query) return { token: query, via: 'query' }
  }
  return undefined
}

/**
 * A browser sends cookies along with cross-site requests; a cookie-authenticated request from an
 * origin that is neither ours nor allowed is refused, which stops CSRF and cross-site WebSocket hijacking.
 */
export function isOriginAllowed(ctx: AppContext, request: FastifyRequest): boolean {
  const origin = request.headers.origin
  if (!origin) return true
  if (ctx.config.allowedOrigins.includes(origin)) return true
  try {
    return new URL(origin).host === request.headers.host
  } catch {
    return false
  }
}

/**
 * The caller of a request, looked up afresh: for WebSocket upgrades (`allowQuery`: `?token=`)
 * and the routes that show or check the user's own mutable fields.
 */
export async function resolveAuth(
  ctx: AppContext,
  request: FastifyRequest,
  allowQuery = false,
): Promise<Auth | null> {
  const found = findToken(request, allowQuery)
  if (!found) return null
  return authFrom(ctx, request, found, await findSession(ctx.db, ctx.config, found.token))
}

/**
 * The caller through the session cache. Its `user` may be a few seconds old: id and role never
 * change, but display_name, last_seen_at and password_hash may (routes that need them use `fresh`).
 */
async function resolveCachedAuth(ctx: AppContext, request: FastifyRequest): Promise<Auth | null> {
  const found = findToken(request, false)
  if (!found) return null
  return authFrom(ctx, request, found, await ctx.sessions.find(found.token))
}

function authFrom(
  ctx: AppContext,
  request: FastifyRequest,
  found: { token: string; via: Auth['via'] },
  result: SessionLookup | undefined,
): Auth | null {
  if (!result) return null
  if (found.via === 'cookie' && !isOriginAllowed(ctx, request)) {
    throw forbidden(`Origin ${request.headers.origin} is not allowed`, 'ORIGIN_NOT_ALLOWED')
  }
  return {
    user: result.user,
    session: result.session,
    token: found.token,
    via: found.via,
    lastUsedMs: result.lastUsedMs,
    expiresMs: result.expiresMs,
  }
}

const sessionGuards = new WeakSet<object>()

/** Whether a hook is requireUser's: the OpenAPI document marks the routes it guards as needing a session. */
export const isSessionGuard = (hook: unknown): boolean =>
  typeof hook === 'function' && sessionGuards.has(hook)

/**
 * preHandler for routes that need a logged-in user; `fresh` skips the session cache, for the
 * routes that show the user's profile or check their password.
 */
export function requireUser(ctx: AppContext, options: { fresh?: boolean } = {}) {
  const resolve = options.fresh ? resolveAuth : resolveCachedAuth
  const guard = async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    request.auth = await resolve(ctx, request)
    if (!request.auth) throw unauthorized()
  }
  sessionGuards.add(guard)
  return guard
}

/** Personal API tokens may not change the password or delete the account: a login session must. */
export function requireLoginSession(auth: Auth): void {
  if (auth.session.apiToken) {
    throw forbidden('An API token cannot do this: log in with your password', 'TOKEN_NOT_ALLOWED')
  }
}

/** The authenticated caller of a route guarded by requireUser. */
export function authOf(request: FastifyRequest): Auth {
  if (!request.auth) throw unauthorized()
  return request.auth
}
