import { readdirSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import t, { type Test } from 'tap'
import { TokenBuckets } from '../src/limits/token-buckets.js'
import {
  type Account,
  createConversation,
  register,
  startTestServer,
  type TestContext,
} from './helpers/app.js'
import { connect, type TestSocket, upgradeStatus } from './helpers/ws.js'

// Per-account budgets, the storage quota and the socket cap, over real sockets, real multipart
// uploads and a real upload directory. Budgets are set small through the config; the refill rates
// are slow enough (a token a second at the fastest) that no test depends on how fast it runs.

// biome-ignore lint/suspicious/noExplicitAny: test payloads
type Json = Record<string, any>

type Server = Awaited<ReturnType<typeof startTestServer>>

async function setup(t: TestContext, overrides: Parameters<typeof startTestServer>[1] = {}) {
  const server = await startTestServer(t, { authRateLimit: 10_000, ...overrides })
  const uploadDir = server.app.ctx.config.uploadDir
  return { ...server, onDisk: () => readdirSync(uploadDir).sort() }
}

async function call(server: Server, who: Account, method: string, url: string, payload?: object) {
  const response = await fetch(server.http + url, {
    method,
    headers: { ...who.auth, ...(payload ? { 'content-type': 'application/json' } : {}) },
    body: payload ? JSON.stringify(payload) : undefined,
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as Json }
}

/** A real multipart upload of `size` bytes (text, so its type is sniffed as text/plain). */
async function upload(server: Server, who: Account, path: string, size: number) {
  const form = new FormData()
  form.append('file', new Blob([Buffer.alloc(size, 'a')]), 'a.txt')
  const response = await fetch(server.http + path, { method: 'POST', body: form, headers: who.auth })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as Json }
}

function assertRateLimited(t: Test, reply: { status: number; headers: Headers; body: Json }) {
  t.equal(reply.status, 429)
  t.equal(reply.body.code, 'RATE_LIMITED')
  t.same(Object.keys(reply.body).sort(), ['code', 'error', 'message', 'statusCode'], 'the error shape')
  t.ok(Number(reply.headers.get('retry-after')) >= 1, 'Retry-After says how long to wait')
}

/** A hand-made upgrade request: the status and body of a refusal (undefined body if upgraded). */
function refusedUpgrade(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Json }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url.replace(/^ws/, 'http'), {
      headers: {
        ...headers,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-version': '13',
      },
    })
    request.on('upgrade', (_response, socket) => {
      socket.destroy()
      resolve({ status: 101, body: {} })
    })
    request.on('response', (response) => {
      let text = ''
      response.on('data', (chunk) => (text += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text || '{}') }))
    })
    request.on('error', reject)
    request.end()
  })
}

async function openSockets(server: Server): Promise<number> {
  return (await server.app.ctx.metrics.openSockets.get()).values[0]?.value ?? 0
}

async function sendOverSocket(socket: TestSocket, conversationId: number, content: string) {
  return socket.request({ type: 'send_message', conversation_id: conversationId, content })
}

t.test('HTTP and socket writes share one per-account budget', async (t) => {
  // 1 write a second, bursts of 2.
  const server = await setup(t, { writeRateLimit: 1 })
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const id = await createConversation(server.app, ann, [bob])
  const socket = await connect(server.ws, ann.token)

  // Spend the budget over HTTP: the socket is refused right after, with its frame's ref.
  let posted = 0
  for (;;) {
    const reply = await call(server, ann, 'POST', `/conversations/${id}/messages`, { content: `h${posted}` })
    if (reply.status === 429) {
      assertRateLimited(t, reply)
      break
    }
    t.equal(reply.status, 201)
    if (++posted > 10) throw new Error('HTTP writes were never limited')
  }
  const refused = await socket.request({ type: 'send_message', conversation_id: id, content: 'ws' })
  t.equal(refused.type, 'error')
  t.equal(refused.code, 'RATE_LIMITED', 'HTTP writes spent the socket budget too')
  t.match(refused.ref, /^r\d+$/, 'the error carries the ref')
  t.equal((await socket.request({ type: 'ping' })).type, 'pong', 'the socket stays open')

  // Bob's budget is his own.
  t.equal((await call(server, bob, 'POST', `/conversations/${id}/messages`, { content: 'b' })).status, 201)

  // And the other way: spend it over the socket (once refilled), then HTTP is refused.
  await new Promise((resolve) => setTimeout(resolve, 2100))
  let sent = 0
  for (;;) {
    const reply = await sendOverSocket(socket, id, `w${sent}`)
    if (reply.type === 'error') {
      t.equal(reply.code, 'RATE_LIMITED')
      break
    }
    t.equal(reply.type, 'ack')
    if (++sent > 10) throw new Error('socket writes were never limited')
  }
  t.ok(sent >= 1, 'the refilled budget allowed writes again')
  assertRateLimited(t, await call(server, ann, 'POST', `/conversations/${id}/messages`, { content: 'x' }))
  t.equal(socket.closeCode, undefined, 'never closed for it')
  await socket.close()
})

