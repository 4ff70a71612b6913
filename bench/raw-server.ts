import { createServer } from 'node:http'
import { type WebSocket, WebSocketServer } from 'ws'

// The ceiling: the least a `ws` server can do to carry Parley's protocol for the bench's generator.
// No auth, no persistence, no validation beyond JSON.parse, permessage-deflate off. It answers
// `join` with an empty `recent_messages`, and `send_message` with an `ack` to the sender plus one
// `message` frame, serialized once, sent to every socket joined to the conversation.
//
//   PORT=4000 node --import tsx bench/raw-server.ts
//
// Prints `listening <port>` on stdout once it accepts connections (and sends it over IPC when
// started with an IPC channel). SIGTERM/SIGINT close every socket with 1001 and exit 0.

const port = Number(process.env.PORT ?? 0)
const host = process.env.HOST ?? '127.0.0.1'

const rooms = new Map<number, Set<WebSocket>>()
const joined = new WeakMap<WebSocket, Set<number>>()
let nextMessageId = 1
let nextSocketId = 1

const READY = JSON.stringify({ type: 'ready' })

interface Frame {
  type?: unknown
  ref?: unknown
  conversation_id?: unknown
  content?: unknown
  client_id?: unknown
}

function reply(ws: WebSocket, body: Record<string, unknown>, ref: unknown) {
  if (typeof ref === 'string') body.ref = ref
  ws.send(JSON.stringify(body))
}

function onFrame(ws: WebSocket, senderId: number, data: Buffer) {
  let frame: Frame
  try {
    frame = JSON.parse(data.toString())
  } catch {
    reply(ws, { type: 'error', code: 'BAD_REQUEST', message: 'malformed JSON' }, undefined)
    return
  }
  const conversationId = Number(frame.conversation_id)
  switch (frame.type) {
    case 'send_message': {
      const message = {
        id: nextMessageId++,
        conversation_id: conversationId,
        sender_id: senderId,
        content: String(frame.content),
        client_id: typeof frame.client_id === 'string' ? frame.client_id : null,
        attachments: [],
        created_at: new Date().toISOString(),
        edited_at: null,
        deleted: false,
      }
      reply(ws, { type: 'ack', message }, frame.ref)
      const room = rooms.get(conversationId)
      if (room) {
        const out = JSON.stringify({ type: 'message', message })
        for (const member of room) member.send(out)
      }
      return
    }
    case 'join': {
      let room = rooms.get(conversationId)
      if (!room) {
        room = new Set()
        rooms.set(conversationId, room)
      }
      room.add(ws)
      joined.get(ws)?.add(conversationId)
      reply(
        ws,
        {
          type: 'recent_messages',
          conversation_id: conversationId,
          messages: [],
          has_more: false,
          cursor: '0',
        },
        frame.ref,
      )
      return
    }
    case 'leave':
      rooms.get(conversationId)?.delete(ws)
      joined.get(ws)?.delete(conversationId)
      return
    case 'ping':
      reply(ws, { type: 'pong' }, frame.ref)
      return
    default:
      reply(ws, { type: 'error', code: 'BAD_REQUEST', message: 'unknown type' }, frame.ref)
  }
}

// The HTTP ceiling for the history mode: a page of 50 messages, kept in memory and serialized
// per request (what any server must at least do), for GET /conversations/:id/messages.
const page = Array.from({ length: 50 }, (_, i) => ({
  id: i + 1,
  conversation_id: 1,
  sender_id: 1 + (i % 2),
  content: `history ${i} ${'x'.repeat(100)}`.slice(0, 100),
  client_id: `h-${i}`,
  attachments: [],
  created_at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
  edited_at: null,
  deleted: false,
}))

const http = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  if (req.url?.startsWith('/conversations/')) res.end(JSON.stringify({ messages: page, has_more: true }))
  else res.end('{"status":"ok"}')
})
const wss = new WebSocketServer({
  server: http,
  path: '/ws',
  perMessageDeflate: false,
  maxPayload: 64 * 1024,
})

wss.on('connection', (ws) => {
  const senderId = nextSocketId++
  joined.set(ws, new Set())
  ws.on('message', (data, isBinary) => {
    if (!isBinary) onFrame(ws, senderId, data as Buffer)
  })
  ws.on('close', () => {
    for (const id of joined.get(ws) ?? []) rooms.get(id)?.delete(ws)
  })
  ws.on('error', () => {})
  ws.send(READY)
})

// Answers the bench's memory probe (idle mode): heap after a GC when run with --expose-gc.
process.on('message', (msg: { probe?: string }) => {
  if (msg?.probe !== 'memory') return
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  process.send?.({ probe: 'memory', memory: process.memoryUsage(), gc: Boolean(gc) })
})
process.channel?.unref()

http.listen(port, host, () => {
  const address = http.address()
  const actual = typeof address === 'object' && address ? address.port : port
  console.log(`listening ${actual}`)
  process.send?.({ listening: actual })
})

function shutdown() {
  for (const ws of wss.clients) ws.close(1001, 'shutting down')
  wss.close()
  http.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)
