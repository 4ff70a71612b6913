// @ts-check
// Push notifications on this device: a button in the sidebar turns them on (asking the browser's
// permission only then, never on load), registers the service worker (sw.js), subscribes with the
// server's VAPID key and tells the server; the same button turns them off again. A click on a
// notification while the page is open arrives here and opens that conversation.
import { api } from '/client/parley-client.js'
import { openConversation } from './conversation-view.js'
import { $, el, errorText, toast } from './dom.js'

const ON_TEXT = 'Turn off notifications on this device'
const OFF_TEXT = 'Enable notifications on this device'

const supported = () => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window

/** The browser's application server key: the base64url text as bytes. */
function keyBytes(/** @type {string} */ base64url) {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/')
  const text = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))
  return Uint8Array.from(text, (c) => c.charCodeAt(0))
}

async function currentSubscription() {
  const registration = await navigator.serviceWorker.getRegistration('/')
  return (await registration?.pushManager.getSubscription()) ?? null
}

/** @param {HTMLButtonElement} button @param {boolean} on */
function show(button, on) {
  button.textContent = on ? ON_TEXT : OFF_TEXT
  button.setAttribute('aria-pressed', String(on))
  button.hidden = false
}

async function enable() {
  const permission = await Notification.requestPermission()
  if (permission !== 'granted') throw new Error('Notifications are blocked for this site in the browser')
  const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' })
  await navigator.serviceWorker.ready
  const { public_key } = await api('/push/key')
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: keyBytes(public_key),
  })
  await api('/push/subscriptions', { method: 'POST', body: subscription.toJSON() })
}

async function disable() {
  const subscription = await currentSubscription()
  if (!subscription) return
  await api('/push/subscriptions', { method: 'DELETE', body: { endpoint: subscription.endpoint } })
  await subscription.unsubscribe()
}

/** Adds the control under the account header; shows it once the session has started. */
export function setupPush() {
  if (!supported()) return
  const button = el('button', { type: 'button', id: 'push-btn', class: 'ghost small push-btn', hidden: true })
  $('me-name').closest('.me')?.after(button)
  button.addEventListener('click', async () => {
    button.disabled = true
    try {
      const on = button.getAttribute('aria-pressed') === 'true'
      if (on) await disable()
      else await enable()
      show(button, !on)
      toast(on ? 'Notifications turned off on this device' : 'Notifications turned on on this device')
    } catch (error) {
      toast(errorText(error))
    } finally {
      button.disabled = false
    }
  })
  navigator.serviceWorker.addEventListener('message', (event) => {
    if (event.data?.type === 'open_conversation') openConversation(Number(event.data.conversation_id))
  })
  // Logging out stops this device's pushes: the browser's subscription ends at once (the push
  // service then tells the server it is gone), and the server is told too while it still listens.
  $('logout-btn').addEventListener('click', async () => {
    const subscription = await currentSubscription().catch(() => null)
    if (!subscription) return
    const { endpoint } = subscription
    await subscription.unsubscribe().catch(() => {})
    await api('/push/subscriptions', { method: 'DELETE', body: { endpoint } }).catch(() => {})
    show(button, false)
  })
  refreshPush()
}

/** The button says what this device does now. */
async function refreshPush() {
  const button = /** @type {HTMLButtonElement | null} */ (document.getElementById('push-btn'))
  if (!button) return
  const subscription = await currentSubscription().catch(() => null)
  show(button, Boolean(subscription) && Notification.permission === 'granted')
}
