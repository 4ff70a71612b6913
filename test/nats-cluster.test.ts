import { connect as connectNats } from 'nats'
import t from 'tap'
import { createNatsHub, type NatsHub } from '../src/hub/nats.js'
import { Presence } from '../src/presence/presence.js'
import {
  annAndBob,
  api,
  messageId,
  type NatsServer,
  type Node,
  natsServerSkipReason,
  natsSkipReason,
  onlineIds,
  startCluster,
  startNatsServer,
  testBus,
  testNatsUrl,
} from './helpers/cluster.js'
import { crossNodeTests } from './helpers/cross-node.js'
import { postgresSkipReason } from './helpers/postgres.js'
import { freePort } from './helpers/server-process.js'
import { missingService } from './helpers/services.js'
import { connect } from './helpers/ws.js'

// Real nodes (src/server.ts in child processes) on one PostgreSQL database with NATS as the bus
// (NATS_URL, no REDIS_URL): the cross-node scenarios test/cluster.test.ts runs on Redis, then
// what is NATS's own: the bus going away and coming back (on a nats-server of the test's own),
// and the hubs' presence protocol in one process.

const natsSkip = missingService(await natsSkipReason())
const skip = missingService(await postgresSkipReason()) ?? natsSkip
if (skip) t.comment(`SKIP: multi-node on NATS: ${skip}`)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `check` holds, for `ms` at most. */
async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await sleep(50)
  }
  return check()
}

t.test('multi-node on NATS: PostgreSQL and NATS_URL, nodes in child processes', { skip }, async (t) => {
  crossNodeTests(t, 'NATS')

  t.test(
    'the bus goes away and comes back: sockets resume, nothing is lost; a graceful stop',
    { skip: missingService(natsServerSkipReason()) },
    async (t) => {
      // A nats-server of this test's own, to kill and restart under the nodes.
      const port = await freePort()
      let server: NatsServer | undefined = await startNatsServer(port)
      t.teardown(() => server?.kill())
      // A longer heartbeat: both nodes must find the bus again within one TTL of each other.
      const [a, b] = await startCluster(t, 2, testBus('NATS', 500, server.url))
      const { ann, bob, id } = await annAndBob(a, b)
      const annSocket = await connect(a.ws, ann.token)
      const bobSocket = await connect(b.ws, bob.token)
      await annSocket.request({ type: 'join', conversation_id: id })
      await bobSocket.request({ type: 'join', conversation_id: id })
      const first = await annSocket.request({ type: 'send_message', conversation_id: id, content: 'before' })
      t.equal(messageId(await bobSocket.next('message')), messageId(first))

      await server.kill()
      server = undefined
      const lost = (node: Node) => node.log.some((line) => line.includes('event bus (NATS) connection lost'))
      t.ok(await eventually(async () => lost(a) && lost(b)), 'both nodes noticed the bus went away')

      // Writes go on without the bus; the event cannot reach b now.
      const during = await api(a, ann, 'POST', `/conversations/${id}/messages`, { content: 'during' })
      t.equal(during.status, 201, 'a accepts a message while the bus is away')
      t.equal((await api(b, bob, 'GET', '/healthz')).status, 200)

      server = await startNatsServer(port)
      t.equal(await annSocket.whenClosed(), 1012, 'a closes its sockets with 1012 once the bus is back')
      t.equal(await bobSocket.whenClosed(), 1012, 'so does b')
      // The node's log line travels through a pipe: it may arrive after the close frames did.
      const reconnected = (node: Node) =>
        node.log.some((line) => line.includes('event bus (NATS) reconnected'))
      for (const node of [a, b]) {
        t.ok(await eventually(async () => reconnected(node)), `${node.name} reconnected`)
      }

      // bob resumes after the last message he saw: the one sent during the cut, once.
      const bobAgain = await connect(b.ws, bob.token)
      const resumed = await bobAgain.request({ type: 'join', conversation_id: id, after: messageId(first) })
      t.same(
        (resumed.messages as Array<{ id: number }>).map((m) => m.id),
        [during.body.message.id],
        'the resume brings what was sent during the cut, nothing twice',
      )
      const annAgain = await connect(a.ws, ann.token)
      await annAgain.request({ type: 'join', conversation_id: id })
      const next = await annAgain.request({ type: 'send_message', conversation_id: id, content: 'after' })
      t.equal(messageId(await bobAgain.next('message')), messageId(next), 'events cross nodes again')
      t.ok(
        await eventually(
          async () => (await onlineIds(a, ann)).sort().join() === [ann.id, bob.id].sort().join(),
        ),
        'a sees bob online on b again',
      )

      // A graceful stop: b's users are announced offline at once, a serves on.
      const stopping = b.stop()
      t.equal(await bobAgain.whenClosed(), 1001, 'b says it is going away')
      t.equal(await stopping, 0, 'b exits 0')
      t.match(
        await annAgain.next((f) => f.type === 'presence' && f.user_id === bob.id, 5000),
        { online: false },
        'ann hears bob went offline',
      )
      t.same(await onlineIds(a, ann), [ann.id])
      await annAgain.close()
    },
  )
})