t.test('edits and deletes spend the write budget, over HTTP and the socket', async (t) => {
  const server = await setup(t, { writeRateLimit: 1 })
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const id = await createConversation(server.app, bob, [ann]) // Bob's budget, not Ann's
  const first = await call(server, ann, 'POST', `/conversations/${id}/messages`, { content: 'one' })
  t.equal(first.status, 201)
  const messageId = first.body.message.id
  // The burst is 2: the message spent one; an edit takes the second; a delete is refused.
  const edited = await call(server, ann, 'PATCH', `/conversations/${id}/messages/${messageId}`, {
    content: 'uno',
  })
  t.equal(edited.status, 200)
  assertRateLimited(t, await call(server, ann, 'DELETE', `/conversations/${id}/messages/${messageId}`))
  const socket = await connect(server.ws, ann.token)
  const edit = await socket.request({
    type: 'edit_message',
    conversation_id: id,
    message_id: messageId,
    content: 'eins',
  })
  t.equal(edit.code, 'RATE_LIMITED')
  const remove = await socket.request({ type: 'delete_message', conversation_id: id, message_id: messageId })
  t.equal(remove.code, 'RATE_LIMITED')
  const history = await call(server, bob, 'GET', `/conversations/${id}/messages`)
  t.equal(history.body.messages[0].content, 'uno', 'the refused edits and deletes did nothing')
  await socket.close()
})

t.test('creating conversations and projects and adding members have a tighter budget', async (t) => {
  // 1 a minute, bursts of 3.
  const server = await setup(t, { createRateLimit: 1 })
  const ann = await register(server.app, 'ann')
  const others = [await register(server.app, 'bob'), await register(server.app, 'cid')]
  const groups: number[] = []
  for (let i = 0; i < 3; i++) {
    const reply = await call(server, ann, 'POST', '/conversations', {
      member_ids: [others[0].id],
      title: `g${i}`,
    })
    t.equal(reply.status, 201)
    groups.push(reply.body.conversation.id)
  }
  assertRateLimited(
    t,
    await call(server, ann, 'POST', '/conversations', { member_ids: [others[0].id], title: 'one too many' }),
  )
  assertRateLimited(t, await call(server, ann, 'POST', '/projects', { name: 'p' }))
  assertRateLimited(
    t,
    await call(server, ann, 'POST', `/conversations/${groups[0]}/members`, { user_id: others[1].id }),
  )
  t.equal((await call(server, ann, 'GET', '/conversations')).body.conversations.length, 3, 'nothing made')

  // Bob's own budget is untouched: he creates a project and adds a member to it.
  const project = await call(server, others[0], 'POST', '/projects', { name: 'p' })
  t.equal(project.status, 201)
  const add = await call(server, others[0], 'POST', `/projects/${project.body.project.id}/members`, {
    user_id: others[1].id,
  })
  t.equal(add.status, 201)
  t.equal(
    (await call(server, others[0], 'POST', '/conversations', { member_ids: [ann.id], title: 'b' })).status,
    201,
  )
  assertRateLimited(
    t,
    await call(server, others[0], 'POST', `/projects/${project.body.project.id}/members`, {
      user_id: ann.id,
    }),
  )
})

