import t from 'tap'
import { type Account, buildTestApp, register } from './helpers/app.js'

const USER_KEYS = [
  'avatar_url',
  'created_at',
  'deactivated',
  'deleted',
  'display_name',
  'id',
  'last_seen_at',
  'online',
  'role',
  'username',
]

t.test('GET /users: admins only, paged by after/limit with has_more', async (t) => {
  const app = await buildTestApp(t)
  const admin = await register(app, 'root')
  const others: Account[] = []
  for (let i = 0; i < 4; i++) others.push(await register(app, `member${i}`))
  const ids = [admin.id, ...others.map((o) => o.id)]

  const denied = await app.inject({ url: '/users', headers: others[0].auth })
  t.equal(denied.statusCode, 403)
  t.equal(denied.json().code, 'FORBIDDEN')
  t.equal((await app.inject({ url: '/users' })).statusCode, 401)

  const all = await app.inject({ url: '/users', headers: admin.auth })
  t.equal(all.statusCode, 200)
  t.same(
    all.json().users.map((u: { id: number }) => u.id),
    ids,
  )
  t.equal(all.json().has_more, false)
  t.same(Object.keys(all.json().users[0]).sort(), USER_KEYS)
  t.equal(all.json().users[0].role, 'admin')
  t.equal(all.json().users[1].role, 'user')

  const page1 = (await app.inject({ url: '/users?limit=2', headers: admin.auth })).json()
  t.same(
    page1.users.map((u: { id: number }) => u.id),
    ids.slice(0, 2),
  )
  t.equal(page1.has_more, true)
  const page2 = (await app.inject({ url: `/users?limit=2&after=${ids[1]}`, headers: admin.auth })).json()
  t.same(
    page2.users.map((u: { id: number }) => u.id),
    ids.slice(2, 4),
  )
  t.equal(page2.has_more, true)
  const page3 = (await app.inject({ url: `/users?limit=2&after=${ids[3]}`, headers: admin.auth })).json()
  t.same(
    page3.users.map((u: { id: number }) => u.id),
    ids.slice(4),
  )
  t.equal(page3.has_more, false)
  const exact = (await app.inject({ url: `/users?limit=5`, headers: admin.auth })).json()
  t.equal(exact.users.length, 5)
  t.equal(exact.has_more, false, 'a page that ends exactly at the last user has no more')

  for (const bad of ['limit=0', 'limit=201', 'limit=x', 'after=-1', 'bogus=1']) {
    const response = await app.inject({ url: `/users?${bad}`, headers: admin.auth })
    t.equal(response.statusCode, 400, bad)
    t.equal(response.json().code, 'BAD_REQUEST', bad)
  }

  // a deleted account is not listed
  t.equal(
    (await app.inject({ method: 'DELETE', url: `/users/${others[1].id}`, headers: admin.auth })).statusCode,
    204,
  )
  const after = (await app.inject({ url: '/users', headers: admin.auth })).json()
  t.notOk(after.users.some((u: { id: number }) => u.id === others[1].id))
  t.equal(after.users.length, 4)
})

t.test('PATCH /users/me: edits the display name; blank, too long or extra fields are 400', async (t) => {
  const app = await buildTestApp(t)
  const me = await register(app, 'patty')
  const ok = await app.inject({
    method: 'PATCH',
    url: '/users/me',
    headers: me.auth,
    payload: { display_name: '  Patty P.  ' },
  })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().user.display_name, 'Patty P.', 'trimmed')
  t.equal(ok.json().user.id, me.id)
  t.equal(ok.json().user.username, 'patty')
  t.equal((await app.inject({ url: '/auth/check', headers: me.auth })).json().user.display_name, 'Patty P.')

  const max = await app.inject({
    method: 'PATCH',
    url: '/users/me',
    headers: me.auth,
    payload: { display_name: 'x'.repeat(64) },
  })
  t.equal(max.statusCode, 200, '64 characters is fine')

  for (const payload of [
    { display_name: '' },
    { display_name: '    ' },
    { display_name: '\t\n' },
    { display_name: 'x'.repeat(65) },
    { display_name: 42 },
    { display_name: null },
    { display_name: ['a', 'b'] },
    {},
    { display_name: 'ok', role: 'admin' },
  ]) {
    const bad = await app.inject({ method: 'PATCH', url: '/users/me', headers: me.auth, payload })
    t.equal(bad.statusCode, 400, JSON.stringify(payload))
    t.equal(bad.json().code, 'BAD_REQUEST')
  }
  const row = await app.ctx.db
    .selectFrom('users')
    .selectAll()
    .where('id', '=', me.id)
    .executeTakeFirstOrThrow()
  t.equal(row.display_name, 'x'.repeat(64), 'rejected edits changed nothing')
  t.equal(row.role, 'admin', 'first account stays admin')

  const anonymous = await app.inject({ method: 'PATCH', url: '/users/me', payload: { display_name: 'Nope' } })
  t.equal(anonymous.statusCode, 401)
})

