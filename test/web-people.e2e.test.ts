import { existsSync } from 'node:fs'
import { type Browser, chromium, type Page } from 'playwright-core'
import t from 'tap'
import { register, startTestServer } from './helpers/app.js'

// The page's one user picker (public/user-picker.js), in both places it serves: the sidebar's
// search that starts a direct conversation or gathers a group, and the details panel's "add a
// member", which leaves out who is in already. Debian's Chromium driven by playwright-core, as in
// test/web.e2e.test.ts. Run alone: npx tap test/web-people.e2e.test.ts

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const TIMEOUT = 10_000

/** The names in a list of people rows (the `.who` of each), in order. */
const namesIn = (page: Page, list: string) =>
  page.$$eval(`${list} li[data-user-id] .who > span:first-child`, (spans) =>
    spans.map((span) => span.textContent ?? ''),
  )

if (!existsSync(CHROMIUM)) {
  // Not a skip: CI installs Chromium (`apt-get install -y chromium`), so a missing one is a failure.
  t.fail(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
} else {
  t.test('the user picker: a new group from the search, then adding a member', async (t) => {
    const server = await startTestServer(t)
    for (const name of ['alice', 'bob', 'bobby', 'carol', 'dave']) await register(server.app, name)
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    })
    t.teardown(() => browser.close())
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: server.http })
    const page = await context.newPage()
    page.setDefaultTimeout(TIMEOUT)
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
    page.on('dialog', (dialog) => dialog.dismiss())

    await page.goto('/')
    await page.fill('#login-form input[name=username]', 'alice')
    await page.fill('#login-form input[name=password]', 'correct horse battery')
    await page.press('#login-form input[name=password]', 'Enter')
    await page.waitForFunction(() => document.body.dataset.connection === 'open')

    await t.test('the search lists the people found, me left out; Escape clears it', async (t) => {
      await page.fill('#people-search', 'bob')
      await page.waitForSelector('#people-results:not([hidden]) li[data-user-id]')
      t.same((await namesIn(page, '#people-results')).sort(), ['bob', 'bobby'])
      await page.fill('#people-search', 'alice')
      await page.waitForSelector('#people-results li.none')
      t.equal(await page.textContent('#people-results'), 'Nobody found', 'nobody but me is called alice')
      await page.press('#people-search', 'Escape')
      await page.waitForSelector('#people-results', { state: 'hidden' })
      t.equal(await page.inputValue('#people-search'), '')
    })

    await t.test('"+ Group" gathers people; Create opens the group', async (t) => {
      for (const name of ['bob', 'carol']) {
        await page.fill('#people-search', name)
        await page.click(`#people-results li:has(small:text-is("@${name}")) button:has-text("+ Group")`)
      }
      await page.waitForSelector('#group-builder:not([hidden])')
      t.same(await page.$$eval('#group-chips li', (items) => items.map((li) => li.firstChild?.textContent)), [
        'bob',
        'carol',
      ])
      await page.fill('#group-title', 'Launch crew')
      await page.click('#group-form button[type=submit]')
      await page.waitForFunction(() => document.querySelector('#chat-title')?.textContent === 'Launch crew')
      t.ok(await page.isHidden('#group-builder'), 'the builder closes')
      t.ok(await page.isHidden('#people-results'), 'the search results close')
      t.equal(await page.inputValue('#people-search'), '', 'the search is emptied')
    })

    await t.test('adding a member offers only those not in yet', async (t) => {
      await page.click('#details-btn')
      await page.waitForSelector('#add-member-form:not([hidden])')
      await page.fill('#add-member-search', 'carol')
      await page.waitForSelector('#add-member-results li.none')
      t.equal(await page.textContent('#add-member-results'), 'Nobody found', 'carol is in already')
      await page.fill('#add-member-search', 'dave')
      await page.click('#add-member-results button:has-text("Add")')
      await page.waitForSelector('#member-list li[data-user-id] >> text=dave')
      t.same((await namesIn(page, '#member-list')).sort(), ['alice (you)', 'bob', 'carol', 'dave'])
      t.equal(await page.inputValue('#add-member-search'), '', 'the search is emptied')
      t.ok(await page.isHidden('#add-member-results'), 'and its results hidden')
    })

    t.same(problems, [], 'no page errors')
  })
}
