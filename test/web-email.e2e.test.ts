import { existsSync } from 'node:fs'
import type { Page } from 'playwright-core'
import t from 'tap'
import { MANY_WRITES, register, startTestServer } from './helpers/app.js'
import { CHROMIUM, DESKTOP, launchBrowser, loginInPage, newPage } from './helpers/browser.js'
import { startSmtp } from './helpers/smtp.js'

// The account screen's email notifications (public/account-email.js) in Chromium: an address
// is set, the page says a verification link was sent and that it is not verified; the link is
// taken from the mail the SMTP server started here received and followed in another tab, which
// shows a page in words (and, for a used link, says so); coming back, the page says verified. Then digests off and on, and the address removed.
// Run alone: npx tap test/web-email.e2e.test.ts

const statusOf = (page: Page) => page.textContent('.email-settings .email-status')

if (!existsSync(CHROMIUM)) {
  t.fail(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
} else {
  t.test('email notifications on the account screen', async (t) => {
    const smtp = await startSmtp(t)
    const server = await startTestServer(t, {
      ...MANY_WRITES,
      smtpUrl: smtp.url,
      publicUrl: 'http://parley.test',
    })
    const bob = await register(server.app, 'bob')
    const browser = await launchBrowser(t)
    const problems: string[] = []
    const page = await newPage(browser, server.http, DESKTOP, problems)
    await loginInPage(page, bob.username)
    await page.click('#account-btn')
    await page.waitForSelector('.email-settings .email-status')
    t.match(await statusOf(page), /^No address/)
    t.ok(await page.isHidden('.email-settings .email-toggle'), 'nothing to turn on or off yet')

    await page.fill('.email-settings input[type=email]', 'bob@example.com')
    await page.click('.email-settings .email-form button[type=submit]')
    await page.waitForFunction(() =>
      document.querySelector('.email-settings .email-status')?.textContent?.startsWith('Not verified'),
    )
    t.equal(await statusOf(page), 'Not verified yet: follow the verification link sent to bob@example.com.')
    t.equal(await page.textContent('#toast'), 'Verification link sent to bob@example.com')
    t.equal(await page.inputValue('.email-settings input[type=email]'), 'bob@example.com')

    t.equal(smtp.mails.length, 1, 'the verification mail was sent before the page was answered')
    const link = /http:\/\/parley\.test(\/email\/verify\?token=[A-Za-z0-9_.-]+)/.exec(
      smtp.mails[0]?.text ?? '',
    )
    t.ok(link, 'the mail holds the verification link')
    // The link followed in another tab, as from a mail program; then back to the page.
    const mailTab = await page.context().newPage()
    const logged: string[] = []
    mailTab.on('console', (message) => logged.push(`${message.type()}: ${message.text()}`))
    mailTab.on('pageerror', (error) => problems.push(`mail tab: ${error.message}`))
    const followed = await mailTab.goto(`${server.http}${link?.[1]}`)
    t.equal(followed?.status(), 200)
    t.match(followed?.headers()['content-type'], /^text\/html/)
    t.equal(await mailTab.textContent('h1'), 'Address verified')
    t.equal(await mailTab.textContent('.email-link-message'), 'Your address bob@example.com is verified.')
    t.equal(await mailTab.title(), 'Address verified · Parley')
    // Its stylesheet is loaded under the page's CSP: a white card with the accent on top.
    t.same(
      await mailTab.$eval('.email-link', (card) => {
        const style = getComputedStyle(card)
        return [style.backgroundColor, style.borderTopColor, style.borderTopWidth]
      }),
      ['rgb(255, 255, 255)', 'rgb(79, 70, 229)', '4px'],
    )
    // An expired or used link says so, styled the same way.
    const stale = await mailTab.goto(`${server.http}${link?.[1].slice(0, -2)}xx`)
    t.equal(stale?.status(), 400)
    t.equal(await mailTab.textContent('h1'), 'This link no longer works')
    t.equal(await mailTab.textContent('.email-link-message'), 'This link has expired or was already used.')
    t.equal(
      await mailTab.$eval('.email-link', (card) => getComputedStyle(card).borderTopColor),
      'rgb(220, 38, 38)',
    )
    // Back to Parley opens the app (signed in: the same browser).
    await mailTab.click('text=Back to Parley')
    await mailTab.waitForSelector('#account-btn')
    t.equal(new URL(mailTab.url()).pathname, '/')
    // The stale link's own 400 is logged by Chromium; anything else (a refused stylesheet) is not expected.
    const expected = 'error: Failed to load resource: the server responded with a status of 400 (Bad Request)'
    t.same(
      logged.filter((line) => !line.startsWith('debug') && line !== expected),
      [],
      'no CSP refusal or error on the link pages',
    )
    await mailTab.close()
    await page.bringToFront()
    await page.evaluate(() => window.dispatchEvent(new Event('focus')))
    await page.waitForFunction(() =>
      document.querySelector('.email-settings .email-status')?.textContent?.startsWith('Verified'),
    )
    t.equal(await statusOf(page), 'Verified: bob@example.com.')
    const settings = async () =>
      (await server.app.inject({ url: '/users/me/email', headers: bob.auth })).json()
    t.same(await settings(), {
      email: 'bob@example.com',
      verified: true,
      notifications: true,
      available: true,
    })

    t.equal(await page.textContent('.email-settings .email-toggle'), 'Turn email notifications off')
    await page.click('.email-settings .email-toggle')
    await page.waitForFunction(() =>
      document.querySelector('.email-settings .email-status')?.textContent?.endsWith('are off.'),
    )
    t.equal(await statusOf(page), 'Verified: bob@example.com. Email notifications are off.')
    t.equal((await settings()).notifications, false, 'turned off on the server')
    await page.click('.email-settings .email-toggle')
    await page.waitForFunction(
      () => document.querySelector('.email-settings .email-toggle')?.getAttribute('aria-pressed') === 'true',
    )
    t.equal((await settings()).notifications, true, 'on again')

    await page.click('.email-settings .email-remove')
    await page.waitForFunction(() =>
      document.querySelector('.email-settings .email-status')?.textContent?.startsWith('No address'),
    )
    t.equal((await settings()).email, null, 'removed on the server')
    t.equal(await page.inputValue('.email-settings input[type=email]'), '')
    t.same(problems, [], 'no page errors')
  })
}
