import { existsSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import t from 'tap'
import { type Account, createConversation, MANY_WRITES, startTestServer } from './helpers/app.js'
import {
  box,
  boxes,
  CHROMIUM,
  DESKTOP,
  launchBrowser,
  loginInPage,
  newPage,
  PASSWORD,
  PHONE,
  waitConnected,
} from './helpers/browser.js'
import { connect } from './helpers/ws.js'

// The page's layout measured in Chromium (element boxes, at 390x844 and 1280x800): nothing wider
// than a phone's screen, each conversation listed once, file messages, the editor, the details
// panel, the direct conversation's header, and presence while the page reconnects.
// Run alone: npx tap test/web-layout.e2e.test.ts

const LONG_NAME = 'Bartholomew Maximilian Fitzgerald-Worthington of Very Long Place'
const LONG_WORD = 'Supercalifragilisticexpialidocious'.repeat(8)
const GREEN = 'rgb(34, 197, 94)'

async function registerNamed(app: FastifyInstance, username: string, displayName?: string): Promise<Account> {
  const response = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username, password: PASSWORD, ...(displayName ? { display_name: displayName } : {}) },
  })
  const body = response.json()
  return { id: body.user.id, token: body.token, username, auth: { authorization: `Bearer ${body.token}` } }
}

async function post(app: FastifyInstance, who: Account, url: string, payload: object) {
  const response = await app.inject({ method: 'POST', url, headers: who.auth, payload })
  if (response.statusCode >= 300) throw new Error(`${url}: ${response.statusCode} ${response.body}`)
  return response.json()
}

/** The background colours of the presence dots on the page. */
const dotColours = (page: Page) =>
  page.$$eval('[data-presence]', (dots) => dots.map((dot) => getComputedStyle(dot).backgroundColor))

