// @ts-check
// How people and conversations are named and drawn: names, initials, avatars with an online dot,
// conversation titles and previews.
import { el } from './dom.js'
import { state } from './state.js'

/** @typedef {import('./state.js').Conversation} Conversation */
/** @typedef {import('./state.js').Message} Message */
/** @typedef {import('./state.js').Person} Person */

/** @param {Person | null | undefined} user */
export const nameOf = (user) => {
  if (!user) return 'Unknown user'
  if (user.deleted) return 'Deleted user'
  return user.display_name || user.username || `User #${user.id}`
}

/** @param {number} id */
export const personName = (id) => nameOf(state.people.get(id))

/** @param {string} name */
export const initials = (name) =>
  name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => Array.from(part)[0])
    .join('') || '?'

/** A dot that `setOnline` (presence.js) keeps up to date. @param {number} userId */
export function presenceDot(userId) {
  const user = state.people.get(userId)
  return el('span', {
    class: `presence-dot ${user?.online ? 'online' : ''}`,
    dataset: { presence: String(userId) },
    title: user?.online ? 'online' : 'offline',
  })
}

/** Initials with an online dot, for a person in a list. @param {Person} person */
export function avatar(person) {
  return el(
    'span',
    { class: 'avatar', 'aria-hidden': 'true' },
    initials(nameOf(person)),
    presenceDot(person.id),
  )
}

/** @param {Conversation} conversation */
export function otherMembers(conversation) {
  return (conversation.members ?? []).filter((m) => m.id !== state.me?.id)
}

/** @param {Conversation} conversation */
export function titleOf(conversation) {
  if (conversation.kind === 'direct') {
    const other = otherMembers(conversation)[0]
    return other ? personName(other.id) : 'Just you'
  }
  if (conversation.title) return conversation.title
  if (conversation.kind === 'project' && conversation.project_id) {
    const project = state.projects.get(conversation.project_id)
    if (project) return project.name
  }
  const names = otherMembers(conversation).map((m) => personName(m.id))
  return names.length ? names.join(', ') : 'Group'
}

/** @param {Conversation} conversation */
export function activityOf(conversation) {
  return (
    conversation.last_message?.created_at ?? conversation.last_activity_at ?? conversation.created_at ?? ''
  )
}

/** @param {Message | null | undefined} message */
export function previewOf(message) {
  if (!message) return 'No messages yet'
  if (message.deleted) return 'Message deleted'
  const who = message.sender_id === state.me?.id ? 'You' : personName(message.sender_id).split(' ')[0]
  const text =
    message.content?.trim() || (message.attachments?.length ? `File: ${message.attachments[0].name}` : '')
  return `${who}: ${text}`
}
