// @ts-check
// The registration form's checks, as the account rules say them (src/auth/schemas.ts), in words:
// each field's problems show once it has been typed in, all of them when the form is sent, and
// the form is not sent while any is left.
import { ApiError } from '/client/parley-client.js'
import { el, errorText } from './dom.js'

const USERNAME_CHARS = /^[A-Za-z0-9_.-]*$/

/**
 * Every problem of what was typed, in order; `touched` limits them to the fields typed in.
 * @param {{username: string, password: string, confirm: string}} fields
 * @param {Set<string>} [touched] field names; all of them when absent
 * @returns {string[]}
 */
export function registrationProblems({ username, password, confirm }, touched) {
  const shown = (/** @type {string} */ name) => !touched || touched.has(name)
  /** @type {string[]} */
  const problems = []
  const name = username.trim()
  if (shown('username')) {
    if (name.length < 3) problems.push('The username needs at least 3 characters.')
    if (name.length > 32) problems.push('The username may have at most 32 characters.')
    if (!USERNAME_CHARS.test(name)) {
      problems.push('The username may only have letters, digits, "_", "." and "-" (no spaces).')
    }
  }
  // Counted as the server counts: characters, not UTF-16 units.
  const length = Array.from(password).length
  if (shown('password')) {
    if (length < 8) problems.push('The password needs at least 8 characters.')
    if (length > 256) problems.push('The password may have at most 256 characters.')
  }
  if (shown('confirm_password')) {
    if (!confirm) problems.push('Type the password a second time to confirm it.')
    else if (confirm !== password) problems.push('The two passwords differ.')
  }
  return problems
}

/** What a refused login or registration says, in words. @param {unknown} error */
export function authErrorText(error) {
  if (error instanceof ApiError) {
    if (error.code === 'INVALID_CREDENTIALS') return 'Wrong username or password.'
    if (error.code === 'USERNAME_TAKEN') return 'That username is taken.'
    if (error.status === 429) return 'Too many attempts. Wait a minute and try again.'
  }
  return errorText(error)
}

/**
 * Checks the form as it is typed in. Returns the check the submit runs: true when nothing is left.
 * @param {HTMLFormElement} form
 * @returns {() => boolean}
 */
export function setupRegistrationChecks(form) {
  const list = el('ul', { class: 'form-problems', 'aria-live': 'polite' })
  form.querySelector('.form-error')?.before(list)
  /** @type {Set<string>} */
  const touched = new Set()
  const value = (/** @type {string} */ name) =>
    /** @type {HTMLInputElement} */ (form.querySelector(`input[name=${name}]`)).value
  /** @param {Set<string> | undefined} which */
  const show = (which) => {
    const problems = registrationProblems(
      { username: value('username'), password: value('password'), confirm: value('confirm_password') },
      which,
    )
    list.replaceChildren(...problems.map((problem) => el('li', {}, problem)))
    return problems.length === 0
  }
  form.addEventListener('input', (event) => {
    const name = /** @type {HTMLInputElement} */ (event.target).name
    if (name) touched.add(name)
    show(touched)
  })
  form.addEventListener('reset', () => {
    touched.clear()
    list.replaceChildren()
  })
  return () => {
    for (const name of ['username', 'password', 'confirm_password']) touched.add(name)
    return show(undefined)
  }
}
