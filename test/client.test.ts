import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import WebSocket from 'ws'
import { type Message, ParleyClient, ProtocolError } from '../client/parley-client.js'
import { type Account, createConversation, register, startTestServer } from './helpers/app.js'

// The bundled client (client/parley-client.js) driven from Node against a real server: the same
// module the web page and the benchmark use.

type Server = Awaited<ReturnType<typeof startTestServer>>

function clientFor(server: Server, account: Account, options: Record<string, unknown> = {}) {
  return new ParleyClient({
    WebSocket,
    baseUrl: server.http,
    token: account.token,
    minDelay: 50,
    maxDelay: 400,
    pingInterval: 0,
    requestTimeout: 5000,
    ...options,
  })
}

async function httpSend(app: FastifyInstance, account: Account, conversationId: number, content: string) {
  const response = await app.inject({
    method: 'POST',
    url: `/conversations/${conversationId}/messages`,
    headers: account.auth,
    payload: { content },
  })
  if (response.statusCode !== 201) throw new Error(`send: ${response.statusCode} ${response.body}`)
  return response.json().message as Message
}

async function serverHistory(app: FastifyInstance, account: Account, conversationId: number) {
  const response = await app.inject({
    method: 'GET',
    url: `/conversations/${conversationId}/messages?limit=200`,
    headers: account.auth,
  })
  return response.json().messages as Message[]
}

/**
 * Every TCP connection the server accepts from now on. In these tests the only TCP connections are
 * the clients' WebSockets (the HTTP calls use inject), so destroying them is a network failure of
 * those clients: no close frame, the client sees 1006.
 */
function trackSockets(app: FastifyInstance) {
  const open = new Set<Socket>()
  app.server.on('connection', (socket: Socket) => {
    open.add(socket)
    socket.on('close', () => open.delete(socket))
  })
  return {
    drop(): number {
      const count = open.size
      for (const socket of open) socket.destroy()
      return count
    },
  }
}