if (!existsSync(CHROMIUM)) {
  t.fail(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
} else {
  t.test('the page laid out at phone and desktop sizes', async (t) => {
    const server = await startTestServer(t, MANY_WRITES)
    const { app } = server
    const alice = await registerNamed(app, 'alice', 'Alice')
    const bob = await registerNamed(app, 'bob', LONG_NAME)
    const carol = await registerNamed(app, 'carol')
    const direct = await createConversation(app, alice, [bob])
    const group = await createConversation(app, alice, [bob, carol], `${LONG_WORD.slice(0, 90)} group`)
    for (let i = 0; i < 3; i++) {
      await post(app, bob, `/conversations/${group}/messages`, { content: `${LONG_WORD} ${i}` })
    }
    await post(app, bob, `/conversations/${direct}/messages`, { content: LONG_WORD })
    const { project } = await post(app, alice, '/projects', { name: 'Launch', member_ids: [bob.id] })
    const form = new FormData()
    form.append('file', new Blob(['the notes']), 'notes.txt')
    const uploaded = await fetch(`${server.http}/projects/${project.id}/files`, {
      method: 'POST',
      headers: alice.auth,
      body: form,
    })
    t.equal(uploaded.status, 201, 'a file in the project')
    // bob is online (a socket of his own), so his dot is green on alice's page.
    const bobSocket = await connect(server.ws, bob.token)
    t.teardown(() => bobSocket.close())

    const browser = await launchBrowser(t)
    const problems: string[] = []

    await t.test('phone: the sidebar fits the screen, long names and previews cut short', async (t) => {
      const page = await newPage(browser, server.http, PHONE, problems)
      await loginInPage(page, 'alice')
      await page.waitForSelector('#conversation-list .badge')
      const sidebar = await box(page, '#sidebar')
      t.ok(sidebar.right <= PHONE.width, `the sidebar ends at ${sidebar.right}`)
      t.ok((await box(page, '#logout-btn')).right <= PHONE.width, 'Log out is on screen')
      for (const selector of ['.conv-time', '.badge', '.conv-name', '.conv-preview', '.avatar']) {
        const found = await boxes(page, `#sidebar ${selector}`)
        t.ok(found.length > 0, `${selector} shown`)
        t.ok(
          found.every((b) => b.left >= 0 && b.right <= PHONE.width),
          `every ${selector} on screen (${found.map((b) => Math.round(b.right)).join(', ')})`,
        )
      }
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth)
      t.ok(scrollWidth <= PHONE.width, 'no sideways scrolling')

      await t.test('a project is listed under Projects only', async (t) => {
        const listed = await page.$$eval('#conversation-list .conv-item', (items) =>
          items.map((item) => (item as HTMLElement).dataset.kind),
        )
        t.same(listed.sort(), ['direct', 'group'], 'Conversations: the direct one and the group')
        t.equal((await boxes(page, '#project-list .conv-item')).length, 1, 'Projects: the project')
      })

      await t.test('the direct conversation: the other person in the header, no Members', async (t) => {
        await page.click('#conversation-list .conv-item[data-kind=direct]')
        await page.waitForSelector('#message-list li.message[data-id]')
        const avatar = await box(page, '#chat-avatar')
        t.ok(avatar.right <= PHONE.width && avatar.width > 0, 'an avatar in the header')
        t.equal(await page.textContent('#chat-avatar'), 'BM', "bob's initials")
        t.ok(await page.$(`#chat-avatar [data-presence="${bob.id}"]`), 'with his presence dot')
        t.equal(await page.textContent('#chat-title'), LONG_NAME)
        t.ok(await page.isHidden('#details-btn'), 'no Members button')
        t.ok((await box(page, '.chat-header')).right <= PHONE.width, 'the header fits')
        for (const bubble of await boxes(page, '#message-list .bubble')) {
          t.ok(bubble.right <= PHONE.width, 'the long message wraps on screen')
        }
      })

      await t.test('phone: the details panel reaches the composer', async (t) => {
        await page.click('#back-btn')
        await page.click('#conversation-list .conv-item[data-kind=group]')
        await page.click('#details-btn')
        const details = await box(page, '#details')
        const composer = await box(page, '#composer')
        t.ok(
          Math.abs(details.bottom - composer.top) <= 1,
          `details end ${details.bottom}, composer ${composer.top}`,
        )
        t.ok(details.right <= PHONE.width, 'and fits the screen')
      })
      await page.context().close()
    })

    const page = await newPage(browser, server.http, DESKTOP, problems)
    await loginInPage(page, 'alice')

    await t.test('desktop: the details panel reaches the composer', async (t) => {
      await page.click('#conversation-list .conv-item[data-kind=group]')
      await page.click('#details-btn')
      await page.waitForSelector('#member-list li[data-user-id]')
      const details = await box(page, '#details')
      const composer = await box(page, '#composer')
      t.ok(
        Math.abs(details.bottom - composer.top) <= 1,
        `details end ${details.bottom}, composer ${composer.top}`,
      )
      await page.click('#details-close')
    })

    await t.test('a file message names the file once; its icon is light on my bubble', async (t) => {
      await page.click('#project-list .conv-item')
      await page.waitForSelector('#message-list .file-link')
      t.same(
        await page.$$eval('#message-list .bubble .content', (nodes) => nodes.map((n) => n.textContent)),
        [],
      )
      t.equal(await page.textContent('#message-list .file-link span'), 'notes.txt', 'the chip names it')
      const [filter, background] = await page.$eval('.message.mine .file-link img', (img) => [
        getComputedStyle(img).filter,
        getComputedStyle(img.closest('.bubble') as Element).backgroundColor,
      ])
      t.equal(background, 'rgb(79, 70, 229)', 'my bubble is purple')
      t.match(filter, /invert\(1\)/, 'the icon is drawn white on it')
      await page.click('#details-close')
    })

    await t.test('editing: the editor takes the bubble, Edit and Delete hidden', async (t) => {
      await page.click('#conversation-list .conv-item[data-kind=direct]')
      await post(app, alice, `/conversations/${direct}/messages`, { content: 'short' })
      const row = '#message-list li.message.mine:last-child'
      await page.waitForSelector(`${row} .bubble`)
      await page.hover(`${row} .bubble`)
      await page.click(`${row} .edit-btn`)
      await page.waitForSelector(`${row} .edit-box`)
      await page.hover(`${row} .edit-box`)
      t.same(await boxes(page, `${row} .message-actions button`), [], 'no Edit or Delete beside the editor')
      const editor = await box(page, `${row} .edit-box`)
      const bubble = await box(page, `${row} .bubble`)
      const list = await box(page, '#message-list')
      t.ok(
        Math.abs(editor.width - bubble.width) <= 2,
        `the editor (${editor.width}) fills the bubble (${bubble.width})`,
      )
      t.ok(bubble.width >= Math.min(620, 0.85 * list.width) - 2, `as wide as a bubble gets (${bubble.width})`)
      await page.press(`${row} .edit-box`, 'Escape')
      await page.waitForSelector(`${row} .edit-box`, { state: 'detached' })
    })

    await t.test('while reconnecting, presence is unknown; back online, it is shown again', async (t) => {
      await page.waitForFunction((id) => document.querySelector(`[data-presence="${id}"].online`), bob.id)
      t.ok((await dotColours(page)).includes(GREEN), 'bob shows online')
      // The next connections go to a closed port: the page stays "Reconnecting…".
      await page.evaluate(() => {
        const parley = (window as unknown as { parley: { url: string; drop: () => void } }).parley
        Object.assign(window, { realUrl: parley.url })
        parley.url = 'ws://127.0.0.1:9/ws'
        parley.drop()
      })
      await page.waitForSelector('#banner:not([hidden])')
      const colours = await dotColours(page)
      t.ok(colours.length > 0 && !colours.includes(GREEN), `no dot is green: ${colours.join(', ')}`)
      t.equal(await page.textContent('#chat-subtitle'), '', 'the header does not say online')
      await page.evaluate(() => {
        type Client = { url: string; drop: () => void; reconnectNow: () => void }
        const parley = (window as unknown as { parley: Client }).parley
        parley.url = (window as unknown as { realUrl: string }).realUrl
        parley.drop() // the attempt on the closed port, if one is under way
        parley.reconnectNow()
      })
      await waitConnected(page)
      await page.waitForFunction(
        (green) =>
          Array.from(document.querySelectorAll('[data-presence]')).some(
            (dot) => getComputedStyle(dot).backgroundColor === green,
          ),
        GREEN,
      )
      t.pass('bob is shown online again')
    })

    t.same(problems, [], 'no page errors')
  })
}
