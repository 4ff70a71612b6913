import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'
import t from 'tap'
import { register, startTestServer } from './helpers/app.js'

// The account and admin screens (public/admin-menu.js and the modules it opens) in Chromium, as in
// test/web.e2e.test.ts: an admin invites, the invitee registers through the /join link, the admin
// deactivates and reactivates them, and a user ends another of their sessions.
// Run alone: npx tap test/web-admin.e2e.test.ts

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const PASSWORD = 'correct horse battery'

if (!existsSync(CHROMIUM)) {
  t.fail(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
} else {
  t.test('invite, join, deactivate, reactivate, log out another device', async (t) => {
    const server = await startTestServer(t, { registration: 'invite' })
    const admin = await register(server.app, 'alice')
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    })
    t.teardown(() => browser.close())
    const problems: string[] = []
    const open = async () => {
      const context = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        baseURL: server.http,
      })
      const page = await context.newPage()
      page.setDefaultTimeout(15_000)
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
      return page
    }
    const adminPage = await open()
    await adminPage.goto('/')
    await adminPage.fill('#login-form input[name=username]', 'alice')
    await adminPage.fill('#login-form input[name=password]', PASSWORD)
    await adminPage.press('#login-form input[name=password]', 'Enter')
    await adminPage.waitForFunction(() => document.body.dataset.connection === 'open')

    // Settings: make an invitation and read its link.
    await adminPage.click('#account-btn')
    await adminPage.click('#panel-settings')
    t.equal(await adminPage.inputValue('#admin-panel select'), 'invite', 'the mode from REGISTRATION')
    await adminPage.click('#admin-panel button:has-text("Invite")')
    const url = await adminPage.inputValue('#admin-panel .invite-url')
    t.match(url, new RegExp(`^${server.http}/join/[A-Za-z0-9_-]{22,}$`))

    // The invitee opens the link: the registration form, with the code.
    const guest = await open()
    await guest.goto(url)
    await guest.waitForSelector('#register-form:not([hidden]) .invite-note')
    t.equal(new URL(guest.url()).pathname, '/', 'the code leaves the address bar')
    await guest.fill('#register-form input[name=username]', 'bob')
    await guest.fill('#register-form input[name=password]', PASSWORD)
    await guest.fill('#register-form input[name=confirm_password]', PASSWORD)
    await guest.click('#register-form button[type=submit]')
    await guest.waitForFunction(() => document.body.dataset.connection === 'open')
    const bob = (await server.app.inject({ url: '/users?q=bob', headers: admin.auth })).json().users[0]
    t.match(bob, { username: 'bob', role: 'user', deactivated: false }, 'registered with the invitation')

    // People: deactivate, then reactivate.
    await adminPage.click('#panel-people')
    const row = '#admin-panel span[data-username="bob"]'
    await adminPage.click(`${row} button:has-text("Deactivate")`)
    await adminPage.waitForSelector(`${row} button:has-text("Reactivate")`)
    t.equal(
      (await server.app.inject({ url: `/users/${bob.id}`, headers: admin.auth })).json().user.deactivated,
      true,
    )
    await guest.waitForSelector('#auth-view:not([hidden])')
    t.pass('the deactivated user is back at the login form')
    await adminPage.click(`${row} button:has-text("Reactivate")`)
    await adminPage.waitForSelector(`${row} button:has-text("Deactivate")`)
    t.equal(
      (await server.app.inject({ url: `/users/${bob.id}`, headers: admin.auth })).json().user.deactivated,
      false,
    )

    // Bob logs in again here and on another device; he ends the other one from his account screen.
    const other = await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'user-agent': 'OtherDevice/1.0' },
      payload: { username: 'bob', password: PASSWORD },
    })
    const otherAuth = { authorization: `Bearer ${other.json().token}` }
    await guest.click('#tab-login')
    await guest.fill('#login-form input[name=username]', 'bob')
    await guest.fill('#login-form input[name=password]', PASSWORD)
    await guest.press('#login-form input[name=password]', 'Enter')
    await guest.waitForFunction(() => document.body.dataset.connection === 'open')
    await guest.click('#account-btn')
    t.equal(await guest.locator('#panel-people').count(), 0, 'no admin screens for a user')
    await guest.click('#admin-panel tr:has-text("OtherDevice/1.0") button:has-text("Log out this device")')
    await guest.waitForSelector('#admin-panel tr:has-text("OtherDevice/1.0")', { state: 'detached' })
    t.equal((await server.app.inject({ url: '/auth/check', headers: otherAuth })).statusCode, 401)
    t.same(problems, [], 'no page errors')
  })
}
