import t from 'tap'
import { loadConfig } from '../src/config.js'
import { buildTestApp, register } from './helpers/app.js'

const json = { 'content-type': 'application/json' }

t.test('register: first account is admin, later ones users; cookie and token', async (t) => {
  const app = await buildTestApp(t)
  const first = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username: 'alice', password: 'password1' },
  })
  t.equal(first.statusCode, 201)
  const body = first.json()
  t.equal(body.user.username, 'alice')
  t.equal(body.user.role, 'admin')
  t.equal(body.user.display_name, 'alice')
  t.match(body.user.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  t.notOk('password_hash' in body.user, 'no hash in the response')
  t.ok(Buffer.from(body.token, 'base64url').length >= 16, 'token of at least 128 bits')
  const cookie = String(first.headers['set-cookie'])
  t.match(cookie, /^sid=/)
  t.match(cookie, /HttpOnly/)
  t.match(cookie, /SameSite=Lax/)
  t.match(cookie, /Path=\//)
  t.notMatch(cookie, /Secure/)

  const second = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username: 'bob', password: 'password2', display_name: 'Bob B' },
  })
  t.equal(second.json().user.role, 'user')
  t.equal(second.json().user.display_name, 'Bob B')
})

t.test('register: duplicate names in any letter case are 409 USERNAME_TAKEN', async (t) => {
  const app = await buildTestApp(t)
  await register(app, 'Carol')
  const again = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username: 'cAROL', password: 'password1' },
  })
  t.equal(again.statusCode, 409)
  t.same(again.json(), {
    statusCode: 409,
    code: 'USERNAME_TAKEN',
    error: 'Conflict',
    message: 'That username is taken',
  })
})

t.test('register: invalid input is 400 BAD_REQUEST with a message that names the field', async (t) => {
  const app = await buildTestApp(t)
  const cases: Array<[unknown, RegExp]> = [
    [{ username: 'ab', password: 'password1' }, /username/],
    [{ username: 'a'.repeat(33), password: 'password1' }, /username/],
    [{ username: 'bad name', password: 'password1' }, /username/],
    [{ username: 'dave', password: 'short' }, /password/],
    [{ username: 'dave', password: 'x'.repeat(257) }, /password/],
    [{ username: 'dave' }, /password is required/],
    [{ password: 'password1' }, /username is required/],
    [{ username: 'dave', password: 'password1', role: 'admin' }, /unknown field role/],
    [{ username: 5, password: 'password1' }, /username/],
  ]
  for (const [payload, message] of cases) {
    const response = await app.inject({ method: 'POST', url: '/auth/register', payload: payload as object })
    t.equal(response.statusCode, 400, JSON.stringify(payload).slice(0, 60))
    t.equal(response.json().code, 'BAD_REQUEST')
    t.match(response.json().message, message)
  }
  const malformed = await app.inject({
    method: 'POST',
    url: '/auth/register',
    headers: json,
    payload: '{"username":',
  })
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.json().code, 'BAD_REQUEST')
  const users = await app.ctx.db.selectFrom('users').selectAll().execute()
  t.equal(users.length, 0, 'nothing was created by bad input')
})

t.test('login: right password works, wrong password and unknown user are the same 401', async (t) => {
  const app = await buildTestApp(t)
  await register(app, 'erin')
  const ok = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'ERIN', password: 'correct horse battery' },
  })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().user.username, 'erin')
  const wrong = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'erin', password: 'nope-nope' },
  })
  const unknown = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'nobody', password: 'nope-nope' },
  })
  t.equal(wrong.statusCode, 401)
  t.same(wrong.json(), unknown.json())
  t.equal(wrong.json().code, 'INVALID_CREDENTIALS')
})

t.test('login: a new session every time, each one revocable on its own', async (t) => {
  const app = await buildTestApp(t)
  const account = await register(app, 'frank')
  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'frank', password: 'correct horse battery' },
  })
  const token2 = login.json().token
  t.not(token2, account.token)
  const rows = await app.ctx.db.selectFrom('sessions').selectAll().execute()
  t.equal(rows.length, 2)
  for (const row of rows) {
    t.match(row.token_hash, /^[0-9a-f]{64}$/)
    t.not(row.token_hash, account.token)
    t.not(row.token_hash, token2)
  }
  const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: account.auth })
  t.equal(logout.statusCode, 204)
  t.equal((await app.inject({ url: '/auth/check', headers: account.auth })).statusCode, 401)
  const still = await app.inject({ url: '/auth/check', headers: { authorization: `Bearer ${token2}` } })
  t.equal(still.statusCode, 200)
  t.equal(still.json().user.username, 'frank')
})

t.test('check: by bearer token and by cookie; 401 without', async (t) => {
  const app = await buildTestApp(t)
  const account = await register(app, 'gina')
  t.equal((await app.inject({ url: '/auth/check', headers: account.auth })).json().user.id, account.id)
  const byCookie = await app.inject({ url: '/auth/check', cookies: { sid: account.token } })
  t.equal(byCookie.statusCode, 200)
  const none = await app.inject({ url: '/auth/check' })
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'UNAUTHORIZED')
  const bogus = await app.inject({
    url: '/auth/check',
    headers: { authorization: 'Bearer not-a-real-token-at-all' },
  })
  t.equal(bogus.statusCode, 401)
})

