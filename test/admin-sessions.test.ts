import t from 'tap'
import { hashToken } from '../src/db/queries/sessions.js'
import { register, startTestServer } from './helpers/app.js'
import { connect, upgradeStatus } from './helpers/ws.js'

// My sessions (GET/DELETE /auth/sessions), personal API tokens (/auth/tokens) and admin reset links
// (POST /users/:id/password-reset, POST /auth/reset).

const PASSWORD = 'correct horse battery'
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('sessions: listed with agent, ip and times; ending one closes its sockets with 4001', async (t) => {
  const { app, ws } = await startTestServer(t)
  const ann = await register(app, 'se_ann')
  const bob = await register(app, 'se_bob')
  const phone = await app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { 'user-agent': 'PhoneBrowser/1.0' },
    payload: { username: 'se_ann', password: PASSWORD },
  })
  const phoneToken = phone.json().token as string
  const list = await app.inject({ url: '/auth/sessions', headers: ann.auth })
  t.equal(list.statusCode, 200)
  const sessions = list.json().sessions as Array<Record<string, unknown>>
  t.equal(sessions.length, 2)
  const [newest, oldest] = sessions
  t.match(newest, { user_agent: 'PhoneBrowser/1.0', ip: '127.0.0.1', current: false })
  t.equal(oldest?.current, true, 'the session of this request')
  t.ok(newest?.created_at && newest?.last_used_at)
  t.notOk(JSON.stringify(sessions).includes(phoneToken), 'no token in the list')
  t.notOk(JSON.stringify(sessions).includes(hashToken(phoneToken)), 'nor its hash')

  const phoneSocket = await connect(ws, phoneToken)
  const mySocket = await connect(ws, ann.token)
  const other = await app.inject({ method: 'DELETE', url: `/auth/sessions/${newest?.id}`, headers: bob.auth })
  t.equal(other.statusCode, 404, "another user's session is not found")
  const ended = await app.inject({ method: 'DELETE', url: `/auth/sessions/${newest?.id}`, headers: ann.auth })
  t.equal(ended.statusCode, 204)
  t.equal(await phoneSocket.whenClosed(), 4001)
  t.equal((await app.inject({ url: '/auth/check', headers: bearer(phoneToken) })).statusCode, 401)
  t.equal((await mySocket.request({ type: 'ping' })).type, 'pong', 'my other socket stays')
  t.equal((await app.inject({ url: '/auth/sessions', headers: ann.auth })).json().sessions.length, 1)
  await mySocket.close()
})

t.test('last_used_at is written at most once a minute', async (t) => {
  const { app } = await startTestServer(t)
  const ann = await register(app, 'lu_ann')
  const read = async () => (await app.inject({ url: '/auth/sessions', headers: ann.auth })).json().sessions[0]
  const first = await read()
  await app.inject({ url: '/auth/check', headers: ann.auth })
  t.equal((await read()).last_used_at, first.last_used_at, 'used again within the minute: not written')
  const twoMinutesAgo = new Date(Date.now() - 120_000).toISOString()
  await app.ctx.db
    .updateTable('sessions')
    .set({ last_used_at: twoMinutesAgo })
    .where('id', '=', first.id)
    .execute()
  await app.inject({ url: '/auth/check', headers: ann.auth }) // looked up afresh: no cache
  const after = await read()
  t.ok(after.last_used_at > twoMinutesAgo, 'a minute later: written')
})

