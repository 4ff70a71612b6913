import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import SwaggerParser from '@apidevtools/swagger-parser'
import { Parser } from '@asyncapi/parser'
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import t from 'tap'
import { SCHEMAS_DIR } from '../scripts/export-schemas.js'
import { type Connection, send } from '../src/realtime/connections.js'
import { ClientFrames, ServerFrames } from '../src/realtime/schemas.js'
import { buildTestApp } from './helpers/app.js'
import { checkResponses, takeViolations } from './helpers/contract.js'

type Operation = {
  security?: Array<Record<string, string[]>>
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, { format?: string }> } }> }
  responses: Record<string, { description: string; content?: Record<string, unknown> }>
}
type OpenApi = { paths: Record<string, Record<string, Operation>>; components: { schemas: object } }

const operations = (doc: OpenApi) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  )

t.test('the OpenAPI document at /docs is valid and complete', async (t) => {
  const app = await buildTestApp(t)
  const doc = (await app.inject({ url: '/docs' })).json() as OpenApi
  await t.resolves(SwaggerParser.validate(structuredClone(doc) as never), 'valid OpenAPI 3.0')

  t.same(Object.keys(doc.components.schemas).sort(), ['Conversation', 'Error', 'File', 'Message', 'User'])
  const described = operations(doc).flatMap(({ path, method, op }) =>
    Object.entries(op.responses)
      .filter(([, response]) => response.description === 'Default Response')
      .map(([code]) => `${method} ${path} ${code}`),
  )
  t.same(described, [], 'every response has a description of its own')

  const secured = operations(doc).filter(({ op }) => op.security)
  t.ok(secured.length > 30, `${secured.length} operations need a session`)
  for (const { op } of secured) t.same(op.security, [{ bearer: [] }, { cookie: [] }])
  const open = operations(doc)
    .filter(({ op }) => !op.security)
    .map(({ path, method }) => `${method} ${path}`)
  t.same(
    open.sort(),
    [
      'GET /email/unsubscribe',
      'GET /email/verify',
      'GET /healthz',
      'POST /auth/login',
      'POST /auth/register',
      'POST /auth/reset',
    ],
    'the public ones (the emailed links carry a signed token instead)',
  )

  for (const path of ['/projects/{id}/files', '/conversations/{id}/files']) {
    const body = doc.paths[path].post.requestBody?.content['multipart/form-data']
    t.equal(body?.schema.properties?.file.format, 'binary', `${path}: a multipart upload`)
  }
  const download = doc.paths['/files/{id}'].get.responses
  for (const code of ['200', '206', '304', '404', '416']) t.ok(download[code], `GET /files/{id} ${code}`)
  t.ok(download['206'].content?.['application/octet-stream'], 'bytes, not JSON')
  t.notOk(download['304'].content, 'a 304 has no body')

  for (const { path, method, op } of operations(doc)) {
    if (!['POST', 'PATCH', 'DELETE'].includes(method)) continue
    for (const code of ['400', '413', '415', '429'])
      t.ok(op.responses[code], `${method} ${path} lists ${code}`)
  }
})

t.test('an operation declares security exactly when it answers 401 without a session', async (t) => {
  const app = await buildTestApp(t)
  const doc = (await app.inject({ url: '/docs' })).json() as OpenApi
  for (const { path, method, op } of operations(doc)) {
    const url = path.replaceAll(/\{[^}]+\}/g, '1')
    const body = ['POST', 'PATCH', 'DELETE'].includes(method) ? { payload: {} } : {}
    const response = await app.inject({ method: method as 'GET', url, ...body })
    t.equal(
      response.statusCode === 401,
      op.security !== undefined,
      `${method} ${path}: ${response.statusCode}`,
    )
  }
})

t.test('a body of another type is a 415, as listed', async (t) => {
  const app = await buildTestApp(t)
  const response = await app.inject({
    method: 'POST',
    url: '/auth/register',
    headers: { 'content-type': 'application/xml' },
    payload: '<user/>',
  })
  t.equal(response.statusCode, 415)
})

t.test('the AsyncAPI document of the WebSocket protocol', async (t) => {
  const app = await buildTestApp(t)
  const response = await app.inject({ url: '/docs/asyncapi' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /application\/json/)
  const doc = response.json()
  const onDisk = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'asyncapi.json'), 'utf8'))
  t.same(doc, onDisk, 'the same as schemas/asyncapi.json')
  t.equal(doc.asyncapi, '3.1.0')

  const diagnostics = await new Parser().validate(doc)
  const errors = diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('.')}: ${d.message}`)
  t.same(errors, [], 'no errors from the AsyncAPI parser')

  const messages = Object.keys(doc.components.messages)
  for (const type of Object.keys(ClientFrames)) t.ok(messages.includes(`client.${type}`), `client ${type}`)
  for (const type of Object.keys(ServerFrames)) t.ok(messages.includes(`server.${type}`), `server ${type}`)
  t.same(doc.components.messages['server.ack'].payload.properties.message, {
    $ref: '#/components/schemas/Message',
  })
  t.same(Object.keys(doc.components.schemas).sort(), ['Conversation', 'File', 'Message', 'User'])
  t.same(
    doc.operations.receive_join.reply.messages.map((m: { $ref: string }) => m.$ref),
    ['#/channels/socket/messages/server.recent_messages', '#/channels/socket/messages/server.error'],
  )
})

t.test("the test suite's contract checks catch drift from the schemas", async (t) => {
  takeViolations()
  const app = Fastify()
  t.teardown(() => app.close())
  checkResponses(app)
  const response: Record<number, unknown> = { 200: Type.Object({ a: Type.Integer() }) }
  app.get('/extra', { schema: { response } }, async () => ({ a: 1, b: 2 }))
  app.get('/wrong', { schema: { response } }, async () => ({ a: 'one' }))
  app.get('/undeclared', { schema: { response } }, async (_request, reply) =>
    reply.status(409).send({ a: 1 }),
  )
  app.get('/fine', { schema: { response } }, async () => ({ a: 1 }))
  for (const url of ['/extra', '/wrong', '/undeclared', '/fine']) await app.inject({ url })
  const http = takeViolations()
  t.equal(http.length, 3, http.join('\n'))
  t.match(http[0], /GET \/extra 200: .*must NOT have additional properties/)
  t.match(http[1], /GET \/wrong 200: \/a must be integer/)
  t.match(http[2], /GET \/undeclared 409: status not in the route's responses/)

  const socket = { readyState: 1, OPEN: 1, bufferedAmount: 0, send: () => {} }
  const connection = { socket } as unknown as Connection
  send(connection, JSON.stringify({ type: 'pong', ref: 'r1' }))
  send(connection, JSON.stringify({ type: 'pong', extra: true }))
  send(connection, JSON.stringify({ type: 'read', conversation_id: 1, user_id: 1 }))
  send(connection, JSON.stringify({ type: 'nonsense' }))
  const frames = takeViolations()
  t.equal(frames.length, 3, frames.join('\n'))
  t.match(frames[0], /pong frame: .*additional properties/)
  t.match(frames[1], /read frame: .*must have required property 'message_id'/)
  t.match(frames[2], /frame of unknown type/)
})
