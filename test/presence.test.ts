import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { type Account, buildTestApp, createConversation, register, startTestServer } from './helpers/app.js'
import { holdQuery, tableOf } from './helpers/query-gate.js'
import { connect, type Frame, type TestSocket } from './helpers/ws.js'

const presenceOf = (userId: number) => (f: Frame) => f.type === 'presence' && f.user_id === userId

t.test('a reconnect while last_seen_at is being written: the others still see the user online', async (t) => {
  const server = await startTestServer(t)
  const ctx = server.app.ctx
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  await createConversation(server.app, ann, [bob])
  const annSocket = await connect(server.ws, ann.token)
  const bobFirst = await connect(server.ws, bob.token)
  t.match(await annSocket.next(presenceOf(bob.id)), { online: true })

  // Bob's only socket closes; the write of his last_seen_at is held on the database...
  const original = ctx.db
  const gate = holdQuery(original, (node) => node.kind === 'UpdateQueryNode' && tableOf(node) === 'users')
  ctx.db = gate.db
  await bobFirst.close()
  await gate.held.reached
  ctx.db = original
  // ...and he is back (a reload) before it is done.
  const bobAgain = await connect(server.ws, bob.token)
  t.match(await annSocket.next(presenceOf(bob.id)), { online: true }, 'ann hears bob is back')
  gate.held.release()
  await server.app.realtime.closingWorkDone()
  await annSocket.request({ type: 'ping' }) // every frame sent to ann before this has arrived

  const heard = annSocket.frames.filter(presenceOf(bob.id))
  t.match(heard.at(-1), { online: true }, 'the last presence ann heard of bob says online')
  const listed = await annSocket.request({ type: 'get_presence', user_ids: [bob.id] })
  t.match(listed.presence, [{ user_id: bob.id, online: true }], 'and get_presence agrees')
  await bobAgain.close()
  t.match(await annSocket.next((f) => presenceOf(bob.id)(f) && f.online === false), { online: false })
  await annSocket.close()
})

const SEEN_AT = '2024-05-01T12:00:00.000Z'

/**
 * root (the admin), ann; bob shares a conversation with ann; ann lists cid as a contact; eve
 * shares nothing with anyone. Everyone is online and was seen at SEEN_AT.
 */
async function cast(app: FastifyInstance) {
  const root = await register(app, 'root')
  const ann = await register(app, 'ann')
  const bob = await register(app, 'bob')
  const cid = await register(app, 'cid')
  const eve = await register(app, 'eve')
  await createConversation(app, ann, [bob])
  const added = await app.inject({
    method: 'POST',
    url: '/users/me/contacts',
    headers: ann.auth,
    payload: { user_id: cid.id },
  })
  if (added.statusCode !== 201) throw new Error(`contact: ${added.statusCode}`)
  await app.ctx.db.updateTable('users').set({ last_seen_at: SEEN_AT }).execute()
  return { root, ann, bob, cid, eve }
}

const hidden = { online: false, last_seen_at: null }
const shown = { online: true, last_seen_at: SEEN_AT }

