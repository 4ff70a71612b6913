import { existsSync } from 'node:fs'
import { type Browser, chromium, type Page } from 'playwright-core'
import t from 'tap'
import { type Account, createConversation, register, startTestServer } from './helpers/app.js'

// Mentions and notifications on the page (public/mentions.js, public/notifications.js): the @
// autocomplete, highlighted mentions, the mention badge, the level control, desktop notifications
// and the favicon count. Debian's Chromium driven by playwright-core, as in test/web.e2e.test.ts.
// The Notification API is observed, not faked: an init script wraps the real constructor to
// record each call, and lets the test say when the page counts as hidden (headless pages never are).
// Run alone: npx tap test/web-mentions.e2e.test.ts

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const TIMEOUT = 10_000

// A string, not a function: the test's TypeScript transform would add helpers the page lacks.
const OBSERVE = `{
  const Real = window.Notification
  const shown = []
  let asked = 0
  class Observed extends Real {
    constructor(title, options) {
      super(title, options)
      shown.push({ title, body: options && options.body })
      window.lastNotification = this
    }
    static get permission() {
      return Real.permission
    }
    static requestPermission() {
      asked++
      return Real.requestPermission()
    }
  }
  let hidden = false
  Object.defineProperty(document, 'visibilityState', { get: () => (hidden ? 'hidden' : 'visible') })
  Object.defineProperty(document, 'hidden', { get: () => hidden })
  Object.assign(window, {
    Notification: Observed,
    shownNotifications: shown,
    askedPermission: () => asked,
    setHidden: (value) => {
      hidden = value
      document.dispatchEvent(new Event('visibilitychange'))
    },
  })
}`

async function login(page: Page, username: string) {
  await page.goto('/')
  await page.fill('#login-form input[name=username]', username)
  await page.fill('#login-form input[name=password]', 'correct horse battery')
  await page.press('#login-form input[name=password]', 'Enter')
  await page.waitForFunction(() => document.body.dataset.connection === 'open')
}

