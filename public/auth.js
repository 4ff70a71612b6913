// @ts-check
// The login and registration forms, and logging out.
import { ApiError, api } from '/client/parley-client.js'
import { setBanner } from './connection-status.js'
import { $, errorText } from './dom.js'

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
 */
function authForm(form, path, onSignedIn) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    /** @type {Record<string, string>} */
    const body = {}
    for (const [key, value] of new FormData(form)) {
      const text = String(value)
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
      error.textContent =
        caught instanceof ApiError && caught.code === 'INVALID_CREDENTIALS'
          ? 'Wrong username or password.'
          : errorText(caught)
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
  authForm(/** @type {HTMLFormElement} */ ($('login-form')), '/auth/login', start)
  authForm(/** @type {HTMLFormElement} */ ($('register-form')), '/auth/register', start)
  $('logout-btn').addEventListener('click', async () => {
    try {
      await api('/auth/logout', { method: 'POST' })
    } catch {}
    stop()
    showAuth()
  })
}
