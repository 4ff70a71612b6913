// @ts-check
// The open conversation's avatar in its header: the other person (with their presence dot) in a
// direct conversation, the group's or project's initials otherwise.
import { $, el } from './dom.js'
import { avatar, initials, otherMembers, titleOf } from './people.js'
import { state } from './state.js'

/** @typedef {import('./state.js').Conversation} Conversation */

/** @param {Conversation} conversation */
export function renderHeaderAvatar(conversation) {
  const box = $('chat-avatar')
  if (conversation.kind === 'direct') {
    const other = otherMembers(conversation)[0]
    const person = other ? (state.people.get(other.id) ?? other) : state.me
    box.replaceChildren(person ? avatar(person) : '')
    return
  }
  const title = titleOf(conversation)
  box.replaceChildren(
    el('span', { class: `avatar ${conversation.kind}`, 'aria-hidden': 'true' }, initials(title)),
  )
}
