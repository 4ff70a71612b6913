import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { PushDispatcher } from './dispatcher.js'
import type { sendPush } from './sender.js'
import { loadVapid } from './vapid.js'

// The `push` plugin: the VAPID keys, and the dispatcher that sends the push outbox. It wakes on
// each new message (the hub's `message` events; on several nodes every node wakes, and the claims
// let one of them work on each row), at start (pushes left pending by the last run), and at the
// poll interval.

declare module 'fastify' {
  interface FastifyInstance {
    push: { publicKey: string; dispatcher: PushDispatcher }
  }
}

export interface PushPluginOptions {
  /** Tests only: replaces the HTTP send. */
  sender?: typeof sendPush
}

async function push(app: FastifyInstance, options: PushPluginOptions): Promise<void> {
  const { ctx } = app
  const vapid = await loadVapid(ctx.db, ctx.config)
  const dispatcher = new PushDispatcher({
    db: ctx.db,
    config: ctx.config,
    log: app.log,
    isOnline: (userId) => ctx.presence.isOnline(userId),
    send: { vapid, allowPrivate: ctx.config.pushAllowPrivate, timeoutMs: ctx.config.pushRequestTimeoutMs },
    sender: options.sender,
  })
  app.decorate('push', { publicKey: vapid.publicKey, dispatcher })
  const unsubscribe = ctx.hub.subscribe((event) => {
    if (event.kind === 'users' && event.event.type === 'message') dispatcher.kick()
  })
  app.addHook('onReady', async () => dispatcher.kick())
  app.addHook('onClose', async () => {
    unsubscribe()
    await dispatcher.stop()
  })
}

export const pushPlugin = fp(push, { name: 'push', dependencies: ['context'] })
