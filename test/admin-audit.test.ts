import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { testConfig } from '../src/config.js'
import { redactUrl } from '../src/log-redaction.js'
import { type Account, buildTestApp, buildTwoNodes, register } from './helpers/app.js'
import { connect } from './helpers/ws.js'

// The audit log (GET /admin/audit), secrets kept out of logs, and admin actions reaching other nodes.

t.test('GET /admin/audit: every admin action, newest first, paged by cursor; admins only', async (t) => {
  const app = await buildTestApp(t)
  const admin = await register(app, 'au_admin')
  const ann = await register(app, 'au_ann')
  const bob = await register(app, 'au_bob')
  const call = (method: string, url: string, payload?: object, who: Account = admin) =>
    app.inject({ method: method as 'POST', url, headers: who.auth, ...(payload ? { payload } : {}) })
  await call('PATCH', `/users/${ann.id}`, { role: 'admin' })
  await call('POST', `/users/${bob.id}/deactivate`)
  await call('POST', `/users/${bob.id}/reactivate`)
  const reset = (await call('POST', `/users/${bob.id}/password-reset`)).json().reset
  await call('PATCH', '/admin/settings', { registration: 'invite' })
  const code = (await call('POST', '/invites', { max_uses: 3 })).json().invite.code
  await call('DELETE', `/invites/${code}`)
  await call('DELETE', `/users/${bob.id}`)

  t.equal(
    (await call('GET', '/admin/audit', undefined, bob)).statusCode,
    401,
    'a deleted account: no session',
  )
  const page = await call('GET', '/admin/audit?limit=5')
  t.equal(page.statusCode, 200)
  const first = page.json()
  t.same(
    first.entries.map((e: { action: string }) => e.action),
    ['user_deleted', 'invite_deleted', 'invite_created', 'settings_changed', 'password_reset_created'],
  )
  t.equal(first.has_more, true)
  t.match(first.entries[0], { actor_id: admin.id, actor_username: 'au_admin', target_user_id: bob.id })
  t.match(first.entries[3].details, { registration: 'invite' })
  const rest = (await call('GET', `/admin/audit?cursor=${first.next}`)).json()
  t.same(
    rest.entries.map((e: { action: string }) => e.action),
    ['user_reactivated', 'user_deactivated', 'role_changed'],
  )
  t.equal(rest.has_more, false)
  t.equal(rest.next, null)
  t.match(rest.entries[2], {
    target_user_id: ann.id,
    target_username: 'au_ann',
    details: { from: 'user', to: 'admin' },
  })
  const all = JSON.stringify([first, rest])
  t.notOk(all.includes(code), 'no invitation code in the audit log')
  t.notOk(all.includes(reset.token), 'no reset token in the audit log')

  const user = await register(app, 'au_user').catch(() => undefined)
  t.equal(user, undefined, 'registration is by invitation now')
  t.equal((await call('GET', '/admin/audit?cursor=0')).statusCode, 400)
  const member = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'au_ann', password: 'correct horse battery' },
  })
  await call('PATCH', `/users/${ann.id}`, { role: 'user' })
  const auth = { authorization: `Bearer ${member.json().token}` }
  t.equal((await app.inject({ url: '/admin/audit', headers: auth })).statusCode, 403)
})

t.test('invitation codes and reset tokens never reach a log line', async (t) => {
  t.equal(redactUrl('/join/abc123'), '/join/[redacted]')
  t.equal(redactUrl('/reset/tok?x=1'), '/reset/[redacted]?x=1')
  t.equal(redactUrl('/%6Aoin/abc'), '/join/[redacted]')
  t.equal(redactUrl('//invites/abc'), '//invites/[redacted]')
  t.equal(redactUrl('/invites'), '/invites')
  const dir = mkdtempSync(join(tmpdir(), 'parley-test-'))
  const lines: string[] = []
  const app = await buildApp({
    config: testConfig({
      databaseUrl: `sqlite:${join(dir, 'parley.db')}`,
      uploadDir: join(dir, 'u'),
      logLevel: 'trace',
    }),
    logStream: { write: (line: string) => lines.push(line) },
  })
  t.teardown(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const admin = await register(app, 'lg_admin')
  const ann = await register(app, 'lg_ann')
  const code = (
    await app.inject({ method: 'POST', url: '/invites', headers: admin.auth, payload: {} })
  ).json().invite.code
  const token = (
    await app.inject({ method: 'POST', url: `/users/${ann.id}/password-reset`, headers: admin.auth })
  ).json().reset.token
  await app.inject({ url: `/join/${code}` })
  await app.inject({ url: `/reset/${token}` })
  await app.inject({ method: 'POST', url: '/auth/reset', payload: { token, new_password: 'x' } })
  await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username: 'lg_new', password: 'short', invite: code },
  })
  await app.inject({ method: 'DELETE', url: `/invites/${code}`, headers: admin.auth })
  t.ok(
    lines.some((line) => line.includes('/join/[redacted]')),
    'the requests were logged',
  )
  t.same(
    lines.filter((line) => line.includes(code) || line.includes(token)),
    [],
    'no log line holds a code or a token',
  )
})

t.test('two nodes: a role change and a deactivation reach the other node at once', async (t) => {
  const [a, b] = await buildTwoNodes(t)
  await b.listen({ port: 0, host: '127.0.0.1' })
  const wsB = `ws://127.0.0.1:${(b.server.address() as { port: number }).port}/ws`
  const admin = await register(a, 'mn_admin')
  const ann = await register(a, 'mn_ann')
  // Node B has Ann's session cached as a user's.
  t.equal((await b.inject({ url: '/users', headers: ann.auth })).statusCode, 403)
  t.equal(
    (
      await a.inject({
        method: 'PATCH',
        url: `/users/${ann.id}`,
        headers: admin.auth,
        payload: { role: 'admin' },
      })
    ).statusCode,
    200,
  )
  t.equal((await b.inject({ url: '/users', headers: ann.auth })).statusCode, 200, 'node B sees the promotion')
  const socket = await connect(wsB, ann.token)
  t.equal(
    (
      await a.inject({
        method: 'PATCH',
        url: `/users/${ann.id}`,
        headers: admin.auth,
        payload: { role: 'user' },
      })
    ).statusCode,
    200,
  )
  t.equal((await b.inject({ url: '/users', headers: ann.auth })).statusCode, 403, 'and the demotion')
  t.equal(
    (await a.inject({ method: 'POST', url: `/users/${ann.id}/deactivate`, headers: admin.auth })).statusCode,
    200,
  )
  t.equal(await socket.whenClosed(), 4003, 'the socket on node B closes with 4003')
  t.equal((await b.inject({ url: '/conversations', headers: ann.auth })).statusCode, 401)
})
