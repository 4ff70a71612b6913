import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'
import { type Account, buildTestApp, register } from './helpers/app.js'

// Registration modes (GET/PATCH /admin/settings, REGISTRATION) and invitations (/invites).

const PASSWORD = 'correct horse battery'

type App = Awaited<ReturnType<typeof buildTestApp>>
const signUp = (app: App, username: string, invite?: string) =>
  app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username, password: PASSWORD, ...(invite === undefined ? {} : { invite }) },
  })
const setMode = (app: App, admin: Account, registration: unknown) =>
  app.inject({ method: 'PATCH', url: '/admin/settings', headers: admin.auth, payload: { registration } })
const invite = async (app: App, admin: Account, body: object = {}) => {
  const response = await app.inject({ method: 'POST', url: '/invites', headers: admin.auth, payload: body })
  if (response.statusCode !== 201) throw new Error(`invite ${response.statusCode} ${response.body}`)
  return response.json().invite as {
    code: string
    url: string
    uses: number
    max_uses: number | null
    expires_at: string | null
  }
}

t.test('REGISTRATION: open by default, invite or closed; anything else stops the start', async (t) => {
  t.equal(loadConfig({}).registration, 'open')
  t.equal(loadConfig({ REGISTRATION: 'invite' }).registration, 'invite')
  t.equal(loadConfig({ REGISTRATION: 'closed' }).registration, 'closed')
  t.throws(() => loadConfig({ REGISTRATION: 'maybe' }), ConfigError)
})

t.test('closed: the first registration on an empty database still makes the admin', async (t) => {
  const app = await buildTestApp(t, { registration: 'closed' })
  const first = await signUp(app, 'rg_first')
  t.equal(first.statusCode, 201)
  t.equal(first.json().user.role, 'admin')
  const second = await signUp(app, 'rg_second')
  t.equal(second.statusCode, 403)
  t.equal(second.json().code, 'REGISTRATION_CLOSED')
  const admin = { ...first.json(), auth: { authorization: `Bearer ${first.json().token}` } } as Account
  const settings = await app.inject({ url: '/admin/settings', headers: admin.auth })
  t.same(
    settings.json(),
    { settings: { registration: 'closed' } },
    'the initial value comes from REGISTRATION',
  )
})

t.test('the saved mode wins over REGISTRATION once an admin changed it', async (t) => {
  const app = await buildTestApp(t, { registration: 'invite' })
  const admin = await register(app, 'rg_admin')
  t.equal((await signUp(app, 'rg_nocode')).json().code, 'INVITE_INVALID')
  const opened = await setMode(app, admin, 'open')
  t.equal(opened.statusCode, 200)
  t.same(opened.json(), { settings: { registration: 'open' } })
  t.equal((await signUp(app, 'rg_now_open')).statusCode, 201)
  const closed = await setMode(app, admin, 'closed')
  t.same(closed.json(), { settings: { registration: 'closed' } })
  t.equal((await signUp(app, 'rg_closed')).json().code, 'REGISTRATION_CLOSED')
  const code = (await invite(app, admin)).code
  t.equal(
    (await signUp(app, 'rg_closed_code', code)).json().code,
    'REGISTRATION_CLOSED',
    'closed means closed',
  )

  t.equal((await setMode(app, admin, 'sometimes')).statusCode, 400, 'an unknown value is 400')
  const member = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: 'rg_now_open', password: PASSWORD },
  })
  const memberAuth = { authorization: `Bearer ${member.json().token}` }
  t.equal((await app.inject({ url: '/admin/settings', headers: memberAuth })).statusCode, 403)
  const denied = await app.inject({
    method: 'PATCH',
    url: '/admin/settings',
    headers: memberAuth,
    payload: { registration: 'bogus' },
  })
  t.equal(denied.statusCode, 403, 'a non-admin gets 403 before the body is looked at')
})