t.test('contacts: add 201, list, remove 204; self 400, unknown 404, non-contact 404', async (t) => {
  const app = await buildTestApp(t)
  const me = await register(app, 'carla')
  const zed = await register(app, 'zed')
  const bea = await register(app, 'bea')

  const empty = await app.inject({ url: '/users/me/contacts', headers: me.auth })
  t.equal(empty.statusCode, 200)
  t.same(empty.json(), { users: [] })

  for (const other of [zed, bea]) {
    const added = await app.inject({
      method: 'POST',
      url: '/users/me/contacts',
      headers: me.auth,
      payload: { user_id: other.id },
    })
    t.equal(added.statusCode, 201)
    t.equal(added.json().user.id, other.id)
  }
  const twice = await app.inject({
    method: 'POST',
    url: '/users/me/contacts',
    headers: me.auth,
    payload: { user_id: zed.id },
  })
  t.equal(twice.statusCode, 201, 'adding again is harmless')

  const list = (await app.inject({ url: '/users/me/contacts', headers: me.auth })).json()
  t.same(
    list.users.map((u: { username: string }) => u.username),
    ['bea', 'zed'],
    'each contact once, by name',
  )
  t.same(Object.keys(list.users[0]).sort(), USER_KEYS)
  t.same(
    (await app.inject({ url: '/users/me/contacts', headers: zed.auth })).json().users,
    [],
    "one user's contacts are not another's",
  )

  const self = await app.inject({
    method: 'POST',
    url: '/users/me/contacts',
    headers: me.auth,
    payload: { user_id: me.id },
  })
  t.equal(self.statusCode, 400)
  t.equal(self.json().code, 'BAD_REQUEST')

  const unknown = await app.inject({
    method: 'POST',
    url: '/users/me/contacts',
    headers: me.auth,
    payload: { user_id: 999999 },
  })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'NOT_FOUND')

  const invalid = await app.inject({
    method: 'POST',
    url: '/users/me/contacts',
    headers: me.auth,
    payload: { user_id: 'zed' },
  })
  t.equal(invalid.statusCode, 400)

  const removed = await app.inject({
    method: 'DELETE',
    url: `/users/me/contacts/${zed.id}`,
    headers: me.auth,
  })
  t.equal(removed.statusCode, 204)
  t.equal(removed.body, '')
  t.same(
    (await app.inject({ url: '/users/me/contacts', headers: me.auth }))
      .json()
      .users.map((u: { id: number }) => u.id),
    [bea.id],
  )
  const again = await app.inject({ method: 'DELETE', url: `/users/me/contacts/${zed.id}`, headers: me.auth })
  t.equal(again.statusCode, 404, 'removing a non-contact')
  t.equal(again.json().code, 'NOT_FOUND')
  const never = await app.inject({ method: 'DELETE', url: `/users/me/contacts/999999`, headers: me.auth })
  t.equal(never.statusCode, 404)

  // a deleted user can't be added, and disappears from contact lists
  const admin = me
  t.equal(
    (await app.inject({ method: 'DELETE', url: `/users/${bea.id}`, headers: admin.auth })).statusCode,
    204,
  )
  t.same((await app.inject({ url: '/users/me/contacts', headers: me.auth })).json().users, [])
  const deleted = await app.inject({
    method: 'POST',
    url: '/users/me/contacts',
    headers: me.auth,
    payload: { user_id: bea.id },
  })
  t.equal(deleted.statusCode, 404)

  for (const request of [
    { method: 'GET' as const, url: '/users/me/contacts' },
    { method: 'POST' as const, url: '/users/me/contacts', payload: { user_id: zed.id } },
    { method: 'DELETE' as const, url: `/users/me/contacts/${zed.id}` },
  ]) {
    t.equal((await app.inject(request)).statusCode, 401, `${request.method} without a token`)
  }
})

t.test('GET /users/:id: one user; 404 for an unknown id; 400 for a non-id', async (t) => {
  const app = await buildTestApp(t)
  const admin = await register(app, 'ada')
  const other = await register(app, 'otto')
  const response = await app.inject({ url: `/users/${admin.id}`, headers: other.auth })
  t.equal(response.statusCode, 200)
  const { user } = response.json()
  t.same(Object.keys(user).sort(), USER_KEYS)
  t.equal(user.id, admin.id)
  t.equal(user.username, 'ada')
  t.equal(user.role, 'admin')
  t.equal(user.online, false)
  t.equal(user.deleted, false)
  t.equal(user.last_seen_at, null)
  t.match(user.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  t.notOk('password_hash' in user)

  const unknown = await app.inject({ url: '/users/999999', headers: other.auth })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'NOT_FOUND')
  t.equal((await app.inject({ url: '/users/abc', headers: other.auth })).statusCode, 400)
  t.equal((await app.inject({ url: '/users/0', headers: other.auth })).statusCode, 400)
  t.equal((await app.inject({ url: `/users/${admin.id}` })).statusCode, 401)
})

