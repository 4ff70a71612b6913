import cookie from '@fastify/cookie'
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import { Type } from '@sinclair/typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { asyncApiDocument } from './api-docs/asyncapi.js'
import { SHARED_SCHEMAS } from './api-docs/json-schema.js'
import { registerOpenApi } from './api-docs/openapi.js'
import { authRoutes } from './auth/routes.js'
import { HistoryCache } from './caches/history-pages.js'
import { MemberCache } from './caches/members.js'
import { SessionCache } from './caches/sessions.js'
import type { Config } from './config.js'
import type { ConversationContext } from './conversations/context.js'
import { openMessageStore } from './conversations/message-store/index.js'
import { conversationRoutes } from './conversations/routes.js'
import { openDatabase, SQLITE_BUSY_TIMEOUT_MS } from './db/index.js'
import { migrateToLatest } from './db/migrate.js'
import { pingUsers } from './db/queries/users.js'
import { WriteBatcher } from './db/write-batch.js'
import { registerErrorHandlers } from './errors.js'
import { fileRoutes } from './files/routes.js'
import { registerBodyDeadlines, serverTimeouts } from './http-timeouts.js'
import { createMemoryHub } from './hub/memory.js'
import { createNatsHub } from './hub/nats.js'
import { createRedisHub } from './hub/redis.js'
import type { Hub } from './hub/types.js'
import { AccountLimits } from './limits/account-limits.js'
import { redactUrl } from './log-redaction.js'
import { Metrics, registerMetricsRoutes } from './metrics.js'
import { Presence } from './presence/presence.js'
import { projectRoutes } from './projects/routes.js'
import { realtimeRoutes } from './realtime/plugin.js'
import { userRoutes } from './users/routes.js'
import { buildValidator } from './validation.js'

export interface BuildOptions {
  config: Config
  /** Fastify's logger option; defaults to pino at `config.logLevel`. */
  logger?: FastifyServerOptions['logger']
  /** Where the default logger writes (stdout otherwise); keeps its redaction, unlike `logger`. */
  logStream?: { write(line: string): void }
  /** Another hub (the multi-node bus); the in-process one by default. */
  hub?: Hub
  /** Tests only: runs before any route is registered (test/helpers adds its contract checks). */
  beforeRoutes?: (app: FastifyInstance) => void
}

function loggerOptions(config: Config, stream?: BuildOptions['logStream']): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    ...(stream ? { stream } : {}),
    redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
    serializers: {
      req: (req: { method: string; url: string; ip?: string; id?: string }) => ({
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.ip,
      }),
    },
  }
}

/**
 * The in-process hub, or with REDIS_URL or NATS_URL the bus that connects several nodes. With
 * both set, Redis is the bus (and NATS_URL is ignored, with a warning).
 */
async function createHub(config: Config, log: FastifyInstance['log']): Promise<Hub> {
  if (config.redisUrl) {
    if (config.natsUrl)
      log.warn({}, 'both REDIS_URL and NATS_URL are set: Redis is the bus, NATS_URL is ignored')
    return createRedisHub({ url: config.redisUrl, log })
  }
  if (config.natsUrl) return createNatsHub({ url: config.natsUrl, log })
  return createMemoryHub()
}

/** Builds the whole app from its plugins; migrates the database; never listens. */
export async function buildApp(options: BuildOptions): Promise<FastifyInstance> {
  const { config } = options
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config, options.logStream),
    trustProxy: config.trustProxy,
    ...serverTimeouts(config),
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    schemaController: { compilersFactory: { buildValidator: buildValidator() } },
  })

  const database = await openDatabase(config.databaseUrl)
  try {
    await migrateToLatest(database.db)
  } catch (error) {
    await database.close()
    throw error
  }
  let hub: Hub
  try {
    hub = options.hub ?? (await createHub(config, app.log))
  } catch (error) {
    await database.close()
    throw error
  }
  const presence = new Presence()
  const metrics = new Metrics()
  const observeCommit = (size: number, ms: number, thread?: 'main' | 'writer') => {
    metrics.commitBatchSize.observe(size)
    metrics.commitSeconds.observe(ms / 1000)
    if (thread) metrics.messageCommits.inc({ thread })
  }
  const writes = new WriteBatcher(database.db)
  writes.onCommit = observeCommit
  const ctx: ConversationContext = {
    config,
    db: database.db,
    database,
    hub,
    presence,
    writes,
    metrics,
    limits: new AccountLimits(config),
    members: new MemberCache(database.db, hub),
    sessions: new SessionCache(database.db, config, hub),
    historyPages: new HistoryCache((hit) => metrics.historyPages.inc({ result: hit ? 'hit' : 'miss' })),
    messages: openMessageStore(database, writes, SQLITE_BUSY_TIMEOUT_MS, observeCommit),
  }
  app.decorate('ctx', ctx)
  app.decorateRequest('auth', null)
  app.addHook('onClose', async () => {
    await ctx.messages.drain()
    await ctx.messages.close()
    await ctx.writes.drain()
    ctx.members.close()
    ctx.sessions.close()
    await ctx.hub.close()
    await database.close()
  })

  options.beforeRoutes?.(app)
  registerErrorHandlers(app)
  registerBodyDeadlines(app, config)
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)

  await app.register(cookie)
  await app.register(cors, {
    credentials: true,
    // Browsers on the listed origins may call the API; same-origin requests need no CORS at all.
    origin: (origin, callback) =>
      callback(null, origin !== undefined && config.allowedOrigins.includes(origin)),
  })
  await app.register(rateLimit, { global: false })
  await registerOpenApi(app)

  registerMetricsRoutes(app, ctx.metrics, config.metricsToken)
  app.get('/docs', { schema: { hide: true } }, async () => app.swagger())
  app.get('/docs/asyncapi', { schema: { hide: true } }, async () => asyncApiDocument())
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness and database reachability',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    healthz,
  )
  async function healthz() {
    await pingUsers(ctx.db)
    return { status: 'ok' }
  }

  await app.register(authRoutes, { ctx })
  await app.register(userRoutes, { ctx })
  await app.register(conversationRoutes, { ctx })
  await app.register(projectRoutes, { ctx })
  await app.register(fileRoutes, { ctx })
  await app.register(realtimeRoutes, { ctx })
  await app.register((await import('./web/plugin.js')).webRoutes, { ctx })
  return app
}
