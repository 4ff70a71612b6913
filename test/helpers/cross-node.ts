import type { Test } from 'tap'
import {
  annAndBob,
  api,
  type BusKind,
  messageId,
  onlineIds,
  register,
  startCluster,
  testBus,
} from './cluster.js'
import { connect, type Frame, type TestSocket } from './ws.js'

// The cross-node scenarios every bus must pass, written once: two real nodes (src/server.ts in
// child processes) on one PostgreSQL database, with Redis or NATS between them.
// test/cluster.test.ts runs them on Redis, test/nats-cluster.test.ts on NATS.

/** Presence heartbeat of the test clusters: a dead node's users go offline within ~4 of them. */
export const HEARTBEAT_MS = 200

const ids = (frames: Frame[]) => frames.map(messageId)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Registers the cross-node subtests under `t`, on a fresh cluster each, with `kind` as the bus. */
export function crossNodeTests(t: Test, kind: BusKind): void {
  const cluster = (tap: Test) => startCluster(tap, 2, testBus(kind, HEARTBEAT_MS))

  t.test('users on different nodes converse and see each other’s presence and typing', async (t) => {
    const [a, b] = await cluster(t)
    t.ok(
      a.log.some((line) => line.includes(`event bus connected (${kind})`)),
      `the node runs on ${kind}`,
    )
    const { ann, bob, id, status: createdStatus } = await annAndBob(a, b)
    t.equal(createdStatus, 201)

    // Presence: ann is online on a, bob on b; each node sees both.
    const annSocket = await connect(a.ws, ann.token)
    const bobSocket = await connect(b.ws, bob.token)
    t.match(await annSocket.next((f) => f.type === 'presence' && f.user_id === bob.id), { online: true })
    for (const node of [a, b]) {
      t.same((await onlineIds(node, ann)).sort(), [ann.id, bob.id].sort(), `${node.name} sees both online`)
    }
    const presence = await annSocket.request({ type: 'get_presence', user_ids: [bob.id] })
    t.match(presence.presence, [{ user_id: bob.id, online: true }], 'get_presence on the other node')
    const seen = await bobSocket.request({ type: 'get_presence', user_ids: [ann.id] })
    t.match(seen.presence, [{ user_id: ann.id, online: true }], 'b sees ann, online on a')

    // Room events: status and typing.
    await annSocket.request({ type: 'join', conversation_id: id })
    await bobSocket.request({ type: 'join', conversation_id: id })
    const status = await annSocket.next((f) => f.type === 'status' && f.user_id === bob.id)
    t.match(status, { state: 'joined' }, 'a hears bob joined the room on b')
    t.same((status.online_user_ids as number[]).sort(), [ann.id, bob.id].sort(), 'status counts both nodes')

    bobSocket.send({ type: 'typing', conversation_id: id, is_typing: true })
    t.match(await annSocket.next('typing'), { conversation_id: id, user_id: bob.id, is_typing: true })
    const annLate = await connect(a.ws, ann.token)
    await annLate.request({ type: 'join', conversation_id: id })
    t.match(
      await annLate.next('typing'),
      { conversation_id: id, user_id: bob.id, is_typing: true },
      'a socket that joins later on a is told that bob, on b, is typing',
    )
    await annLate.close()
    // After annLate's check, so that its first `typing` frame can only be bob's.
    annSocket.send({ type: 'typing', conversation_id: id, is_typing: true })
    t.match(await bobSocket.next('typing'), { conversation_id: id, user_id: ann.id, is_typing: true })

    // Messages both ways, and what happens to them.
    const ack = await annSocket.request({ type: 'send_message', conversation_id: id, content: 'hi from a' })
    t.equal(messageId(await bobSocket.next('message')), messageId(ack), 'b hears a’s message')
    const sent = await api(b, bob, 'POST', `/conversations/${id}/messages`, { content: 'hi from b' })
    await annSocket.next((f) => f.type === 'message' && messageId(f) === sent.body.message.id)
    t.pass('a hears b’s message')
    const edited = await api(b, bob, 'PATCH', `/conversations/${id}/messages/${sent.body.message.id}`, {
      content: 'edited on b',
    })
    t.equal(edited.status, 200)
    t.match(await annSocket.next('message_updated'), { message: { content: 'edited on b' } })
    await bobSocket.request({ type: 'mark_read', conversation_id: id, message_id: messageId(ack) })
    t.match(await annSocket.next('read'), { user_id: bob.id, message_id: messageId(ack) })
    t.equal(
      (await api(b, bob, 'DELETE', `/conversations/${id}/messages/${sent.body.message.id}`)).status,
      204,
    )
    t.match(await annSocket.next('message_deleted'), { message_id: sent.body.message.id })

    // bob leaves the room: a hears the status.
    await bobSocket.request({ type: 'leave', conversation_id: id })
    t.match(
      await annSocket.next((f) => f.type === 'status' && f.user_id === bob.id && f.state === 'left'),
      { conversation_id: id },
      'a hears bob left the room on b',
    )

    // Ann on both nodes is online once: a second socket on b and closing the one on a change nothing.
    const annOnB = await connect(b.ws, ann.token)
    await annSocket.close()
    const flips = await bobSocket.quiet(
      (f) => f.type === 'presence' && f.user_id === ann.id,
      HEARTBEAT_MS * 4,
    )
    t.same(flips, [], 'no presence change while ann is still on b')
    for (const node of [a, b]) {
      t.ok((await onlineIds(node, bob)).includes(ann.id), `${node.name}: ann still online`)
    }
    await annOnB.close()
    await bobSocket.next((f) => f.type === 'presence' && f.user_id === ann.id && f.online === false)
    t.pass('bob hears ann went offline once her last socket, on b, closed')

    // A group: adding and removing members reaches sockets on the other node.
    const carl = await register(a, 'carl')
    const carlSocket = await connect(b.ws, carl.token)
    const group = await api(a, ann, 'POST', '/conversations', { member_ids: [bob.id], title: 'team' })
    const groupId = group.body.conversation.id as number
    t.equal(
      (await api(a, ann, 'POST', `/conversations/${groupId}/members`, { user_id: carl.id })).status,
      201,
    )
    t.match(await carlSocket.next('conversation'), { conversation: { id: groupId } }, 'carl on b hears it')
    await carlSocket.request({ type: 'join', conversation_id: groupId })
    t.equal((await api(a, ann, 'DELETE', `/conversations/${groupId}/members/${carl.id}`)).status, 204)
    t.match(await carlSocket.next('member_removed'), { conversation_id: groupId, user_id: carl.id })
    await api(a, ann, 'POST', `/conversations/${groupId}/messages`, { content: 'after carl left' })
    await bobSocket.next(
      (f) => f.type === 'message' && (f.message as { content: string }).content === 'after carl left',
    )
    t.same(
      carlSocket
        .ofType('message')
        .filter((f) => (f.message as { content: string }).content === 'after carl left'),
      [],
      'a removed member hears nothing more',
    )

    // Logging out on a closes the session's socket on b.
    t.equal((await api(a, carl, 'POST', '/auth/logout')).status, 204)
    t.equal(await carlSocket.whenClosed(), 4001, 'logout on a closed the socket on b')
    await bobSocket.close()
  })

  t.test(
    'a killed node: its users go offline in bounded time; its clients resume on the other node',
    async (t) => {
      const [a, b] = await cluster(t)
      const ann = await register(a, 'ann')
      const bob = await register(b, 'bob')
      const dan = await register(b, 'dan')
      const eve = await register(b, 'eve')
      const group = await api(a, ann, 'POST', '/conversations', {
        member_ids: [bob.id, dan.id, eve.id],
        title: 'load',
      })
      const id = group.body.conversation.id as number

      const annSocket = await connect(a.ws, ann.token)
      const bobSocket = await connect(b.ws, bob.token)
      const danSocket = await connect(b.ws, dan.token)
      const eveSocket = await connect(b.ws, eve.token)
      await annSocket.request({ type: 'join', conversation_id: id })
      await bobSocket.request({ type: 'join', conversation_id: id })
      const eveJoin = await eveSocket.request({ type: 'join', conversation_id: id })

      // Ann sends steadily from a; b dies in the middle.
      const total = 120
      let sent = 0
      const sending = (async () => {
        for (; sent < total; sent++) {
          await annSocket.request({
            type: 'send_message',
            conversation_id: id,
            content: `n${sent}`,
            client_id: `c${sent}`,
          })
          if (sent % 10 === 0) await sleep(5)
        }
      })()
      while (bobSocket.ofType('message').length < 30) await sleep(5)
      const killedAt = Date.now()
      await b.kill()
      const bobBefore = ids(bobSocket.ofType('message'))
      const eveBefore = ids(eveSocket.ofType('message'))
      t.ok(sent < total, `b was killed while messages were still being sent (${sent}/${total})`)

      // Dan and eve were only on b: ann hears they went offline, within a bounded time.
      for (const user of [dan, bob]) {
        await annSocket.next(
          (f) => f.type === 'presence' && f.user_id === user.id && f.online === false,
          10_000,
        )
      }
      const offlineAfter = Date.now() - killedAt
      t.ok(offlineAfter < HEARTBEAT_MS * 8, `b's users offline ${offlineAfter} ms after the kill`)
      t.same(await onlineIds(a, ann), [ann.id], 'a no longer counts b’s users online')
      const after = await annSocket.request({ type: 'get_presence', user_ids: [bob.id] })
      t.match(after.presence, [{ user_id: bob.id, online: false }], 'get_presence agrees')
      t.ok(
        a.log.some((line) => line.includes('a node stopped or died')),
        'a reaped b',
      )
      t.ok(
        danSocket.closeCode !== undefined || (await danSocket.whenClosed()) > 0,
        'dan’s socket died with b',
      )

      // Bob resumes on a with `after` the last id he saw; eve with the cursor of her join.
      const bobAgain = await connect(a.ws, bob.token)
      const lastSeen = bobBefore[bobBefore.length - 1]
      const resumed = await bobAgain.request({
        type: 'join',
        conversation_id: id,
        after: lastSeen,
        limit: 200,
      })
      const eveAgain = await connect(a.ws, eve.token)
      const eveResumed = await eveAgain.request({
        type: 'join',
        conversation_id: id,
        cursor: eveJoin.cursor,
        limit: 200,
      })
      await sending
      const history = await api(a, ann, 'GET', `/conversations/${id}/messages?limit=200`)
      const all = (history.body.messages as Array<{ id: number }>).map((m) => m.id)
      t.equal(all.length, total, 'every message committed once (client_id retries made no duplicates)')

      const resumedIds = (resumed.messages as Array<{ id: number }>).map((m) => m.id)
      t.ok(
        resumedIds.every((m) => m > lastSeen),
        'the resume starts after the last id seen: nothing twice',
      )
      // What bob has: before the kill, the resume, and what came live on a after it.
      await sleep(300)
      const bobLive = ids(bobAgain.ofType('message'))
      const bobAll = [...bobBefore, ...resumedIds]
      for (const m of bobLive) if (!bobAll.includes(m)) bobAll.push(m)
      t.same(
        bobAll.sort((x, y) => x - y),
        all,
        'bob has every message once: no gap, no duplicate',
      )
      t.same(
        new Set(bobBefore).size + new Set(resumedIds).size,
        new Set([...bobBefore, ...resumedIds]).size,
        'the resume repeated nothing bob had',
      )

      const eveChanged = (eveResumed.messages as Array<{ id: number }>).map((m) => m.id)
      t.equal(new Set(eveChanged).size, eveChanged.length, 'the cursor replay has each message once')
      const eveAll = new Set([...eveBefore, ...eveChanged, ...ids(eveAgain.ofType('message'))])
      t.same(
        [...eveAll].sort((x, y) => x - y),
        all,
        'eve, resuming by cursor, has every message',
      )
      for (const socket of [annSocket, bobAgain, eveAgain]) await socket.close()
    },
  )

  t.test('client_id idempotency holds when the retry lands on the other node', async (t) => {
    const [a, b] = await cluster(t)
    const { ann, bob, id } = await annAndBob(a, b)
    const bobSocket = await connect(b.ws, bob.token)

    // A send over a's socket whose ack never arrived is retried on b with the same client_id.
    const send = { type: 'send_message', conversation_id: id, content: 'once', client_id: 'x-1' }
    const onA = await connect(a.ws, ann.token)
    const first = await onA.request(send)
    await onA.close()
    const onB = await connect(b.ws, ann.token)
    const retry = await onB.request(send)
    t.equal(messageId(retry), messageId(first), 'the retry acks the first')
    const overHttp = await api(a, ann, 'POST', `/conversations/${id}/messages`, {
      content: 'once',
      client_id: 'x-1',
    })
    t.equal(overHttp.status, 200)
    t.equal(overHttp.body.message.id, messageId(first))

    // The same client_id on both nodes at once: one message, and one `message` frame.
    const racing = await Promise.all(
      [a, b, a, b].map((node) =>
        api(node, ann, 'POST', `/conversations/${id}/messages`, { content: 'race', client_id: 'x-2' }),
      ),
    )
    t.equal(new Set(racing.map((r) => r.body.message.id)).size, 1, 'one message')
    await sleep(500)
    const frames = bobSocket
      .ofType('message')
      .filter((f) => (f.message as { client_id: string }).client_id === 'x-2')
    t.equal(frames.length, 1, 'bob heard it once')
    const history = await api(b, bob, 'GET', `/conversations/${id}/messages`)
    t.equal(history.body.messages.length, 2, 'two messages in all')
    for (const socket of [bobSocket, onB]) await socket.close()
  })

  t.test('a node stopped gracefully: its users are offline at once, the other node serves on', async (t) => {
    const [a, b] = await cluster(t)
    const ann = await register(a, 'ann')
    const bob = await register(b, 'bob')
    await api(a, ann, 'POST', '/users/me/contacts', { user_id: bob.id })
    const annSocket = await connect(a.ws, ann.token)
    const bobSocket: TestSocket = await connect(b.ws, bob.token)
    t.match(await annSocket.next((f) => f.type === 'presence' && f.user_id === bob.id), { online: true })
    const stopping = b.stop()
    t.equal(await bobSocket.whenClosed(), 1001, 'b says it is going away')
    t.equal(await stopping, 0, 'b exits 0')
    t.match(
      await annSocket.next((f) => f.type === 'presence' && f.user_id === bob.id, 5000),
      { online: false },
      'ann hears bob went offline',
    )
    t.same(await onlineIds(a, ann), [ann.id], 'a no longer counts bob online')
    t.equal((await api(a, ann, 'GET', '/healthz')).status, 200)
    await annSocket.close()
  })
}
