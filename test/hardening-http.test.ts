import t from 'tap'
import { createConversation, register, startTestServer } from './helpers/app.js'
import { openRaw, settlesWithin, sleep } from './helpers/raw-http.js'
import { connect } from './helpers/ws.js'

// Slow and silent clients: timeouts, and the session checked before any body is read.

const TIMEOUT_MS = 500
/** How long a test waits for what should happen, well beyond TIMEOUT_MS: a bound, not a measurement. */
const PATIENCE_MS = 4000

const head = (method: string, path: string, length: number, extra = '') =>
  `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
  `Content-Length: ${length}\r\n${extra}\r\n`

t.test('an unauthenticated body gets 401 before it is sent, on every route with a body', async (t) => {
  const server = await startTestServer(t, { requestTimeoutMs: TIMEOUT_MS })
  const routes: Array<[string, string]> = [
    ['POST', '/conversations'],
    ['POST', '/conversations/1/messages'],
    ['PATCH', '/conversations/1/messages/1'],
    ['POST', '/projects'],
    ['POST', '/projects/1/members'],
    ['PATCH', '/users/me'],
    ['POST', '/auth/password'],
    ['DELETE', '/auth/user'],
    ['POST', '/conversations/1/files'],
  ]
  for (const [method, path] of routes) {
    const raw = await openRaw(server.http)
    // Headers and one byte of a declared 1,000: the server cannot have the body.
    raw.socket.write(`${head(method, path, 1000)}{`)
    const arrived = await settlesWithin(raw.firstReply, PATIENCE_MS)
    t.ok(arrived, `${method} ${path}: an answer before the body`)
    t.match(raw.received(), /^HTTP\/1\.1 401 /, `${method} ${path}: 401`)
    // Nothing more is read from it: the server closes the connection.
    t.ok(await settlesWithin(raw.closed, PATIENCE_MS), `${method} ${path}: closed`)
    raw.socket.destroy()
  }
})

t.test('a connection that sends nothing is closed after the timeout', async (t) => {
  const server = await startTestServer(t, { requestTimeoutMs: TIMEOUT_MS })
  const silent = await openRaw(server.http)
  t.ok(await settlesWithin(silent.closed, PATIENCE_MS), 'closed by the server')
  // Half a request line, then nothing.
  const halfway = await openRaw(server.http)
  halfway.socket.write('GET /healthz HTTP/1.1\r\nHost: local')
  t.ok(await settlesWithin(halfway.closed, PATIENCE_MS), 'closed by the server')
})

t.test('an authenticated body dripped past the timeout is cut off with 408', async (t) => {
  const server = await startTestServer(t, { requestTimeoutMs: TIMEOUT_MS })
  const ann = await register(server.app, 'ann')
  const raw = await openRaw(server.http)
  raw.socket.write(head('POST', '/conversations', 1000, `Authorization: Bearer ${ann.token}\r\n`))
  // One byte well within the idle timeout each time, so only a whole-request deadline stops it.
  let sent = 0
  while (!raw.socket.destroyed && raw.received() === '' && sent < 40) {
    raw.socket.write(' ')
    sent++
    await sleep(TIMEOUT_MS / 5)
  }
  await settlesWithin(raw.closed, PATIENCE_MS)
  t.match(raw.received(), /^HTTP\/1\.1 408 /, 'Request Timeout')
  t.match(raw.received(), /"code":"REQUEST_TIMEOUT"/)
  t.ok(sent < 40, 'stopped before the drip ended')
})

t.test('an upload on a slow link outlasts the timeout and succeeds', async (t) => {
  const server = await startTestServer(t, { requestTimeoutMs: TIMEOUT_MS })
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const id = await createConversation(server.app, ann, [bob])
  const boundary = 'slowlinkboundary'
  const file = 'x'.repeat(20_000)
  const body =
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"\r\n` +
    `Content-Type: text/plain\r\n\r\n${file}\r\n--${boundary}--\r\n`
  const raw = await openRaw(server.http)
  raw.socket.write(
    `POST /conversations/${id}/files HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ann.token}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
  )
  // Eight pieces, one every half timeout: the whole body takes twice the timeout to arrive.
  const pieces = 8
  const size = Math.ceil(body.length / pieces)
  for (let i = 0; i < pieces; i++) {
    raw.socket.write(body.slice(i * size, (i + 1) * size))
    await sleep(TIMEOUT_MS / 4)
  }
  t.ok(await settlesWithin(raw.firstReply, PATIENCE_MS), 'answered')
  t.match(raw.received(), /^HTTP\/1\.1 201 /, raw.received().slice(0, 200))
  raw.socket.destroy()
})

t.test('a WebSocket idle longer than the timeout stays open', async (t) => {
  const server = await startTestServer(t, { requestTimeoutMs: TIMEOUT_MS })
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const id = await createConversation(server.app, ann, [bob])
  const socket = await connect(server.ws, ann.token)
  await sleep(TIMEOUT_MS * 3)
  t.equal(socket.closeCode, undefined, 'still open')
  const ack = await socket.request({ type: 'send_message', conversation_id: id, content: 'still here' })
  t.equal(ack.type, 'ack')
  await socket.close()
})
