// @ts-check
// Links that open the page: /join/<code> (an invitation: the registration form, code filled in)
// and /reset/<token> (a one-time password reset made by an admin).
import { api } from '/client/parley-client.js'
import { $, el, errorText } from './dom.js'

/** Reads the path once; the page's address goes back to / so a reload does not reuse the code. */
export function setupLinks() {
  const [, kind, secret] = location.pathname.split('/')
  if (!secret || (kind !== 'join' && kind !== 'reset')) return
  history.replaceState(null, '', '/')
  if (kind === 'join') fillInvite(decodeURIComponent(secret))
  else showReset(decodeURIComponent(secret))
}

/** @param {string} code */
function fillInvite(code) {
  const form = /** @type {HTMLFormElement} */ ($('register-form'))
  form.prepend(
    el('p', { class: 'hint invite-note', text: 'You were invited: create your account.' }),
    el('input', { type: 'hidden', name: 'invite', value: code }),
  )
  $('tab-register').click()
}

/** @param {string} token */
function showReset(token) {
  const error = el('p', { class: 'form-error', role: 'alert' })
  const input = el('input', {
    name: 'new_password',
    type: 'password',
    minlength: 8,
    maxlength: 256,
    required: true,
  })
  const form = el(
    'form',
    { id: 'reset-form', class: 'stack', novalidate: true },
    el('h2', { text: 'Choose a new password' }),
    el('label', {}, 'New password ', input),
    error,
    el('button', { type: 'submit', class: 'primary', text: 'Set password' }),
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    try {
      await api('/auth/reset', { method: 'POST', body: { token, new_password: input.value } })
      form.replaceWith(el('p', { class: 'hint', text: 'Password set. Log in with it.' }))
      $('tab-login').click()
    } catch (caught) {
      error.textContent = errorText(caught)
    }
  })
  $('login-form').before(form)
}
