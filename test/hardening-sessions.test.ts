import t from 'tap'
import { register, startTestServer } from './helpers/app.js'
import { sleep } from './helpers/raw-http.js'
import { connect } from './helpers/ws.js'

// An open socket lives no longer than its session. Expiry values below the configured minimum
// (60 s) are only possible through test overrides, which is what keeps this file short.

/** A bound on waiting for a close that should come, not a measurement. */
const PATIENCE_MS = 4000

const closedWithin = (socket: Awaited<ReturnType<typeof connect>>, ms: number) =>
  Promise.race([socket.whenClosed(), sleep(ms).then(() => undefined)])

t.test('an idle socket closes with 4001 when its session idles out', async (t) => {
  const server = await startTestServer(t, { sessionIdleSeconds: 1, sessionMaxSeconds: 3600 })
  const ann = await register(server.app, 'ann')
  const socket = await connect(server.ws, ann.token)
  t.equal(await closedWithin(socket, PATIENCE_MS), 4001)
  const check = await server.app.inject({ url: '/auth/check', headers: ann.auth })
  t.equal(check.statusCode, 401, 'the session is over for HTTP too')
})

t.test('socket activity keeps the session alive; the absolute expiry closes it anyway', async (t) => {
  const server = await startTestServer(t, { sessionIdleSeconds: 1, sessionMaxSeconds: 3 })
  const ann = await register(server.app, 'ann')
  const socket = await connect(server.ws, ann.token)
  // Busy for longer than the idle time: the session is in use, so it stays.
  for (let i = 0; i < 9; i++) {
    t.equal((await socket.request({ type: 'ping' })).type, 'pong')
    await sleep(200)
  }
  t.equal(socket.closeCode, undefined, 'open after twice the idle time, while active')
  const check = await server.app.inject({ url: '/auth/check', headers: ann.auth })
  t.equal(check.statusCode, 200, 'the socket kept the session alive for HTTP too')
  // Still busy, but past the session's lifetime: closed.
  let sending = true
  const busy = (async () => {
    while (sending && socket.closeCode === undefined) {
      socket.send({ type: 'ping' })
      await sleep(150)
    }
  })()
  t.equal(await closedWithin(socket, PATIENCE_MS), 4001)
  sending = false
  await busy
  t.equal((await server.app.inject({ url: '/auth/check', headers: ann.auth })).statusCode, 401)
})

t.test('logout and password change still close the session sockets with 4001', async (t) => {
  const server = await startTestServer(t)
  const ann = await register(server.app, 'ann')
  const first = await connect(server.ws, ann.token)
  await server.app.inject({ method: 'POST', url: '/auth/logout', headers: ann.auth })
  t.equal(await closedWithin(first, PATIENCE_MS), 4001)
  const login = await server.app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'ann', password: 'correct horse battery' },
  })
  const other = await server.app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'ann', password: 'correct horse battery' },
  })
  const second = await connect(server.ws, other.json().token)
  await server.app.inject({
    method: 'POST',
    url: '/auth/password',
    headers: { authorization: `Bearer ${login.json().token}` },
    payload: { current_password: 'correct horse battery', new_password: 'another good password' },
  })
  t.equal(await closedWithin(second, PATIENCE_MS), 4001)
})
