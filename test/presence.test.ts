import t from 'tap'
import { closingWorkDone } from '../src/realtime/plugin.js'
import { createConversation, register, startTestServer } from './helpers/app.js'
import { holdQuery, tableOf } from './helpers/query-gate.js'
import { connect, type Frame } from './helpers/ws.js'

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
  await closingWorkDone(ctx)
  await annSocket.request({ type: 'ping' }) // every frame sent to ann before this has arrived

  const heard = annSocket.frames.filter(presenceOf(bob.id))
  t.match(heard.at(-1), { online: true }, 'the last presence ann heard of bob says online')
  const listed = await annSocket.request({ type: 'get_presence', user_ids: [bob.id] })
  t.match(listed.presence, [{ user_id: bob.id, online: true }], 'and get_presence agrees')
  await bobAgain.close()
  t.match(await annSocket.next((f) => presenceOf(bob.id)(f) && f.online === false), { online: false })
  await annSocket.close()
})