t.test('uploads have a budget of their own; a refused one leaves nothing', async (t) => {
  const server = await setup(t, { uploadRateLimit: 1 })
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const id = await createConversation(server.app, ann, [bob])
  for (let i = 0; i < 3; i++)
    t.equal((await upload(server, ann, `/conversations/${id}/files`, 10)).status, 201)
  const onDisk = server.onDisk()
  t.equal(onDisk.length, 3)
  assertRateLimited(t, await upload(server, ann, `/conversations/${id}/files`, 10))
  t.same(server.onDisk(), onDisk, 'no file left on disk')
  const history = await call(server, ann, 'GET', `/conversations/${id}/messages`)
  t.equal(history.body.messages.length, 3, 'no message for it')
  // Still writes: the upload budget is not the write budget.
  t.equal((await call(server, ann, 'POST', `/conversations/${id}/messages`, { content: 'hi' })).status, 201)
})

t.test('uploads spend the write budget too', async (t) => {
  const server = await setup(t, { writeRateLimit: 1 })
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const id = await createConversation(server.app, ann, [bob])
  let uploaded = 0
  for (;;) {
    const reply = await upload(server, ann, `/conversations/${id}/files`, 10)
    if (reply.status === 429) {
      assertRateLimited(t, reply)
      break
    }
    t.equal(reply.status, 201)
    if (++uploaded > 10) throw new Error('uploads never spent the write budget')
  }
  t.equal(server.onDisk().length, uploaded, 'only the accepted uploads are stored')
})

t.test('the storage quota: 413 QUOTA_EXCEEDED, nothing left behind, deleting frees it', async (t) => {
  const server = await setup(t, { uploadQuotaBytes: 3000 })
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const project = await call(server, ann, 'POST', '/projects', { name: 'p', member_ids: [bob.id] })
  const projectId = project.body.project.id
  const conversationId = project.body.project.conversation_id

  const first = await upload(server, ann, `/projects/${projectId}/files`, 2000)
  t.equal(first.status, 201)
  const over = await upload(server, ann, `/projects/${projectId}/files`, 1001)
  t.equal(over.status, 413)
  t.equal(over.body.code, 'QUOTA_EXCEEDED')
  t.same(Object.keys(over.body).sort(), ['code', 'error', 'message', 'statusCode'])
  t.equal(server.onDisk().length, 1, 'the refused bytes are not on disk')
  const files = await call(server, ann, 'GET', `/projects/${projectId}/files`)
  t.equal(files.body.files.length, 1, 'no row for it')
  const history = await call(server, ann, 'GET', `/conversations/${conversationId}/messages`)
  t.equal(history.body.messages.length, 1, 'no message for it')

  // Exactly up to the quota is allowed; Bob's quota is his own.
  t.equal((await upload(server, ann, `/projects/${projectId}/files`, 1000)).status, 201)
  t.equal((await upload(server, bob, `/projects/${projectId}/files`, 3000)).status, 201)
  t.equal((await upload(server, ann, `/conversations/${conversationId}/files`, 1)).status, 413)

  // Deleting a project file frees its bytes.
  t.equal(
    (await call(server, ann, 'DELETE', `/projects/${projectId}/files/${first.body.file.id}`)).status,
    204,
  )
  t.equal((await upload(server, ann, `/conversations/${conversationId}/files`, 2000)).status, 201)
  t.equal((await upload(server, ann, `/conversations/${conversationId}/files`, 1)).status, 413)
  t.equal(server.onDisk().length, 3, 'the files of both accounts that are still stored')
})

t.test('deleting the message that carries a file frees its bytes', async (t) => {
  const server = await setup(t, { uploadQuotaBytes: 3000 })
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const id = await createConversation(server.app, ann, [bob])
  const sent = await upload(server, ann, `/conversations/${id}/files`, 2000)
  t.equal(sent.status, 201)
  t.equal((await upload(server, ann, `/conversations/${id}/files`, 2000)).status, 413)
  t.equal(
    (await call(server, ann, 'DELETE', `/conversations/${id}/messages/${sent.body.message.id}`)).status,
    204,
  )
  t.equal((await upload(server, ann, `/conversations/${id}/files`, 2000)).status, 201)
})

