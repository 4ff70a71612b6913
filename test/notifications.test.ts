import type { FastifyInstance } from 'fastify'
import t from 'tap'
import {
  type Account,
  buildTwoNodes,
  createConversation,
  MANY_WRITES,
  register,
  startTestServer,
} from './helpers/app.js'
import { connect, type Frame, type TestSocket } from './helpers/ws.js'

// Notification levels per member and conversation, and the `notification` frame they decide.
// PARLEY_TEST_DB=postgres runs the same on PostgreSQL.

async function api(app: FastifyInstance, who: Account, method: string, url: string, payload?: object) {
  const response = await app.inject({ method: method as 'GET', url, headers: who.auth, payload })
  return { status: response.statusCode, body: response.body ? response.json() : undefined }
}

async function send(app: FastifyInstance, who: Account, id: number, content: string) {
  const response = await api(app, who, 'POST', `/conversations/${id}/messages`, { content })
  if (response.status !== 201) throw new Error(`send: ${response.status} ${JSON.stringify(response.body)}`)
  return response.body.message as { id: number }
}

const setLevel = (app: FastifyInstance, who: Account, id: number, level: unknown) =>
  api(app, who, 'PUT', `/conversations/${id}/notifications`, { level })

const notificationOf = (messageId: number) => (f: Frame) =>
  f.type === 'notification' && (f.message as { id: number }).id === messageId

/** The notification frames of `messageId` a socket got within a short wait. */
async function notified(socket: TestSocket, messageId: number): Promise<Frame[]> {
  await socket.quiet(() => false, 250)
  return socket.frames.filter(notificationOf(messageId))
}

t.test('levels: defaults, set over HTTP and over the socket', async (t) => {
  const { app, ws } = await startTestServer(t, MANY_WRITES)
  const [ann, bob, dan] = await Promise.all([register(app), register(app), register(app)])
  const direct = await createConversation(app, ann, [bob])
  const group = await createConversation(app, ann, [bob], 'Team')
  const level = async (who: Account, id: number) =>
    (await api(app, who, 'GET', `/conversations/${id}`)).body.conversation.notification_level
  t.equal(await level(ann, direct), 'all', 'direct: all by default')
  t.equal(await level(ann, group), 'mentions', 'group: mentions by default')
  const list = await api(app, bob, 'GET', '/conversations')
  t.same(list.body.conversations.map((c: { notification_level: string }) => c.notification_level).sort(), [
    'all',
    'mentions',
  ])

  const set = await setLevel(app, bob, group, 'none')
  t.equal(set.status, 200)
  t.equal(set.body.conversation.notification_level, 'none', 'answers the conversation')
  t.equal(await level(bob, group), 'none', 'kept')
  t.equal(await level(ann, group), 'mentions', "another member's level is theirs")
  t.equal((await setLevel(app, bob, group, 'loud')).status, 400, 'an unknown level is 400')
  t.equal((await setLevel(app, bob, group, undefined)).status, 400, 'a missing level is 400')
  t.equal((await setLevel(app, dan, group, 'all')).status, 404, 'a non-member gets 404')
  t.equal((await setLevel(app, bob, 999999, 'all')).status, 404)

  // Over the socket: ack, then every socket of mine gets the conversation again.
  const first = await connect(ws, bob.token)
  const second = await connect(ws, bob.token)
  const ack = await first.request({ type: 'set_notifications', conversation_id: group, level: 'all' })
  t.equal(ack.type, 'ack')
  for (const socket of [first, second]) {
    const frame = await socket.next('conversation')
    t.match(frame.conversation, { id: group, notification_level: 'all' }, 'my sockets hear the new level')
  }
  const bad = await first.request({ type: 'set_notifications', conversation_id: group, level: 'loud' })
  t.match(bad, { type: 'error', code: 'BAD_REQUEST' })
  const none = await first.request({
    type: 'set_notifications',
    conversation_id: direct + group,
    level: 'all',
  })
  t.match(none, { type: 'error', code: 'NOT_FOUND' })
  t.equal(await level(bob, group), 'all')
  await first.close()
  await second.close()
})

