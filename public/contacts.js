// @ts-check
// My contacts (GET/POST/DELETE /users/me/contacts): the sidebar's list, with presence dots, where
// a contact opens our direct conversation; and the direct conversation header's button that adds
// or removes the other person.
import { api } from '/client/parley-client.js'
import { $, el, errorText, toast } from './dom.js'
import { startDirect } from './new-conversation.js'
import { avatar, nameOf, otherMembers } from './people.js'
import { rememberUser, state } from './state.js'

/** @typedef {import('./state.js').User} User */

/** @type {Map<number, User>} by id, in the server's order (by username) */
const contacts = new Map()

export async function loadContacts() {
  /** @type {{users: User[]}} */
  const { users } = await api('/users/me/contacts')
  contacts.clear()
  for (const user of users) contacts.set(user.id, rememberUser(user))
  renderContacts()
}

export function forgetContacts() {
  contacts.clear()
  renderContacts()
}

/** @param {User} user */
function contactItem(user) {
  const person = state.people.get(user.id) ?? user
  const name = nameOf(person)
  return el(
    'li',
    { class: 'contact', dataset: { userId: String(user.id) } },
    el(
      'button',
      {
        type: 'button',
        class: 'conv-item',
        'aria-label': `Message ${name}`,
        onclick: () => startDirect(user.id),
      },
      avatar(person),
      el(
        'span',
        { class: 'conv-main' },
        el('span', { class: 'conv-top' }, el('span', { class: 'conv-name' }, name)),
        el(
          'span',
          { class: 'conv-bottom' },
          el('span', { class: 'conv-preview' }, `@${person.username ?? ''}`),
        ),
      ),
    ),
    el(
      'button',
      {
        type: 'button',
        class: 'ghost small contact-remove',
        'aria-label': `Remove ${name} from contacts`,
        title: 'Remove from contacts',
        onclick: () => removeContact(user.id),
      },
      '×',
    ),
  )
}

export function renderContacts() {
  const users = [...contacts.values()].sort((a, b) => (a.username ?? '').localeCompare(b.username ?? ''))
  $('contact-list').replaceChildren(...users.map(contactItem))
  $('contact-empty').hidden = users.length > 0 || !state.me
  renderContactButton()
}

/** The other person of the open direct conversation, if it is one. */
function directPartner() {
  const conversation = state.currentId ? state.conversations.get(state.currentId) : undefined
  return conversation?.kind === 'direct' ? otherMembers(conversation)[0] : undefined
}

/** The header's "Add to contacts" / "Remove from contacts", on direct conversations only. */
export function renderContactButton() {
  const button = $('contact-btn')
  const partner = directPartner()
  button.hidden = !partner
  button.textContent = partner && contacts.has(partner.id) ? 'Remove from contacts' : 'Add to contacts'
}

/** @param {number} userId */
async function addContact(userId) {
  try {
    /** @type {{user: User}} */
    const { user } = await api('/users/me/contacts', { method: 'POST', body: { user_id: userId } })
    contacts.set(user.id, rememberUser(user))
    renderContacts()
  } catch (error) {
    toast(errorText(error))
  }
}

/** @param {number} userId */
async function removeContact(userId) {
  try {
    await api(`/users/me/contacts/${userId}`, { method: 'DELETE' })
    contacts.delete(userId)
    renderContacts()
  } catch (error) {
    toast(errorText(error))
  }
}

export function setupContacts() {
  $('contact-btn').addEventListener('click', () => {
    const partner = directPartner()
    if (!partner) return
    if (contacts.has(partner.id)) removeContact(partner.id)
    else addContact(partner.id)
  })
}