const waitFor = async (predicate: () => boolean, what: string, timeout = 5000) => {
  const started = Date.now()
  while (!predicate()) {
    if (Date.now() - started > timeout) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

t.test('connect, join, send and receive between two clients', async (t) => {
  const server = await startTestServer(t)
  const alice = await register(server.app)
  const bob = await register(server.app)
  const conversationId = await createConversation(server.app, alice, [bob])
  await httpSend(server.app, alice, conversationId, 'before anyone joined')

  const a = clientFor(server, alice)
  const b = clientFor(server, bob)
  t.teardown(() => {
    a.close()
    b.close()
  })
  const states: string[] = []
  a.on('state', ({ state }) => states.push(state))
  t.equal(a.state, 'idle')
  const user = await a.connect()
  t.equal(user?.id, alice.id, 'ready carries the account')
  t.same(states, ['connecting', 'open'])
  await b.connect()

  const joined = await b.join(conversationId)
  t.equal(joined.conversation_id, conversationId)
  t.same(
    joined.messages.map((m) => m.content),
    ['before anyone joined'],
    'join gives the history',
  )
  await a.join(conversationId)

  const received = b.once('message', ({ message }) => message.content === 'hello bob')
  const sent = await a.send(conversationId, 'hello bob')
  t.equal(sent.content, 'hello bob')
  t.equal(sent.sender_id, alice.id)
  t.type(sent.client_id, 'string', 'a client_id was generated')
  const { message } = await received
  t.equal(message.id, sent.id, 'the other client got the same message')
  t.same(
    b.messages(conversationId).map((m) => m.content),
    ['before anyone joined', 'hello bob'],
  )

  const typing = b.once('typing', (frame) => frame.user_id === alice.id)
  t.ok(a.typing(conversationId, true), 'typing frame sent')
  t.equal(a.typing(conversationId, true), false, 'a second typing:true within the throttle is not sent')
  t.equal((await typing).is_typing, true)

  const read = a.once('read', (frame) => frame.user_id === bob.id)
  b.markRead(conversationId, sent.id)
  t.equal((await read).message_id, sent.id, 'read receipt reaches the sender')

  t.type(await a.ping(), 'number', 'ping round trip')
  const presence = await a.getPresence([bob.id])
  t.same(
    presence.map((p) => [p.user_id, p.online]),
    [[bob.id, true]],
  )

  await t.rejects(a.join(999_999), { code: 'NOT_FOUND' }, 'joining a stranger conversation fails')

  const api = await a.api('/auth/check')
  t.equal(api.user.id, alice.id, 'api() uses the token')
  await t.rejects(a.api('/conversations/999999'), { status: 404, code: 'NOT_FOUND' })
})

t.test('edits and deletions are applied in place, live and on resume', async (t) => {
  const server = await startTestServer(t)
  const network = trackSockets(server.app)
  const alice = await register(server.app)
  const bob = await register(server.app)
  const conversationId = await createConversation(server.app, alice, [bob])
  const b = clientFor(server, bob)
  t.teardown(() => b.close())
  await b.connect()
  await b.join(conversationId)
  const first = await httpSend(server.app, alice, conversationId, 'first')
  const second = await httpSend(server.app, alice, conversationId, 'second')
  await waitFor(() => b.messages(conversationId).length === 2, 'two messages')

  const updated = b.once('message_updated', ({ message }) => message.id === first.id)
  await server.app.inject({
    method: 'PATCH',
    url: `/conversations/${conversationId}/messages/${first.id}`,
    headers: alice.auth,
    payload: { content: 'first, edited' },
  })
  t.equal((await updated).message.content, 'first, edited')

  // While bob is away: an edit, a deletion and a new message. The resume brings each once.
  const reconnected = b.once('ready', (event) => event.reconnected)
  t.equal(network.drop(), 1)
  await server.app.inject({
    method: 'DELETE',
    url: `/conversations/${conversationId}/messages/${second.id}`,
    headers: alice.auth,
  })
  await server.app.inject({
    method: 'PATCH',
    url: `/conversations/${conversationId}/messages/${first.id}`,
    headers: alice.auth,
    payload: { content: 'first, edited twice' },
  })
  const third = await httpSend(server.app, alice, conversationId, 'third')
  await reconnected
  await waitFor(() => b.messages(conversationId).length === 3, 'the resume')
  const messages = b.messages(conversationId)
  t.same(
    messages.map((m) => [m.id, m.deleted ? null : m.content]),
    [
      [first.id, 'first, edited twice'],
      [second.id, null],
      [third.id, 'third'],
    ],
  )
  t.ok(messages[1].deleted, 'the deletion was applied in place')
})

t.test('reconnect after the server drops the socket: nothing missed, nothing doubled', async (t) => {
  const server = await startTestServer(t)
  const network = trackSockets(server.app)
  const alice = await register(server.app)
  const bob = await register(server.app)
  const conversationId = await createConversation(server.app, alice, [bob])
  const b = clientFor(server, bob, { minDelay: 1000, maxDelay: 1500 })
  t.teardown(() => b.close())
  await b.connect()
  await b.join(conversationId)
  for (let i = 0; i < 3; i++) await httpSend(server.app, alice, conversationId, `live ${i}`)
  await waitFor(() => b.messages(conversationId).length === 3, 'the live messages')

  const seen: number[] = []
  b.on('message', ({ message }) => seen.push(message.id))
  const states: string[] = []
  b.on('state', ({ state }) => states.push(state))
  const reconnected = b.once('ready', (event) => event.reconnected)
  const resumed = b.once('joined', (event) => event.resumed)

  network.drop()
  // Sent while bob's client is between sockets (its first retry waits at least 500 ms).
  const missed = []
  for (let i = 0; i < 5; i++) missed.push(await httpSend(server.app, alice, conversationId, `missed ${i}`))
  await waitFor(() => b.state === 'reconnecting', 'the reconnecting state')
  await reconnected
  await waitFor(() => b.messages(conversationId).length === 8, 'every missed message')
  t.same(states.slice(0, 2), ['reconnecting', 'open'], 'reconnecting, then open again')
  const resume = await resumed
  t.equal(resume.conversation_id, conversationId, 're-joined with its cursor')

  // and a live one after the reconnect
  const after = await httpSend(server.app, alice, conversationId, 'after')
  await waitFor(() => b.messages(conversationId).length === 9, 'the live message after reconnect')

  const ids = b.messages(conversationId).map((m) => m.id)
  t.equal(new Set(ids).size, ids.length, 'no message twice')
  t.same(seen, [...missed.map((m) => m.id), after.id], 'each missed message announced exactly once, in order')
  t.same(
    ids,
    (await serverHistory(server.app, bob, conversationId)).map((m) => m.id),
    'the client holds exactly what the server has',
  )
})

t.test('a message sent while offline is sent once when the connection returns', async (t) => {
  const server = await startTestServer(t)
  const network = trackSockets(server.app)
  const alice = await register(server.app)
  const bob = await register(server.app)
  const conversationId = await createConversation(server.app, alice, [bob])
  const a = clientFor(server, alice, { minDelay: 200, maxDelay: 300 })
  t.teardown(() => a.close())
  await a.connect()
  await a.join(conversationId)

  network.drop()
  await waitFor(() => a.state === 'reconnecting', 'reconnecting')
  const outboxEvents: number[] = []
  a.on('outbox', ({ items }) => outboxEvents.push(items.length))
  const pending = a.send(conversationId, 'written offline')
  t.same(
    a.pendingMessages(conversationId).map((m) => m.content),
    ['written offline'],
    'queued while offline',
  )
  const message = await pending
  t.equal(message.content, 'written offline')
  t.same(a.pendingMessages(), [], 'the outbox is empty once acked')
  t.same(outboxEvents, [1, 0])
  const history = await serverHistory(server.app, alice, conversationId)
  t.same(
    history.map((m) => m.content),
    ['written offline'],
    'committed exactly once',
  )
})

t.test('a send whose ack is lost is retried with the same client_id: exactly one message', async (t) => {
  const server = await startTestServer(t)
  const network = trackSockets(server.app)
  const alice = await register(server.app)
  const bob = await register(server.app)
  const conversationId = await createConversation(server.app, alice, [bob])
  const a = clientFor(server, alice, { minDelay: 20, maxDelay: 60 })
  t.teardown(() => a.close())
  await a.connect()
  await a.join(conversationId)

  const rounds = 8
  const sends: Array<Promise<Message>> = []
  for (let i = 0; i < rounds; i++) {
    // The frame leaves, then the connection dies before (or after) the server commits and acks:
    // either way the client cannot know, so it sends again with the same client_id.
    sends.push(a.send(conversationId, `retry ${i}`))
    if (i % 2 === 0) a.drop()
    else network.drop()
    await a.once('ready', () => true)
  }
  const messages = await Promise.all(sends)
  t.equal(new Set(messages.map((m) => m.id)).size, rounds, 'every send resolved with its own message')
  const history = await serverHistory(server.app, alice, conversationId)
  t.same(
    history.map((m) => m.content),
    Array.from({ length: rounds }, (_, i) => `retry ${i}`),
    'each message committed exactly once, in order',
  )
  const clientIds = history.map((m) => m.client_id)
  t.equal(new Set(clientIds).size, rounds)

  // The same client_id sent twice on purpose: one message, acked twice.
  const once = await a.send(conversationId, 'idempotent', { clientId: 'fixed-client-id-1' })
  const twice = await a.send(conversationId, 'idempotent', { clientId: 'fixed-client-id-1' })
  t.equal(twice.id, once.id, 'the repeat acks the first message')
  const after = await serverHistory(server.app, alice, conversationId)
  t.equal(after.filter((m) => m.content === 'idempotent').length, 1)
})

t.test('session end stops reconnecting; a bad token reports unauthorized', async (t) => {
  const server = await startTestServer(t)
  const alice = await register(server.app)
  const a = clientFor(server, alice)
  t.teardown(() => a.close())
  await a.connect()
  const closed = a.once('closed')
  await server.app.inject({ method: 'POST', url: '/auth/logout', headers: alice.auth })
  t.equal((await closed).code, 4001, 'logout closes the socket with 4001')
  t.equal(a.state, 'closed', 'and the client does not come back')

  const stranger = new ParleyClient({
    WebSocket,
    baseUrl: server.http,
    token: 'not-a-token',
    minDelay: 20,
    pingInterval: 0,
    checkAuth: async () => false,
  })
  t.teardown(() => stranger.close())
  const unauthorized = stranger.once('unauthorized')
  stranger.connect().catch(() => {})
  await unauthorized
  t.equal(stranger.state, 'closed')

  const offline = new ParleyClient({ WebSocket, baseUrl: server.http, token: alice.token, pingInterval: 0 })
  await t.rejects(offline.request('ping'), ProtocolError, 'a request while not connected fails at once')
  offline.close()
})