t.test('DELETE /users/:id: an admin deletes another account and its sessions end', async (t) => {
  const app = await buildTestApp(t)
  const admin = await register(app, 'boss')
  const victim = await register(app, 'victim')
  const bystander = await register(app, 'bystander')
  const second = (
    await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'victim', password: 'correct horse battery' },
    })
  ).json().token
  const closed: unknown[] = []
  app.ctx.hub.subscribe((event) => closed.push(event))

  const byUser = await app.inject({ method: 'DELETE', url: `/users/${victim.id}`, headers: bystander.auth })
  t.equal(byUser.statusCode, 403)
  t.equal(byUser.json().code, 'FORBIDDEN')
  t.equal((await app.inject({ url: '/auth/check', headers: victim.auth })).statusCode, 200, 'still there')
  const byNobody = await app.inject({ method: 'DELETE', url: `/users/${victim.id}` })
  t.equal(byNobody.statusCode, 401)

  const self = await app.inject({ method: 'DELETE', url: `/users/${admin.id}`, headers: admin.auth })
  t.equal(self.statusCode, 400, 'not one’s own account through this route')
  t.equal((await app.inject({ url: '/auth/check', headers: admin.auth })).statusCode, 200)

  const unknown = await app.inject({ method: 'DELETE', url: '/users/999999', headers: admin.auth })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'NOT_FOUND')

  const ok = await app.inject({ method: 'DELETE', url: `/users/${victim.id}`, headers: admin.auth })
  t.equal(ok.statusCode, 204)
  t.equal((await app.inject({ url: '/auth/check', headers: victim.auth })).statusCode, 401)
  t.equal(
    (await app.inject({ url: '/auth/check', headers: { authorization: `Bearer ${second}` } })).statusCode,
    401,
    'every session ends',
  )
  const sessions = await app.ctx.db
    .selectFrom('sessions')
    .select('id')
    .where('user_id', '=', victim.id)
    .execute()
  t.equal(sessions.length, 0)
  t.same(closed, [{ kind: 'close_users', userIds: [victim.id], code: 4001, reason: 'account deleted' }])
  t.equal((await app.inject({ url: '/auth/check', headers: bystander.auth })).statusCode, 200)

  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'victim', password: 'correct horse battery' },
  })
  t.equal(login.statusCode, 401)
  const shown = (await app.inject({ url: `/users/${victim.id}`, headers: bystander.auth })).json().user
  t.equal(shown.deleted, true)
  t.equal(shown.display_name, 'Deleted user')
  t.notMatch(shown.username, /victim/)

  const twice = await app.inject({ method: 'DELETE', url: `/users/${victim.id}`, headers: admin.auth })
  t.equal(twice.statusCode, 404, 'already deleted')
  const reused = await register(app, 'victim')
  t.not(reused.id, victim.id, 'the name is free again')
})

t.test('GET /users/online: the users with an open socket; needs a token', async (t) => {
  const app = await buildTestApp(t)
  const a = await register(app, 'amy')
  const b = await register(app, 'ben')
  const none = await app.inject({ url: '/users/online' })
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'UNAUTHORIZED')

  const empty = await app.inject({ url: '/users/online', headers: a.auth })
  t.equal(empty.statusCode, 200)
  t.same(empty.json(), { users: [] })

  // presence is driven by WebSocket connections; drive it directly here
  app.ctx.presence.connected(b.id)
  const one = (await app.inject({ url: '/users/online', headers: a.auth })).json()
  t.equal(one.users.length, 1)
  t.same(Object.keys(one.users[0]).sort(), USER_KEYS)
  t.equal(one.users[0].id, b.id)
  t.equal(one.users[0].online, true)
  t.equal((await app.inject({ url: `/users/${b.id}`, headers: a.auth })).json().user.online, true)

  app.ctx.presence.disconnected(b.id)
  t.same((await app.inject({ url: '/users/online', headers: a.auth })).json(), { users: [] })
  t.equal((await app.inject({ url: `/users/${b.id}`, headers: a.auth })).json().user.online, false)
})

t.test('without a session every /users route is 401, before its input is even validated', async (t) => {
  const app = await buildTestApp(t)
  await register(app, 'first')
  for (const request of [
    { method: 'GET' as const, url: '/users?limit=9999' },
    { method: 'PATCH' as const, url: '/users/me', payload: { display_name: '' } },
    { method: 'POST' as const, url: '/users/me/contacts', payload: { user_id: 'x' } },
    { method: 'DELETE' as const, url: '/users/me/contacts/abc' },
    { method: 'GET' as const, url: '/users/abc' },
    { method: 'DELETE' as const, url: '/users/abc' },
    { method: 'GET' as const, url: '/users/online' },
  ]) {
    const response = await app.inject(request)
    t.equal(response.statusCode, 401, `${request.method} ${request.url}`)
    t.equal(response.json().code, 'UNAUTHORIZED')
    const bogus = await app.inject({
      ...request,
      headers: { authorization: 'Bearer this-is-not-a-live-session-token' },
    })
    t.equal(bogus.statusCode, 401, `${request.method} ${request.url} with a dead token`)
  }
})
