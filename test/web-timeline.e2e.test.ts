import { existsSync } from 'node:fs'
import type { Page } from 'playwright-core'
import t from 'tap'
import { createConversation, MANY_WRITES, register, startTestServer } from './helpers/app.js'
import { CHROMIUM, DESKTOP, launchBrowser, loginInPage, newPage, waitConnected } from './helpers/browser.js'

// The open conversation's timeline in Chromium: a line per day, the "New messages" line at my
// read pointer, deleted messages alike live and after a reload, and the unread count on the
// tab's title and icon. Run alone: npx tap test/web-timeline.e2e.test.ts

/** The timeline's rows in order: messages by their text, and the lines between them. */
const timeline = (page: Page) =>
  page.$$eval('#message-list > li', (rows) =>
    rows.map((row) => {
      if (row.classList.contains('message'))
        return `message: ${row.querySelector('.content')?.textContent ?? ''}`
      return `${row.className}: ${row.textContent}`
    }),
  )

const favicon = (page: Page) =>
  page.$eval('link[rel~="icon"]', (link) => (link as HTMLLinkElement).getAttribute('href') ?? '')

if (!existsSync(CHROMIUM)) {
  t.fail(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
} else {
  t.test('the timeline: days, the unread line, deletions, the tab badge', async (t) => {
    const server = await startTestServer(t, MANY_WRITES)
    const { app } = server
    const alice = await register(app, 'alice')
    const bob = await register(app, 'bob')
    const direct = await createConversation(app, alice, [bob])
    const send = async (who: typeof alice, content: string) => {
      const response = await app.inject({
        method: 'POST',
        url: `/conversations/${direct}/messages`,
        headers: who.auth,
        payload: { content },
      })
      return response.json().message.id as number
    }
    const old = [await send(bob, 'three days ago'), await send(alice, 'me, three days ago')]
    // Written three days ago (nothing has read the history yet, so nothing cached it).
    const threeDaysAgo = new Date(Date.now() - 3 * 24 * 3600 * 1000)
    threeDaysAgo.setHours(12)
    await app.db
      .updateTable('messages')
      .set({ created_at: threeDaysAgo.toISOString() })
      .where('id', 'in', old)
      .execute()
    const seen = await send(bob, 'seen today')
    const read = await app.inject({
      method: 'POST',
      url: `/conversations/${direct}/read`,
      headers: alice.auth,
      payload: { message_id: seen },
    })
    t.equal(read.statusCode, 204, 'alice has read up to "seen today"')
    await send(bob, 'unread one')
    await send(bob, 'unread two')

    const browser = await launchBrowser(t)
    const problems: string[] = []
    const page = await newPage(browser, server.http, DESKTOP, problems)
    await loginInPage(page, 'alice')

    await t.test('two unread: on the title and on the tab icon', async (t) => {
      await page.waitForFunction(() => document.title === '(2) Parley')
      await page.waitForFunction(
        () => document.querySelector('link[rel~="icon"]')?.getAttribute('href') !== '/favicon.svg',
      )
      t.match(await favicon(page), /^data:image\/png;base64,/, 'a badged icon')
    })

    await t.test('opening it: a line per day, "New messages" before the first unread', async (t) => {
      await page.click(`#conversation-list .conv-item[data-id="${direct}"]`)
      await page.waitForSelector('#message-list li.message[data-id]')
      const sameYear = threeDaysAgo.getFullYear() === new Date().getFullYear()
      const day = new Intl.DateTimeFormat(undefined, {
        weekday: 'long',
        month: 'long',
        day: 'numeric',
        ...(sameYear ? {} : { year: 'numeric' }),
      })
      t.same(await timeline(page), [
        `day-separator: ${day.format(threeDaysAgo)}`,
        'message: three days ago',
        'message: me, three days ago',
        'day-separator: Today',
        'message: seen today',
        'unread-marker: New messages',
        'message: unread one',
        'message: unread two',
      ])
      await page.waitForFunction(() => document.title === 'Parley')
      t.equal(await favicon(page), '/favicon.svg', 'the plain icon again')
    })

    await t.test('a new message while open keeps the day and needs no new line', async (t) => {
      await send(bob, 'live one')
      await page.waitForSelector('#message-list li.message:last-child >> text=live one')
      const rows = await timeline(page)
      t.equal(rows.filter((row) => row.startsWith('day-separator')).length, 2, 'still two days')
      t.equal(rows.at(-1), 'message: live one')
    })

    await t.test('a deleted message: the same live and after a reload', async (t) => {
      const row = '#message-list li.message.mine'
      await page.hover(`${row} .bubble`)
      await page.click(`${row} .delete-btn`)
      await page.waitForFunction(() => !document.querySelector('#message-list li.message.mine'))
      const live = await timeline(page)
      t.notOk(
        live.some((r) => r.includes('me, three days ago')),
        'my deleted message is gone',
      )
      // bob deletes one of his: gone from alice's page too.
      const bobs = await app.inject({
        method: 'DELETE',
        url: `/conversations/${direct}/messages/${old[0]}`,
        headers: bob.auth,
      })
      t.equal(bobs.statusCode, 204)
      await page.waitForFunction(() => !document.body.textContent?.includes('three days ago'))
      const afterLive = (await timeline(page)).filter((r) => !r.startsWith('unread-marker'))
      await page.reload()
      await waitConnected(page)
      await page.waitForSelector('#message-list li.message[data-id]')
      t.same(await timeline(page), afterLive, 'the same rows after a reload')
      t.notOk(
        afterLive.some((r) => r.includes('deleted')),
        'no placeholder either way',
      )
    })

    t.same(problems, [], 'no page errors')
  })
}
