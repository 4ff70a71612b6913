import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { testConfig } from '../src/config.js'
import { buildTestApp, register } from './helpers/app.js'

const ERROR_KEYS = ['code', 'error', 'message', 'statusCode']

t.test('GET /healthz is 200 and checks the database', async (t) => {
  const app = await buildTestApp(t)
  const response = await app.inject({ url: '/healthz' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'ok', max_upload_bytes: app.config.maxUploadBytes })
  // with the database gone, liveness fails without leaking why
  await app.ctx.database.close()
  const broken = await app.inject({ url: '/healthz' })
  t.ok(broken.statusCode === 500 || broken.statusCode === 503, `fails: ${broken.statusCode}`)
  t.same(Object.keys(broken.json()).sort(), ERROR_KEYS)
  t.match(broken.json().code, /^(INTERNAL_ERROR|UNAVAILABLE)$/)
  t.notMatch(broken.body, /SELECT|sqlite|connection|at /i)
})

t.test('GET /docs is an OpenAPI 3 document of the HTTP API', async (t) => {
  const app = await buildTestApp(t)
  const response = await app.inject({ url: '/docs' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /application\/json/)
  const doc = response.json()
  t.match(doc.openapi, /^3\./)
  t.equal(doc.info.title, 'Parley')
  for (const path of ['/auth/register', '/auth/login', '/auth/logout', '/users', '/users/{id}', '/healthz']) {
    t.ok(doc.paths[path], `lists ${path}`)
  }
  t.ok(doc.paths['/auth/register'].post.requestBody, 'with its request body')
  t.ok(doc.paths['/auth/register'].post.responses['201'], 'and its 201 answer')
  t.notOk(doc.paths['/docs'], 'but not itself')
})

t.test('an unknown route is a 404 in the contract error shape', async (t) => {
  const app = await buildTestApp(t)
  for (const [method, url] of [
    ['GET', '/nope'],
    ['POST', '/auth/nope'],
    ['PUT', '/users/me'],
    ['GET', '/nope?token=abc'],
  ] as const) {
    const response = await app.inject({ method, url })
    t.equal(response.statusCode, 404, `${method} ${url}`)
    t.match(response.headers['content-type'], /application\/json/)
    const body = response.json()
    t.same(Object.keys(body).sort(), ERROR_KEYS)
    t.equal(body.code, 'NOT_FOUND')
    t.equal(body.error, 'Not Found')
    t.notMatch(body.message, /token|abc/, 'the query string is not echoed')
  }
})

t.test('a 500 never leaks its cause', async (t) => {
  const app = await buildTestApp(t)
  app.get('/boom', async () => {
    throw new Error('SQLITE_ERROR near "x": SELECT secret FROM users')
  })
  app.get('/boom-status', async () => {
    const error = new Error('SELECT secret FROM users') as Error & { statusCode: number }
    error.statusCode = 503
    throw error
  })
  app.get('/boom-string', async () => {
    throw 'SELECT secret FROM users'
  })
  for (const url of ['/boom', '/boom-status', '/boom-string']) {
    const response = await app.inject({ url })
    t.equal(response.statusCode, 500, url)
    t.same(
      response.json(),
      {
        statusCode: 500,
        code: 'INTERNAL_ERROR',
        error: 'Internal Server Error',
        message: 'Internal server error',
      },
      url,
    )
    t.notMatch(response.body, /SELECT|secret|at /)
  }
})

t.test('a JSON body over 1 MiB is 413; a body in another format is 415', async (t) => {
  const app = await buildTestApp(t)
  const big = await app.inject({
    method: 'POST',
    url: '/auth/register',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ username: 'biggie', password: 'x'.repeat(1024 * 1024) }),
  })
  t.equal(big.statusCode, 413)
  t.same(Object.keys(big.json()).sort(), ERROR_KEYS)
  t.equal(big.json().code, 'PAYLOAD_TOO_LARGE')
  t.equal(big.json().error, 'Payload Too Large')

  const justUnder = await app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ username: 'u', password: 'x'.repeat(1000 * 1000) }),
  })
  t.equal(justUnder.statusCode, 400, 'under the limit, the schema answers instead')

  const xml = await app.inject({
    method: 'POST',
    url: '/auth/register',
    headers: { 'content-type': 'application/xml' },
    payload: '<user><username>x</username></user>',
  })
  t.equal(xml.statusCode, 415)
  t.same(Object.keys(xml.json()).sort(), ERROR_KEYS)
  t.equal(xml.json().code, 'UNSUPPORTED_MEDIA_TYPE')
  t.equal(xml.json().error, 'Unsupported Media Type')
  t.equal(xml.json().statusCode, 415)

  const form = await app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'username=a&password=b',
  })
  t.equal(form.statusCode, 415)
  t.equal(form.json().code, 'UNSUPPORTED_MEDIA_TYPE')

  const malformed = await app.inject({
    method: 'POST',
    url: '/auth/register',
    headers: { 'content-type': 'application/json' },
    payload: '{"username": "x", ',
  })
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.json().code, 'BAD_REQUEST')
})

