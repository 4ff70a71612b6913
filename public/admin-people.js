// @ts-check
// Admins: every account, searchable and paged; role, deactivation, reset links, deletion.
import { api } from '/client/parley-client.js'
import { debounce, el, errorText, toast } from './dom.js'
import { table } from './panel.js'

const PAGE = 50

/** @param {HTMLElement} body */
export async function renderPeople(body) {
  const search = el('input', { type: 'search', placeholder: 'Search people', 'aria-label': 'Search people' })
  const list = el('div')
  const more = el('button', { type: 'button', class: 'ghost small', text: 'Show more', hidden: true })
  const link = el('p', { class: 'hint reset-link' })
  /** @type {any[]} */
  let users = []

  /** @param {string} label @param {() => Promise<unknown>} action @param {string} [cls] */
  const button = (label, action, cls = 'small') =>
    el('button', {
      type: 'button',
      class: cls,
      text: label,
      onclick: async () => {
        try {
          await action()
          await load(false)
        } catch (error) {
          toast(errorText(error))
        }
      },
    })
  const render = () =>
    list.replaceChildren(
      table(
        ['User', 'Role', 'Status', ''],
        users.map((u) => [
          `${u.display_name} (@${u.username})`,
          u.role,
          u.deactivated ? 'deactivated' : 'active',
          el(
            'span',
            { class: 'row', dataset: { username: u.username } },
            button(u.role === 'admin' ? 'Make user' : 'Make admin', () =>
              api(`/users/${u.id}`, {
                method: 'PATCH',
                body: { role: u.role === 'admin' ? 'user' : 'admin' },
              }),
            ),
            u.deactivated
              ? button('Reactivate', () => api(`/users/${u.id}/reactivate`, { method: 'POST' }))
              : button('Deactivate', () => api(`/users/${u.id}/deactivate`, { method: 'POST' })),
            button('Reset link', async () => {
              const { reset } = await api(`/users/${u.id}/password-reset`, { method: 'POST' })
              link.textContent = `One-time reset link for @${u.username} (1 hour): ${reset.url}`
            }),
            button(
              'Delete',
              async () => {
                if (window.confirm(`Delete @${u.username} for good?`))
                  await api(`/users/${u.id}`, { method: 'DELETE' })
              },
              'small danger',
            ),
          ),
        ]),
      ),
    )
  /** @param {boolean} next */
  const load = async (next) => {
    const q = search.value.trim()
    const after = next && users.length ? users[users.length - 1].id : 0
    const page = await api(`/users?limit=${PAGE}&after=${after}${q ? `&q=${encodeURIComponent(q)}` : ''}`)
    users = next ? users.concat(page.users) : page.users
    more.hidden = !page.has_more
    render()
  }
  search.addEventListener(
    'input',
    debounce(() => load(false), 250),
  )
  more.addEventListener('click', () => load(true))
  body.append(search, link, list, more)
  await load(false)
}
