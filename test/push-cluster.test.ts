import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { type Config, testConfig } from '../src/config.js'
import { type Account, createConversation, MANY_WRITES, register } from './helpers/app.js'
import { dropRedisPrefix, redisSkipReason, testRedisUrl } from './helpers/cluster.js'
import { assertNoViolations, checkResponses } from './helpers/contract.js'
import { createTestSchema, postgresSkipReason } from './helpers/postgres.js'
import { startPushReceiver } from './helpers/push-receiver.js'
import { missingService } from './helpers/services.js'
import { connect } from './helpers/ws.js'

// Web Push with two nodes as an operator runs them: one PostgreSQL database and a real Redis bus
// (presence across nodes comes through Redis). A member with no open socket on either node gets
// exactly one push per message and device, whichever node takes the message and whichever node
// claims the outbox row and each delivery; a member with a socket on the other node gets none.
// Skipped with the reason when PostgreSQL or Redis is down on a developer's machine; failed in CI.

const skip = missingService(await postgresSkipReason()) ?? missingService(await redisSkipReason())
if (skip) t.comment(`SKIP: Web Push on two nodes (PostgreSQL + Redis): ${skip}`)

const N = 30

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function pending(app: FastifyInstance): Promise<number> {
  const count = async (table: 'push_deliveries' | 'push_outbox') =>
    Number(
      (
        await app.ctx.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    )
  return (await count('push_deliveries')) + (await count('push_outbox'))
}

async function send(app: FastifyInstance, who: Account, conversationId: number, content: string) {
  const response = await app.inject({
    method: 'POST',
    url: `/conversations/${conversationId}/messages`,
    headers: who.auth,
    payload: { content },
  })
  if (response.statusCode !== 201) throw new Error(`send ${response.statusCode} ${response.body}`)
  return response.json().message.id as number
}

t.test('two nodes on PostgreSQL and Redis: exactly one push per message and device', { skip }, async (t) => {
  const schema = await createTestSchema()
  const redis = testRedisUrl()
  const config: Partial<Config> = {
    ...MANY_WRITES,
    databaseUrl: schema.url,
    redisUrl: redis.url,
    uploadDir: '/tmp/parley-push-cluster-up',
    pushAllowPrivate: true,
    pushRetryBaseMs: 20,
    pushPollMs: 20,
  }
  const nodes: FastifyInstance[] = []
  const r = await startPushReceiver()
  t.teardown(async () => {
    for (const node of nodes.reverse()) await node.close()
    await r.close()
    await schema.drop()
    await dropRedisPrefix(redis.prefix)
    assertNoViolations()
  })
  const ws: string[] = []
  for (let i = 0; i < 2; i++) {
    const app = await buildApp({ config: testConfig(config), beforeRoutes: checkResponses })
    nodes.push(app)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const address = app.server.address()
    if (!address || typeof address === 'string') throw new Error('no port')
    ws.push(`ws://127.0.0.1:${address.port}/ws`)
  }
  const [a, b] = nodes as [FastifyInstance, FastifyInstance]
  t.equal(a.push.publicKey, b.push.publicKey, 'one VAPID key pair for both nodes')

  const alice = await register(a)
  const bob = await register(b)
  const carol = await register(a)
  const bobDevices = [r.device(), r.device()]
  const carolDevice = r.device()
  const subscribe = (app: FastifyInstance, who: Account, subscription: object) =>
    app.inject({ method: 'POST', url: '/push/subscriptions', headers: who.auth, payload: subscription })
  t.equal((await subscribe(a, bob, bobDevices[0]?.subscription ?? {})).statusCode, 201)
  t.equal((await subscribe(b, bob, bobDevices[1]?.subscription ?? {})).statusCode, 201)
  t.equal((await subscribe(b, carol, carolDevice.subscription)).statusCode, 201)
  // Carol is online on node b only; node a must learn it through Redis and push her nothing.
  const carolSocket = await connect(ws[1] as string, carol.token)
  t.teardown(() => carolSocket.close())
  await until(() => a.presence.isOnline(carol.id), 'node a sees carol online through Redis')
  t.notOk(a.presence.isOnline(bob.id), 'bob has no socket on any node')

  const toBob = await createConversation(a, alice, [bob])
  const toCarol = await createConversation(b, alice, [carol])
  // Every first attempt of a delivery is refused: its retry is claimed again by either node.
  r.answer = (_device, attempt) => (attempt % 4 === 1 ? { status: 503 } : { status: 201 })
  const ids: number[] = []
  for (let i = 0; i < N; i++) {
    ids.push(await send(i % 2 ? a : b, alice, toBob, `to bob ${i}`))
    await send(i % 2 ? b : a, alice, toCarol, `to carol ${i}`)
  }
  await r.waitFor((got) => got.length >= N * bobDevices.length, `${N * bobDevices.length} pushes`, 30_000)
  await until(async () => (await pending(a)) === 0, 'the outbox and the deliveries empty')

  const seen = r.received.map((push) => `${push.device}:${push.payload.message_id}`)
  t.equal(seen.length, N * bobDevices.length, 'no push more than the messages times the devices')
  t.equal(new Set(seen).size, seen.length, 'no push twice')
  t.same(
    new Set(seen),
    new Set(bobDevices.flatMap((device) => ids.map((id) => `${device.id}:${id}`))),
    "each of bob's devices got each message",
  )
  t.notOk(
    r.requests.some((request) => request.device === carolDevice.id),
    'nothing pushed to a member online on the other node',
  )
  t.ok(
    r.received.every((push) => push.payload.conversation_id === toBob),
    'every push is of the conversation with bob',
  )
})
