import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildTwoNodes, createConversation, register, startTestServer } from './helpers/app.js'
import { holdQuery, tableOf } from './helpers/query-gate.js'
import { connect, type Frame } from './helpers/ws.js'

const roomFrameOf = (conversationId: number) => (f: Frame) =>
  (f.type === 'status' || f.type === 'typing') && f.conversation_id === conversationId

/**
 * Bob's join on `server` is held right after its membership check read "member"; ann removes
 * him through `remover` (the same app, or another node on the same database and hub); then the
 * join goes on.
 */
async function removalDuringJoin(
  t: Test,
  server: { app: FastifyInstance; ws: string },
  remover: FastifyInstance,
): Promise<void> {
  const ctx = server.app.ctx
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const cat = await register(server.app, 'cat')
  const id = await createConversation(server.app, ann, [bob, cat], 'team')
  const annSocket = await connect(server.ws, ann.token)
  const catSocket = await connect(server.ws, cat.token)
  const bobSocket = await connect(server.ws, bob.token)
  await annSocket.request({ type: 'join', conversation_id: id })
  await catSocket.request({ type: 'join', conversation_id: id })

  // Bob joins; his membership check has read "member" and is held there...
  const original = ctx.db
  const gate = holdQuery(
    original,
    (node) => node.kind === 'SelectQueryNode' && tableOf(node) === 'conversations',
  )
  ctx.db = gate.db
  const joining = bobSocket.request({ type: 'join', conversation_id: id })
  await gate.held.reached
  ctx.db = original
  // ...while ann removes him.
  const removed = await remover.inject({
    method: 'DELETE',
    url: `/conversations/${id}/members/${bob.id}`,
    headers: ann.auth,
  })
  t.equal(removed.statusCode, 204)
  gate.held.release()
  t.match(await joining, { type: 'error', code: 'NOT_FOUND' }, 'the join is refused')

  // The room goes on: ann types, cat hears it; bob hears nothing of it.
  annSocket.send({ type: 'typing', conversation_id: id, is_typing: true })
  t.match(await catSocket.next((f) => f.type === 'typing' && f.user_id === ann.id), { is_typing: true })
  await catSocket.request({ type: 'leave', conversation_id: id })
  await annSocket.next((f) => f.type === 'status' && f.user_id === cat.id && f.state === 'left')
  await bobSocket.request({ type: 'ping' }) // every frame sent to bob before this has arrived
  t.same(bobSocket.frames.filter(roomFrameOf(id)), [], 'no status or typing reached the removed socket')
  for (const socket of [annSocket, bobSocket, catSocket]) await socket.close()
}

t.test("a removal landing between join's membership check and its entry into the room", async (t) => {
  const server = await startTestServer(t)
  await removalDuringJoin(t, server, server.app)
})

t.test('the same when the removal is made on another node (heard through the hub)', async (t) => {
  const [a, b] = await buildTwoNodes(t)
  await a.listen({ port: 0, host: '127.0.0.1' })
  const address = a.server.address()
  if (!address || typeof address === 'string') throw new Error('no port')
  await removalDuringJoin(t, { app: a, ws: `ws://127.0.0.1:${address.port}/ws` }, b)
})
