import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { adminRoutes } from './admin/routes.js'
import { SHARED_SCHEMAS } from './api-docs/json-schema.js'
import { authRoutes } from './auth/routes.js'
import { sessionRoutes } from './auth/session-routes.js'
import { cachesPlugin } from './caches/plugin.js'
import type { Config } from './config.js'
import { contextPlugin } from './conversations/context.js'
import { messageStorePlugin } from './conversations/message-store/plugin.js'
import { conversationRoutes } from './conversations/routes.js'
import { databasePlugin } from './db/plugin.js'
import { emailPlugin, emailRoutes } from './email/plugin.js'
import { registerErrorHandlers } from './errors.js'
import { fileRoutes } from './files/routes.js'
import { httpApiPlugin } from './http-api.js'
import { registerBodyDeadlines, serverTimeouts } from './http-timeouts.js'
import { hubPlugin } from './hub/plugin.js'
import type { Hub } from './hub/types.js'
import { redactUrl } from './log-redaction.js'
import { metricsPlugin } from './metrics.js'
import { projectRoutes } from './projects/routes.js'
import { pushPlugin } from './push/plugin.js'
import { pushRoutes } from './push/routes.js'
import { realtimePlugin } from './realtime/plugin.js'
import { searchRoutes } from './search/routes.js'
import { userRoutes } from './users/routes.js'
import { buildValidator } from './validation.js'
import { webRoutes } from './web/plugin.js'

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
 * Builds the whole app from its plugins; migrates the database; never listens. Each plugin names
 * what it depends on, and Fastify closes them in the reverse order: the sockets first, then the
 * message store, the caches, the hub, and the database last.
 */
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
  app.decorate('config', config)
  app.decorateRequest('auth', null)
  options.beforeRoutes?.(app)
  registerErrorHandlers(app)
  registerBodyDeadlines(app, config)
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)

  try {
    await app.register(databasePlugin, { databaseUrl: config.databaseUrl })
    await app.register(hubPlugin, { config, hub: options.hub })
    await app.register(metricsPlugin, { token: config.metricsToken })
    await app.register(cachesPlugin)
    await app.register(messageStorePlugin)
    await app.register(contextPlugin)
    await app.register(pushPlugin)
    await app.register(emailPlugin)
    await app.register(httpApiPlugin)
    await app.register(authRoutes)
    await app.register(sessionRoutes)
    await app.register(userRoutes)
    await app.register(adminRoutes)
    await app.register(conversationRoutes)
    await app.register(projectRoutes)
    await app.register(fileRoutes)
    await app.register(searchRoutes)
    await app.register(pushRoutes)
    await app.register(emailRoutes)
    await app.register(realtimePlugin)
    await app.register(webRoutes)
  } catch (error) {
    // What did start (the database, the hub) is closed again.
    await app.close().catch(() => {})
    throw error
  }
  return app
}
