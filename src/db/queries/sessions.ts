import { createHash, randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Config } from '../../config.js'
import type { Database, UserRow } from '../types.js'

// A session token is 256 random bits; the database keeps only its SHA-256, so a leaked
// database does not leak live sessions.

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex')

// last_used_at is written at most this often, so an active session does not write on every request.
export const TOUCH_INTERVAL_MS = 60_000

export interface Session {
  id: number
  userId: number
  /** A personal API token rather than a login session: never idle, may not change the password. */
  apiToken: boolean
}

/** A personal API token with no expiry is stored with this one (expires_at is required). */
export const NEVER = '9999-12-31T23:59:59.999Z'
export const API_TOKEN_PREFIX = 'pat_'

export interface SessionOrigin {
  userAgent?: string
  ip?: string
  /** Makes a personal API token of that name. */
  tokenName?: string
  /** A token's end; a login session ends after SESSION_MAX_SECONDS. */
  expiresAt?: string
}

export async function createSession(
  db: Kysely<Database>,
  config: Config,
  userId: number,
  origin: SessionOrigin | string | undefined = {},
): Promise<{ token: string; session: Session }> {
  const from: SessionOrigin = typeof origin === 'object' ? origin : { userAgent: origin }
  const apiToken = from.tokenName !== undefined
  const token = (apiToken ? API_TOKEN_PREFIX : '') + randomBytes(32).toString('base64url')
  const now = new Date()
  const row = await db
    .insertInto('sessions')
    .values({
      token_hash: hashToken(token),
      user_id: userId,
      created_at: now.toISOString(),
      last_used_at: now.toISOString(),
      expires_at: from.expiresAt ?? new Date(now.getTime() + config.sessionMaxSeconds * 1000).toISOString(),
      user_agent: from.userAgent?.slice(0, 256) ?? null,
      ip: from.ip?.slice(0, 64) ?? null,
      token_name: from.tokenName ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { token, session: { id: Number(row.id), userId, apiToken } }
}

/** A live session as read from the database, with the times that decide how long it stays live. */
export interface SessionLookup {
  session: Session
  user: UserRow
  lastUsedMs: number
  expiresMs: number
}

/** Tokens are 43 characters; anything far off is refused before hashing or a lookup. */
export const plausibleToken = (token: string): boolean => token.length >= 16 && token.length <= 128

/**
 * What a session's times mean at `now`: over (idle too long or past its lifetime), due for a
 * last_used_at write, or live as it is. Shared by the database lookup and the session cache.
 */
export function sessionState(
  lastUsedMs: number,
  expiresMs: number,
  now: number,
  config: Pick<Config, 'sessionIdleSeconds'>,
  apiToken = false,
): 'over' | 'touch' | 'live' {
  if (expiresMs <= now) return 'over'
  if (!apiToken && lastUsedMs + config.sessionIdleSeconds * 1000 <= now) return 'over'
  return now - lastUsedMs > TOUCH_INTERVAL_MS ? 'touch' : 'live'
}

/** The live session for a token and its user, or undefined (unknown, expired, idle too long). */
export async function findSession(
  db: Kysely<Database>,
  config: Config,
  token: string,
): Promise<SessionLookup | undefined> {
  if (!plausibleToken(token)) return undefined
  return lookupSession(db, config, hashToken(token))
}

/** findSession by the token's hash: ends a session found over, writes last_used_at when due. */
export async function lookupSession(
  db: Kysely<Database>,
  config: Config,
  tokenHash: string,
): Promise<SessionLookup | undefined> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .selectAll('users')
    .select([
      'sessions.id as session_id',
      'sessions.last_used_at',
      'sessions.expires_at',
      'sessions.token_name',
    ])
    .where('sessions.token_hash', '=', tokenHash)
    .executeTakeFirst()
  if (!row || row.deleted_at !== null || row.deactivated_at !== null) return undefined
  const now = Date.now()
  let lastUsedMs = Date.parse(row.last_used_at)
  const expiresMs = Date.parse(row.expires_at)
  const apiToken = row.token_name !== null
  const state = sessionState(lastUsedMs, expiresMs, now, config, apiToken)
  if (state === 'over') {
    await db.deleteFrom('sessions').where('id', '=', row.session_id).execute()
    return undefined
  }
  if (state === 'touch') {
    const touched = new Date(now).toISOString()
    await db.updateTable('sessions').set({ last_used_at: touched }).where('id', '=', row.session_id).execute()
    lastUsedMs = now
  }
  const { session_id, last_used_at, expires_at, token_name, ...user } = row
  return {
    session: { id: Number(session_id), userId: Number(user.id), apiToken },
    user,
    lastUsedMs,
    expiresMs,
  }
}

/** A session's times (for a socket's expiry timer), or undefined once the session is gone. */
export async function sessionTimes(
  db: Kysely<Database>,
  sessionId: number,
): Promise<{ lastUsedMs: number; expiresMs: number } | undefined> {
  const row = await db
    .selectFrom('sessions')
    .select(['last_used_at', 'expires_at', 'token_name'])
    .where('id', '=', sessionId)
    .executeTakeFirst()
  if (!row) return undefined
  // A token is never idle: its last use is, for the socket's timer, always now.
  const lastUsedMs = row.token_name === null ? Date.parse(row.last_used_at) : Date.now()
  return { lastUsedMs, expiresMs: Date.parse(row.expires_at) }
}

/** Records use of a session at `whenMs` (socket activity); never moves last_used_at back. */
export async function touchSession(db: Kysely<Database>, sessionId: number, whenMs: number): Promise<void> {
  const when = new Date(whenMs).toISOString()
  await db
    .updateTable('sessions')
    .set({ last_used_at: when })
    .where('id', '=', sessionId)
    .where('last_used_at', '<', when)
    .execute()
}

export async function deleteSession(db: Kysely<Database>, sessionId: number): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', sessionId).execute()
}

/** Ends every session of a user but one (or all); returns the ids ended, for closing their sockets. */
export async function deleteUserSessions(
  db: Kysely<Database>,
  userId: number,
  exceptSessionId?: number,
): Promise<number[]> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId)
  if (exceptSessionId !== undefined) query = query.where('id', '!=', exceptSessionId)
  const rows = await query.returning('id').execute()
  return rows.map((row) => Number(row.id))
}

/** One user's login sessions (`tokens`: false) or personal API tokens (true), newest first. */
export function listSessions(db: Kysely<Database>, userId: number, tokens: boolean) {
  return db
    .selectFrom('sessions')
    .select(['id', 'created_at', 'last_used_at', 'expires_at', 'user_agent', 'ip', 'token_name'])
    .where('user_id', '=', userId)
    .where('token_name', tokens ? 'is not' : 'is', null)
    .orderBy('id', 'desc')
    .execute()
}

/** Ends one of a user's sessions (or tokens); false if there is no such one of theirs. */
export async function deleteOwnSession(
  db: Kysely<Database>,
  userId: number,
  sessionId: number,
  token: boolean,
): Promise<boolean> {
  const rows = await db
    .deleteFrom('sessions')
    .where('id', '=', sessionId)
    .where('user_id', '=', userId)
    .where('token_name', token ? 'is not' : 'is', null)
    .returning('id')
    .execute()
  return rows.length > 0
}
