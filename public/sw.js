// @ts-check
// The service worker of push notifications (public/push.js registers it when a user turns them on
// for this device). A push carries `{type: "notification", conversation_id, message_id, title,
// body}`; a click focuses the open page on that conversation, or opens one.

/** @typedef {{ waitUntil(promise: Promise<unknown>): void }} ExtendableEventLike */
/** @typedef {ExtendableEventLike & { data: { json(): any } | null }} PushEventLike */
/** @typedef {ExtendableEventLike & { notification: Notification }} NotificationEventLike */
/** @typedef {{ url: string, focus(): Promise<unknown>, postMessage(message: unknown): void }} WindowClientLike */
/**
 * @typedef {object} WorkerScope
 * @property {ServiceWorkerRegistration} registration
 * @property {{ matchAll(options: object): Promise<WindowClientLike[]>, openWindow(url: string): Promise<unknown>, claim(): Promise<void> }} clients
 * @property {(type: string, listener: (event: any) => void) => void} addEventListener
 * @property {() => Promise<void>} skipWaiting
 * @property {Location} location
 */

const sw = /** @type {WorkerScope} */ (/** @type {unknown} */ (self))

sw.addEventListener('install', () => {
  sw.skipWaiting()
})

sw.addEventListener('activate', (/** @type {ExtendableEventLike} */ event) => {
  event.waitUntil(sw.clients.claim())
})

// The handlers are named top-level functions, so they are also properties of the worker's global
// scope: the browser test (test/web-push.e2e.test.ts) calls them with an event of its own where
// headless Chromium cannot produce the real one (a click on a notification).

/** @param {PushEventLike} event */
function onPush(event) {
  /** @type {{ type?: string, conversation_id?: number, message_id?: number, title?: string, body?: string }} */
  let payload = {}
  try {
    payload = event.data ? event.data.json() : {}
  } catch {
    payload = {}
  }
  if (payload.type !== 'notification') return
  const conversationId = Number(payload.conversation_id)
  event.waitUntil(
    sw.registration.showNotification(String(payload.title ?? 'Parley'), {
      body: String(payload.body ?? ''),
      // One notification per conversation: a newer message replaces the older one.
      tag: `c${conversationId}`,
      icon: '/favicon.svg',
      data: { conversation_id: conversationId, message_id: payload.message_id },
    }),
  )
}

sw.addEventListener('push', onPush)

/** @param {NotificationEventLike} event */
function onNotificationClick(event) {
  event.notification.close()
  const conversationId = Number(event.notification.data?.conversation_id)
  const url = new URL(`/#c=${conversationId}`, sw.location.origin).toString()
  event.waitUntil(
    (async () => {
      const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true })
      const page = windows.find((client) => new URL(client.url).origin === sw.location.origin)
      if (page) {
        // Told first: the page opens the conversation even if the browser refuses the focus.
        page.postMessage({ type: 'open_conversation', conversation_id: conversationId })
        await page.focus()
        return
      }
      await sw.clients.openWindow(url)
    })(),
  )
}

sw.addEventListener('notificationclick', onNotificationClick)
