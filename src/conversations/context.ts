import type { AppContext } from '../context.js'
import type { MessageStore } from './message-store/index.js'

/** The app's services, and where messages are appended: what sending a message needs. */
export interface ConversationContext extends AppContext {
  messages: MessageStore
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: ConversationContext
  }
}