if (!existsSync(CHROMIUM)) {
  // Not a skip: CI installs Chromium (`apt-get install -y chromium`), so a missing one is a failure.
  t.fail(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
} else {
  t.test('mentions and notifications in the page', async (t) => {
    const server = await startTestServer(t)
    const [alice, bob, carol] = [
      await register(server.app, 'alice'),
      await register(server.app, 'bob'),
      await register(server.app, 'carol'),
    ]
    const group = await createConversation(server.app, alice, [bob, carol], 'Team')
    const direct = await createConversation(server.app, alice, [bob])
    const send = async (who: Account, id: number, content: string) => {
      const response = await server.app.inject({
        method: 'POST',
        url: `/conversations/${id}/messages`,
        headers: who.auth,
        payload: { content },
      })
      return response.json().message as { id: number; mentions: number[] }
    }
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    })
    t.teardown(() => browser.close())
    const problems: string[] = []
    const open = async (grant: boolean) => {
      const context = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        baseURL: server.http,
      })
      if (grant) await context.grantPermissions(['notifications'])
      await context.addInitScript({ content: OBSERVE })
      const page = await context.newPage()
      page.setDefaultTimeout(TIMEOUT)
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
      return page
    }

    const page = await open(true)
    await login(page, 'alice')

    await t.test('a mention of me: badge in the sidebar, count on the tab and the favicon', async (t) => {
      await send(bob, group, 'hello @alice, a look?')
      const badge = `.conv-item[data-id="${group}"] .mention-badge`
      await page.waitForSelector(badge)
      t.equal(await page.textContent(badge), '@1', 'one mention of me')
      await page.waitForFunction(() => document.title === '(1) Parley')
      await page.waitForFunction(
        () => document.querySelector('link[rel~="icon"]')?.getAttribute('data-unread') === '1',
      )
      t.match(
        await page.getAttribute('link[rel~="icon"]', 'href'),
        /^data:image\/png/,
        'the favicon shows the count',
      )
    })

    await t.test('the message is marked, its mention highlighted as text', async (t) => {
      await page.click(`.conv-item[data-id="${group}"]`)
      const row = 'li.message.mentions-me'
      await page.waitForSelector(row)
      t.equal(await page.textContent(`${row} .mention.me`), '@alice')
      t.equal(await page.textContent(`${row} .content`), 'hello @alice, a look?', 'the text is whole')
      t.equal(
        await page.$eval(`${row} .mention.me`, (span) => getComputedStyle(span).display),
        'inline',
        'inside the line of text (not a block of its own)',
      )
      t.ok(await page.isHidden(`.conv-item[data-id="${group}"] .mention-badge`), 'opened: the badge goes')
      await page.waitForFunction(() => document.title === 'Parley')
    })

    await t.test('@ in the composer: a keyboard-driven list of the members', async (t) => {
      await page.click('#composer-input')
      await page.keyboard.type('thanks @')
      await page.waitForSelector('#mention-list:not([hidden]) li')
      const labels = () =>
        page.$$eval('#mention-list li', (items) =>
          items.map((li) => (li.querySelector('.mention-label') ?? li).textContent),
        )
      t.same(await labels(), [
        'bob (@bob)',
        'carol (@carol)',
        '@all: everyone here',
        '@here: everyone online now',
      ])
      t.same(
        await page.$$eval('#mention-list li', (items) =>
          items.map((li) => li.querySelector('.avatar')?.textContent),
        ),
        ['b', 'c', undefined, undefined],
        'each person with their avatar (initials here)',
      )
      await page.keyboard.type('c')
      t.same(await labels(), ['carol (@carol)'])
      await page.keyboard.press('Backspace')
      await page.keyboard.press('ArrowDown')
      await page.keyboard.press('Enter')
      t.equal(await page.inputValue('#composer-input'), 'thanks @carol ', 'Enter picks, it does not send')
      t.ok(await page.isHidden('#mention-list'))
      await page.keyboard.type('and @b')
      await page.keyboard.press('Escape')
      t.ok(await page.isHidden('#mention-list'), 'Escape closes the list')
      await page.keyboard.press('Enter')
      const mine = 'li.message.mine .mention'
      await page.waitForSelector(mine)
      t.equal(await page.textContent(mine), '@carol', 'sent, the mention is highlighted')
    })

    await t.test('the level control and desktop notifications', async (t) => {
      await page.click('#details-btn')
      await page.waitForSelector('#notify-level')
      t.equal(await page.inputValue('#notify-level'), 'mentions', 'a group: mentions by default')
      t.ok(await page.isHidden('#notify-permission'), 'permission granted already: no button')
      await page.selectOption('#notify-level', 'all')
      await page.waitForSelector('#toast:has-text("Notification level saved")')
      const check = await server.app.inject({ url: `/conversations/${group}`, headers: alice.auth })
      t.equal(check.json().conversation.notification_level, 'all', 'saved on the server')

      await send(bob, group, 'seen while looking')
      await page.waitForSelector('li.message >> text=seen while looking')
      t.same(await page.evaluate('shownNotifications'), [], 'the page is in front: no desktop notification')

      await page.evaluate('setHidden(true)')
      await send(bob, group, 'morning all')
      await page.waitForFunction(
        () => (window as unknown as { shownNotifications: unknown[] }).shownNotifications.length === 1,
      )
      t.same(await page.evaluate('shownNotifications'), [{ title: 'bob in Team', body: 'morning all' }])
      await send(bob, direct, 'a word, @alice?')
      await page.waitForFunction(
        () => (window as unknown as { shownNotifications: unknown[] }).shownNotifications.length === 2,
      )
      t.same(await page.evaluate('shownNotifications[1]'), {
        title: 'bob mentioned you',
        body: 'a word, @alice?',
      })
      await page.evaluate('setHidden(false)')
      await page.evaluate('lastNotification.dispatchEvent(new Event("click"))')
      await page.waitForFunction(() => document.querySelector('#chat-title')?.textContent === 'bob')
      t.pass('clicking the notification opens its conversation')
    })

    await t.test('permission is asked only from its button', async (t) => {
      const other = await open(false)
      await login(other, 'carol')
      await other.click(`.conv-item[data-id="${group}"]`)
      await other.click('#details-btn')
      await other.waitForSelector('#notify-permission')
      t.equal(await other.evaluate('askedPermission()'), 0, 'not asked on load')
      t.ok(await other.isVisible('#notify-permission'), 'a clear control offers it')
      await other.click('#notify-permission')
      await other.waitForFunction(
        () => (window as unknown as { askedPermission: () => number }).askedPermission() === 1,
      )
      t.pass('asked when the button is pressed')
      await other.context().close()
    })

    t.same(problems, [], 'no page errors')
  })
}
