import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { testConfig } from '../src/config.js'
import { MANY_WRITES } from './helpers/app.js'

// The web page in a real browser: Debian's Chromium driven by playwright-core (never a downloaded
// browser), two users in two browser contexts against a real server on an ephemeral port.
// Run alone: npx tap test/web.e2e.test.ts

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const TIMEOUT = 10_000

/** A PNG of `width` x `height` with a gradient, encoded here (no image library). */
function gradientPng(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc32 = (bytes: Buffer) => {
    let c = 0xffffffff
    for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8) // 8-bit RGB
  const rows = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1)
    for (let x = 0; x < width; x++) {
      rows.set([80 + (x * 150) / width, 70 + (y * 120) / height, 229], row + 1 + x * 3)
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}
const PNG = gradientPng(240, 150)

interface Server {
  app: FastifyInstance
  port: number
  url: string
}

/** The whole app on a SQLite file in `dir`, not listening yet. */
function buildServerApp(dir: string): Promise<FastifyInstance> {
  return buildApp({
    // The sidebar test makes 55 conversations from one account: past the default creation budget.
    config: testConfig({
      ...MANY_WRITES,
      databaseUrl: `sqlite:${join(dir, 'parley.db')}`,
      uploadDir: join(dir, 'uploads'),
    }),
  })
}

/** Listens on `port` (0 picks one; a number reuses the port after a restart). */
async function listen(app: FastifyInstance, port = 0): Promise<Server> {
  await app.listen({ port, host: '127.0.0.1' })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('no port')
  return { app, port: address.port, url: `http://127.0.0.1:${address.port}` }
}

async function login(app: FastifyInstance, username: string): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username, password: 'correct horse battery' },
  })
  if (response.statusCode !== 200) throw new Error(`login ${username}: ${response.statusCode}`)
  return response.json().token
}

async function registerByApi(app: FastifyInstance, username: string) {
  const response = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username, password: 'correct horse battery' },
  })
  if (response.statusCode !== 201) throw new Error(`register ${username}: ${response.statusCode}`)
  const body = response.json()
  return { id: body.user.id as number, auth: { authorization: `Bearer ${body.token}` } }
}

async function registerInPage(page: Page, username: string, displayName: string) {
  await page.click('#tab-register')
  await page.fill('#register-form input[name=username]', username)
  await page.fill('#register-form input[name=display_name]', displayName)
  await page.fill('#register-form input[name=password]', 'correct horse battery')
  await page.fill('#register-form input[name=confirm_password]', 'correct horse battery')
  await page.press('#register-form input[name=confirm_password]', 'Enter')
  await page.waitForSelector('#app-view:not([hidden])', { timeout: TIMEOUT })
  await waitConnected(page)
}

const waitConnected = (page: Page) =>
  page.waitForFunction(() => document.body.dataset.connection === 'open', null, { timeout: TIMEOUT })

/**
 * The text of every message row of the open conversation, in order (not counting unsent ones), as
 * a reader sees it: innerText, so a Markdown line break (<br>) reads as a newline.
 */
const messageTexts = (page: Page) =>
  page.$$eval('#message-list li.message[data-id]', (rows) =>
    // biome-ignore lint/performance/useDomNodeTextContent: a rendered <br> must read as a newline
    rows.map((row) => (row.querySelector('.content') as HTMLElement | null)?.innerText ?? ''),
  )

const messageIds = (page: Page) =>
  page.$$eval('#message-list li.message[data-id]', (rows) =>
    rows.map((row) => Number(row.getAttribute('data-id'))),
  )

async function waitForMessage(page: Page, text: string) {
  await page.waitForFunction(
    (wanted) =>
      Array.from(document.querySelectorAll<HTMLElement>('#message-list li.message[data-id] .content')).some(
        // biome-ignore lint/performance/useDomNodeTextContent: a rendered <br> must read as a newline
        (node) => node.innerText === wanted,
      ),
    text,
    { timeout: TIMEOUT },
  )
}

