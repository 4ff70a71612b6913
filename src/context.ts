import type { Kysely } from 'kysely'
import type { HistoryCache } from './caches/history-pages.js'
import type { MemberCache } from './caches/members.js'
import type { SessionCache } from './caches/sessions.js'
import type { Config } from './config.js'
import type { DatabaseHandle } from './db/index.js'
import type { Database } from './db/types.js'
import type { WriteBatcher } from './db/write-batch.js'
import type { Hub } from './hub/types.js'
import type { AccountLimits } from './limits/account-limits.js'
import type { Metrics } from './metrics.js'
import type { Presence } from './presence/presence.js'

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
}
