import type { TSchema } from '@sinclair/typebox'
import { Ajv, type ValidateFunction } from 'ajv'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type JsonSchema, selfContained } from '../../src/api-docs/json-schema.js'
import { ErrorResponse } from '../../src/common-schemas.js'
import { watchOutgoingFrames } from '../../src/realtime/connections.js'
import { ServerFrames } from '../../src/realtime/schemas.js'

// The test suite as a check of the published schemas: every frame a socket is sent and every JSON
// response a route gives is validated against its schema, with undocumented fields counted as
// errors (fast-json-stringify would silently drop them from a response; a frame would carry them
// unannounced). buildTestApp and startTestServer turn this on; a violation fails the test at
// teardown.

const violations: string[] = []

/** The violations seen since the last call, cleared. */
export function takeViolations(): string[] {
  return violations.splice(0)
}

/** Throws (failing the test) if a frame or response broke its schema. */
export function assertNoViolations(): void {
  const found = takeViolations()
  if (found.length === 0) return
  const distinct = [...new Set(found)]
  const shown = distinct.slice(0, 20).join('\n')
  const more = distinct.length > 20 ? `\n...and ${distinct.length - 20} more` : ''
  throw new Error(`${found.length} frame(s) or response(s) broke their schema:\n${shown}${more}`)
}

/** The schema with `additionalProperties: false` on every object that does not say otherwise. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed)
  if (typeof schema !== 'object' || schema === null) return schema
  const out: JsonSchema = {}
  for (const [key, value] of Object.entries(schema)) out[key] = closed(value)
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) {
    out.additionalProperties = false
  }
  return out
}

const ajv = new Ajv({ allErrors: true, strict: false })
const compileClosed = (schema: TSchema): ValidateFunction => {
  const { $id: _, ...body } = closed(selfContained(schema)) as JsonSchema
  return ajv.compile(body)
}

const describe = (validate: ValidateFunction): string =>
  (validate.errors ?? [])
    .slice(0, 5)
    .map((error) => `${error.instancePath || '/'} ${error.message} ${JSON.stringify(error.params)}`)
    .join('; ')

const excerpt = (value: unknown): string => JSON.stringify(value)?.slice(0, 300) ?? String(value)

const frameValidators = new Map(
  Object.entries(ServerFrames).map(([type, schema]) => [type, compileClosed(schema)]),
)

function checkFrame(text: string): void {
  let frame: { type?: unknown }
  try {
    frame = JSON.parse(text)
  } catch {
    violations.push(`frame is not JSON: ${text.slice(0, 200)}`)
    return
  }
  const type = String(frame.type)
  const validate = frameValidators.get(type)
  if (!validate) violations.push(`frame of unknown type: ${excerpt(frame)}`)
  else if (!validate(frame)) violations.push(`${type} frame: ${describe(validate)} in ${excerpt(frame)}`)
}

watchOutgoingFrames(checkFrame)

const responseValidators = new WeakMap<object, ValidateFunction>()
const errorValidator = compileClosed(ErrorResponse)

function validatorFor(schema: TSchema): ValidateFunction {
  let validate = responseValidators.get(schema)
  if (!validate) {
    validate = compileClosed(schema)
    responseValidators.set(schema, validate)
  }
  return validate
}

/** The route's schema for this status: exact, then `4xx`-style, then `default`. */
function responseSchema(request: FastifyRequest, status: number): TSchema | 'undeclared' | undefined {
  const responses = request.routeOptions.schema?.response as Record<string, TSchema> | undefined
  if (!responses) return undefined
  return responses[status] ?? responses[`${Math.floor(status / 100)}xx`] ?? responses.default ?? 'undeclared'
}

function checkResponse(request: FastifyRequest, reply: FastifyReply, body: unknown): void {
  const status = reply.statusCode
  const where = `${request.method} ${request.routeOptions.url ?? request.url} ${status}`
  const schema = responseSchema(request, status)
  if (schema === 'undeclared') {
    violations.push(`${where}: status not in the route's responses (${excerpt(body)})`)
    return
  }
  // Routes without response schemas (the web page, /docs, /metrics): their errors still have the shape.
  const validate = schema ? validatorFor(schema) : status >= 400 ? errorValidator : undefined
  if (validate && !validate(body)) violations.push(`${where}: ${describe(validate)} in ${excerpt(body)}`)
}

const checked = new WeakSet<FastifyReply>()

/** Adds the response checks to an app (BuildOptions.beforeRoutes). */
export function checkResponses(app: FastifyInstance): void {
  // Objects are checked before fast-json-stringify serializes (and trims) them...
  app.addHook('preSerialization', async (request, reply, payload) => {
    checked.add(reply)
    checkResponse(request, reply, payload)
    return payload
  })
  // ...and JSON the routes serialize themselves is checked as sent.
  app.addHook('onSend', async (request, reply, payload) => {
    if (checked.has(reply) || typeof payload !== 'string' || payload === '') return payload
    if (!String(reply.getHeader('content-type') ?? '').includes('json')) return payload
    let body: unknown
    try {
      body = JSON.parse(payload)
    } catch {
      violations.push(`${request.method} ${request.url}: JSON content type, body not JSON`)
      return payload
    }
    checkResponse(request, reply, body)
    return payload
  })
}
