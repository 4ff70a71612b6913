import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp } from '../src/app.js'
import { type Config, testConfig } from '../src/config.js'
import { insertDeliveries } from '../src/db/queries/push-deliveries.js'
import { createMemoryHub } from '../src/hub/memory.js'
import { isPrivateAddress } from '../src/push/address-guard.js'
import {
  type Account,
  buildTestApp,
  createConversation,
  MANY_WRITES,
  register,
  startTestServer,
} from './helpers/app.js'
import { assertNoViolations, checkResponses } from './helpers/contract.js'
import { createTestSchema, usePostgres } from './helpers/postgres.js'
import { type PushReceiver, startPushReceiver } from './helpers/push-receiver.js'
import { connect } from './helpers/ws.js'

// Web Push end to end: a push service started here (test/helpers/push-receiver.ts) decrypts what
// the app sends as a browser would and checks its VAPID signature. Timings are shortened through
// the config (first retry after 20 ms), so no test waits on the contract's real delays.

const FAST: Partial<Config> = {
  ...MANY_WRITES,
  pushAllowPrivate: true,
  pushRetryBaseMs: 20,
  pushPollMs: 100,
  vapidSubject: 'mailto:ops@example.com',
}

async function receiver(t: Tap): Promise<PushReceiver> {
  const r = await startPushReceiver()
  t.teardown(() => r.close())
  return r
}

type Tap = Test

async function subscribe(app: FastifyInstance, who: Account, subscription: object) {
  return app.inject({ method: 'POST', url: '/push/subscriptions', headers: who.auth, payload: subscription })
}

async function send(
  app: FastifyInstance,
  who: Account,
  conversationId: number,
  content: string,
): Promise<number> {
  const response = await app.inject({
    method: 'POST',
    url: `/conversations/${conversationId}/messages`,
    headers: who.auth,
    payload: { content },
  })
  if (response.statusCode !== 201) throw new Error(`send ${response.statusCode} ${response.body}`)
  return response.json().message.id
}

async function count(app: FastifyInstance, table: 'push_deliveries' | 'push_subscriptions' | 'push_outbox') {
  const row = await app.ctx.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

t.test('GET /push/key: a base64url P-256 key, made once and kept', async (t) => {
  const app = await buildTestApp(t, FAST)
  const alice = await register(app)
  const first = await app.inject({ url: '/push/key', headers: alice.auth })
  t.equal(first.statusCode, 200)
  const key = first.json().public_key as string
  t.match(key, /^[A-Za-z0-9_-]+$/)
  t.equal(Buffer.from(key, 'base64url').length, 65)
  t.equal((await app.inject({ url: '/push/key' })).statusCode, 401)
  const again = await app.inject({ url: '/push/key', headers: alice.auth })
  t.equal(again.json().public_key, key)
})

t.test('VAPID keys from the environment win over the stored pair', async (t) => {
  const webpush = (await import('web-push')).default
  const keys = webpush.generateVAPIDKeys()
  const app = await buildTestApp(t, {
    ...FAST,
    vapidPublicKey: keys.publicKey,
    vapidPrivateKey: keys.privateKey,
  })
  const alice = await register(app)
  t.equal((await app.inject({ url: '/push/key', headers: alice.auth })).json().public_key, keys.publicKey)
})

t.test('subscriptions: validation, private addresses, one row per device, unsubscribe', async (t) => {
  const app = await buildTestApp(t, { ...MANY_WRITES })
  const alice = await register(app)
  const r = await receiver(t)
  const keys = r.device().subscription.keys
  const endpoints = [
    'http://127.0.0.1:9/push/x',
    'https://127.0.0.1/push/x',
    'https://localhost/push/x',
    'https://10.1.2.3/push/x',
    'https://192.168.0.10/push/x',
    'https://172.20.0.1/push/x',
    'https://169.254.169.254/latest',
    'https://[::1]/push/x',
    'https://[fe80::1]/push/x',
    'https://[fd12:3456::1]/push/x',
    'https://[::ffff:127.0.0.1]/push/x',
    'http://93.184.216.34/push/x',
  ]
  for (const endpoint of endpoints) {
    const response = await subscribe(app, alice, { endpoint, keys })
    t.equal(response.statusCode, 400, endpoint)
    t.equal(response.json().code, 'BAD_REQUEST')
  }
  t.equal(
    (await subscribe(app, alice, { endpoint: 'https://93.184.216.34/push/x' })).statusCode,
    400,
    'no keys',
  )
  t.equal(
    (
      await subscribe(app, alice, {
        endpoint: 'https://93.184.216.34/push/x',
        keys: { ...keys, p256dh: 'AAAA' },
      })
    ).statusCode,
    400,
    'a p256dh that is no key',
  )
  const endpoint = 'https://93.184.216.34/push/x'
  t.equal((await subscribe(app, alice, { endpoint, keys })).statusCode, 201)
  const other = r.device().subscription.keys
  t.equal((await subscribe(app, alice, { endpoint, keys: other, expirationTime: null })).statusCode, 201)
  t.equal(await count(app, 'push_subscriptions'), 1, 'the same endpoint again updates its row')
  const row = await app.ctx.db.selectFrom('push_subscriptions').selectAll().executeTakeFirstOrThrow()
  t.equal(row.p256dh, other.p256dh)
  const gone = await app.inject({
    method: 'DELETE',
    url: '/push/subscriptions',
    headers: alice.auth,
    payload: { endpoint },
  })
  t.equal(gone.statusCode, 204)
  t.equal(await count(app, 'push_subscriptions'), 0)
})

t.test('the address guard', async (t) => {
  for (const ip of [
    '127.0.0.1',
    '10.0.0.1',
    '100.64.0.1',
    '::1',
    'fe80::1',
    'fc00::1',
    '::ffff:10.0.0.1',
    '::ffff:7f00:1',
    '0.0.0.0',
    '::',
  ])
    t.ok(isPrivateAddress(ip), ip)
  for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])
    t.notOk(isPrivateAddress(ip), ip)
})