t.test('saved mode survives a restart on the same database; REGISTRATION no longer matters', async (t) => {
  const app = await buildTestApp(t, { registration: 'open' })
  const admin = await register(app, 'rs_admin')
  await setMode(app, admin, 'closed')
  // Another node (or a restart) with another REGISTRATION reads the saved value.
  const { registrationMode } = await import('../src/auth/registration.js')
  t.equal(
    await registrationMode({ db: app.ctx.db, config: { ...app.ctx.config, registration: 'open' } }),
    'closed',
  )
})

t.test('invitations: url, use counts, max_uses, expiry, deletion', async (t) => {
  const app = await buildTestApp(t, { registration: 'invite' })
  const admin = await register(app, 'iv_admin')
  const made = await app.inject({
    method: 'POST',
    url: '/invites',
    headers: { ...admin.auth, host: 'chat.example.com' },
    payload: { max_uses: 2 },
  })
  t.equal(made.statusCode, 201)
  const two = made.json().invite
  t.match(two, { uses: 0, max_uses: 2, expires_at: null })
  t.equal(two.url, `http://chat.example.com/join/${two.code}`)
  t.ok(two.code.length >= 22, 'at least 128 bits of base64url')

  t.equal((await signUp(app, 'iv_one', two.code)).statusCode, 201)
  t.equal((await signUp(app, 'iv_one', two.code)).statusCode, 409, 'a taken name does not spend a use')
  t.equal((await signUp(app, 'iv_two', two.code)).statusCode, 201)
  const usedUp = await signUp(app, 'iv_three', two.code)
  t.equal(usedUp.statusCode, 403)
  t.equal(usedUp.json().code, 'INVITE_INVALID')
  t.equal((await signUp(app, 'iv_unknown', 'nosuchcodenosuchcode00')).json().code, 'INVITE_INVALID')

  const list = await app.inject({ url: '/invites', headers: admin.auth })
  t.equal(list.statusCode, 200)
  t.match(
    list.json().invites.find((i: { code: string }) => i.code === two.code),
    { uses: 2, max_uses: 2 },
  )

  const timed = await invite(app, admin, { expires_in_seconds: 3600 })
  t.ok(timed.expires_at)
  t.equal(timed.max_uses, null)
  await app.ctx.db
    .updateTable('invites')
    .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
    .where('code', '=', timed.code)
    .execute()
  t.equal((await signUp(app, 'iv_late', timed.code)).json().code, 'INVITE_INVALID', 'expired')

  const unlimited = await invite(app, admin)
  t.equal((await signUp(app, 'iv_u1', unlimited.code)).statusCode, 201)
  t.equal((await signUp(app, 'iv_u2', unlimited.code)).statusCode, 201)
  const removed = await app.inject({
    method: 'DELETE',
    url: `/invites/${unlimited.code}`,
    headers: admin.auth,
  })
  t.equal(removed.statusCode, 204)
  t.equal((await signUp(app, 'iv_u3', unlimited.code)).json().code, 'INVITE_INVALID', 'withdrawn')
  t.equal(
    (await app.inject({ method: 'DELETE', url: `/invites/${unlimited.code}`, headers: admin.auth }))
      .statusCode,
    404,
  )

  for (const body of [{ max_uses: 0 }, { expires_in_seconds: 1 }, { other: 1 }, { max_uses: 'x' }]) {
    const bad = await app.inject({ method: 'POST', url: '/invites', headers: admin.auth, payload: body })
    t.equal(bad.statusCode, 400, `${JSON.stringify(body)} is 400`)
  }
  const bare = await app.inject({ method: 'POST', url: '/invites', headers: admin.auth })
  t.equal(bare.statusCode, 201, 'no body at all: an unlimited invitation')
})

t.test('the web page answers /join/<code> and /reset/<token>', async (t) => {
  const app = await buildTestApp(t)
  for (const path of ['/join/abcDEF123_-x', '/reset/sometoken']) {
    const page = await app.inject({ url: path })
    t.equal(page.statusCode, 200, path)
    t.match(page.headers['content-type'], /text\/html/)
    t.match(page.body, /<script type="module" src="\/app.js">/)
  }
})
