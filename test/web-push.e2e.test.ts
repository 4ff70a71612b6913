import { existsSync } from 'node:fs'
import type { BrowserContext, CDPSession, Page, Worker } from 'playwright-core'
import t from 'tap'
import { createConversation, MANY_WRITES, register, startTestServer } from './helpers/app.js'
import { CHROMIUM, DESKTOP, launchBrowser, loginInPage, TIMEOUT, waitConnected } from './helpers/browser.js'
import { startPushReceiver } from './helpers/push-receiver.js'

// Push notifications in Chromium: the page side (public/push.js) and the service worker
// (public/sw.js). Headless Chromium reaches no push service, so PushManager.subscribe is replaced
// in the page (an init script) by one that returns a subscription to the push service started by
// the test, with a real P-256 key and auth secret: the server pushes to it, and the test decrypts
// what it sent as the browser would. That payload is then delivered to the service worker as a real
// push event through the DevTools protocol (ServiceWorker.deliverPushMessage, what the DevTools
// "Push" button does), and the notification it shows is read with registration.getNotifications().
// Headless Chromium has no notification UI to click, so the click handler is called inside the
// worker with an event made by the test (see docs/NOTIFICATIONS.md for what that leaves out).
// Run alone: npx tap test/web-push.e2e.test.ts

const FAST = { ...MANY_WRITES, pushAllowPrivate: true, pushRetryBaseMs: 20, pushPollMs: 100 }

/** The page's PushManager, answering with the test's device (and remembering what it was asked). */
const stubPushManager = (subscription: object) => `{
  const fake = ${JSON.stringify(subscription)}
  // The browser keeps a subscription across page loads: so does the stub (in localStorage).
  const made = () => ({
    endpoint: fake.endpoint,
    expirationTime: null,
    toJSON: () => ({ endpoint: fake.endpoint, expirationTime: null, keys: fake.keys }),
    unsubscribe: async () => {
      current = null
      localStorage.removeItem('test-push-subscribed')
      return true
    },
  })
  let current = localStorage.getItem('test-push-subscribed') ? made() : null
  window.subscribeCalls = []
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey)
    window.subscribeCalls.push({
      userVisibleOnly: options.userVisibleOnly,
      key: btoa(String.fromCharCode(...key)).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, ''),
    })
    current = made()
    localStorage.setItem('test-push-subscribed', '1')
    return current
  }
  PushManager.prototype.getSubscription = async function () {
    return current
  }
}`

/** The id of the service worker registration for `scope`, from the DevTools protocol. */
async function registrationId(cdp: CDPSession, scope: string): Promise<string> {
  const found = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const mine = registrations.find((r) => r.scopeURL === scope && !r.isDeleted)
      if (mine) resolve(mine.registrationId)
    })
  })
  await cdp.send('ServiceWorker.enable')
  return found
}

interface Shown {
  title: string
  body: string
  tag: string
  data: { conversation_id: number; message_id: number }
}