t.test('no password or token is ever written to the log', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-test-'))
  const lines: string[] = []
  const app = await buildApp({
    config: testConfig({ databaseUrl: `sqlite:${join(dir, 'parley.db')}`, logLevel: 'trace' }),
    logStream: { write: (line: string) => lines.push(line) },
  })
  t.teardown(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const password = 'hunter2-very-secret'
  const registered = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username: 'logan', password },
  })
  t.equal(registered.statusCode, 201)
  const token1 = registered.json().token
  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'logan', password },
  })
  t.equal(login.statusCode, 200)
  const token2 = login.json().token
  const wrong = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'logan', password: `${password}-wrong` },
  })
  t.equal(wrong.statusCode, 401)
  // malformed JSON carrying a password, and a schema failure next to one
  await app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { 'content-type': 'application/json' },
    payload: `{"username": "logan", "password": "${password}" oops`,
  })
  await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'logan', password, extra: password },
  })
  await app.inject({ url: '/auth/check', headers: { authorization: `Bearer ${token1}` } })
  await app.inject({ url: '/auth/check', cookies: { sid: token2 } })
  await app.inject({ url: `/auth/check?token=${token1}` })
  await app.inject({ url: `/ws?token=${token1}` })
  await app.inject({ url: `/ws?a=1&token=${token2}&b=2` })
  await app.inject({ url: `/nope?token=${token1}` })
  const logout = await app.inject({
    method: 'POST',
    url: '/auth/logout',
    headers: { authorization: `Bearer ${token1}` },
  })
  t.equal(logout.statusCode, 204)
  const logout2 = await app.inject({ method: 'POST', url: '/auth/logout', cookies: { sid: token2 } })
  t.equal(logout2.statusCode, 204)

  const log = lines.join('')
  t.ok(lines.length >= 20, 'requests were logged')
  t.match(log, /"url":"\/ws\?token=\[redacted\]"/, 'the url is logged, its token cut out')
  t.match(log, /"url":"\/ws\?a=1&token=\[redacted\]&b=2"/)
  for (const secret of [password, token1, token2]) {
    t.notOk(log.includes(secret), `${secret.slice(0, 6)}... is not in the log`)
  }
  t.notMatch(log, /Bearer /)
  t.notMatch(log, /sid=/)
})

t.test('the session cookie gets Secure when COOKIE_SECURE is on', async (t) => {
  const secure = await buildTestApp(t, { cookieSecure: true })
  const registered = await secure.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username: 'sec', password: 'password1' },
  })
  const cookie = String(registered.headers['set-cookie'])
  t.match(cookie, /^sid=/)
  t.match(cookie, /; Secure/)
  t.match(cookie, /HttpOnly/)
  t.match(cookie, /SameSite=Lax/)
  const login = await secure.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'sec', password: 'password1' },
  })
  t.match(String(login.headers['set-cookie']), /; Secure/)

  const plain = await buildTestApp(t)
  const account = await plain.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username: 'plain', password: 'password1' },
  })
  t.notMatch(String(account.headers['set-cookie']), /Secure/)
})

t.test('logout clears the cookie, and the cookie it cleared no longer works', async (t) => {
  const app = await buildTestApp(t)
  const account = await register(app, 'cleo')
  const logout = await app.inject({ method: 'POST', url: '/auth/logout', cookies: { sid: account.token } })
  t.equal(logout.statusCode, 204)
  const cleared = String(logout.headers['set-cookie'])
  t.match(cleared, /^sid=;/)
  t.match(cleared, /Expires=Thu, 01 Jan 1970|Max-Age=0/)
  t.equal((await app.inject({ url: '/auth/check', cookies: { sid: account.token } })).statusCode, 401)
})

t.test(
  'error messages are for people: blank, lengths, malformed JSON with its place, 415 with the fix',
  async (t) => {
    const app = await buildTestApp(t)
    const ann = await register(app, 'ann')
    const bob = await register(app, 'bob')
    const created = await app.inject({
      method: 'POST',
      url: '/conversations',
      headers: ann.auth,
      payload: { member_ids: [bob.id] },
    })
    const id = created.json().conversation.id
    const send = (payload: string, type = 'application/json') =>
      app.inject({
        method: 'POST',
        url: `/conversations/${id}/messages`,
        headers: { ...ann.auth, 'content-type': type },
        payload,
      })
    const messageOf = async (payload: string, type?: string) =>
      (await send(payload, type)).json().message as string
    const blank = await messageOf(JSON.stringify({ content: '   ' }))
    t.match(blank, /content must not be blank/)
    t.notMatch(blank, /pattern|\\S/, 'no schema jargon')
    t.match(await messageOf(JSON.stringify({ content: '' })), /content must not be empty/)
    t.match(
      await messageOf(JSON.stringify({ content: 'x'.repeat(4001) })),
      /content must be at most 4000 characters/,
    )
    t.match(await messageOf(JSON.stringify({ content: 5 })), /content must be a string/)
    const malformed = await send('{"content": "hi",}')
    t.equal(malformed.statusCode, 400)
    t.match(malformed.json().message, /^Malformed JSON at line 1, column 18 \(position 17\)/)
    const wrongType = await send('<content>hi</content>', 'application/xml')
    t.equal(wrongType.statusCode, 415)
    t.match(wrongType.json().message, /Content-Type: application\/json/)
  },
)