t.test('the notification frame follows the levels', async (t) => {
  const { app, ws } = await startTestServer(t, MANY_WRITES)
  const [ann, bob, cat, dan] = await Promise.all([register(app), register(app), register(app), register(app)])
  const direct = await createConversation(app, ann, [bob])
  const group = await createConversation(app, ann, [bob, cat, dan], 'Team')
  const sockets = new Map<number, TestSocket[]>()
  for (const who of [ann, bob, cat, dan]) {
    sockets.set(who.id, [await connect(ws, who.token), await connect(ws, who.token)])
  }
  const framesOf = async (who: Account, messageId: number) => {
    const [one, two] = sockets.get(who.id) ?? []
    const a = await notified(one, messageId)
    const b = await notified(two, messageId)
    t.same(
      a.map((f) => f.reason),
      b.map((f) => f.reason),
      'every socket of the member gets the same',
    )
    return a
  }

  const hi = await send(app, ann, direct, 'hi bob')
  const [toBob] = await framesOf(bob, hi.id)
  t.match(toBob, { conversation_id: direct, reason: 'direct', message: { id: hi.id, content: 'hi bob' } })
  t.same(await framesOf(ann, hi.id), [], 'never to the sender')
  t.same(await framesOf(cat, hi.id), [], 'never to a non-member')

  const named = await send(app, ann, direct, `@${bob.username} look`)
  t.match((await framesOf(bob, named.id))[0], { reason: 'mention' }, 'a mention wins over direct')

  // The group: bob at all, cat at the default (mentions), dan at none.
  await setLevel(app, bob, group, 'all')
  await setLevel(app, dan, group, 'none')
  const plain = await send(app, ann, group, 'morning')
  t.match(await framesOf(bob, plain.id), [{ reason: 'all' }], 'level all: every message, reason all')
  t.same(await framesOf(cat, plain.id), [], 'level mentions: not without a mention')
  t.same(await framesOf(dan, plain.id), [], 'level none: nothing')

  const everyone = await send(app, ann, group, `@all and @${cat.username}`)
  t.match(await framesOf(bob, everyone.id), [{ reason: 'mention' }], 'a mention wins at level all')
  t.match(await framesOf(cat, everyone.id), [{ reason: 'mention' }], 'level mentions: a mention')
  t.same(await framesOf(dan, everyone.id), [], 'level none: not even a mention')
  t.same(await framesOf(ann, everyone.id), [], 'not the sender')

  // An edit that adds a mention notifies the one it adds, once.
  const later = await send(app, bob, group, 'a plain message')
  await framesOf(ann, later.id)
  await api(app, bob, 'PATCH', `/conversations/${group}/messages/${later.id}`, {
    content: `a plain message, @${ann.username}`,
  })
  t.match(await framesOf(ann, later.id), [{ reason: 'mention' }], 'a new mention in an edit notifies')
  t.same(await framesOf(cat, later.id), [], 'the others are not told again')
  await api(app, bob, 'PATCH', `/conversations/${group}/messages/${later.id}`, {
    content: `a plain message, @${ann.username}!`,
  })
  t.equal((await framesOf(ann, later.id)).length, 1, 'an edit keeping the mention does not notify again')

  for (const list of sockets.values()) for (const socket of list) await socket.close()
})

t.test('notifications reach sockets on another node', async (t) => {
  const [a, b] = await buildTwoNodes(t)
  await a.listen({ port: 0, host: '127.0.0.1' })
  await b.listen({ port: 0, host: '127.0.0.1' })
  const wsOf = (app: FastifyInstance) => {
    const address = app.server.address()
    if (!address || typeof address === 'string') throw new Error('no port')
    return `ws://127.0.0.1:${address.port}/ws`
  }
  const [ann, bob] = [await register(a), await register(a)]
  const group = await createConversation(a, ann, [bob], 'Across')
  // The level is set on node b; node a, which commits the message, must use it.
  const onA = await connect(wsOf(a), bob.token)
  const onB = await connect(wsOf(b), bob.token)
  await api(a, bob, 'GET', `/conversations/${group}`)
  const sent = await send(a, ann, group, 'before')
  t.same(await notified(onB, sent.id), [], 'group default: no notification without a mention')
  t.equal((await setLevel(b, bob, group, 'all')).status, 200)
  const after = await send(a, ann, group, 'after')
  t.match(await notified(onB, after.id), [{ reason: 'all' }], 'the socket on the other node')
  t.match(await notified(onA, after.id), [{ reason: 'all' }], 'and the one on this node')
  await onA.close()
  await onB.close()
})
