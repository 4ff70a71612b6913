import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { createMemoryHub } from './memory.js'
import type { Hub } from './types.js'

// The `hub` plugin: the in-process hub, or with REDIS_URL or NATS_URL the bus that connects
// several nodes. With both set, Redis is the bus (and NATS_URL is ignored, with a warning). A bus
// client is imported only when configured: a single node does not carry ioredis or nats in memory.

declare module 'fastify' {
  interface FastifyInstance {
    hub: Hub
  }
}

async function createHub(config: Config, log: FastifyInstance['log']): Promise<Hub> {
  if (config.redisUrl) {
    if (config.natsUrl)
      log.warn({}, 'both REDIS_URL and NATS_URL are set: Redis is the bus, NATS_URL is ignored')
    const { createRedisHub } = await import('./redis.js')
    return createRedisHub({ url: config.redisUrl, log })
  }
  if (config.natsUrl) {
    const { createNatsHub } = await import('./nats.js')
    return createNatsHub({ url: config.natsUrl, log })
  }
  return createMemoryHub()
}

async function hub(app: FastifyInstance, options: { config: Config; hub?: Hub }): Promise<void> {
  const created = options.hub ?? (await createHub(options.config, app.log))
  app.decorate('hub', created)
  app.addHook('onClose', async () => created.close())
}

export const hubPlugin = fp(hub, { name: 'hub' })
