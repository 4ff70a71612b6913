import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { secretOrInsert } from '../src/db/queries/server-secrets.js'
import { makeToken, type TokenPurpose } from '../src/email/tokens.js'
import { type Account, buildTestApp, createConversation, MANY_WRITES, register } from './helpers/app.js'
import { type Mail, startSmtp } from './helpers/smtp.js'

// Email digests against an SMTP server started by the test (helpers/smtp.ts). The delay is
// shortened to 1 s through the config; a test waits for an email to arrive, or, to show that none
// is due, for the delay to pass and then runs one round of the digests itself.

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const DELAY_MS = 1000

async function setup(t: Test) {
  const smtp = await startSmtp(t)
  const app = await buildTestApp(t, {
    ...MANY_WRITES,
    smtpUrl: smtp.url,
    emailDelayMs: DELAY_MS,
    emailPollMs: 50,
    publicUrl: 'http://parley.test',
  })
  return { app, smtp }
}

const linkPath = (text: string, route: string) => {
  const match = new RegExp(`http://parley\\.test(/email/${route}\\?token=[A-Za-z0-9_.-]+)`).exec(text)
  if (!match) throw new Error(`no ${route} link in ${text}`)
  return match[1] as string
}

async function send(app: FastifyInstance, who: Account, conversationId: number, content: string) {
  const response = await app.inject({
    method: 'POST',
    url: `/conversations/${conversationId}/messages`,
    headers: who.auth,
    payload: { content },
  })
  if (response.statusCode !== 201) throw new Error(`send ${response.statusCode}`)
}

async function verifiedEmail(app: FastifyInstance, smtp: { mails: Mail[] }, who: Account, email: string) {
  const response = await app.inject({
    method: 'PATCH',
    url: '/users/me',
    headers: who.auth,
    payload: { email },
  })
  if (response.statusCode !== 200) throw new Error(`PATCH ${response.statusCode} ${response.body}`)
  await until(() => smtp.mails.some((m) => m.to.includes(email)), 'the verification email')
  const mail = smtp.mails.find((m) => m.to.includes(email)) as Mail
  const verify = await app.inject({ url: linkPath(mail.text, 'verify') })
  if (verify.statusCode !== 200) throw new Error(`verify ${verify.statusCode} ${verify.body}`)
  return mail
}

t.test('an address is verified by its link before any digest', async (t) => {
  const { app, smtp } = await setup(t)
  const [alice, bob] = [await register(app), await register(app)]
  const conversation = await createConversation(app, alice, [bob])
  const patch = await app.inject({
    method: 'PATCH',
    url: '/users/me',
    headers: bob.auth,
    payload: { email: 'bob@example.com' },
  })
  t.equal(patch.statusCode, 200)
  t.notOk('email' in patch.json().user, 'the address is not shown to anyone')
  await until(() => smtp.mails.length === 1, 'the verification email')
  t.equal(smtp.mails[0]?.subject, 'Confirm your email address')
  await send(app, alice, conversation, 'before verification')
  await new Promise((resolve) => setTimeout(resolve, DELAY_MS + 50))
  t.equal(await app.email.sendDue(), 0, 'no digest to an unverified address')

  const path = linkPath(smtp.mails[0]?.text ?? '', 'verify')
  const forged = await app.inject({ url: `${path.slice(0, -2)}xx` })
  t.equal(forged.statusCode, 400)
  t.equal(forged.json().code, 'LINK_INVALID')
  t.equal((await app.inject({ url: path })).statusCode, 200)
  await until(() => smtp.mails.length === 2, 'the digest once verified')
  t.match(smtp.mails[1]?.text, /before verification/)
  t.equal(
    (await app.inject({ method: 'PATCH', url: '/users/me', headers: bob.auth, payload: { email: 'nope' } }))
      .statusCode,
    400,
  )
})

t.test('one digest per backlog of missed messages; the unsubscribe link stops them', async (t) => {
  const { app, smtp } = await setup(t)
  const [alice, bob, carol] = [await register(app), await register(app), await register(app)]
  await verifiedEmail(app, smtp, bob, 'bob@example.com')
  const direct = await createConversation(app, alice, [bob])
  const group = await createConversation(app, alice, [bob, carol], 'Team')
  await send(app, alice, group, 'no mention here')
  await send(app, alice, direct, 'first missed')
  await send(app, alice, group, `ping @${bob.username}`)
  await until(() => smtp.mails.length === 2, 'the digest')
  const digest = smtp.mails[1] as Mail
  t.equal(digest.to, 'bob@example.com')
  t.equal(digest.subject, '2 messages you missed')
  t.match(digest.text, /first missed/)
  t.match(digest.text, /ping @/)
  t.notMatch(digest.text, /no mention here/)
  t.equal(await app.email.sendDue(), 0, 'nothing more for the same messages')

  await send(app, alice, direct, 'second missed')
  await until(() => smtp.mails.length === 3, 'the next digest')
  t.match(smtp.mails[2]?.text, /second missed/)
  t.notMatch(smtp.mails[2]?.text, /first missed/)

  const unsubscribe = await app.inject({ url: linkPath(digest.text, 'unsubscribe') })
  t.equal(unsubscribe.statusCode, 200)
  t.same(unsubscribe.json(), { done: true, message: 'You will get no more notification emails.' })
  await send(app, alice, direct, 'third missed')
  await new Promise((resolve) => setTimeout(resolve, DELAY_MS + 50))
  t.equal(await app.email.sendDue(), 0, 'no digest after unsubscribing')
  t.equal(smtp.mails.length, 3)
})

