import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import {
  hashToken,
  lookupSession,
  plausibleToken,
  type SessionLookup,
  sessionState,
} from '../db/queries/sessions.js'
import type { Database } from '../db/types.js'
import type { Hub } from '../hub/types.js'

/**
 * How long a session found in the database is trusted without asking again. Ending a session
 * (logout, password change, account deletion) drops it here at once, and on the other nodes
 * through the hub; this bound only matters when a bus event is lost or the database is edited by hand.
 */
export const SESSION_CACHE_TTL_MS = 5_000
/** Sessions kept; the oldest loaded go first. */
const MAX_ENTRIES = 10_000

interface Entry extends SessionLookup {
  loadedMs: number
}

/**
 * Sessions by token hash, so an authenticated request costs no session query (nor user query)
 * most of the time. Only the guard of HTTP routes uses it; WebSocket upgrades and the routes that
 * show or check the user's own mutable fields (profile, password) look the session up afresh.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>()
  /** Bumped by every drop: a lookup that began before one must not store what it read. */
  private generation = 0
  private readonly unsubscribe: () => void
  private readonly unsubscribeRestored: () => void

  constructor(
    private readonly db: Kysely<Database>,
    private readonly config: Config,
    hub: Hub,
  ) {
    // Every node hears these, its own included; the node that ended the session also drops it
    // directly, before it answers (a bus delivers to its own node only after a round trip).
    this.unsubscribe = hub.subscribe((event) => {
      if (event.kind === 'close_sessions') this.dropSessions(event.sessionIds)
      else if (event.kind === 'close_users') this.dropUsers(event.userIds)
      else if (event.kind === 'role_changed') this.dropUsers([event.userId])
    })
    // Events published while the bus was cut never arrived here: start over.
    this.unsubscribeRestored = hub.onBusRestored?.(() => this.clear()) ?? (() => {})
  }

  /** findSession through the cache: the same answer, without the queries while it is fresh. */
  async find(token: string): Promise<SessionLookup | undefined> {
    if (!plausibleToken(token)) return undefined
    const tokenHash = hashToken(token)
    const now = Date.now()
    const entry = this.entries.get(tokenHash)
    // Anything but a live session within the TTL goes to the database, which ends it or writes
    // last_used_at exactly as it would without a cache.
    if (
      entry &&
      now - entry.loadedMs < SESSION_CACHE_TTL_MS &&
      sessionState(entry.lastUsedMs, entry.expiresMs, now, this.config, entry.session.apiToken) === 'live'
    ) {
      return entry
    }
    const generation = this.generation
    const found = await lookupSession(this.db, this.config, tokenHash)
    this.entries.delete(tokenHash)
    if (found && generation === this.generation) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string)
      this.entries.set(tokenHash, { ...found, loadedMs: now })
    }
    return found
  }

  dropSessions(sessionIds: readonly number[]): void {
    this.generation++
    const ids = new Set(sessionIds)
    for (const [key, entry] of this.entries) if (ids.has(entry.session.id)) this.entries.delete(key)
  }

  dropUsers(userIds: readonly number[]): void {
    this.generation++
    const ids = new Set(userIds)
    for (const [key, entry] of this.entries) if (ids.has(entry.session.userId)) this.entries.delete(key)
  }

  clear(): void {
    this.generation++
    this.entries.clear()
  }

  close(): void {
    this.unsubscribe()
    this.unsubscribeRestored()
    this.clear()
  }
}
