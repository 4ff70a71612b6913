// @ts-check
// The login and registration forms, and logging out.
import { api } from '/client/parley-client.js'
import { setBanner } from './connection-status.js'
import { $ } from './dom.js'
import { authErrorText, setupRegistrationChecks } from './registration-form.js'

/** @typedef {import('./state.js').User} User */

export function showAuth() {
  $('app-view').hidden = true
  $('auth-view').hidden = false
  setBanner(null)
  const input = /** @type {HTMLInputElement} */ ($('login-form').querySelector('input[name=username]'))
  input.focus()
}

/** @param {'login' | 'register'} which */
function selectTab(which) {
  const login = which === 'login'
  $('tab-login').setAttribute('aria-selected', String(login))
  $('tab-register').setAttribute('aria-selected', String(!login))
  $('login-form').hidden = !login
  $('register-form').hidden = login
  const form = login ? $('login-form') : $('register-form')
  form.querySelector('input')?.focus()
}

/**
 * @param {HTMLFormElement} form
 * @param {string} path
 * @param {(user: User) => Promise<void>} onSignedIn
 * @param {() => boolean} [check] the form's own checks; false keeps it from being sent
 */
function authForm(form, path, onSignedIn, check = () => true) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    if (!check()) return
    /** @type {Record<string, string>} */
    const body = {}
    for (const [key, value] of new FormData(form)) {
      const text = String(value)
      if (key === 'confirm_password') continue // checked here, not sent
      if (key === 'display_name' && !text.trim()) continue
      body[key] = key === 'password' ? text : text.trim()
    }
    const error = /** @type {HTMLElement} */ (form.querySelector('.form-error'))
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'))
    error.textContent = ''
    button.disabled = true
    try {
      const result = await api(path, { method: 'POST', body })
      form.reset()
      await onSignedIn(result.user)
    } catch (caught) {
      error.textContent = authErrorText(caught)
    } finally {
      button.disabled = false
    }
  })
}

/**
 * @param {object} session
 * @param {(user: User) => Promise<void>} session.start after a login or a registration
 * @param {() => void} session.stop after a logout
 */
export function setupAuth({ start, stop }) {
  $('tab-login').addEventListener('click', () => selectTab('login'))
  $('tab-register').addEventListener('click', () => selectTab('register'))
  for (const tab of [$('tab-login'), $('tab-register')]) {
    tab.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
        const next = tab.id === 'tab-login' ? 'register' : 'login'
        selectTab(next)
        $(`tab-${next}`).focus()
      }
    })
  }
  const loginForm = /** @type {HTMLFormElement} */ ($('login-form'))
  authForm(loginForm, '/auth/login', start, () => {
    const filled = [...loginForm.querySelectorAll('input')].every((input) => input.value.trim())
    const error = /** @type {HTMLElement} */ (loginForm.querySelector('.form-error'))
    error.textContent = filled ? '' : 'Type your username and password.'
    return filled
  })
  const registerForm = /** @type {HTMLFormElement} */ ($('register-form'))
  authForm(registerForm, '/auth/register', start, setupRegistrationChecks(registerForm))
  $('logout-btn').addEventListener('click', async () => {
    try {
      await api('/auth/logout', { method: 'POST' })
    } catch {}
    stop()
    showAuth()
  })
}
