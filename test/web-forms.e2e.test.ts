import { existsSync } from 'node:fs'
import type { Page } from 'playwright-core'
import t from 'tap'
import { createConversation, MANY_WRITES, register, startTestServer } from './helpers/app.js'
import {
  CHROMIUM,
  DESKTOP,
  launchBrowser,
  loginInPage,
  newPage,
  PHONE,
  waitConnected,
} from './helpers/browser.js'
import { connect } from './helpers/ws.js'

// Forms and screens of the page in Chromium: registration checked as it is typed (every problem
// at once, in words, and a password typed twice), a file over the server's limit refused before
// any of it is sent, and the contacts screen. Run alone: npx tap test/web-forms.e2e.test.ts

const MAX_UPLOAD = 4096

/** The problems the registration form lists, one per line. */
const problemsShown = (page: Page) =>
  page.$$eval('#register-form .form-problems li', (items) => items.map((item) => item.textContent ?? ''))

const contactNames = (page: Page) =>
  page.$$eval('#contact-list li[data-user-id] .conv-name', (names) =>
    names.map((name) => name.textContent ?? ''),
  )

if (!existsSync(CHROMIUM)) {
  t.fail(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
} else {
  t.test('registration, the upload limit and contacts', async (t) => {
    const server = await startTestServer(t, { ...MANY_WRITES, maxUploadBytes: MAX_UPLOAD })
    const { app } = server
    const taken = await register(app, 'taken')
    const bob = await register(app, 'bob')
    const carol = await register(app, 'carol')
    const bobSocket = await connect(server.ws, bob.token)
    t.teardown(() => bobSocket.close())
    const browser = await launchBrowser(t)
    const problems: string[] = []

    await t.test('registration: every problem in words as it is typed; nothing sent meanwhile', async (t) => {
      const page = await newPage(browser, server.http, PHONE, problems)
      const posts: string[] = []
      page.on('request', (request) => {
        if (request.method() === 'POST') posts.push(new URL(request.url()).pathname)
      })
      await page.goto('/')
      await page.click('#login-form button[type=submit]')
      t.equal(await page.textContent('#login-form .form-error'), 'Type your username and password.')
      await page.click('#tab-register')
      await page.type('#register-form input[name=username]', 'a!')
      await page.type('#register-form input[name=password]', 'short')
      await page.type('#register-form input[name=confirm_password]', 'shorter')
      t.same(await problemsShown(page), [
        'The username needs at least 3 characters.',
        'The username may only have letters, digits, "_", "." and "-" (no spaces).',
        'The password needs at least 8 characters.',
        'The two passwords differ.',
      ])
      await page.click('#register-form button[type=submit]')
      t.same(posts, [], 'not sent while there are problems')
      t.notMatch(await page.textContent('#register-form'), /body\.|must NOT/, 'no validator text')

      await page.fill('#register-form input[name=username]', 'taken')
      await page.fill('#register-form input[name=password]', 'correct horse battery')
      t.same(await problemsShown(page), ['The two passwords differ.'], 'fixed ones go at once')
      await page.fill('#register-form input[name=confirm_password]', 'correct horse battery')
      t.same(await problemsShown(page), [], 'none left')
      await page.click('#register-form button[type=submit]')
      await page.waitForFunction(() =>
        document.querySelector('#register-form .form-error')?.textContent?.includes('taken'),
      )
      t.equal(await page.textContent('#register-form .form-error'), 'That username is taken.')
      t.same(posts, ['/auth/register'], 'the confirmation is not sent')

      await page.fill('#register-form input[name=username]', 'dora')
      await page.click('#register-form button[type=submit]')
      await waitConnected(page)
      t.equal(await page.textContent('#me-name'), 'dora', 'registered and signed in')
      await page.context().close()
    })

    const page = await newPage(browser, server.http, DESKTOP, problems)
    const uploads: string[] = []
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().includes('/files')) uploads.push(request.url())
    })
    const direct = await createConversation(app, taken, [bob])
    await loginInPage(page, 'taken')

    await t.test('a file over the limit is refused before any of it is sent', async (t) => {
      await page.click(`#conversation-list .conv-item[data-id="${direct}"]`)
      await page.waitForSelector('#history-status:has-text("No messages yet")')
      await page.setInputFiles('#file-input', {
        name: 'big.bin',
        mimeType: 'application/octet-stream',
        buffer: Buffer.alloc(5000),
      })
      await page.waitForSelector('#uploads .failed')
      t.equal(
        await page.textContent('#uploads .failed'),
        'big.bin is too large (4.9 KB); files may be up to 4.0 KB.',
      )
      t.same(uploads, [], 'no upload was sent')
      await page.setInputFiles('#file-input', {
        name: 'small.txt',
        mimeType: 'text/plain',
        buffer: Buffer.from('small enough'),
      })
      await page.waitForSelector('#message-list .file-link:has-text("small.txt")')
      t.equal(uploads.length, 1, 'a file within the limit goes')
    })

    await t.test('contacts: listed with presence, added from a direct conversation, removed', async (t) => {
      const added = await app.inject({
        method: 'POST',
        url: '/users/me/contacts',
        headers: taken.auth,
        payload: { user_id: bob.id },
      })
      t.equal(added.statusCode, 201)
      await page.reload()
      await waitConnected(page)
      await page.waitForSelector('#contact-list li[data-user-id]')
      t.same(await contactNames(page), ['bob'])
      t.ok(await page.$(`#contact-list [data-presence="${bob.id}"].online`), 'bob online')

      // A direct conversation with carol (new): the header offers to add her.
      await page.fill('#people-search', 'carol')
      await page.click('#people-results li:has(small:text-is("@carol")) button:has-text("Message")')
      await page.waitForFunction(() => document.querySelector('#chat-title')?.textContent === 'carol')
      t.equal(await page.textContent('#contact-btn'), 'Add to contacts')
      await page.click('#contact-btn')
      await page.waitForFunction(
        () => document.querySelectorAll('#contact-list li[data-user-id]').length === 2,
      )
      t.same(await contactNames(page), ['bob', 'carol'])
      t.equal(await page.textContent('#contact-btn'), 'Remove from contacts')
      const listed = await app.inject({ url: '/users/me/contacts', headers: taken.auth })
      t.same(
        listed.json().users.map((user: { id: number }) => user.id),
        [bob.id, carol.id],
        'saved',
      )

      // From the contacts list: bob's conversation opens; his entry can be removed.
      await page.click(`#contact-list li[data-user-id="${bob.id}"] .conv-item`)
      await page.waitForFunction(() => document.querySelector('#chat-title')?.textContent === 'bob')
      t.equal(
        await page.$eval('#chat-pane', () => location.hash),
        `#c=${direct}`,
        'the existing conversation',
      )
      await page.click(`#contact-list li[data-user-id="${bob.id}"] .contact-remove`)
      await page.waitForFunction(
        () => document.querySelectorAll('#contact-list li[data-user-id]').length === 1,
      )
      t.same(await contactNames(page), ['carol'])
      t.equal(await page.textContent('#contact-btn'), 'Add to contacts', "bob's header follows")
    })

    t.same(problems, [], 'no page errors')
  })
}
