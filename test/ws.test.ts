import t from 'tap'
import {
  type Account,
  createConversation,
  register,
  startTestServer,
  type TestContext,
} from './helpers/app.js'
import { connect, type Frame, upgradeStatus } from './helpers/ws.js'

type Server = Awaited<ReturnType<typeof startTestServer>>

async function http(server: Server, who: Account, method: string, path: string, body?: object) {
  const response = await fetch(server.http + path, {
    method,
    headers: { ...who.auth, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  return { status: response.status, body: response.status === 204 ? undefined : await response.json() }
}

async function setup(t: TestContext, overrides = {}) {
  const server = await startTestServer(t, overrides)
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const eve = await register(server.app, 'eve')
  const id = await createConversation(server.app, ann, [bob])
  return { server, ann, bob, eve, id }
}

const contentOf = (frame: Frame) => (frame.message as { content: string }).content

t.test(
  'upgrade: 401 without a session; bearer, ?token= and own-origin cookie work; foreign cookie 403',
  async (t) => {
    const { server, ann } = await setup(t)
    t.equal(await upgradeStatus(server.ws), 401)
    t.equal(await upgradeStatus(server.ws, { authorization: 'Bearer nope-nope-nope-nope-nope' }), 401)
    t.equal(await upgradeStatus(`${server.ws}?token=${ann.token}`), 101)
    const host = new URL(server.http).host
    t.equal(await upgradeStatus(server.ws, { cookie: `sid=${ann.token}`, origin: server.http, host }), 101)
    t.equal(
      await upgradeStatus(server.ws, { cookie: `sid=${ann.token}`, origin: 'https://evil.example' }),
      403,
    )
    const socket = await connect(server.ws, ann.token)
    const ready = socket.ofType('ready')[0]
    t.match(ready.user, { id: ann.id, username: 'ann', online: true })
    await socket.close()
  },
)

t.test('send_message: ack after commit, message to every socket of every member, nobody else', async (t) => {
  const { server, ann, bob, eve, id } = await setup(t)
  const annTab = await connect(server.ws, ann.token)
  const bobTab1 = await connect(server.ws, bob.token)
  const bobTab2 = await connect(server.ws, bob.token)
  const eveTab = await connect(server.ws, eve.token)
  const joined = await annTab.request({ type: 'join', conversation_id: id })
  t.equal(joined.type, 'recent_messages')
  t.same(joined.messages, [])
  const ack = await annTab.request({
    type: 'send_message',
    conversation_id: id,
    content: 'hello',
    client_id: 'c-1',
  })
  t.equal(ack.type, 'ack')
  t.match(ack.message, { conversation_id: id, sender_id: ann.id, content: 'hello', client_id: 'c-1' })
  const row = await server.app.ctx.db
    .selectFrom('messages')
    .selectAll()
    .where('id', '=', (ack.message as { id: number }).id)
    .executeTakeFirst()
  t.ok(row, 'committed before the ack')
  for (const socket of [annTab, bobTab1, bobTab2]) {
    const message = await socket.next('message')
    t.equal(contentOf(message), 'hello')
  }
  const order = annTab.frames.filter((f) => f.type === 'ack' || f.type === 'message').map((f) => f.type)
  t.same(order, ['ack', 'message'], 'the sender gets its ack before the message frame')
  t.same(await eveTab.quiet((f) => f.type === 'message'), [], 'a non-member hears nothing')

  const repeat = await annTab.request({
    type: 'send_message',
    conversation_id: id,
    content: 'hello',
    client_id: 'c-1',
  })
  t.same(repeat.message, ack.message, 'a repeated client_id acks the first message')
  t.same(await bobTab1.quiet((f) => f.type === 'message'), [], 'and sends nothing new')
  const overHttp = await http(server, ann, 'POST', `/conversations/${id}/messages`, {
    content: 'hello',
    client_id: 'c-1',
  })
  t.equal(overHttp.status, 200)
  t.same(overHttp.body.message, ack.message, 'the same over HTTP')
  annTab.send({ type: 'send_message', conversation_id: id, content: 'other', client_id: 'c-1', ref: 'reuse' })
  const reused = await annTab.next((f) => f.ref === 'reuse')
  t.match(reused, { type: 'error', ref: 'reuse', code: 'CLIENT_ID_REUSED' }, 'other content is refused')
  t.same(await bobTab1.quiet((f) => f.type === 'message'), [], 'and nothing is sent')

  const notMine = await eveTab.request({ type: 'send_message', conversation_id: id, content: 'intrude' })
  t.match(notMine, { type: 'error', code: 'NOT_FOUND' })
  const viaHttp = await http(server, bob, 'POST', `/conversations/${id}/messages`, { content: 'from http' })
  t.equal(viaHttp.status, 201)
  t.equal(
    contentOf(await annTab.next((f) => f.type === 'message' && contentOf(f) === 'from http')),
    'from http',
  )
  for (const s of [annTab, bobTab1, bobTab2, eveTab]) await s.close()
})

t.test('bad frames get BAD_REQUEST and the socket stays open', async (t) => {
  const { server, ann, id } = await setup(t)
  const socket = await connect(server.ws, ann.token)
  const cases: Array<[string | Buffer, RegExp]> = [
    ['{not json', /Malformed JSON/],
    ['[1,2]', /JSON object/],
    ['"text"', /JSON object/],
    [JSON.stringify({ no: 'type' }), /type is required/],
    [JSON.stringify({ type: 'launch_rockets' }), /unknown type/],
    [JSON.stringify({ type: 'send_message', conversation_id: id }), /content is required/],
    [JSON.stringify({ type: 'send_message', conversation_id: 'one', content: 'x' }), /conversation_id/],
    [JSON.stringify({ type: 'send_message', conversation_id: id, content: '' }), /content/],
    [JSON.stringify({ type: 'send_message', conversation_id: id, content: 'x'.repeat(4001) }), /content/],
    [JSON.stringify({ type: 'join', conversation_id: id, extra: 1 }), /unknown field extra/],
    [`{"type":"join","conversation_id":${id},"__proto__":{"polluted":true}}`, /unknown field __proto__/],
    [JSON.stringify({ type: 'join', conversation_id: id, ref: 'x'.repeat(65) }), /ref/],
    [Buffer.from([0xff, 0xfe, 0x00]), /binary|Malformed/],
  ]
  for (const [raw, message] of cases) {
    const reply = socket.next('error')
    if (Buffer.isBuffer(raw)) socket.socket.send(raw, { binary: true })
    else socket.send(raw)
    const error = await reply
    t.equal(error.code, 'BAD_REQUEST', String(raw).slice(0, 50))
    t.match(error.message, message)
  }
  t.equal(({} as { polluted?: boolean }).polluted, undefined, 'no prototype pollution')
  const withRef = await socket.request({ type: 'join', conversation_id: 'nope' })
  t.equal(withRef.type, 'error', 'an error carries the frame ref')
  const pong = await socket.request({ type: 'ping' })
  t.equal(pong.type, 'pong', 'still open and answering')
  t.equal(socket.closeCode, undefined)
  const stranger = await socket.request({ type: 'join', conversation_id: 424242 })
  t.match(stranger, { type: 'error', code: 'NOT_FOUND' })
  await socket.close()
})

t.test('a frame over 64 KiB closes with 1009', async (t) => {
  const { server, ann, id } = await setup(t)
  const socket = await connect(server.ws, ann.token)
  socket.send(JSON.stringify({ type: 'send_message', conversation_id: id, content: 'x'.repeat(70 * 1024) }))
  t.equal(await socket.whenClosed(), 1009)
})

t.test('a flood gets RATE_LIMITED, then close 1008', async (t) => {
  const { server, ann } = await setup(t, { wsRateLimit: 5 })
  const socket = await connect(server.ws, ann.token)
  for (let i = 0; i < 40; i++) socket.send({ type: 'ping' })
  t.equal(await socket.whenClosed(), 1008)
  t.ok(socket.ofType('pong').length >= 10, 'the burst allowance was served')
  t.ok(
    socket.ofType('error').some((f) => f.code === 'RATE_LIMITED'),
    'then RATE_LIMITED',
  )
})

t.test(
  'join with after returns exactly what was missed; with cursor replays edits and deletions',
  async (t) => {
    const { server, ann, bob, id } = await setup(t)
    const bobSocket = await connect(server.ws, bob.token)
    const first = await bobSocket.request({ type: 'join', conversation_id: id })
    const cursor = first.cursor as number
    const sent: Array<{ id: number }> = []
    for (let i = 0; i < 5; i++) {
      sent.push(
        (await http(server, ann, 'POST', `/conversations/${id}/messages`, { content: `m${i}` })).body.message,
      )
    }
    const lastSeen = sent[1].id
    await bobSocket.close()
    await http(server, ann, 'PATCH', `/conversations/${id}/messages/${sent[0].id}`, { content: 'm0 edited' })
    await http(server, ann, 'DELETE', `/conversations/${id}/messages/${sent[2].id}`)
    await http(server, ann, 'POST', `/conversations/${id}/messages`, { content: 'm5' })

    const again = await connect(server.ws, bob.token)
    const caughtUp = await again.request({ type: 'join', conversation_id: id, after: lastSeen })
    t.same(
      (caughtUp.messages as Array<{ content: string }>).map((m) => m.content),
      ['m3', 'm4', 'm5'],
      'after: the live messages after it, nothing twice',
    )
    const replay = await again.request({ type: 'join', conversation_id: id, cursor })
    const states = (replay.messages as Array<{ content: string | null; deleted: boolean }>).map((m) =>
      m.deleted ? 'deleted' : m.content,
    )
    t.same(
      states,
      ['m1', 'm3', 'm4', 'm0 edited', 'deleted', 'm5'],
      'each change once, in change order, latest state',
    )
    t.equal(replay.has_more, false)
    const none = await again.request({ type: 'join', conversation_id: id, cursor: replay.cursor })
    t.same(none.messages, [])
    const expired = await again.request({ type: 'join', conversation_id: id, cursor: 99999 })
    t.match(expired, { type: 'error', code: 'CURSOR_EXPIRED' })
    await again.close()
  },
)

t.test('edits, deletions and read receipts go live to the members', async (t) => {
  const { server, ann, bob, id } = await setup(t)
  const annSocket = await connect(server.ws, ann.token)
  const bobSocket = await connect(server.ws, bob.token)
  const ack = await annSocket.request({ type: 'send_message', conversation_id: id, content: 'draft' })
  const messageId = (ack.message as { id: number }).id
  const edited = await annSocket.request({
    type: 'edit_message',
    conversation_id: id,
    message_id: messageId,
    content: 'final',
  })
  t.equal((edited.message as { content: string }).content, 'final')
  t.equal(contentOf(await bobSocket.next('message_updated')), 'final')
  const denied = await bobSocket.request({
    type: 'delete_message',
    conversation_id: id,
    message_id: messageId,
  })
  t.match(denied, { type: 'error', code: 'FORBIDDEN' })
  await bobSocket.request({ type: 'mark_read', conversation_id: id, message_id: messageId })
  t.match(await annSocket.next('read'), { conversation_id: id, user_id: bob.id, message_id: messageId })
  await annSocket.request({ type: 'delete_message', conversation_id: id, message_id: messageId })
  t.match(await bobSocket.next('message_deleted'), { conversation_id: id, message_id: messageId })
  const list = await http(server, bob, 'GET', '/conversations')
  t.equal(list.body.conversations[0].unread_count, 0)
  await annSocket.close()
  await bobSocket.close()
})

t.test('status, typing and presence', async (t) => {
  const { server, ann, bob, eve, id } = await setup(t)
  const annSocket = await connect(server.ws, ann.token)
  await annSocket.request({ type: 'join', conversation_id: id })
  t.match(await annSocket.next('status'), { conversation_id: id, user_id: ann.id, state: 'joined' })
  const bobSocket = await connect(server.ws, bob.token)
  t.match(await annSocket.next('presence'), { user_id: bob.id, online: true })
  await bobSocket.request({ type: 'join', conversation_id: id })
  const status = await annSocket.next((f) => f.type === 'status' && f.user_id === bob.id)
  t.same((status.online_user_ids as number[]).sort(), [ann.id, bob.id].sort())

  bobSocket.send({ type: 'typing', conversation_id: id, is_typing: true })
  t.match(await annSocket.next('typing'), { conversation_id: id, user_id: bob.id, is_typing: true })
  for (let i = 0; i < 5; i++) bobSocket.send({ type: 'typing', conversation_id: id, is_typing: true })
  t.same(await annSocket.quiet((f) => f.type === 'typing'), [], 'repeats are throttled')
  t.same(bobSocket.ofType('typing'), [], 'the typist does not hear itself')
  bobSocket.send({ type: 'typing', conversation_id: id, is_typing: false })
  t.match(await annSocket.next((f) => f.type === 'typing' && f.is_typing === false), { user_id: bob.id })

  const eveSocket = await connect(server.ws, eve.token)
  eveSocket.send({ type: 'typing', conversation_id: id, is_typing: true })
  t.match(await eveSocket.next('error'), { code: 'NOT_FOUND' })
  t.same(
    await annSocket.quiet((f) => f.type === 'presence' && f.user_id === eve.id),
    [],
    'eve shares nothing with ann',
  )

  const presence = await annSocket.request({ type: 'get_presence', user_ids: [bob.id, eve.id] })
  t.same(
    (presence.presence as Array<{ user_id: number; online: boolean }>).map((p) => [p.user_id, p.online]),
    [
      [bob.id, true],
      [eve.id, true],
    ],
  )
  const online = await http(server, ann, 'GET', '/users/online')
  t.same(online.body.users.map((u: { id: number }) => u.id).sort(), [ann.id, bob.id, eve.id].sort())

  await annSocket.request({ type: 'leave', conversation_id: id })
  t.match(await bobSocket.next((f) => f.type === 'status' && f.state === 'left'), { user_id: ann.id })
  await bobSocket.close()
  const offline = await annSocket.next((f) => f.type === 'presence' && f.online === false)
  t.equal(offline.user_id, bob.id)
  t.match(offline.last_seen_at, /Z$/)
  await annSocket.close()
  await eveSocket.close()
})

t.test('logout closes that session’s sockets; account deletion closes all of them', async (t) => {
  const { server, ann, bob } = await setup(t)
  const loggedOut = await connect(server.ws, ann.token)
  await http(server, ann, 'POST', '/auth/logout')
  t.equal(await loggedOut.whenClosed(), 4001)
  const bobSocket = await connect(server.ws, bob.token)
  await http(server, bob, 'DELETE', '/auth/user', { password: 'correct horse battery' })
  t.equal(await bobSocket.whenClosed(), 4001)
})

t.test('membership: added users hear of it, removed ones stop hearing at once', async (t) => {
  const { server, ann, bob, eve } = await setup(t)
  const eveSocket = await connect(server.ws, eve.token)
  const groupId = await createConversation(server.app, ann, [bob], 'g')
  const annSocket = await connect(server.ws, ann.token)
  await http(server, ann, 'POST', `/conversations/${groupId}/members`, { user_id: eve.id })
  const added = await eveSocket.next('conversation')
  t.equal((added.conversation as { id: number }).id, groupId)
  t.match(await annSocket.next('member_added'), { conversation_id: groupId })
  await eveSocket.request({ type: 'join', conversation_id: groupId })
  await http(server, ann, 'DELETE', `/conversations/${groupId}/members/${eve.id}`)
  t.match(await eveSocket.next('member_removed'), { conversation_id: groupId, user_id: eve.id })
  await http(server, ann, 'POST', `/conversations/${groupId}/messages`, { content: 'after removal' })
  annSocket.send({ type: 'typing', conversation_id: groupId, is_typing: true })
  const leaked = await eveSocket.quiet(
    (f) => f.type === 'message' || f.type === 'typing' || f.type === 'status',
    400,
  )
  t.same(leaked, [], 'nothing more from that conversation')
  await eveSocket.close()
  await annSocket.close()
})

t.test('a burst from several senders: every member sees every message once, in one order', async (t) => {
  const { server, ann, bob, eve } = await setup(t)
  const groupId = await createConversation(server.app, ann, [bob, eve], 'b')
  const sockets = [
    await connect(server.ws, ann.token),
    await connect(server.ws, bob.token),
    await connect(server.ws, eve.token),
  ]
  const perSender = 100
  const acks: Array<Promise<Frame>> = []
  for (let i = 0; i < perSender; i++) {
    sockets.forEach((socket, s) => {
      acks.push(
        socket.request({
          type: 'send_message',
          conversation_id: groupId,
          content: `s${s}-${i}`,
          client_id: `s${s}-${i}`,
        }),
      )
    })
  }
  const acked = await Promise.all(acks)
  t.ok(
    acked.every((f) => f.type === 'ack'),
    'all acked',
  )
  await new Promise((resolve) => setTimeout(resolve, 300))
  const orders = sockets.map((socket) =>
    socket.ofType('message').map((f) => (f.message as { id: number }).id),
  )
  for (const order of orders) {
    t.equal(order.length, perSender * 3, 'every message, once')
    t.same(
      order,
      [...order].sort((a, b) => a - b),
      'in id order',
    )
  }
  t.same(orders[1], orders[0])
  t.same(orders[2], orders[0])
  for (let s = 0; s < 3; s++) {
    const mine = acked.filter((f) => contentOf(f).startsWith(`s${s}-`)).map((f) => contentOf(f))
    t.same(
      mine,
      Array.from({ length: perSender }, (_, i) => `s${s}-${i}`),
      `sender ${s}'s messages keep their order`,
    )
  }
  const history = await http(server, ann, 'GET', `/conversations/${groupId}/messages?limit=200`)
  t.equal(history.body.messages.length, 200)
  for (const socket of sockets) await socket.close()
})
