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

sw.addEventListener('push', (/** @type {PushEventLike} */ event) => {
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
})

sw.addEventListener('notificationclick', (/** @type {NotificationEventLike} */ event) => {
  event.notification.close()
  const conversationId = Number(event.notification.data?.conversation_id)
  const url = new URL(`/#c=${conversationId}`, sw.location.origin).toString()
  event.waitUntil(
    (async () => {
      const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true })
      const page = windows.find((client) => new URL(client.url).origin === sw.location.origin)
      if (page) {
        await page.focus()
        page.postMessage({ type: 'open_conversation', conversation_id: conversationId })
        return
      }
      await sw.clients.openWindow(url)
    })(),
  )
})