t.test('without SMTP_URL an address cannot be set', async (t) => {
  const app = await buildTestApp(t)
  const bob = await register(app)
  const response = await app.inject({
    method: 'PATCH',
    url: '/users/me',
    headers: bob.auth,
    payload: { email: 'bob@example.com' },
  })
  t.equal(response.statusCode, 400)
  t.equal(
    (
      await app.inject({
        method: 'PATCH',
        url: '/users/me',
        headers: bob.auth,
        payload: { display_name: 'Bob' },
      })
    ).statusCode,
    200,
  )
  const settings = await app.inject({ url: '/users/me/email', headers: bob.auth })
  t.same(settings.json(), { email: null, verified: false, notifications: true, available: false })
})

t.test('GET and PATCH /users/me/email: the address, verified or not, digests on or off', async (t) => {
  const { app, smtp } = await setup(t)
  const [alice, bob] = [await register(app), await register(app)]
  const settings = async () => {
    const response = await app.inject({ url: '/users/me/email', headers: bob.auth })
    t.equal(response.statusCode, 200)
    return response.json()
  }
  const turn = (notifications: unknown) =>
    app.inject({ method: 'PATCH', url: '/users/me/email', headers: bob.auth, payload: { notifications } })
  t.same(await settings(), { email: null, verified: false, notifications: true, available: true })
  t.equal((await app.inject({ url: '/users/me/email' })).statusCode, 401)
  t.equal((await turn(false)).statusCode, 400, 'no address to turn off')
  await app.inject({
    method: 'PATCH',
    url: '/users/me',
    headers: bob.auth,
    payload: { email: 'bob@example.com' },
  })
  t.same(await settings(), {
    email: 'bob@example.com',
    verified: false,
    notifications: true,
    available: true,
  })
  await until(() => smtp.mails.length === 1, 'the verification email')
  t.equal((await app.inject({ url: linkPath(smtp.mails[0]?.text ?? '', 'verify') })).statusCode, 200)
  t.same(await settings(), { email: 'bob@example.com', verified: true, notifications: true, available: true })

  t.equal((await turn('no')).statusCode, 400)
  const off = await turn(false)
  t.equal(off.statusCode, 200)
  t.same(off.json(), { email: 'bob@example.com', verified: true, notifications: false, available: true })
  t.same(await settings(), off.json())
  const direct = await createConversation(app, alice, [bob])
  await send(app, alice, direct, 'while off')
  await new Promise((resolve) => setTimeout(resolve, DELAY_MS + 50))
  t.equal(await app.email.sendDue(), 0, 'no digest while turned off')

  t.equal((await turn(true)).json().notifications, true)
  await until(() => smtp.mails.length === 2, 'the digest once on again')
  t.match(smtp.mails[1]?.text, /while off/)

  await app.inject({ method: 'PATCH', url: '/users/me', headers: bob.auth, payload: { email: null } })
  t.same(await settings(), { email: null, verified: false, notifications: true, available: true })
})

// What a browser sends for a link followed from a mail program.
const BROWSER = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
}

/** A link signed with the server's own secret, as the emails carry (here with any claims). */
async function signedLink(
  app: FastifyInstance,
  purpose: TokenPurpose,
  who: Account,
  email: string,
  expires: number,
) {
  const secret = await secretOrInsert(app.ctx.db, 'email_links', 'never used: the server made one')
  const route = purpose === 'verify' ? 'verify' : 'unsubscribe'
  return `/email/${route}?token=${makeToken(secret, { purpose, userId: who.id, email, expires })}`
}

const isPage = (t: Test, response: { headers: Record<string, unknown>; body: string }) => {
  t.match(response.headers['content-type'], /^text\/html; charset=utf-8/)
  t.match(response.headers['content-security-policy'], /default-src 'none'/)
  t.match(response.headers.vary, /Accept/)
  t.equal(response.headers['cache-control'], 'no-store')
  t.match(response.body, /<link rel="stylesheet" href="\/email-link\.css">/)
  t.match(response.body, /<a [^>]*href="\/"[^>]*>Back to Parley<\/a>/)
  t.notMatch(response.body, /<script|style=/, 'nothing the CSP would refuse')
}

