import type { Kysely } from 'kysely'
import type { SessionCache } from './auth/session-cache.js'
import type { Config } from './config.js'
import type { HistoryCache } from './conversations/history-cache.js'
import type { MemberCache } from './conversations/member-cache.js'
import type { MessageStore } from './conversations/message-store.js'
import type { DatabaseHandle } from './db/index.js'
import type { Database } from './db/types.js'
import type { WriteBatcher } from './db/write-batch.js'
import type { Hub } from './hub/types.js'
import type { AccountLimits } from './limits/account-limits.js'
import type { Metrics } from './metrics.js'
import type { Presence } from './realtime/presence.js'

/** What domain functions need from the running app; HTTP routes and socket handlers share it. */
export interface AppContext {
  config: Config
  db: Kysely<Database>
  database: DatabaseHandle
  hub: Hub
  presence: Presence
  /** Group commit for the hot writes (messages). */
  writes: WriteBatcher
  metrics: Metrics
  /** Per-account write budgets, spent by HTTP routes and socket frames alike. */
  limits: AccountLimits
  /** Member ids per conversation, cached for the hot path. */
  members: MemberCache
  /** Sessions by token hash, cached for the guard of HTTP routes; ended sessions drop at once. */
  sessions: SessionCache
  /** History pages as sent, per conversation state, for HTTP history and WebSocket `join`. */
  historyPages: HistoryCache
  /** Where new messages are appended (SQLite has its own fast path). */
  messages: MessageStore
}

export const nowIso = (): string => new Date().toISOString()

declare module 'fastify' {
  interface FastifyInstance {
    ctx: AppContext
  }
}
