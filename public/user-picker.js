// @ts-check
// One picker of people, used wherever the page asks for someone: starting a conversation (the
// sidebar's search) and adding a member (the details panel). Type to search GET
// /conversations/users; each person found is a row with the caller's buttons.
import { api } from '/client/parley-client.js'
import { debounce, el, errorText, toast } from './dom.js'
import { avatar, nameOf } from './people.js'
import { rememberUser, state } from './state.js'

/** @typedef {import('./state.js').User} User */

/**
 * People whose name or username matches `q`, me excepted.
 * @param {string} q
 * @returns {Promise<User[]>}
 */
async function searchPeople(q) {
  /** @type {{users: User[]}} */
  const { users } = await api(`/conversations/users?q=${encodeURIComponent(q)}`)
  return users.filter((user) => user.id !== state.me?.id).map(rememberUser)
}

/** @param {User} user @param {HTMLElement[]} actions */
function personRow(user, actions) {
  return el(
    'li',
    { dataset: { userId: String(user.id) } },
    avatar(user),
    el('span', { class: 'who' }, el('span', {}, nameOf(user)), el('small', {}, `@${user.username}`)),
    ...actions,
  )
}

/**
 * @param {object} options
 * @param {HTMLInputElement} options.input where the name is typed
 * @param {HTMLElement} options.results the list the people found go in
 * @param {(user: User) => HTMLElement[]} options.actions the buttons of a person's row
 * @param {(user: User) => boolean} [options.offers] whether to list someone found (everyone by default)
 */
export function userPicker({ input, results, actions, offers = () => true }) {
  const clearResults = () => {
    results.hidden = true
    results.replaceChildren()
  }
  const search = debounce(async () => {
    const q = input.value.trim()
    if (!q) {
      clearResults()
      return
    }
    try {
      const users = (await searchPeople(q)).filter(offers)
      if (input.value.trim() !== q) return // typed on meanwhile: a newer search is coming
      results.replaceChildren(
        ...(users.length
          ? users.map((user) => personRow(user, actions(user)))
          : [el('li', { class: 'none' }, 'Nobody found')]),
      )
      results.hidden = false
    } catch (error) {
      toast(errorText(error))
    }
  }, 200)

  input.addEventListener('input', search)
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      input.value = ''
      search()
    }
    if (event.key === 'ArrowDown') {
      results.querySelector('button')?.focus()
      event.preventDefault()
    }
  })

  return {
    /** Empties the search and its results (after someone was picked). */
    clear() {
      input.value = ''
      clearResults()
    },
    focus() {
      input.focus()
    },
  }
}
