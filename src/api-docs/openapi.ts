import swagger from '@fastify/swagger'
import { type TSchema, Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify'
import { isSessionGuard } from '../auth/authenticate.js'
import { ErrorResponse } from '../common-schemas.js'

// The OpenAPI document at /docs, from the routes' own schemas. What every route of a kind shares
// is added here, once, from how the route is set up: which routes check the session, which take
// a body, which write. The error statuses are added to the routes' response schemas themselves,
// so the test suite's response checks (test/helpers/contract.ts) hold them to it.

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

const RESPONSE_DESCRIPTIONS: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  204: 'Done; no body',
  206: 'Partial content: the byte range asked for with Range',
  304: 'Not modified: If-None-Match matched the ETag',
  400: 'Invalid input: a path parameter, the query or the body failed validation (the message says which)',
  401: 'No valid session (UNAUTHORIZED), or wrong credentials',
  403: 'Not allowed (FORBIDDEN), or a cookie-authenticated request from an origin that is not allowed (ORIGIN_NOT_ALLOWED)',
  404: 'Not found, or not visible to you',
  408: 'Request timeout: the body did not arrive in time (REQUEST_TIMEOUT_MS; uploads get longer)',
  409: 'Conflict with the current state (the code says which)',
  410: 'Gone: the cursor is older than the change feed keeps',
  413: 'Too large: the body, or the upload, exceeds its limit',
  415: 'Unsupported media type: send Content-Type: application/json (uploads: multipart/form-data)',
  416: 'Range not satisfiable',
  500: 'Internal error (INTERNAL_ERROR): nothing of the cause is told',
  503: 'Unavailable (UNAVAILABLE): the database cannot be reached; retry after Retry-After seconds',
  429: 'Too many requests (RATE_LIMITED): a rate limit or the account write budget; retry after Retry-After seconds',
}

/** Both ways of presenting the session token; either will do. */
const SESSION_SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }, { cookie: [] }]

const Upload = Type.Object(
  {
    file: Type.String({ format: 'binary', description: 'The file; its name is kept' }),
    content: Type.Optional(Type.String({ description: 'A caption, sent as the message text' })),
  },
  { description: 'The file in the field `file`; optional text field `content`' },
)

const Bytes = Type.String({ format: 'binary' })
const DOWNLOAD_RESPONSES = {
  200: { description: "The file's bytes", content: { 'application/octet-stream': { schema: Bytes } } },
  206: {
    description: RESPONSE_DESCRIPTIONS[206],
    content: { 'application/octet-stream': { schema: Bytes } },
  },
  304: { description: RESPONSE_DESCRIPTIONS[304], type: 'null' },
}

type Hooked = FastifyInstance & Record<symbol, { onRequest?: unknown[] } | undefined>

/**
 * Whether the route's onRequest hooks, its own or those of the plugin that declares it, include
 * requireUser's session guard.
 */
function checksSession(instance: Hooked, hooksKey: symbol, route: RouteOptions): boolean {
  const own = [route.onRequest ?? []].flat()
  const inherited = instance[hooksKey]?.onRequest ?? []
  return [...own, ...inherited].some(isSessionGuard)
}

/** The error statuses every route of its kind can answer, added to what the route lists. */
function addSharedErrors(route: RouteOptions, schema: FastifySchema, session: boolean): void {
  // A database that cannot be reached is a 503 (retry after Retry-After); any other failure a 500.
  const codes: number[] = [500, 503]
  if (session) codes.push(401, 403)
  if (schema.params || schema.querystring || schema.body) codes.push(400)
  if ([route.method].flat().some((method) => BODY_METHODS.has(method))) codes.push(400, 408, 413, 415, 429)
  const response = schema.response as Record<string, TSchema>
  for (const code of codes) response[code] ??= Type.Ref(ErrorResponse)
}

/** Registers @fastify/swagger and the route hook that completes each route's description. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  // Fastify keeps a plugin's hooks under a private symbol; found once, by its description.
  const hooksKey = Object.getOwnPropertySymbols(app).find((key) => key.description === 'fastify.hooks')
  if (!hooksKey) throw new Error('cannot find the routes’ hooks: has Fastify changed?')

  app.addHook('onRoute', function describeRoute(route) {
    if (!route.schema?.response || route.schema.hide) return
    const schema: FastifySchema = { ...route.schema, response: { ...route.schema.response } }
    route.schema = schema
    // A plugin's own hooks are added once its code has run (Fastify defers them): look then.
    this.after(() => {
      const session = checksSession(this as Hooked, hooksKey, route)
      if (session) schema.security = SESSION_SECURITY
      addSharedErrors(route, schema, session)
    })
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Parley', version: '1', description: 'Self-hosted real-time chat: the HTTP API' },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'The token from /auth/register or /auth/login',
          },
          cookie: {
            type: 'apiKey',
            in: 'cookie',
            name: 'sid',
            description: 'Set by /auth/register and /auth/login',
          },
        },
      },
    },
    // Components are named by the shared schemas' $id (User, Message...), not def-0, def-1...
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    transform: ({ schema, url, route }) => {
      if (!schema?.response || schema.hide) return { schema, url }
      const upload = route.config && 'upload' in route.config && [route.method].flat().includes('POST')
      const download = url === '/files/:id'
      return {
        url,
        schema: {
          ...schema,
          ...(upload ? { body: Upload, consumes: ['multipart/form-data'] } : {}),
          response: describeResponses({
            ...(schema.response as Record<string, TSchema>),
            ...(download ? DOWNLOAD_RESPONSES : {}),
          }),
        },
      }
    },
  })
}

/** Each response with a description of what it means, instead of "Default Response". */
function describeResponses(responses: Record<string, object>): Record<string, object> {
  return Object.fromEntries(
    Object.entries(responses).map(([code, schema]) => {
      if ('description' in schema) return [code, schema]
      const description = RESPONSE_DESCRIPTIONS[code] ?? 'See the message'
      // Beside a $ref only `description` is read; elsewhere it would describe the body's schema.
      return [code, { ...schema, [`$ref` in schema ? 'description' : 'x-response-description']: description }]
    }),
  )
}
