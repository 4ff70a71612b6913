import { AjvCompiler } from '@fastify/ajv-compiler'
import cookie from '@fastify/cookie'
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { authRoutes } from './auth/routes.js'
import { SessionCache } from './auth/session-cache.js'
import { ErrorResponse, User } from './common-schemas.js'
import type { Config } from './config.js'
import type { AppContext } from './context.js'
import { HistoryCache } from './conversations/history-cache.js'
import { MemberCache } from './conversations/member-cache.js'
import { kyselyMessageStore, sqliteMessageStore, workerMessageStore } from './conversations/message-store.js'
import { conversationRoutes } from './conversations/routes.js'
import { Conversation, FileObject, Message } from './conversations/schemas.js'
import { findNul, openDatabase, SQLITE_BUSY_TIMEOUT_MS } from './db/index.js'
import { migrateToLatest } from './db/migrate.js'
import { WriteBatcher } from './db/write-batch.js'
import { registerErrorHandlers } from './errors.js'
import { fileRoutes } from './files/routes.js'
import { registerBodyDeadlines, serverTimeouts } from './http-timeouts.js'
import { createMemoryHub } from './hub/memory.js'
import type { Hub } from './hub/types.js'
import { AccountLimits } from './limits/account-limits.js'
import { redactUrl } from './log-redaction.js'
import { Metrics, registerMetricsRoutes } from './metrics.js'
import { decimalPathIds } from './path-ids.js'
import { projectRoutes } from './projects/routes.js'
import { realtimeRoutes } from './realtime/plugin.js'
import { Presence } from './realtime/presence.js'
import { userRoutes } from './users/routes.js'

export interface BuildOptions {
  config: Config
  /** Fastify's logger option; defaults to pino at `config.logLevel`. */
  logger?: FastifyServerOptions['logger']
  /** Where the default logger writes (stdout otherwise); keeps its redaction, unlike `logger`. */
  logStream?: { write(line: string): void }
  /** Another hub (the multi-node bus); the in-process one by default. */
  hub?: Hub
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
 * Query strings and params are text, so their numbers are coerced; JSON bodies are not:
 * `{"content": 5}` is a wrong type, not the string "5".
 */
// biome-ignore lint/suspicious/noExplicitAny: Fastify types this factory loosely; its shape is checked by tests
function buildValidator(): any {
  // biome-ignore lint/suspicious/noExplicitAny: as above
  const fromPool = AjvCompiler() as (schemas: unknown, options: any) => (route: unknown) => unknown
  return (externalSchemas: unknown, options: { customOptions?: object }) => {
    const coercing = fromPool(externalSchemas, options)
    const strict = fromPool(externalSchemas, {
      ...options,
      customOptions: { ...options.customOptions, coerceTypes: false },
    })
    return (route: { httpPart?: string }) =>
      textAndNumbersStorable(
        decimalPathIds(
          route,
          (route.httpPart === 'body' ? strict(route) : coercing(route)) as CoercingValidate,
        ),
      )
  }
}

type CoercingValidate = ((data: unknown) => boolean) & { errors?: unknown }

/**
 * What the schemas let through but a database cannot take, refused with a 400 in both dialects:
 * Ajv coerces "Infinity" and "1e400" in a path or query string to Infinity and passes it as an
 * integer within bounds (SQLite finds nothing for it, PostgreSQL fails), and PostgreSQL's text
 * cannot hold U+0000 (SQLite's can).
 */
function textAndNumbersStorable(validate: CoercingValidate): CoercingValidate {
  const checked: CoercingValidate = (data: unknown) => {
    if (!validate(data)) {
      checked.errors = validate.errors
      return false
    }
    const nul = findNul(data)
    if (nul) {
      checked.errors = [
        {
          keyword: 'pattern',
          instancePath: nul,
          schemaPath: '#',
          params: {},
          message: 'must not contain U+0000',
        },
      ]
      return false
    }
    for (const [key, value] of Object.entries(data ?? {})) {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        checked.errors = [
          {
            keyword: 'maximum',
            instancePath: `/${key}`,
            schemaPath: '#',
            params: {},
            message: 'must be a finite number',
          },
        ]
        return false
      }
    }
    checked.errors = null
    return true
  }
  return checked
}

/**
 * The in-process hub, or with REDIS_URL or NATS_URL the bus that connects several nodes. With
 * both set, Redis is the bus (and NATS_URL is ignored, with a warning). A bus client is imported
 * only when configured: a single node does not carry ioredis or nats in memory.
 */
async function createHub(config: Config, log: FastifyInstance['log']): Promise<Hub> {
  if (config.redisUrl) {
    if (config.natsUrl)
      log.warn({}, 'both REDIS_URL and NATS_URL are set: Redis is the bus, NATS_URL is ignored')
    const { createRedisHub } = await import('./hub/redis.js')
    return createRedisHub({ url: config.redisUrl, log })
  }
  if (config.natsUrl) {
    const { createNatsHub } = await import('./hub/nats.js')
    return createNatsHub({ url: config.natsUrl, log })
  }
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
  const ctx: AppContext = {
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
    messages: database.sqlitePath
      ? workerMessageStore(database.sqlitePath, SQLITE_BUSY_TIMEOUT_MS, observeCommit, database.sqlite)
      : database.sqlite
        ? sqliteMessageStore(database.sqlite, observeCommit)
        : kyselyMessageStore(database.db, writes),
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

  registerErrorHandlers(app)
  registerBodyDeadlines(app, config)
  app.addSchema(ErrorResponse)
  app.addSchema(User)
  app.addSchema(FileObject)
  app.addSchema(Message)
  app.addSchema(Conversation)

  await app.register(cookie)
  await app.register(cors, {
    credentials: true,
    // Browsers on the listed origins may call the API; same-origin requests need no CORS at all.
    origin: (origin, callback) =>
      callback(null, origin !== undefined && config.allowedOrigins.includes(origin)),
  })
  await app.register(rateLimit, { global: false })
  await app.register(swagger, {
    openapi: {
      info: { title: 'Parley', version: '1', description: 'Self-hosted real-time chat: the HTTP API' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'sid' },
        },
      },
    },
  })

  registerMetricsRoutes(app, ctx.metrics, config.metricsToken)
  app.get('/docs', { schema: { hide: true } }, async () => app.swagger())
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'Liveness and database reachability' } },
    healthz,
  )
  async function healthz() {
    await ctx.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll().as('n'))
      .limit(1)
      .execute()
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