/** Alice and Bob in a direct conversation; Bob's device subscribed; Bob has no socket. */
async function directSetup(t: Tap, overrides: Partial<Config> = {}) {
  const server = await startTestServer(t, { ...FAST, ...overrides })
  const r = await receiver(t)
  const alice = await register(server.app)
  const bob = await register(server.app)
  const device = r.device()
  t.equal((await subscribe(server.app, bob, device.subscription)).statusCode, 201)
  const conversation = await createConversation(server.app, alice, [bob])
  return { ...server, r, alice, bob, device, conversation }
}

t.test('a direct message to a member with no socket is pushed, encrypted and signed', async (t) => {
  const { app, r, alice, device, conversation } = await directSetup(t)
  const id = await send(app, alice, conversation, 'lunch at noon?')
  await r.waitFor((got) => got.length === 1, 'the push')
  const [push] = r.received
  t.same(push?.payload, {
    type: 'notification',
    conversation_id: conversation,
    message_id: id,
    title: alice.username,
    body: 'lunch at noon?',
  })
  t.equal(push?.device, device.id)
  t.equal(push?.claims.sub, 'mailto:ops@example.com')
  t.equal(push?.vapidKey, (await app.inject({ url: '/push/key', headers: alice.auth })).json().public_key)
  await until(async () => (await count(app, 'push_deliveries')) === 0, 'the delivery removed')
  t.equal(await count(app, 'push_outbox'), 0)
})

t.test('no push to a member with an open socket; one once it is closed', async (t) => {
  const { app, ws, r, alice, bob, conversation } = await directSetup(t)
  const socket = await connect(ws, bob.token)
  await send(app, alice, conversation, 'while online')
  await until(async () => (await count(app, 'push_outbox')) === 0, 'the outbox row handled')
  t.equal(await count(app, 'push_deliveries'), 0, 'nothing queued for an online member')
  await socket.close()
  await until(() => !app.presence.isOnline(bob.id), 'bob offline')
  const second = await send(app, alice, conversation, 'while away')
  await r.waitFor((got) => got.length === 1, 'the push')
  t.same(
    r.received.map((p) => p.payload.message_id),
    [second],
  )
})

t.test('groups: only the members named by @username are pushed', async (t) => {
  const server = await startTestServer(t, FAST)
  const { app } = server
  const r = await receiver(t)
  const [alice, bob, carol] = [await register(app), await register(app), await register(app)]
  const bobDevice = r.device()
  const carolDevice = r.device()
  await subscribe(app, bob, bobDevice.subscription)
  await subscribe(app, carol, carolDevice.subscription)
  const group = await createConversation(app, alice, [bob, carol], 'Team')
  await send(app, alice, group, 'hello all')
  const id = await send(app, alice, group, `@${carol.username.toUpperCase()}: look`)
  await r.waitFor((got) => got.length === 1, 'the push')
  await until(async () => (await count(app, 'push_outbox')) === 0, 'the outbox handled')
  t.equal(r.received.length, 1)
  t.equal(r.received[0]?.device, carolDevice.id)
  t.equal(r.received[0]?.payload.message_id, id)
  t.equal(r.received[0]?.payload.title, `${alice.username} in Team`)
})