t.test(
  'HTTP: presence is shown to conversation partners, contacts (both ways) and admins only',
  async (t) => {
    const app = await buildTestApp(t)
    const { root, ann, bob, cid, eve } = await cast(app)
    // Presence is driven by sockets; driven directly here.
    for (const who of [root, ann, bob, cid, eve]) app.ctx.presence.connected(who.id)
    const user = async (viewer: Account, target: Account) =>
      (await app.inject({ url: `/users/${target.id}`, headers: viewer.auth })).json().user
    const onlineIds = async (viewer: Account) =>
      (await app.inject({ url: '/users/online', headers: viewer.auth }))
        .json()
        .users.map((u: { id: number }) => u.id)
        .sort((a: number, b: number) => a - b)

    t.match(await user(ann, eve), hidden, 'a stranger reads offline, never seen')
    t.match(await user(eve, ann), hidden, 'both ways')
    t.match(await user(ann, bob), shown, 'a conversation partner sees the truth')
    t.match(await user(ann, cid), shown, 'a contact I listed')
    t.match(await user(cid, ann), shown, 'and the one who listed me')
    t.match(await user(root, eve), shown, 'an admin sees everyone')
    t.match(await user(eve, eve), shown, 'everyone sees themselves')
    t.match(await user(eve, root), hidden, 'an admin is not visible for being an admin')

    t.same(await onlineIds(ann), [ann.id, bob.id, cid.id], 'GET /users/online: only whom ann may see')
    t.same(await onlineIds(eve), [eve.id])
    t.same(await onlineIds(root), [root.id, ann.id, bob.id, cid.id, eve.id])

    const search = (await app.inject({ url: '/conversations/users?q=e', headers: ann.auth })).json().users
    t.match(
      search.find((u: { id: number }) => u.id === eve.id),
      hidden,
      'people search: a stranger reads offline',
    )
    const searchB = (await app.inject({ url: '/conversations/users?q=bob', headers: ann.auth })).json().users
    t.match(searchB, [{ id: bob.id, ...shown }], 'people search: a partner reads the truth')
    const everyone = (await app.inject({ url: '/users', headers: root.auth })).json().users
    t.match(
      everyone,
      [root, ann, bob, cid, eve].map(() => shown),
      'GET /users (admin): the truth',
    )
    const contacts = (await app.inject({ url: '/users/me/contacts', headers: ann.auth })).json().users
    t.match(contacts, [{ id: cid.id, ...shown }])
    const conversations = (await app.inject({ url: '/conversations', headers: ann.auth })).json()
    const members = (conversations.conversations ?? conversations)[0].members
    t.match(
      members,
      [
        { id: ann.id, ...shown },
        { id: bob.id, ...shown },
      ],
      'member lists: the truth',
    )

    // Sharing ends, so does seeing: ann removes cid from her contacts.
    await app.inject({ method: 'DELETE', url: `/users/me/contacts/${cid.id}`, headers: ann.auth })
    t.match(await user(cid, ann), hidden, 'no longer contacts: no longer visible')
  },
)

t.test('get_presence answers the same rule', async (t) => {
  const server = await startTestServer(t)
  const { root, ann, bob, cid, eve } = await cast(server.app)
  const sockets = await Promise.all([root, ann, bob, cid, eve].map((who) => connect(server.ws, who.token)))
  const [rootSocket, annSocket, , , eveSocket] = sockets
  const ask = async (socket: TestSocket, ids: number[]) =>
    (await socket.request({ type: 'get_presence', user_ids: ids })).presence
  t.same(await ask(annSocket, [bob.id, cid.id, eve.id]), [
    { user_id: bob.id, ...shown },
    { user_id: cid.id, ...shown },
    { user_id: eve.id, ...hidden },
  ])
  t.same(await ask(eveSocket, [ann.id, eve.id]), [
    { user_id: ann.id, ...hidden },
    { user_id: eve.id, ...shown },
  ])
  t.same(await ask(rootSocket, [eve.id]), [{ user_id: eve.id, ...shown }], 'an admin sees everyone')
  for (const socket of sockets) await socket.close()
})

t.test('presence frames go to conversation partners and contacts, not strangers', async (t) => {
  const server = await startTestServer(t)
  const { ann, bob, cid, eve } = await cast(server.app)
  const watchers = await Promise.all([bob, cid, eve].map((who) => connect(server.ws, who.token)))
  const [bobSocket, cidSocket, eveSocket] = watchers
  const annSocket = await connect(server.ws, ann.token)
  t.match(await bobSocket.next(presenceOf(ann.id)), { online: true })
  t.match(await cidSocket.next(presenceOf(ann.id)), { online: true })
  await annSocket.close()
  t.match(await bobSocket.next(presenceOf(ann.id)), { online: false })
  t.match(await cidSocket.next(presenceOf(ann.id)), { online: false })
  await eveSocket.request({ type: 'ping' })
  t.same(eveSocket.frames.filter(presenceOf(ann.id)), [], 'eve heard nothing of ann')
  for (const socket of watchers) await socket.close()
})