/** The notifications the service worker shows now. */
const notifications = (worker: Worker): Promise<Shown[]> =>
  worker.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the worker's global scope
    const scope = self as any
    const list = await scope.registration.getNotifications()
    // biome-ignore lint/suspicious/noExplicitAny: Notification objects of the worker
    return list.map((n: any) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }))
  })

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const end = Date.now() + TIMEOUT
  for (;;) {
    const value = await read()
    if (ok(value)) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * Calls sw.js's click handler on the notification shown for `tag`, with an event that collects
 * what it waits for; `openWindow` is recorded instead of opening (see the file's comment).
 */
// A string, not a function: the test's TypeScript transform would add helpers the worker lacks.
const click = (
  worker: Worker,
  tag: string,
): Promise<{ opened: string[]; rejected: string[]; left: number }> =>
  worker.evaluate(`(async () => {
    const opened = []
    self.clients.openWindow = async (url) => {
      opened.push(url)
      return null
    }
    const [notification] = await self.registration.getNotifications({ tag: ${JSON.stringify(tag)} })
    const waits = []
    self.onNotificationClick({ notification, waitUntil: (promise) => waits.push(promise) })
    const results = await Promise.allSettled(waits)
    return {
      opened,
      rejected: results.filter((r) => r.status === 'rejected').map((r) => String(r.reason)),
      left: (await self.registration.getNotifications()).length,
    }
  })()`)

if (!existsSync(CHROMIUM)) {
  t.fail(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
} else {
  t.test('push notifications: the page subscribes, the service worker shows and opens', async (t) => {
    const server = await startTestServer(t, FAST)
    const { app } = server
    const receiver = await startPushReceiver()
    t.teardown(() => receiver.close())
    const alice = await register(app, 'alice')
    const bob = await register(app, 'bob')
    const conversation = await createConversation(app, alice, [bob])
    const device = receiver.device()
    const browser = await launchBrowser(t)
    const problems: string[] = []
    const context: BrowserContext = await browser.newContext({
      viewport: DESKTOP,
      baseURL: server.http,
      permissions: ['notifications'],
    })
    await context.addInitScript({ content: stubPushManager(device.subscription) })
    const watch = (page: Page) => {
      page.setDefaultTimeout(TIMEOUT)
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
      return page
    }
    let page = watch(await context.newPage())
    await loginInPage(page, bob.username)

    // (a) The page: the control registers sw.js, subscribes with the server's key, tells the server.
    await page.waitForSelector('#push-btn:not([hidden])')
    t.equal(await page.textContent('#push-btn'), 'Enable notifications on this device')
    t.equal(await page.evaluate(() => navigator.serviceWorker.getRegistrations().then((r) => r.length)), 0)
    const registered = context.waitForEvent('serviceworker')
    await page.click('#push-btn')
    await page.waitForFunction(
      () => document.getElementById('push-btn')?.getAttribute('aria-pressed') === 'true',
    )
    t.equal(await page.textContent('#push-btn'), 'Turn off notifications on this device')
    const worker = await registered
    t.equal(new URL(worker.url()).pathname, '/sw.js', 'the service worker is /sw.js')
    t.equal(
      await page.evaluate(() =>
        navigator.serviceWorker.getRegistration('/').then((r) => r?.active?.scriptURL),
      ),
      `${server.http}/sw.js`,
      'registered and active for the whole page',
    )
    const { public_key } = (await app.inject({ url: '/push/key', headers: bob.auth })).json()
    t.same(
      await page.evaluate(() => (window as unknown as { subscribeCalls: unknown[] }).subscribeCalls),
      [{ userVisibleOnly: true, key: public_key }],
      "subscribed once, visibly, with the server's VAPID key",
    )
    const rows = await app.ctx.db.selectFrom('push_subscriptions').selectAll().execute()
    t.same(
      rows.map((row) => [Number(row.user_id), row.endpoint, row.p256dh, row.auth]),
      [
        [
          bob.id,
          device.subscription.endpoint,
          device.subscription.keys.p256dh,
          device.subscription.keys.auth,
        ],
      ],
      "the server keeps the device's subscription for bob",
    )

    // The server pushes to it once bob has no socket: the test's push service decrypts it.
    await page.close()
    await until(
      async () => app.presence.isOnline(bob.id),
      (online) => !online,
      'bob offline',
    )
    const sent = await app.inject({
      method: 'POST',
      url: `/conversations/${conversation}/messages`,
      headers: alice.auth,
      payload: { content: 'are you there?' },
    })
    const messageId = sent.json().message.id as number
    await receiver.waitFor((got) => got.length === 1, 'the push to the subscribed device')
    const payload = receiver.received[0]?.payload
    t.same(payload, {
      type: 'notification',
      conversation_id: conversation,
      message_id: messageId,
      title: 'alice',
      body: 'are you there?',
    })
    t.same(receiver.problems, [])

    // (b) The service worker: that payload as a real push event; the notification it shows.
    const blank = watch(await context.newPage())
    const cdp = await context.newCDPSession(blank)
    const id = await registrationId(cdp, `${server.http}/`)
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.http,
      registrationId: id,
      data: JSON.stringify(payload),
    })
    const sw = context.serviceWorkers().find((w) => w.url().endsWith('/sw.js')) ?? worker
    const shown = await until(
      () => notifications(sw),
      (list) => list.length === 1,
      'the notification',
    )
    t.same(shown, [
      {
        title: 'alice',
        body: 'are you there?',
        tag: `c${conversation}`,
        data: { conversation_id: conversation, message_id: messageId },
      },
    ])
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.http,
      registrationId: id,
      data: JSON.stringify({ type: 'something else' }),
    })
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.http,
      registrationId: id,
      data: JSON.stringify({ ...payload, message_id: messageId + 1, body: 'hello?' }),
    })
    const replaced = await until(
      () => notifications(sw),
      (list) => list[0]?.body === 'hello?',
      'the newer message',
    )
    t.equal(replaced.length, 1, 'one notification per conversation; other payloads show none')

    // A click with no page open: the page is opened on the conversation.
    const noPage = await click(sw, `c${conversation}`)
    t.same(noPage, { opened: [`${server.http}/#c=${conversation}`], rejected: [], left: 0 })
    page = watch(await context.newPage())
    await page.goto(noPage.opened[0] as string)
    await waitConnected(page)
    await page.waitForFunction(() => location.hash !== '' && !document.getElementById('chat-pane')?.hidden)
    t.equal(new URL(page.url()).hash, `#c=${conversation}`)
    t.match(await page.textContent('#chat-title'), /alice/, 'the conversation with alice is open')

    // A click with the page open elsewhere: the page is told, and opens the conversation.
    await page.evaluate(() => history.replaceState(null, '', '/'))
    const group = await createConversation(app, alice, [bob, await register(app, 'carol')], 'Team')
    await page.waitForFunction(() => document.querySelectorAll('#conversation-list [data-id]').length >= 2)
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.http,
      registrationId: id,
      data: JSON.stringify({ ...payload, conversation_id: group, title: 'alice in Team' }),
    })
    await until(
      () => notifications(sw),
      (list) => list.length === 1,
      'the notification of the group',
    )
    const withPage = await click(sw, `c${group}`)
    t.same(withPage.opened, [], 'no new window when the page is open')
    t.equal(withPage.left, 0, 'the notification is closed')
    await page.waitForFunction((group) => location.hash === `#c=${group}`, group)
    t.match(await page.textContent('#chat-title'), /Team/, 'the page switched to the group')
    // Headless Chromium refuses the focus of a click it did not make; the page was told first.
    t.comment(`the focus after a click made by the test: ${withPage.rejected.join('; ') || 'allowed'}`)

    // The same control turns them off: the server forgets the device.
    await page.waitForSelector('#push-btn[aria-pressed=true]')
    await page.click('#push-btn')
    await page.waitForSelector('#push-btn[aria-pressed=false]')
    t.equal(await page.textContent('#push-btn'), 'Enable notifications on this device')
    t.equal((await app.ctx.db.selectFrom('push_subscriptions').selectAll().execute()).length, 0)
    t.same(problems, [], 'no page errors')
  })
}
