import t from 'tap'
import { MemberCache } from '../src/caches/members.js'
import { createMemoryHub } from '../src/hub/memory.js'
import { buildTestApp, createConversation, register } from './helpers/app.js'
import { holdQuery, tableOf } from './helpers/query-gate.js'

t.test('a failed load does not drop the newer entry loaded after a membership change', async (t) => {
  const app = await buildTestApp(t)
  const ann = await register(app, 'ann')
  const bob = await register(app, 'bob')
  const id = await createConversation(app, ann, [bob])
  const hub = createMemoryHub()
  const gate = holdQuery(
    app.ctx.db,
    (node) => node.kind === 'SelectQueryNode' && tableOf(node) === 'conversation_members',
  )
  const cache = new MemberCache(gate.db, hub)
  t.teardown(() => cache.close())

  const stale = cache.get(id)
  await gate.held.reached
  // The members change while that load is in flight: its entry is dropped and a new one loads.
  hub.publish({ kind: 'members_changed', conversationId: id })
  const fresh = cache.get(id)
  t.same((await fresh).sort(), [ann.id, bob.id].sort())

  gate.held.fail(new Error('connection lost'))
  await t.rejects(stale, { message: 'connection lost' })
  t.equal(cache.get(id), fresh, 'the newer entry is still cached: no new load')
})

t.test('a failed load is not kept: the next get loads again', async (t) => {
  const app = await buildTestApp(t)
  const ann = await register(app, 'ann')
  const id = await createConversation(app, ann, [await register(app, 'bob')])
  const gate = holdQuery(
    app.ctx.db,
    (node) => node.kind === 'SelectQueryNode' && tableOf(node) === 'conversation_members',
  )
  const cache = new MemberCache(gate.db, createMemoryHub())
  t.teardown(() => cache.close())
  const failing = cache.get(id)
  await gate.held.reached
  gate.held.fail(new Error('connection lost'))
  await t.rejects(failing)
  const again = cache.get(id)
  t.not(again, failing, 'a new load')
  t.ok((await again).includes(ann.id))
})