t.test('the links answer a browser with a page, and everyone else with the JSON as before', async (t) => {
  const { app, smtp } = await setup(t)
  const bob = await register(app)
  await app.inject({
    method: 'PATCH',
    url: '/users/me',
    headers: bob.auth,
    payload: { email: 'bob@example.com' },
  })
  await until(() => smtp.mails.length === 1, 'the verification email')
  const verify = linkPath(smtp.mails[0]?.text ?? '', 'verify')

  const page = await app.inject({ url: verify, headers: BROWSER })
  t.equal(page.statusCode, 200)
  isPage(t, page)
  t.match(page.body, /<h1>Address verified<\/h1>/)
  t.match(page.body, /Your address bob@example\.com is verified\./)
  t.equal((await app.inject({ url: '/users/me/email', headers: bob.auth })).json().verified, true)
  for (const headers of [
    {},
    { accept: 'application/json' },
    { accept: '*/*' },
    { accept: 'application/json, text/html;q=0.5' },
  ]) {
    const json = await app.inject({ url: verify, headers })
    t.equal(json.statusCode, 200, JSON.stringify(headers))
    t.match(json.headers['content-type'], /^application\/json/)
    t.same(json.json(), { done: true, message: 'Your email address is confirmed.' })
  }

  const unsubscribe = await signedLink(app, 'unsubscribe', bob, 'bob@example.com', Date.now() + 60_000)
  const off = await app.inject({ url: unsubscribe, headers: BROWSER })
  t.equal(off.statusCode, 200)
  isPage(t, off)
  t.match(off.body, /Email notifications are off for bob@example\.com\./)
  t.equal((await app.inject({ url: '/users/me/email', headers: bob.auth })).json().notifications, false)
  t.same((await app.inject({ url: unsubscribe })).json(), {
    done: true,
    message: 'You will get no more notification emails.',
  })
})

t.test(
  'an expired, forged, superseded or missing link: a page that says so, or the same 400 as before',
  async (t) => {
    const { app, smtp } = await setup(t)
    const bob = await register(app)
    await app.inject({
      method: 'PATCH',
      url: '/users/me',
      headers: bob.auth,
      payload: { email: 'bob@example.com' },
    })
    await until(() => smtp.mails.length === 1, 'the verification email')
    const first = linkPath(smtp.mails[0]?.text ?? '', 'verify')
    await app.inject({
      method: 'PATCH',
      url: '/users/me',
      headers: bob.auth,
      payload: { email: 'bob@example.org' },
    })
    const linkInvalid = {
      statusCode: 400,
      code: 'LINK_INVALID',
      error: 'Bad Request',
      message: 'This link is invalid or has expired',
    }
    const bad = {
      expired: await signedLink(app, 'verify', bob, 'bob@example.org', Date.now() - 1000),
      'expired unsubscribe': await signedLink(app, 'unsubscribe', bob, 'bob@example.org', Date.now() - 1000),
      forged: `${first.slice(0, -2)}xx`,
      'for an address the account no longer has': first,
      'of the other purpose': (
        await signedLink(app, 'unsubscribe', bob, 'bob@example.org', Date.now() + 60_000)
      ).replace('unsubscribe', 'verify'),
    }
    for (const [what, url] of Object.entries(bad)) {
      const page = await app.inject({ url, headers: BROWSER })
      t.equal(page.statusCode, 400, what)
      isPage(t, page)
      t.match(page.body, /<h1>This link no longer works<\/h1>/, what)
      t.match(page.body, /This link has expired or was already used\./, what)
      const json = await app.inject({ url })
      t.same(json.json(), linkInvalid, what)
    }
    t.same((await app.inject({ url: '/users/me/email', headers: bob.auth })).json(), {
      email: 'bob@example.org',
      verified: false,
      notifications: true,
      available: true,
    })

    for (const url of ['/email/verify', '/email/unsubscribe?token=']) {
      const page = await app.inject({ url, headers: BROWSER })
      t.equal(page.statusCode, 400, url)
      isPage(t, page)
      t.match(page.body, /This link has expired or was already used\./)
    }
    t.same((await app.inject({ url: '/email/verify' })).json(), {
      statusCode: 400,
      code: 'BAD_REQUEST',
      error: 'Bad Request',
      message: 'querystring.token is required',
    })
    t.same((await app.inject({ url: '/email/unsubscribe?token=' })).json(), {
      statusCode: 400,
      code: 'BAD_REQUEST',
      error: 'Bad Request',
      message: 'querystring.token must not be empty',
    })
  },
)

t.test('the address on the page is escaped', async (t) => {
  const { app } = await setup(t)
  const bob = await register(app)
  const link = await signedLink(app, 'unsubscribe', bob, '"<b>&x"@example.com', Date.now() + 60_000)
  const page = await app.inject({ url: link, headers: BROWSER })
  t.equal(page.statusCode, 200)
  t.match(page.body, /off for &quot;&lt;b&gt;&amp;x&quot;@example\.com\./)
  t.notMatch(page.body, /<b>/)
})
