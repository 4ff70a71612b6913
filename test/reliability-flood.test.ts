import t from 'tap'
import { MAX_BUFFERED_BYTES } from '../src/realtime/connections.js'
import { createConversation, register, startTestServer } from './helpers/app.js'
import { connect } from './helpers/ws.js'

// Slow consumers and floods. test/ws.test.ts has the basic flood (RATE_LIMITED, then 1008); this
// adds what it costs others: nothing refused is committed, and other sockets keep being served.

t.test('a socket that stops reading is shed with 1013 before its buffer grows without bound', async (t) => {
  // One account floods on purpose: its write budget is lifted too.
  const server = await startTestServer(t, { wsRateLimit: 1_000_000, writeRateLimit: 1_000_000 })
  const ann = await register(server.app, 'floodann')
  const slow = await register(server.app, 'slowbob')
  const reader = await register(server.app, 'readcarl')
  const id = await createConversation(server.app, ann, [slow, reader], 'flood')
  // The server's end of the slow client's TCP connection: what it holds in memory for it.
  let slowRaw: { writableLength: number } | undefined
  server.app.server.on('upgrade', (request, socket) => {
    if (request.headers.authorization === `Bearer ${slow.token}`) slowRaw = socket
  })
  const flooder = await connect(server.ws, ann.token)
  const paused = await connect(server.ws, slow.token)
  const healthy = await connect(server.ws, reader.token)
  let received = 0
  healthy.socket.on('message', (data) => {
    if (data.toString().startsWith('{"type":"message"')) received++
  })
  // The client stops reading: its TCP window fills, then the server's send buffer does.
  const pausedTcp = (paused.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket
  pausedTcp.pause()

  const content = 'x'.repeat(3900)
  let peak = 0
  let sent = 0
  let flat = 0
  let last = -1
  const rssBefore = process.memoryUsage().rss
  // Flood in acked waves of 100. Once the server sheds the slow socket, nothing more is queued for
  // it: its buffer stops growing while the flood goes on.
  while (sent < 15_000 && flat < 3) {
    const acks = []
    for (let i = 0; i < 100; i++) {
      acks.push(flooder.request({ type: 'send_message', conversation_id: id, content }, 20_000))
    }
    await Promise.all(acks)
    sent += 100
    // The test's own clients keep no copy of the flood.
    flooder.frames.length = 0
    healthy.frames.length = 0
    const buffered = slowRaw?.writableLength ?? 0
    peak = Math.max(peak, buffered)
    flat = buffered > 0 && buffered === last ? flat + 1 : 0
    last = buffered
  }
  t.ok(flat >= 3, `the server stopped queueing for the slow socket after ${sent} messages`)
  t.ok(
    peak <= MAX_BUFFERED_BYTES + 64 * 1024,
    `its send buffer peaked at ${peak} bytes (limit ${MAX_BUFFERED_BYTES})`,
  )

  // The healthy reader got every message, and still answers at once.
  for (let i = 0; i < 200 && received < sent; i++) await new Promise((resolve) => setTimeout(resolve, 25))
  t.equal(received, sent, 'the reading member received every message')
  const started = Date.now()
  t.equal((await healthy.request({ type: 'ping' })).type, 'pong')
  t.ok(Date.now() - started < 1000, 'and is served without delay')
  healthy.frames.length = 0

  // Once it reads again, the slow client finds the close: 1013, reconnect and resume.
  pausedTcp.resume()
  t.equal(await paused.whenClosed(), 1013, 'closed with 1013 (try again later)')
  t.comment(
    `slow consumer: shed after ${sent} messages of ${content.length} chars; peak buffer ${peak} B; rss +${Math.round((process.memoryUsage().rss - rssBefore) / 1e6)} MB (test and server share the process)`,
  )
  await flooder.close()
  await healthy.close()
})

t.test(
  'a flood is refused without side effects; the same user’s other socket and other users are unaffected',
  async (t) => {
    const server = await startTestServer(t, { wsRateLimit: 5 })
    const ann = await register(server.app, 'floodann2')
    const bob = await register(server.app, 'calmbob')
    const id = await createConversation(server.app, ann, [bob])
    const flood = await connect(server.ws, ann.token)
    const annOther = await connect(server.ws, ann.token)
    const bobSocket = await connect(server.ws, bob.token)
    for (let i = 0; i < 60; i++) {
      flood.send({ type: 'send_message', conversation_id: id, content: `flood ${i}`, client_id: `f${i}` })
    }
    t.equal(await flood.whenClosed(), 1008, 'the flooding socket is closed with 1008')
    const acks = flood.ofType('ack').length
    const limited = flood.ofType('error').filter((f) => f.code === 'RATE_LIMITED').length
    t.ok(acks <= 10, `at most the burst allowance was acked before the close (${acks} acks)`)
    t.ok(limited >= 1, `then RATE_LIMITED (${limited} times)`)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const stored = await server.app.ctx.db
      .selectFrom('messages')
      .select('client_id')
      .where('conversation_id', '=', id)
      .orderBy('id')
      .execute()
    t.ok(
      stored.length <= 10 && stored.length >= acks,
      `only the burst allowance was committed (${stored.length})`,
    )
    t.same(
      stored.map((row) => row.client_id),
      stored.map((_, i) => `f${i}`),
      'the first frames: refused ones had no effect (un-acked ones are retried by client_id)',
    )
    t.equal(
      (await annOther.request({ type: 'ping' })).type,
      'pong',
      'the same user’s other socket is unaffected',
    )
    const ack = await bobSocket.request({ type: 'send_message', conversation_id: id, content: 'still here' })
    t.equal(ack.type, 'ack', 'another user is unaffected')
    t.match(
      await annOther.next(
        (f) => f.type === 'message' && (f.message as { content: string }).content === 'still here',
      ),
      {
        type: 'message',
      },
    )
    await annOther.close()
    await bobSocket.close()
  },
)
