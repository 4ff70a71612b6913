import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { hashToken } from '../src/db/queries/sessions.js'
import { type Account, buildTestApp, buildTwoNodes, register } from './helpers/app.js'

// The guard of HTTP routes keeps sessions in memory for a few seconds; ending a session must
// still take effect at once, on the node that ended it and on the others.

const PASSWORD = 'correct horse battery'

/** A route behind the cached guard (GET /conversations). */
const cached = async (app: FastifyInstance, token: string) =>
  (await app.inject({ url: '/conversations', headers: { authorization: `Bearer ${token}` } })).statusCode

async function login(app: FastifyInstance, username: string, password = PASSWORD): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password } })
  if (response.statusCode !== 200) throw new Error(`login: ${response.statusCode}`)
  return response.json().token
}

t.test('logout: the token is refused at once, right after a cached success', async (t) => {
  const app = await buildTestApp(t)
  const ann = await register(app, 'ann')
  const second = await login(app, 'ann')
  t.equal(await cached(app, ann.token), 200)
  t.equal(await cached(app, ann.token), 200, 'served from the cache')
  t.equal(await cached(app, second), 200)
  const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: ann.auth })
  t.equal(logout.statusCode, 204)
  t.equal(await cached(app, ann.token), 401)
  t.equal(await cached(app, second), 200, 'the other session stays')
})

t.test(
  'password change: the other sessions are refused at once; the password checks are never stale',
  async (t) => {
    const app = await buildTestApp(t, { authRateLimit: 1000 })
    const bob = await register(app, 'bob')
    const other = await login(app, 'bob')
    t.equal(await cached(app, other), 200)
    t.equal(await cached(app, bob.token), 200)
    const change = (current: string, next: string) =>
      app.inject({
        method: 'POST',
        url: '/auth/password',
        headers: bob.auth,
        payload: { current_password: current, new_password: next },
      })
    t.equal((await change(PASSWORD, 'second password')).statusCode, 204)
    t.equal(await cached(app, other), 401)
    t.equal(await cached(app, bob.token), 200, 'this session stays')
    t.equal((await change(PASSWORD, 'third password')).statusCode, 401, 'the old password is wrong at once')
    t.equal((await change('second password', 'third password')).statusCode, 204, 'the new one is right')
  },
)

t.test('account deletion, by its owner or an admin: every session is refused at once', async (t) => {
  const app = await buildTestApp(t)
  const admin = await register(app, 'admin')
  const cat = await register(app, 'cat')
  const catToo = await login(app, 'cat')
  const dan = await register(app, 'dan')
  for (const token of [cat.token, catToo, dan.token]) t.equal(await cached(app, token), 200)

  const own = await app.inject({
    method: 'DELETE',
    url: '/auth/user',
    headers: cat.auth,
    payload: { password: PASSWORD },
  })
  t.equal(own.statusCode, 204)
  t.equal(await cached(app, cat.token), 401)
  t.equal(await cached(app, catToo), 401)

  const byAdmin = await app.inject({ method: 'DELETE', url: `/users/${dan.id}`, headers: admin.auth })
  t.equal(byAdmin.statusCode, 204)
  t.equal(await cached(app, dan.token), 401)
  t.equal(await cached(app, admin.token), 200)
})

t.test('a cached session still ends when idle too long', async (t) => {
  const app = await buildTestApp(t, { sessionIdleSeconds: 1 })
  const eve = await register(app, 'eve')
  t.equal(await cached(app, eve.token), 200)
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal(await cached(app, eve.token), 401)
  t.equal((await app.ctx.db.selectFrom('sessions').selectAll().execute()).length, 0, 'and removed')
})

t.test('a cached session still writes last_used_at when due', async (t) => {
  const app = await buildTestApp(t, { sessionIdleSeconds: 3600 })
  const fay = await register(app, 'fay')
  const old = new Date(Date.now() - 120_000).toISOString()
  await app.ctx.db.updateTable('sessions').set({ last_used_at: old }).execute()
  app.ctx.sessions.clear()
  t.equal(await cached(app, fay.token), 200)
  const row = await app.ctx.db.selectFrom('sessions').select('last_used_at').executeTakeFirstOrThrow()
  t.ok(Date.parse(row.last_used_at) > Date.now() - 10_000, 'touched')
})

t.test('a lookup under way when a session ends does not keep what it read', async (t) => {
  const app = await buildTestApp(t)
  const gus = await register(app, 'gus')
  const cache = app.ctx.sessions
  const pending = cache.find(gus.token)
  cache.dropSessions([-1])
  t.ok(await pending, 'the lookup itself answers')
  // Behind the app's back, so nothing tells the cache: only a lookup that was not kept sees this.
  await app.ctx.db.deleteFrom('sessions').where('token_hash', '=', hashToken(gus.token)).execute()
  t.equal(await cache.find(gus.token), undefined)
})

t.test('two nodes: ending a session on one is seen at once on the other', async (t) => {
  const [a, b] = await buildTwoNodes(t)
  const admin: Account = await register(a, 'root')
  const hal = await register(a, 'hal')
  const halToo = await login(a, 'hal')
  const ida = await register(a, 'ida')
  const idaToo = await login(a, 'ida')
  const jon = await register(a, 'jon')
  for (const token of [hal.token, halToo, ida.token, idaToo, jon.token]) t.equal(await cached(b, token), 200)

  t.equal((await a.inject({ method: 'POST', url: '/auth/logout', headers: hal.auth })).statusCode, 204)
  t.equal(await cached(b, hal.token), 401, 'logout')
  t.equal(await cached(b, halToo), 200)

  const change = await a.inject({
    method: 'POST',
    url: '/auth/password',
    headers: ida.auth,
    payload: { current_password: PASSWORD, new_password: 'another password' },
  })
  t.equal(change.statusCode, 204)
  t.equal(await cached(b, idaToo), 401, 'password change')
  t.equal(await cached(b, ida.token), 200)

  t.equal(
    (await a.inject({ method: 'DELETE', url: `/users/${jon.id}`, headers: admin.auth })).statusCode,
    204,
  )
  t.equal(await cached(b, jon.token), 401, 'deleted by an admin')
})