async function sendInPage(page: Page, text: string) {
  await page.click('#composer-input')
  await page.keyboard.type(text)
  await page.keyboard.press('Enter')
}

if (!existsSync(CHROMIUM)) {
  // Not a skip: CI installs Chromium (`apt-get install -y chromium`), so a missing one is a failure.
  t.fail(
    `Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH; ` +
      'the browser tests never download a browser.',
  )
} else {
  t.test('two users in Chromium: chat, typing, presence, receipts, XSS, reconnect', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-web-'))
    let server = await listen(await buildServerApp(dir))
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    t.teardown(async () => {
      await browser.close()
      await server.app.close()
      rmSync(dir, { recursive: true, force: true })
    })

    const problems: string[] = []
    const dialogs: string[] = []
    async function newPage(viewport = { width: 1280, height: 800 }): Promise<[BrowserContext, Page]> {
      const context = await browser.newContext({ viewport, baseURL: server.url })
      const page = await context.newPage()
      page.setDefaultTimeout(TIMEOUT)
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
      page.on('console', (message) => {
        // A CSP violation is reported on the console; the page must cause none.
        if (/Content Security Policy/i.test(message.text())) problems.push(`csp: ${message.text()}`)
      })
      page.on('dialog', (dialog) => {
        dialogs.push(`${dialog.type()}: ${dialog.message()}`)
        if (dialog.type() === 'confirm') dialog.accept()
        else dialog.dismiss()
      })
      return [context, page]
    }

    const [, alice] = await newPage()
    const [contextB, bob] = await newPage()

    await t.test('GET / serves the page with a strict CSP', async (t) => {
      const response = await alice.goto('/')
      t.equal(response?.status(), 200)
      const csp = response?.headers()['content-security-policy'] ?? ''
      t.match(csp, /script-src 'self'/)
      t.notMatch(csp, /unsafe-inline/)
      t.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${server.port}`))
      await alice.waitForSelector('#auth-view:not([hidden])')
      await bob.goto('/')
    })

    await t.test('register both users', async () => {
      await registerInPage(alice, 'alice', 'Alice Archer')
      await registerInPage(bob, 'bob', 'Bob Baker')
    })

    let conversationId = 0
    await t.test('alice finds bob and starts a direct conversation', async (t) => {
      await alice.fill('#people-search', 'bob')
      await alice.click('#people-results button:has-text("Message")')
      await alice.waitForSelector('#chat-pane:not([hidden])')
      t.equal(await alice.textContent('#chat-title'), 'Bob Baker')
      conversationId = Number(new URL(alice.url()).hash.replace('#c=', ''))
      t.ok(conversationId > 0, 'the conversation is in the URL')
      // bob hears of it live and opens it
      const item = bob.locator(`#conversation-list .conv-item[data-id="${conversationId}"]`)
      await item.waitFor()
      t.match(await item.textContent(), /Alice Archer/)
      await item.click()
      await bob.waitForSelector('#chat-pane:not([hidden])')
      t.equal(await bob.textContent('#chat-title'), 'Alice Archer')
    })

    await t.test('presence: each sees the other online', async (t) => {
      await alice.waitForSelector(`.conv-item[data-id="${conversationId}"] .presence-dot.online`)
      await bob.waitForSelector(`.conv-item[data-id="${conversationId}"] .presence-dot.online`)
      await alice.waitForFunction(() => document.querySelector('#chat-subtitle')?.textContent === 'online')
      t.pass('online dots and header')
    })

    await t.test('typing: alice sees "Bob Baker is typing…"', async (t) => {
      await bob.click('#composer-input')
      await bob.keyboard.type('Hi Al')
      await alice.waitForFunction(
        () => document.querySelector('#typing')?.textContent === 'Bob Baker is typing…',
      )
      await bob.fill('#composer-input', '')
      await bob.dispatchEvent('#composer-input', 'input')
      await alice.waitForFunction(() => document.querySelector('#typing')?.textContent === '')
      t.pass('typing shown and cleared')
    })

    await t.test('messages both ways; Enter sends, Shift+Enter breaks the line', async (t) => {
      await sendInPage(alice, 'Hello Bob')
      await waitForMessage(bob, 'Hello Bob')
      await bob.click('#composer-input')
      await bob.keyboard.type('line one')
      await bob.keyboard.press('Shift+Enter')
      await bob.keyboard.type('line two')
      await bob.keyboard.press('Enter')
      await waitForMessage(alice, 'line one\nline two')
      t.same(await messageTexts(alice), ['Hello Bob', 'line one\nline two'])
      t.same(await messageTexts(bob), ['Hello Bob', 'line one\nline two'])
      t.equal(await bob.inputValue('#composer-input'), '', 'the composer is cleared')
    })

    await t.test('read receipts: alice sees that bob read her message', async (t) => {
      await alice.waitForFunction(() =>
        Array.from(document.querySelectorAll('#message-list li.message.mine .receipt')).some(
          (node) => node.textContent === 'Seen',
        ),
      )
      t.pass('"Seen" under alice\'s message')
    })

    await t.test('a message with HTML shows as text', async (t) => {
      const evil = '<img src=x onerror=alert(1)>'
      await sendInPage(alice, evil)
      await waitForMessage(bob, evil)
      t.equal(await bob.locator('#message-list img').count(), 0, 'no element made from the message')
      const preview = await bob.textContent(`.conv-item[data-id="${conversationId}"] .conv-preview`)
      t.equal(preview, `Alice: ${evil}`, 'the sidebar preview is text too')
      t.same(dialogs, [], 'no script ran')
    })

    await t.test('edit and delete my own messages', async (t) => {
      const id = await alice
        .locator('#message-list li.message.mine', { hasText: 'Hello Bob' })
        .getAttribute('data-id')
      const row = alice.locator(`#message-list li.message[data-id="${id}"]`)
      await row.hover()
      await row.locator('.edit-btn').click()
      const box = row.locator('textarea.edit-box')
      await box.fill('Hello Bob, edited')
      await box.press('Enter')
      await waitForMessage(bob, 'Hello Bob, edited')
      t.equal(
        await bob
          .locator('#message-list li.message', { hasText: 'Hello Bob, edited' })
          .locator('.edited')
          .count(),
        1,
        'bob sees it marked edited',
      )
      const evilRow = alice.locator('#message-list li.message.mine', { hasText: '<img' })
      const evilId = await evilRow.getAttribute('data-id')
      await evilRow.hover()
      await evilRow.locator('.delete-btn').click()
      // History leaves deleted messages out, and so does the live page.
      await bob.waitForSelector(`#message-list li.message[data-id="${evilId}"]`, { state: 'detached' })
      await alice.waitForSelector(`#message-list li.message[data-id="${evilId}"]`, { state: 'detached' })
      t.pass('the deleted message leaves both pages')
      t.same(dialogs, ['confirm: Delete this message for everyone?'])
      dialogs.length = 0
    })

    await t.test('files: an upload in one page appears in the other', async (t) => {
      const [chooser] = await Promise.all([alice.waitForEvent('filechooser'), alice.click('#attach-btn')])
      await chooser.setFiles([
        { name: 'pixel.png', mimeType: 'image/png', buffer: PNG },
        { name: 'notes <b>.txt', mimeType: 'text/plain', buffer: Buffer.from('some notes\n') },
      ])
      const image = bob.locator('#message-list .attachments .inline-image img')
      await image.waitFor()
      t.match(await image.getAttribute('src'), /^\/files\/\d+\/thumbnail$/, 'the thumbnail')
      await bob.waitForFunction(() => {
        const img = document.querySelector<HTMLImageElement>('#message-list .attachments .inline-image img')
        return img?.complete && img.naturalWidth === 240
      })
      t.pass('the image is shown inline')
      const link = bob.locator('#message-list a.file-link')
      await link.waitFor()
      t.match(await link.textContent(), /notes <b>\.txt/, 'the file name is text')
      t.equal(await link.getAttribute('download'), 'notes <b>.txt')
      const download = await bob.request.get((await link.getAttribute('href')) as string)
      t.equal(await download.text(), 'some notes\n', 'the link downloads the file')
    })

    await t.test('projects: create, add a member, upload by drag and drop with a progress bar', async (t) => {
      await alice.click('#new-project-btn')
      await alice.fill('#project-name', 'Apollo <i>')
      await alice.fill('#project-description', 'Landing plans')
      await alice.press('#project-description', 'Enter')
      await alice.waitForSelector('#details:not([hidden]) #files-section:not([hidden])')
      t.equal(await alice.textContent('#chat-title'), 'Apollo <i>', 'the name is text')
      t.equal(await alice.textContent('#project-list .conv-name'), 'Apollo <i>')

      await alice.fill('#add-member-search', 'bob')
      await alice.click('#add-member-results button:has-text("Add")')
      await alice.waitForSelector('#member-list li[data-user-id] >> text=Bob Baker')
      const projectItem = bob.locator('#project-list .conv-item', { hasText: 'Apollo <i>' })
      await projectItem.waitFor()
      t.pass('bob sees the project he was added to')

      // Watch for the progress bar, then drop a file on the drop zone.
      await alice.evaluate(() => {
        const seen: string[] = []
        ;(window as unknown as { uploadLog: string[] }).uploadLog = seen
        new MutationObserver(() => {
          for (const item of Array.from(document.querySelectorAll('#uploads li'))) {
            const label = item.querySelector('.upload-label')?.textContent ?? ''
            seen.push(item.querySelector('progress') ? `progress ${label}` : label)
          }
        }).observe(document.querySelector('#uploads') as Node, {
          subtree: true,
          childList: true,
          characterData: true,
        })
      })
      await alice.evaluate(() => {
        const data = new DataTransfer()
        data.items.add(new File(['x'.repeat(3_000_000)], 'plan.txt', { type: 'text/plain' }))
        const zone = document.querySelector('#dropzone') as HTMLElement
        for (const type of ['dragenter', 'dragover', 'drop']) {
          zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }))
        }
      })
      await alice.waitForSelector('#file-list li >> text=plan.txt')
      await alice.waitForFunction(() =>
        (window as unknown as { uploadLog: string[] }).uploadLog.some((entry) =>
          entry.endsWith('Uploaded plan.txt'),
        ),
      )
      const log = await alice.evaluate(() => (window as unknown as { uploadLog: string[] }).uploadLog)
      t.ok(
        log.some((entry) => entry.startsWith('progress Uploading plan.txt')),
        'a progress bar while uploading',
      )
      t.ok(
        log.some((entry) => /Uploading plan\.txt… \d+%$/.test(entry)),
        'with a percentage',
      )

      await projectItem.click()
      await bob.waitForSelector('#file-list li >> text=plan.txt')
      await bob.waitForSelector('#message-list a.file-link >> text=plan.txt')
      t.pass('bob sees the file in the list and announced in the conversation')
      await bob.click('#details-close')
      await bob.click(`#conversation-list .conv-item[data-id="${conversationId}"]`)
      await alice.click('#details-close')
      await alice.click(`#conversation-list .conv-item[data-id="${conversationId}"]`)
      await waitForMessage(alice, 'line one\nline two')
    })

    await t.test('bob reconnects after a server restart and shows what he missed exactly once', async (t) => {
      const before = await messageIds(bob)
      const port = server.port
      await server.app.close()
      await bob.waitForSelector('#banner:not([hidden])')
      t.match(await bob.textContent('#banner'), /Reconnecting/, 'a clear reconnecting banner')

      // bob writes while the server is down: queued, sent once when it is back
      await sendInPage(bob, 'written while offline')
      await bob.waitForSelector('#message-list li.message.pending')

      // Alice's messages committed while bob's page has no socket: through the restarted app,
      // on the same database, before it listens again.
      const app = await buildServerApp(dir)
      const token = await login(app, 'alice')
      const missed: number[] = []
      for (const content of ['missed one', 'missed two', 'missed three']) {
        const response = await app.inject({
          method: 'POST',
          url: `/conversations/${conversationId}/messages`,
          headers: { authorization: `Bearer ${token}` },
          payload: { content },
        })
        t.equal(response.statusCode, 201)
        missed.push(response.json().message.id)
      }
      server = await listen(app, port)

      await bob.waitForSelector('#banner', { state: 'hidden', timeout: 20_000 })
      await waitForMessage(bob, 'missed three')
      await waitForMessage(bob, 'written while offline')
      await bob.waitForSelector('#message-list li.message.pending', { state: 'detached' })
      const after = await messageIds(bob)
      t.equal(new Set(after).size, after.length, 'no message twice')
      t.same(after.slice(0, before.length), before, 'what was shown stays')
      t.same(
        after.slice(before.length, before.length + 3),
        missed,
        'the missed messages, once each, in order',
      )
      const texts = await messageTexts(bob)
      t.equal(texts.filter((text) => text === 'written while offline').length, 1, 'the offline message once')

      const history = await server.app.inject({
        method: 'GET',
        url: `/conversations/${conversationId}/messages?limit=200`,
        headers: { authorization: `Bearer ${token}` },
      })
      const stored = history.json().messages.map((m: { content: string }) => m.content)
      t.equal(stored.filter((c: string) => c === 'written while offline').length, 1, 'stored exactly once')
      await waitForMessage(alice, 'written while offline')
      t.same(await messageIds(alice), after, 'both pages show the same messages in the same order')
    })

    await t.test('history loads older pages on scroll, each message once', async (t) => {
      const token = await login(server.app, 'alice')
      const auth = { authorization: `Bearer ${token}` }
      const bobId = (
        await server.app.inject({ method: 'GET', url: '/conversations/users?q=bob', headers: auth })
      )
        .json()
        .users.find((u: { username: string }) => u.username === 'bob').id
      const created = await server.app.inject({
        method: 'POST',
        url: '/conversations',
        headers: auth,
        payload: { member_ids: [bobId], title: 'Long history' },
      })
      const groupId = created.json().conversation.id
      for (let i = 1; i <= 130; i++) {
        await server.app.inject({
          method: 'POST',
          url: `/conversations/${groupId}/messages`,
          headers: auth,
          payload: { content: `history ${i}` },
        })
      }
      // A fresh page (the session cookie logs it in again): its client holds none of them yet.
      await bob.reload()
      await waitConnected(bob)
      await bob.click(`#conversation-list .conv-item[data-id="${groupId}"]`)
      await waitForMessage(bob, 'history 130')
      t.equal((await messageIds(bob)).length, 50, 'the first page')
      for (let i = 0; i < 10; i++) {
        if ((await bob.textContent('#history-status')) === 'Beginning of the conversation') break
        await bob.$eval('#messages', (box) => {
          box.scrollTop = 0
          box.dispatchEvent(new Event('scroll'))
        })
        await bob.waitForTimeout(300)
      }
      const texts = await messageTexts(bob)
      t.same(
        texts,
        Array.from({ length: 130 }, (_, i) => `history ${i + 1}`),
        'every message once, oldest first',
      )
      await bob.click(`#conversation-list .conv-item[data-id="${conversationId}"]`)
    })

    await t.test(
      'a sidebar longer than a page: older conversations on scroll, live ones on top',
      async (t) => {
        const dora = await registerByApi(server.app, 'dora')
        const eve = await registerByApi(server.app, 'eve')
        const ids: number[] = []
        for (let i = 0; i < 55; i++) {
          const created = await server.app.inject({
            method: 'POST',
            url: '/conversations',
            headers: dora.auth,
            payload: { member_ids: [eve.id], title: `Team ${i}` },
          })
          ids.push(created.json().conversation.id)
        }
        const [context, page] = await newPage()
        await page.goto('/')
        await page.fill('#login-form input[name=username]', 'dora')
        await page.fill('#login-form input[name=password]', 'correct horse battery')
        await page.press('#login-form input[name=password]', 'Enter')
        await waitConnected(page)
        const shown = () =>
          page.$$eval('#conversation-list .conv-item', (items) =>
            items.map((item) => item.getAttribute('data-id')),
          )
        await page.waitForSelector(`#conversation-list .conv-item[data-id="${ids[54]}"]`)
        t.equal((await shown()).length, 50, 'the first page: 50')
        t.notOk(
          await page.isVisible(`#conversation-list .conv-item[data-id="${ids[0]}"]`),
          'the oldest not yet',
        )

        // A message in a conversation beyond the first page: it comes to the top at once.
        await server.app.inject({
          method: 'POST',
          url: `/conversations/${ids[1]}/messages`,
          headers: eve.auth,
          payload: { content: 'still here?' },
        })
        await page.waitForFunction(
          (id) =>
            document.querySelector('#conversation-list .conv-item')?.getAttribute('data-id') === String(id),
          ids[1],
        )
        t.equal((await shown()).length, 51, 'the live one joins the list')

        // Scrolled to the end of the sidebar: the next page.
        await page.$eval('#conversation-more', (button) => button.scrollIntoView())
        await page.waitForSelector(`#conversation-list .conv-item[data-id="${ids[0]}"]`)
        await page.waitForSelector('#conversation-more', { state: 'hidden' })
        const all = await shown()
        t.equal(all.length, 55, 'all 55 once the end is reached')
        t.equal(new Set(all).size, 55, 'none twice')
        t.equal(all[0], String(ids[1]), 'the live one still on top')
        t.equal(all[54], String(ids[0]), 'the oldest last')
        await page.click(`#conversation-list .conv-item[data-id="${ids[0]}"]`)
        await page.waitForSelector('#chat-pane:not([hidden])')
        t.equal(await page.textContent('#chat-title'), 'Team 0', 'an older one opens')
        await context.close()
      },
    )

    await t.test('a phone-sized screen: list, then the conversation, then back', async (t) => {
      const [, phone] = await newPage({ width: 390, height: 844 })
      await phone.goto('/')
      await phone.fill('#login-form input[name=username]', 'alice')
      await phone.fill('#login-form input[name=password]', 'correct horse battery')
      await phone.press('#login-form input[name=password]', 'Enter')
      await waitConnected(phone)
      t.ok(await phone.isVisible('#sidebar'), 'the list fills the screen')
      t.notOk(await phone.isVisible('#chat'), 'the conversation is hidden')
      await phone.click(`#conversation-list .conv-item[data-id="${conversationId}"]`)
      await waitForMessage(phone, 'written while offline')
      t.notOk(await phone.isVisible('#sidebar'), 'the list gives way')
      t.ok(await phone.isVisible('#composer-input'), 'the composer is on screen')
      const box = await phone.locator('#composer').boundingBox()
      t.ok(box && box.y + box.height <= 844 && box.width <= 390, 'the composer fits the screen')
      const width = await phone.evaluate(() => document.documentElement.scrollWidth)
      t.ok(width <= 390, 'nothing scrolls sideways')
      await phone.click('#back-btn')
      t.ok(await phone.isVisible('#sidebar'), 'back to the list')
      await phone.context().close()
    })

    await t.test('presence: alice sees bob go offline when his page closes', async (t) => {
      await contextB.close()
      await alice.waitForSelector(`.conv-item[data-id="${conversationId}"] .presence-dot:not(.online)`)
      await alice.waitForFunction(() =>
        /last seen/.test(document.querySelector('#chat-subtitle')?.textContent ?? ''),
      )
      t.pass('offline dot and last seen')
    })

    t.same(problems, [], 'no page errors and no CSP violations')
    t.same(dialogs, [], 'no alert ever')
  })
}
