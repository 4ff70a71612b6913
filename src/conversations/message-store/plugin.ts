import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { SQLITE_BUSY_TIMEOUT_MS } from '../../db/index.js'
import { openMessageStore } from './index.js'
import type { MessageStore } from './types.js'

// The `message-store` plugin: where messages are appended. Closed before the database: what was
// asked for commits (or fails) first, then the writer thread stops.

declare module 'fastify' {
  interface FastifyInstance {
    messages: MessageStore
  }
}

async function messageStore(app: FastifyInstance): Promise<void> {
  const { metrics } = app
  const observeCommit = (size: number, ms: number, thread?: 'main' | 'writer') => {
    metrics.commitBatchSize.observe(size)
    metrics.commitSeconds.observe(ms / 1000)
    if (thread) metrics.messageCommits.inc({ thread })
  }
  app.writes.onCommit = observeCommit
  const store = openMessageStore(app.database, app.writes, SQLITE_BUSY_TIMEOUT_MS, observeCommit)
  app.decorate('messages', store)
  app.addHook('onClose', async () => {
    await store.drain()
    await store.close()
  })
}

export const messageStorePlugin = fp(messageStore, { name: 'message-store', dependencies: ['db', 'metrics'] })
