// @ts-check
// My account's email notifications: the address the digests of missed mentions and direct
// messages go to (set, changed or removed), whether it is verified yet, and digests on or off.
// The state is read again when the window regains focus: the verification link is followed in
// another tab or the mail program, and coming back shows it verified.
import { api } from '/client/parley-client.js'
import { el, errorText, toast } from './dom.js'

/**
 * @typedef {{ email: string | null, verified: boolean, notifications: boolean, available: boolean }} EmailSettings
 */

/** @param {EmailSettings} s */
function statusText(s) {
  if (!s.available) return 'This server sends no email.'
  if (!s.email) return 'No address: add one to get an email of the mentions and direct messages you miss.'
  const state = s.verified
    ? `Verified: ${s.email}.`
    : `Not verified yet: follow the verification link sent to ${s.email}.`
  return s.notifications ? state : `${state} Email notifications are off.`
}

/** The "Email notifications" section of the account screen. */
export async function emailSection() {
  const status = el('p', { class: 'hint email-status', role: 'status', 'aria-live': 'polite' })
  const address = el('input', {
    type: 'email',
    placeholder: 'you@example.com',
    'aria-label': 'Email address',
    maxlength: 254,
    required: true,
  })
  const save = el('button', { type: 'submit', class: 'small', text: 'Save address' })
  const form = el('form', { class: 'row panel-form email-form' }, address, save)
  const toggle = el('button', { type: 'button', class: 'small email-toggle' })
  const remove = el('button', { type: 'button', class: 'small danger email-remove', text: 'Remove address' })
  const section = el(
    'section',
    { class: 'email-settings' },
    el('h3', { text: 'Email notifications' }),
    status,
    form,
    el('div', { class: 'row panel-form' }, toggle, remove),
  )

  /** @param {EmailSettings} s */
  const show = (s) => {
    section.dataset.email = s.email ?? ''
    section.dataset.verified = String(s.verified)
    section.dataset.notifications = String(s.notifications)
    status.textContent = statusText(s)
    form.hidden = !s.available
    if (document.activeElement !== address) address.value = s.email ?? ''
    save.textContent = s.email ? 'Change address' : 'Save address'
    toggle.hidden = remove.hidden = !s.email
    toggle.textContent = s.notifications ? 'Turn email notifications off' : 'Turn email notifications on'
    toggle.setAttribute('aria-pressed', String(s.notifications))
  }
  const load = async () => show(await api('/users/me/email'))
  /** @param {() => Promise<void>} action */
  const guarded = async (action) => {
    try {
      await action()
    } catch (error) {
      toast(errorText(error))
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    guarded(async () => {
      const email = address.value.trim()
      await api('/users/me', { method: 'PATCH', body: { email } })
      address.blur()
      await load()
      toast(`Verification link sent to ${email}`)
    })
  })
  toggle.addEventListener('click', () =>
    guarded(async () => {
      const on = toggle.getAttribute('aria-pressed') !== 'true'
      show(await api('/users/me/email', { method: 'PATCH', body: { notifications: on } }))
      toast(on ? 'Email notifications on' : 'Email notifications off')
    }),
  )
  remove.addEventListener('click', () =>
    guarded(async () => {
      await api('/users/me', { method: 'PATCH', body: { email: null } })
      address.value = ''
      await load()
      toast('Email address removed')
    }),
  )
  const refresh = () => {
    if (!section.isConnected) {
      window.removeEventListener('focus', refresh)
      return
    }
    load().catch(() => {})
  }
  window.addEventListener('focus', refresh)
  await load()
  return section
}