t.test('personal API tokens: shown once, Bearer on HTTP and /ws, revocable, limited', async (t) => {
  const { app, ws } = await startTestServer(t)
  const ann = await register(app, 'tk_ann')
  const bob = await register(app, 'tk_bob')
  const made = await app.inject({
    method: 'POST',
    url: '/auth/tokens',
    headers: ann.auth,
    payload: { name: 'deploy bot', expires_in_days: 30 },
  })
  t.equal(made.statusCode, 201)
  const { token, secret } = made.json()
  t.match(secret, /^pat_[A-Za-z0-9_-]{43}$/)
  t.match(token, { name: 'deploy bot', last_used_at: null })
  const days = (Date.parse(token.expires_at) - Date.now()) / 86_400_000
  t.ok(days > 29.9 && days <= 30, 'expires in 30 days')
  const stored = await app.ctx.db
    .selectFrom('sessions')
    .select('token_hash')
    .where('id', '=', token.id)
    .executeTakeFirstOrThrow()
  t.equal(stored.token_hash, hashToken(secret), 'stored hashed')

  const forever = (
    await app.inject({ method: 'POST', url: '/auth/tokens', headers: ann.auth, payload: { name: 'ci' } })
  ).json()
  t.equal(forever.token.expires_at, null, 'no expiry asked: never')
  const list = await app.inject({ url: '/auth/tokens', headers: ann.auth })
  t.same(
    list.json().tokens.map((k: { name: string }) => k.name),
    ['ci', 'deploy bot'],
  )
  t.notOk(list.body.includes(secret), 'the secret is not shown again')
  t.equal(
    (await app.inject({ url: '/auth/sessions', headers: ann.auth })).json().sessions.length,
    1,
    'not a session',
  )

  // Works as a Bearer token on HTTP and on the socket (header and ?token=).
  const check = await app.inject({ url: '/auth/check', headers: bearer(secret) })
  t.equal(check.json().user.id, ann.id)
  t.equal((await app.inject({ url: '/conversations', headers: bearer(secret) })).statusCode, 200)
  const socket = await connect(ws, secret)
  t.equal(await upgradeStatus(`${ws}?token=${secret}`), 101)
  // It may not change the password or delete the account.
  const password = await app.inject({
    method: 'POST',
    url: '/auth/password',
    headers: bearer(secret),
    payload: { current_password: PASSWORD, new_password: 'another horse battery' },
  })
  t.equal(password.statusCode, 403)
  const remove = await app.inject({
    method: 'DELETE',
    url: '/auth/user',
    headers: bearer(secret),
    payload: { password: PASSWORD },
  })
  t.equal(remove.statusCode, 403)

  t.equal(
    (await app.inject({ method: 'DELETE', url: `/auth/tokens/${token.id}`, headers: bob.auth })).statusCode,
    404,
  )
  const mySession = (await app.inject({ url: '/auth/sessions', headers: ann.auth })).json().sessions[0].id
  t.equal(
    (await app.inject({ method: 'DELETE', url: `/auth/tokens/${mySession}`, headers: ann.auth })).statusCode,
    404,
    'a session is not a token',
  )
  const revoked = await app.inject({ method: 'DELETE', url: `/auth/tokens/${token.id}`, headers: ann.auth })
  t.equal(revoked.statusCode, 204)
  t.equal(await socket.whenClosed(), 4001, 'its socket closes at once')
  t.equal((await app.inject({ url: '/conversations', headers: bearer(secret) })).statusCode, 401)
  t.equal(await upgradeStatus(ws, bearer(secret)), 401)

  // An expired token opens nothing.
  await app.ctx.db
    .updateTable('sessions')
    .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
    .where('id', '=', forever.token.id)
    .execute()
  t.equal((await app.inject({ url: '/auth/check', headers: bearer(forever.secret) })).statusCode, 401)
  for (const body of [{}, { name: '' }, { name: ' ' }, { name: 'x', expires_in_days: 0 }]) {
    const bad = await app.inject({ method: 'POST', url: '/auth/tokens', headers: ann.auth, payload: body })
    t.equal(bad.statusCode, 400, `${JSON.stringify(body)} is 400`)
  }
})

t.test('reset links: admin only, one-time, an hour, every session ends', async (t) => {
  const { app, ws } = await startTestServer(t)
  const admin = await register(app, 'rs_admin')
  const ann = await register(app, 'rs_ann')
  const denied = await app.inject({
    method: 'POST',
    url: `/users/${admin.id}/password-reset`,
    headers: ann.auth,
  })
  t.equal(denied.statusCode, 403)
  const make = () =>
    app.inject({ method: 'POST', url: `/users/${ann.id}/password-reset`, headers: admin.auth })
  const earlier = (await make()).json().reset
  const made = await make()
  t.equal(made.statusCode, 201)
  const { reset } = made.json()
  t.ok(reset.token.length >= 43, '256 bits')
  t.equal(reset.url, `http://localhost:80/reset/${reset.token}`)
  const minutes = (Date.parse(reset.expires_at) - Date.now()) / 60_000
  t.ok(minutes > 59 && minutes <= 60, 'valid an hour')

  const apply = (token: string, new_password = 'brand new password') =>
    app.inject({ method: 'POST', url: '/auth/reset', payload: { token, new_password } })
  t.equal((await apply(earlier.token)).json().code, 'RESET_INVALID', 'a newer link replaces an earlier one')
  const tokenSecret = (
    await app.inject({ method: 'POST', url: '/auth/tokens', headers: ann.auth, payload: { name: 't' } })
  ).json().secret
  const socket = await connect(ws, ann.token)
  t.equal((await apply(reset.token)).statusCode, 204)
  t.equal(await socket.whenClosed(), 4001, 'sockets close with 4001')
  t.equal((await app.inject({ url: '/auth/check', headers: ann.auth })).statusCode, 401, 'sessions ended')
  t.equal(
    (await app.inject({ url: '/auth/check', headers: bearer(tokenSecret) })).statusCode,
    401,
    'tokens too',
  )
  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'rs_ann', password: 'brand new password' },
  })
  t.equal(login.statusCode, 200)
  const again = await apply(reset.token, 'third password here')
  t.equal(again.statusCode, 400)
  t.equal(again.json().code, 'RESET_INVALID', 'one-time')

  const late = (await make()).json().reset
  await app.ctx.db
    .updateTable('password_resets')
    .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
    .where('token_hash', '=', hashToken(late.token))
    .execute()
  t.equal((await apply(late.token)).json().code, 'RESET_INVALID', 'expired')
  t.equal((await apply('x'.repeat(43))).json().code, 'RESET_INVALID', 'unknown')
  t.equal((await apply('short', 'short')).statusCode, 400, 'a short password is refused first')
  t.equal(
    (await app.inject({ method: 'POST', url: '/users/999999/password-reset', headers: admin.auth }))
      .statusCode,
    404,
  )
})