t.test('two concurrent uploads cannot both pass the quota', async (t) => {
  const server = await setup(t, { uploadQuotaBytes: 3000 })
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const group = await createConversation(server.app, ann, [bob], 'one')
  const other = await createConversation(server.app, ann, [bob], 'two')
  const results = await Promise.all([
    upload(server, ann, `/conversations/${group}/files`, 2000),
    upload(server, ann, `/conversations/${other}/files`, 2000),
    upload(server, ann, `/conversations/${group}/files`, 2000),
  ])
  const statuses = results.map((r) => r.status).sort()
  t.same(statuses, [201, 413, 413], 'one fits, the others do not')
  t.equal(server.onDisk().length, 1, 'only the accepted one is on disk')
})

t.test(
  'two nodes on one database: concurrent uploads of one account cannot both pass the quota',
  async (t) => {
    const a = await setup(t, { uploadQuotaBytes: 3000 })
    const { databaseUrl, uploadDir } = a.app.ctx.config
    const b = await setup(t, { uploadQuotaBytes: 3000, databaseUrl, uploadDir })
    const ann = await register(a.app, 'ann')
    const bob = await register(a.app, 'bob')
    const one = await createConversation(a.app, ann, [bob], 'one')
    const two = await createConversation(a.app, ann, [bob], 'two')
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all([
        upload(a, ann, `/conversations/${one}/files`, 2000),
        upload(b, ann, `/conversations/${two}/files`, 2000),
      ])
      t.same(results.map((r) => r.status).sort(), [201, 413], `round ${round}: one fits, the other does not`)
      const stored = results.find((r) => r.status === 201)
      // Free the quota for the next round.
      t.equal(
        (
          await call(
            a,
            ann,
            'DELETE',
            `/conversations/${stored?.body.message.conversation_id}/messages/${stored?.body.message.id}`,
          )
        ).status,
        204,
      )
    }
    t.same(a.onDisk(), [], 'nothing left on disk')
  },
)

t.test('MAX_SOCKETS_PER_USER: the next upgrade gets 429; closing one frees a place', async (t) => {
  const server = await setup(t, { maxSocketsPerUser: 2 })
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const first = await connect(server.ws, ann.token)
  const second = await connect(server.ws, ann.token)
  t.equal(await upgradeStatus(server.ws, ann.auth), 429)
  const refused = await refusedUpgrade(server.ws, ann.auth)
  t.equal(refused.status, 429)
  t.same(Object.keys(refused.body).sort(), ['code', 'error', 'message', 'statusCode'], 'the error shape')
  t.equal(refused.body.code, 'TOO_MANY_SOCKETS')
  const bobs = await connect(server.ws, bob.token)
  t.equal((await bobs.request({ type: 'ping' })).type, 'pong', "another account's sockets are not counted")
  t.equal(await openSockets(server), 3, 'no socket was made for the refused upgrades')

  await first.close()
  // The server hears the close a moment after the client: wait for its count to drop.
  for (let i = 0; i < 100 && (await openSockets(server)) > 2; i++) await new Promise((r) => setTimeout(r, 20))
  const third = await connect(server.ws, ann.token)
  t.equal((await third.request({ type: 'ping' })).type, 'pong')
  t.equal(await upgradeStatus(server.ws, ann.auth), 429, 'full again')
  await Promise.all([second.close(), third.close(), bobs.close()])
})

t.test('token buckets: spend, refill, and full buckets forgotten', async (t) => {
  const buckets = new TokenBuckets(2, 4) // 2 a second, bursts of 4
  const start = 1_000_000
  for (let i = 0; i < 4; i++) {
    t.equal(buckets.waitSeconds(1, 1, start), 0)
    buckets.take(1, 1, start)
  }
  t.equal(buckets.waitSeconds(1, 1, start), 0.5, 'empty: half a second until the next token')
  t.equal(buckets.waitSeconds(1, 1, start + 500), 0, 'refilled')
  t.equal(buckets.available(1, start + 60_000), 4, 'never above the burst')
  t.equal(buckets.available(2, start), 4, 'another key has its own')
  t.equal(buckets.size, 1)
  buckets.take(2, 1, start + 120_000)
  t.equal(buckets.size, 1, "account 1's full bucket is dropped; account 2's spent one is kept")
  t.equal(buckets.available(1, start + 120_000), 4, 'a dropped bucket is a full one')
})
