import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { AccountLimits } from '../limits/account-limits.js'
import { Presence } from '../presence/presence.js'
import { HistoryCache } from './history-pages.js'
import { MemberCache } from './members.js'
import { SessionCache } from './sessions.js'

// The `caches` plugin: what this node keeps in memory for the hot paths. Member lists and sessions
// are dropped on every node when they change (through the hub); history pages are keyed by the
// conversation's state; presence counts this node's sockets (and the other nodes' users, from the
// bus); the per-account write budgets.

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    /** Member ids per conversation, cached for the hot path. */
    members: MemberCache
    /** Sessions by token hash, cached for the guard of HTTP routes; ended sessions drop at once. */
    sessions: SessionCache
    /** History pages as sent, per conversation state, for HTTP history and WebSocket `join`. */
    historyPages: HistoryCache
    /** Who is online, on this node and the others. */
    presence: Presence
    /** Per-account write budgets, spent by HTTP routes and socket frames alike. */
    limits: AccountLimits
  }
}

async function caches(app: FastifyInstance): Promise<void> {
  const { config, db, hub, metrics } = app
  const members = new MemberCache(db, hub)
  const sessions = new SessionCache(db, config, hub)
  app.decorate('members', members)
  app.decorate('sessions', sessions)
  app.decorate(
    'historyPages',
    new HistoryCache((hit) => metrics.historyPages.inc({ result: hit ? 'hit' : 'miss' })),
  )
  app.decorate('presence', new Presence())
  app.decorate('limits', new AccountLimits(config))
  app.addHook('onClose', async () => {
    members.close()
    sessions.close()
  })
}

export const cachesPlugin = fp(caches, {
  name: 'caches',
  dependencies: ['db', 'hub', 'metrics'],
  decorators: { fastify: ['config'] },
})