t.test('cookie requests from a foreign origin are 403; allowed and own origins pass', async (t) => {
  const app = await buildTestApp(t, { allowedOrigins: ['https://chat.example.com'] })
  const account = await register(app, 'hank')
  const foreign = await app.inject({
    url: '/auth/check',
    cookies: { sid: account.token },
    headers: { origin: 'https://evil.example', host: 'localhost:3000' },
  })
  t.equal(foreign.statusCode, 403)
  t.equal(foreign.json().code, 'ORIGIN_NOT_ALLOWED')
  const own = await app.inject({
    url: '/auth/check',
    cookies: { sid: account.token },
    headers: { origin: 'http://localhost:3000', host: 'localhost:3000' },
  })
  t.equal(own.statusCode, 200)
  const allowed = await app.inject({
    url: '/auth/check',
    cookies: { sid: account.token },
    headers: { origin: 'https://chat.example.com', host: 'localhost:3000' },
  })
  t.equal(allowed.statusCode, 200)
  t.equal(allowed.headers['access-control-allow-origin'], 'https://chat.example.com')
  const bearer = await app.inject({
    url: '/auth/check',
    headers: { ...account.auth, origin: 'https://evil.example' },
  })
  t.equal(
    bearer.statusCode,
    200,
    'a bearer token is not sent by browsers on their own, so origin does not matter',
  )
})

t.test('sessions expire when idle and at their absolute lifetime', async (t) => {
  const app = await buildTestApp(t, { sessionIdleSeconds: 3600, sessionMaxSeconds: 7200 })
  const account = await register(app, 'ivy')
  const old = new Date(Date.now() - 3601 * 1000).toISOString()
  await app.ctx.db.updateTable('sessions').set({ last_used_at: old }).execute()
  t.equal((await app.inject({ url: '/auth/check', headers: account.auth })).statusCode, 401, 'idle too long')
  t.equal((await app.ctx.db.selectFrom('sessions').selectAll().execute()).length, 0, 'and removed')

  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'ivy', password: 'correct horse battery' },
  })
  const token = login.json().token
  await app.ctx.db
    .updateTable('sessions')
    .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
    .execute()
  t.equal(
    (await app.inject({ url: '/auth/check', headers: { authorization: `Bearer ${token}` } })).statusCode,
    401,
  )
})

t.test('change password: other sessions end, this one stays, old password stops working', async (t) => {
  const app = await buildTestApp(t)
  const account = await register(app, 'jack')
  const other = (
    await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'jack', password: 'correct horse battery' },
    })
  ).json().token
  const wrong = await app.inject({
    method: 'POST',
    url: '/auth/password',
    headers: account.auth,
    payload: { current_password: 'not-it-at-all', new_password: 'new password 1' },
  })
  t.equal(wrong.statusCode, 401)
  const ok = await app.inject({
    method: 'POST',
    url: '/auth/password',
    headers: account.auth,
    payload: { current_password: 'correct horse battery', new_password: 'new password 1' },
  })
  t.equal(ok.statusCode, 204)
  t.equal((await app.inject({ url: '/auth/check', headers: account.auth })).statusCode, 200)
  t.equal(
    (await app.inject({ url: '/auth/check', headers: { authorization: `Bearer ${other}` } })).statusCode,
    401,
  )
  const oldLogin = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'jack', password: 'correct horse battery' },
  })
  t.equal(oldLogin.statusCode, 401)
  const newLogin = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'jack', password: 'new password 1' },
  })
  t.equal(newLogin.statusCode, 200)
})

t.test(
  'delete account: wrong password 401; then sessions end, name is freed, row kept as deleted',
  async (t) => {
    const app = await buildTestApp(t)
    await register(app, 'admin0')
    const account = await register(app, 'kate')
    const wrong = await app.inject({
      method: 'DELETE',
      url: '/auth/user',
      headers: account.auth,
      payload: { password: 'nope-nope' },
    })
    t.equal(wrong.statusCode, 401)
    const ok = await app.inject({
      method: 'DELETE',
      url: '/auth/user',
      headers: account.auth,
      payload: { password: 'correct horse battery' },
    })
    t.equal(ok.statusCode, 204)
    t.equal((await app.inject({ url: '/auth/check', headers: account.auth })).statusCode, 401)
    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'kate', password: 'correct horse battery' },
    })
    t.equal(login.statusCode, 401)
    const again = await register(app, 'kate')
    t.not(again.id, account.id, 'the name can be registered again')
    const other = await register(app, 'leo')
    const shown = await app.inject({ url: `/users/${account.id}`, headers: other.auth })
    t.equal(shown.json().user.deleted, true)
    t.equal(shown.json().user.display_name, 'Deleted user')
  },
)

t.test('login and register are rate-limited per address with 429 and Retry-After', async (t) => {
  const app = await buildTestApp(t, { authRateLimit: 3 })
  const attempt = () =>
    app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'nobody', password: 'whatever1' } })
  for (let i = 0; i < 3; i++) t.equal((await attempt()).statusCode, 401)
  const limited = await attempt()
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().code, 'RATE_LIMITED')
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After is set')
})

t.test('argon2id with at least m=19 MiB, t=2, p=1', async (t) => {
  // A default config's cost (what a real server gets), not the cheap one test accounts use.
  const app = await buildTestApp(t, { argon2: loadConfig({}).argon2 })
  await register(app, 'mia')
  const row = await app.ctx.db.selectFrom('users').select('password_hash').executeTakeFirstOrThrow()
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(row.password_hash)
  t.ok(match, 'argon2id encoded hash')
  t.ok(Number(match?.[1]) >= 19456)
  t.ok(Number(match?.[2]) >= 2)
  t.ok(Number(match?.[3]) >= 1)
})
