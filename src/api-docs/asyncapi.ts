import type { TSchema } from '@sinclair/typebox'
import { ClientFrames, type ClientFrameType, ServerFrames } from '../realtime/schemas.js'
import { type JsonSchema, referToShared, SHARED_SCHEMAS } from './json-schema.js'

// The WebSocket protocol as an AsyncAPI 3 document, from the same TypeBox schemas the server
// validates client frames with (src/realtime/schemas.ts). Served at GET /docs/asyncapi and
// written to schemas/asyncapi.json by `npm run schemas`.

type ServerFrameType = keyof typeof ServerFrames

/** The frame the server answers each client frame with (carrying its `ref`), besides `error`. */
const REPLIES: Partial<Record<ClientFrameType, ServerFrameType>> = {
  join: 'recent_messages',
  leave: 'ack',
  send_message: 'ack',
  edit_message: 'ack',
  delete_message: 'ack',
  mark_read: 'ack',
  set_notifications: 'ack',
  get_presence: 'presence_list',
  search: 'search_results',
  ping: 'pong',
}

const CHANNEL = '#/channels/socket'
const messageKey = (side: 'client' | 'server', type: string) => `${side}.${type}`

/** A frame's payload schema, pointing at components/schemas for the shared ones it `uses`. */
function payload(schema: TSchema, uses: Set<string>): JsonSchema {
  const { $id: _, ...body } = referToShared(
    JSON.parse(JSON.stringify(schema)),
    (id) => `#/components/schemas/${id}`,
    (id) => uses.add(id),
  ) as JsonSchema
  return body
}

function message(side: 'client' | 'server', type: string, schema: TSchema, uses: Set<string>) {
  return {
    name: type,
    title: `${type} (${side === 'client' ? 'client to server' : 'server to client'})`,
    summary: schema.description,
    contentType: 'application/json',
    payload: payload(schema, uses),
  }
}

let cached: object | undefined

/** The AsyncAPI 3.0 document of the WebSocket protocol. */
export function asyncApiDocument(): object {
  cached ??= build()
  return cached
}

function build(): object {
  const uses = new Set<string>()
  const messages: Record<string, object> = {}
  for (const [type, schema] of Object.entries(ClientFrames))
    messages[messageKey('client', type)] = message('client', type, schema, uses)
  for (const [type, schema] of Object.entries(ServerFrames))
    messages[messageKey('server', type)] = message('server', type, schema, uses)
  // The shared schemas the frames use, and those these use in turn (a Set iterates what is added).
  const schemas: Record<string, JsonSchema> = {}
  for (const id of uses) {
    const shared = SHARED_SCHEMAS.find((schema) => schema.$id === id)
    if (shared) schemas[id] = payload(shared, uses)
  }

  const ref = (key: string) => ({ $ref: `${CHANNEL}/messages/${key}` })
  const operations: Record<string, object> = {}
  for (const type of Object.keys(ClientFrames) as ClientFrameType[]) {
    const reply = REPLIES[type]
    operations[`receive_${type}`] = {
      action: 'receive',
      channel: { $ref: CHANNEL },
      summary: ClientFrames[type].description,
      messages: [ref(messageKey('client', type))],
      reply: {
        channel: { $ref: CHANNEL },
        messages: [...(reply ? [ref(messageKey('server', reply))] : []), ref(messageKey('server', 'error'))],
      },
    }
  }
  for (const type of Object.keys(ServerFrames)) {
    operations[`send_${type}`] = {
      action: 'send',
      channel: { $ref: CHANNEL },
      summary: ServerFrames[type as ServerFrameType].description,
      messages: [ref(messageKey('server', type))],
    }
  }

  return {
    asyncapi: '3.1.0',
    info: {
      title: 'Parley WebSocket protocol',
      version: '1',
      description:
        'One WebSocket per client at /ws; every frame is a JSON text object with a `type`. A client ' +
        'frame may carry a `ref` (up to 64 characters), echoed on its reply or error. The HTTP API ' +
        'is described by the OpenAPI document at /docs.',
    },
    defaultContentType: 'application/json',
    servers: {
      parley: {
        host: 'localhost:3000',
        protocol: 'ws',
        description: 'A Parley server (PORT, 3000 by default); wss behind a TLS proxy',
        security: [
          { $ref: '#/components/securitySchemes/bearer' },
          { $ref: '#/components/securitySchemes/cookie' },
          { $ref: '#/components/securitySchemes/token' },
        ],
      },
    },
    channels: {
      socket: {
        address: '/ws',
        title: 'The socket',
        description: 'Opened with a session: no session, a 401 before the upgrade',
        servers: [{ $ref: '#/servers/parley' }],
        messages: Object.fromEntries(
          Object.keys(messages).map((key) => [key, { $ref: `#/components/messages/${key}` }]),
        ),
      },
    },
    operations,
    components: {
      messages,
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <token>' },
        cookie: { type: 'httpApiKey', in: 'cookie', name: 'sid', description: 'The session cookie' },
        token: {
          type: 'httpApiKey',
          in: 'query',
          name: 'token',
          description: '?token=<token>, for clients that cannot set headers (browsers)',
        },
      },
    },
  }
}
