import cookie from '@fastify/cookie'
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { asyncApiDocument } from './api-docs/asyncapi.js'
import { registerOpenApi } from './api-docs/openapi.js'
import { pingUsers } from './db/queries/users.js'
import { badRequest } from './errors.js'
import { malformedJson } from './validation-messages.js'

// The `http` plugin: what every HTTP route shares (cookies, CORS, the rate limiter, the OpenAPI
// document at GET /docs, the AsyncAPI one at GET /docs/asyncapi) and the health check. Registered before the routes, so the document
// lists them all.

/**
 * Fastify's own JSON parser (with its __proto__ and constructor checks), but a body it cannot
 * parse is answered with where it stopped rather than only "not valid JSON".
 */
function parseJsonSayingWhere(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (error, value) => {
      if ((error as { code?: string } | null)?.code !== 'FST_ERR_CTP_INVALID_JSON_BODY')
        return done(error, value)
      try {
        JSON.parse(body as string)
        done(error, undefined) // valid JSON refused by the __proto__ checks: Fastify's answer stands
      } catch (syntax) {
        done(badRequest(malformedJson(body as string, syntax as Error)), undefined)
      }
    })
  })
}

async function httpApi(app: FastifyInstance): Promise<void> {
  const { config } = app
  parseJsonSayingWhere(app)
  await app.register(cookie)
  await app.register(cors, {
    credentials: true,
    // Browsers on the listed origins may call the API; same-origin requests need no CORS at all.
    origin: (origin, callback) =>
      callback(null, origin !== undefined && config.allowedOrigins.includes(origin)),
  })
  await app.register(rateLimit, { global: false })
  await registerOpenApi(app)
  app.get('/docs', { schema: { hide: true } }, async () => app.swagger())
  app.get('/docs/asyncapi', { schema: { hide: true } }, async () => asyncApiDocument())
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness and database reachability, and the upload size limit',
        response: {
          200: Type.Object({
            status: Type.Literal('ok'),
            // The page refuses a file over the limit before sending any of it.
            max_upload_bytes: Type.Integer({ minimum: 1, description: 'the largest file an upload accepts' }),
          }),
        },
      },
    },
    async () => {
      await pingUsers(app.db)
      return { status: 'ok' as const, max_upload_bytes: config.maxUploadBytes }
    },
  )
}

export const httpApiPlugin = fp(httpApi, {
  name: 'http',
  dependencies: ['db'],
  decorators: { fastify: ['config'] },
})