t.test('500 and 429 are retried (honouring Retry-After); 410 drops the subscription', async (t) => {
  const { app, r, alice, device, conversation } = await directSetup(t)
  r.answer = (_device, attempt) =>
    attempt === 1
      ? { status: 500 }
      : attempt === 2
        ? { status: 429, headers: { 'retry-after': '1' } }
        : { status: 201 }
  const id = await send(app, alice, conversation, 'eventually')
  await r.waitFor((got) => got.length === 1, 'the push after two refusals')
  t.same(
    r.requests.map((q) => q.status),
    [500, 429, 201],
  )
  const [, refused, accepted] = r.requests
  t.ok((accepted?.at ?? 0) - (refused?.at ?? 0) >= 1000, 'the third attempt waited for Retry-After')
  t.equal(r.received[0]?.payload.message_id, id)

  r.answer = () => ({ status: 410 })
  await send(app, alice, conversation, 'into the void')
  await until(async () => (await count(app, 'push_subscriptions')) === 0, 'the subscription dropped')
  t.equal(await count(app, 'push_deliveries'), 0)
  t.equal(r.requests.length, 4, 'tried once, not retried')
  t.equal(device.id, r.requests[3]?.device)
})

t.test('at most one push per message and device', async (t) => {
  const { app, r, alice, conversation } = await directSetup(t)
  let open = false
  r.answer = () => (open ? { status: 201 } : { status: 503 })
  const id = await send(app, alice, conversation, 'once')
  await until(async () => (await count(app, 'push_deliveries')) === 1, 'the delivery queued')
  const row = await app.ctx.db.selectFrom('push_deliveries').selectAll().executeTakeFirstOrThrow()
  // The same delivery again (as a node redoing the outbox row would): nothing added.
  await insertDeliveries(app.ctx.db, [
    {
      messageId: id,
      subscriptionId: Number(row.subscription_id),
      payload: '{}',
      now: new Date().toISOString(),
    },
  ])
  t.equal(await count(app, 'push_deliveries'), 1)
  open = true
  await r.waitFor((got) => got.length === 1, 'the push')
  await until(async () => (await count(app, 'push_deliveries')) === 0, 'delivered')
  t.equal(r.received.length, 1)
})

t.test('pending pushes survive a restart and go out at the next start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-push-'))
  const postgres = usePostgres() ? await createTestSchema() : undefined
  const config = testConfig({
    ...FAST,
    // Only the start itself may find the pending push: the poll would come too late.
    pushPollMs: 60_000,
    databaseUrl: postgres ? postgres.url : `sqlite:${join(dir, 'parley.db')}`,
    uploadDir: join(dir, 'uploads'),
  })
  const r = await receiver(t)
  t.teardown(async () => {
    await postgres?.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  let app = await buildApp({ config, beforeRoutes: checkResponses })
  const alice = await register(app)
  const bob = await register(app)
  await subscribe(app, bob, r.device().subscription)
  const conversation = await createConversation(app, alice, [bob])
  r.answer = () => ({ status: 503, headers: { 'retry-after': '0' } })
  const id = await send(app, alice, conversation, 'after the restart')
  await until(() => r.requests.length >= 1, 'a first refused attempt')
  await app.close()
  t.equal(r.received.length, 0)

  r.answer = () => ({ status: 201 })
  app = await buildApp({ config, beforeRoutes: checkResponses })
  t.teardown(() => app.close())
  await app.ready()
  await r.waitFor((got) => got.length === 1, 'the push after the restart')
  t.equal(r.received[0]?.payload.message_id, id)
  assertNoViolations()
})

t.test('two nodes on one database: each push sent exactly once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-push-'))
  const postgres = usePostgres() ? await createTestSchema() : undefined
  const config = testConfig({
    ...FAST,
    pushPollMs: 20,
    databaseUrl: postgres ? postgres.url : `sqlite:${join(dir, 'parley.db')}`,
    uploadDir: join(dir, 'uploads'),
  })
  const hub = createMemoryHub()
  const a = await buildApp({ config, hub, beforeRoutes: checkResponses })
  const b = await buildApp({ config, hub, beforeRoutes: checkResponses })
  const r = await receiver(t)
  t.teardown(async () => {
    await b.close()
    await a.close()
    await postgres?.drop()
    rmSync(dir, { recursive: true, force: true })
    assertNoViolations()
  })
  t.equal(a.push.publicKey, b.push.publicKey, 'one key pair for both nodes')
  const alice = await register(a)
  const bob = await register(a)
  const devices = [r.device(), r.device()]
  for (const device of devices) await subscribe(b, bob, device.subscription)
  const conversation = await createConversation(a, alice, [bob])
  // Every first attempt refused: the retries are claimed again, by either node.
  r.answer = (_device, attempt) => (attempt % 3 === 1 ? { status: 500 } : { status: 201 })
  const ids: number[] = []
  for (let i = 0; i < 20; i++) ids.push(await send(i % 2 ? a : b, alice, conversation, `m${i}`))
  await r.waitFor((got) => got.length === 40, '40 pushes')
  await until(async () => (await count(a, 'push_deliveries')) === 0, 'nothing pending')
  const seen = r.received.map((p) => `${p.device}:${p.payload.message_id}`)
  t.equal(new Set(seen).size, 40, 'no push twice')
  t.same(new Set(seen), new Set(devices.flatMap((d) => ids.map((id) => `${d.id}:${id}`))))
})
