// @ts-check
// My account: display name, email notifications (account-email.js), password, sessions ("log out this device"), API tokens, deletion.
import { api } from '/client/parley-client.js'
import { emailSection } from './account-email.js'
import { el, errorText, toast } from './dom.js'
import { table, when } from './panel.js'

/**
 * A small form: fields, a button, and what submitting does.
 * @param {string} label
 * @param {HTMLInputElement[]} inputs
 * @param {() => Promise<void>} submit
 */
export function miniForm(label, inputs, submit) {
  const form = el(
    'form',
    { class: 'row panel-form' },
    ...inputs,
    el('button', { type: 'submit', class: 'small', text: label }),
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    try {
      await submit()
    } catch (error) {
      toast(errorText(error))
    }
  })
  return form
}

/** @param {Record<string, unknown>} props */
const input = (props) => el('input', props)

/** @param {HTMLElement} body */
export async function renderAccount(body) {
  const [{ user }, email] = await Promise.all([api('/auth/check'), emailSection()])
  const name = input({ value: user.display_name, 'aria-label': 'Display name', maxlength: 64 })
  const current = input({
    type: 'password',
    placeholder: 'Current password',
    'aria-label': 'Current password',
  })
  const next = input({
    type: 'password',
    placeholder: 'New password',
    'aria-label': 'New password',
    minlength: 8,
  })
  const sessions = el('div')
  const tokens = el('div')
  const tokenName = input({ placeholder: 'Token name', 'aria-label': 'Token name', maxlength: 64 })
  const shown = el('p', { class: 'hint token-secret' })
  const confirm = input({
    type: 'password',
    placeholder: 'Password',
    'aria-label': 'Password to delete the account',
  })

  const loadSessions = async () => {
    const list = (await api('/auth/sessions')).sessions
    sessions.replaceChildren(
      table(
        ['Device', 'IP', 'Signed in', 'Last used', ''],
        list.map((/** @type {any} */ s) => [
          s.user_agent ?? 'unknown',
          s.ip ?? '',
          when(s.created_at),
          when(s.last_used_at),
          s.current
            ? 'this device'
            : el('button', {
                type: 'button',
                class: 'small danger',
                text: 'Log out this device',
                onclick: async () => {
                  await api(`/auth/sessions/${s.id}`, { method: 'DELETE' })
                  await loadSessions()
                },
              }),
        ]),
      ),
    )
  }
  const loadTokens = async () => {
    const list = (await api('/auth/tokens')).tokens
    tokens.replaceChildren(
      table(
        ['Name', 'Created', 'Last used', 'Expires', ''],
        list.map((/** @type {any} */ k) => [
          k.name,
          when(k.created_at),
          when(k.last_used_at),
          k.expires_at ? when(k.expires_at) : 'never',
          el('button', {
            type: 'button',
            class: 'small danger',
            text: 'Revoke',
            onclick: async () => {
              await api(`/auth/tokens/${k.id}`, { method: 'DELETE' })
              await loadTokens()
            },
          }),
        ]),
      ),
    )
  }
  body.append(
    el('h3', { text: 'Profile' }),
    miniForm('Save', [name], async () => {
      await api('/users/me', { method: 'PATCH', body: { display_name: name.value } })
      toast('Saved')
    }),
    email,
    el('h3', { text: 'Password' }),
    miniForm('Change password', [current, next], async () => {
      await api('/auth/password', {
        method: 'POST',
        body: { current_password: current.value, new_password: next.value },
      })
      current.value = next.value = ''
      toast('Password changed: your other sessions ended')
      await loadSessions()
    }),
    el('h3', { text: 'Sessions' }),
    sessions,
    el('h3', { text: 'API tokens' }),
    miniForm('Create token', [tokenName], async () => {
      const made = await api('/auth/tokens', { method: 'POST', body: { name: tokenName.value } })
      tokenName.value = ''
      shown.textContent = `Copy it now, it is shown only once: ${made.secret}`
      await loadTokens()
    }),
    shown,
    tokens,
    el('h3', { text: 'Delete my account' }),
    miniForm('Delete account', [confirm], async () => {
      if (!window.confirm('Delete your account for good?')) return
      await api('/auth/user', { method: 'DELETE', body: { password: confirm.value } })
      location.assign('/')
    }),
  )
  await Promise.all([loadSessions(), loadTokens()])
}