t.test(
  'NATS hubs in one process: presence between nodes, one reaper per lost node',
  { skip: natsSkip },
  async (t) => {
    const url = testNatsUrl(100)
    const prefix = new URL(url).searchParams.get('prefix')
    const log = { info() {}, warn() {}, error() {} }
    const hubs: NatsHub[] = []
    t.teardown(() => Promise.all(hubs.map((hub) => hub.close())))
    const reaped: Array<{ node: string; users: number[] }> = []
    const join = async (heartbeatMs?: number) => {
      const hub = await createNatsHub({ url, log, heartbeatMs })
      hubs.push(hub)
      const presence = new Presence()
      presence.onNodeLost = (users) => reaped.push({ node: hub.nodeId, users })
      await hub.attachPresence(presence)
      return presence
    }
    const presences = [await join(), await join(), await join()]
    const everywhere = (userId: number, online: boolean) =>
      eventually(async () => presences.every((p) => p.isOnline(userId) === online), 3000)

    presences[0].connected(7)
    t.ok(await everywhere(7, true), 'a user on one node is online on every node')
    presences[0].disconnected(7)
    t.ok(await everywhere(7, false), 'and offline everywhere when their last socket closes')

    // A node that beats a few times, then falls silent (killed): exactly one node reaps it.
    const nc = await connectNats({ servers: new URL(url).host })
    t.teardown(() => nc.close())
    const say = (node: string, p: object) =>
      nc.publish(`${prefix}.presence`, new TextEncoder().encode(JSON.stringify({ n: node, p })))
    say('silent', { kind: 'heartbeat', users: [42] })
    t.ok(await everywhere(42, true), 'a heartbeat makes its users online everywhere')
    const silentAt = Date.now()
    t.ok(await everywhere(42, false), 'the silent node’s users go offline everywhere')
    t.ok(Date.now() - silentAt < 100 * 8, `within ${Date.now() - silentAt} ms`)
    await sleep(500)
    const lowest = [...hubs].map((hub) => hub.nodeId).sort()[0]
    t.same(reaped, [{ node: lowest, users: [42] }], 'reaped once, by the node with the lowest id')

    // A node that stops gracefully with a user still on it: reaped at once, once.
    reaped.length = 0
    say('stopping', { kind: 'heartbeat', users: [43] })
    t.ok(await everywhere(43, true), 'its users are online everywhere')
    say('stopping', { kind: 'node_stopping', users: [43] })
    t.ok(await everywhere(43, false), 'a stopping node’s users go offline at once')
    await sleep(500)
    t.same(reaped, [{ node: lowest, users: [43] }], 'reaped once')

    // A node that joins learns the others' users at once, not a heartbeat (here a minute) later.
    const slowUrl = testNatsUrl(60_000)
    const first = await createNatsHub({ url: slowUrl, log })
    hubs.push(first)
    const firstPresence = new Presence()
    await first.attachPresence(firstPresence)
    firstPresence.connected(8)
    const second = await createNatsHub({ url: slowUrl, log })
    hubs.push(second)
    const secondPresence = new Presence()
    await second.attachPresence(secondPresence)
    t.ok(secondPresence.isOnline(8), 'a new node sees the others’ users as soon as it is attached')
    t.same(secondPresence.onlineUserIds(), [8])
  },
)

t.test(
  'a NATS_URL listing several servers connects through one that answers',
  { skip: natsSkip },
  async (t) => {
    const url = new URL(testNatsUrl(100))
    const log = { info() {}, warn() {}, error() {} }
    // One of the two servers listed does not answer; the client (which picks them in random order)
    // reaches the other either way.
    const listed = `nats://127.0.0.1:${await freePort()},${url.host}${url.search}`
    const viaList = await createNatsHub({ url: listed, log })
    t.teardown(() => viaList.close())
    const direct = await createNatsHub({ url: url.toString(), log })
    t.teardown(() => direct.close())
    const [listedPresence, directPresence] = [new Presence(), new Presence()]
    await viaList.attachPresence(listedPresence)
    await direct.attachPresence(directPresence)
    listedPresence.connected(9)
    t.ok(
      await eventually(async () => directPresence.isOnline(9), 3000),
      'a user on the node that connected through the list is online on the other node',
    )
  },
)
