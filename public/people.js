// @ts-check
// How people and conversations are named and drawn: names, initials, avatars with an online dot,
// conversation titles and previews.
import { el } from './dom.js'
import { markdownText } from './markdown.js'
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

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u

/** A word's first letter or digit (a whole grapheme, accents kept), else its first grapheme. @param {string} word */
function firstGrapheme(word) {
  const all = Array.from(graphemes.segment(word), (part) => part.segment)
  return all.find((g) => LETTER_OR_DIGIT.test(g)) ?? all[0] ?? ''
}

/** Up to two initials: "Ada Lovelace" AL, "@dev team" DT, "🚀 Launch" L, "🚀" 🚀. @param {string} name */
export const initials = (name) => {
  const words = name.split(/\s+/).filter(Boolean)
  const lettered = words.filter((word) => LETTER_OR_DIGIT.test(word))
  const chosen = (lettered.length > 0 ? lettered : words).slice(0, 2)
  return chosen.map(firstGrapheme).join('') || '?'
}

/**
 * Fills an avatar element with the person's picture, or their initials when there is none (or
 * it fails to load). @param {HTMLElement} node @param {Person | null | undefined} person
 */
export function setAvatarFace(node, person) {
  const text = initials(nameOf(person))
  const url = person?.avatar_url
  node.classList.toggle('has-picture', Boolean(url))
  const dots = Array.from(node.querySelectorAll('.presence-dot'))
  if (!url) {
    node.replaceChildren(text, ...dots)
    return
  }
  const picture = el('img', { class: 'avatar-picture', src: url, alt: '', width: '32', height: '32' })
  picture.addEventListener('error', () => setAvatarFace(node, { ...person, avatar_url: null }), {
    once: true,
  })
  node.replaceChildren(picture, ...dots)
}

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
  const node = el('span', { class: 'avatar', 'aria-hidden': 'true' }, presenceDot(person.id))
  setAvatarFace(node, state.people.get(person.id) ?? person)
  return node
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
    markdownText(message.content ?? '') ||
    (message.attachments?.length ? `File: ${message.attachments[0].name}` : '')
  return `${who}: ${text}`
}
