import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { AppContext } from '../context.js'
import type { MessageStore } from './message-store/index.js'

/** The app's services, and where messages are appended: what sending a message needs. */
export interface ConversationContext extends AppContext {
  messages: MessageStore
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The services as one object, for domain functions (HTTP routes and socket handlers share them). */
    ctx: ConversationContext
  }
}

/** The `context` plugin: the decorators of the service plugins, gathered for the domain functions. */
export const contextPlugin = fp(
  async (app: FastifyInstance) => {
    const ctx: ConversationContext = {
      config: app.config,
      db: app.db,
      database: app.database,
      writes: app.writes,
      hub: app.hub,
      metrics: app.metrics,
      members: app.members,
      sessions: app.sessions,
      historyPages: app.historyPages,
      presence: app.presence,
      limits: app.limits,
      messages: app.messages,
    }
    app.decorate('ctx', ctx)
  },
  { name: 'context', dependencies: ['db', 'hub', 'metrics', 'caches', 'message-store'] },
)
