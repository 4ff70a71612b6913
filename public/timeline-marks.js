// @ts-check
// The lines between the open conversation's messages: one per day ("Today", "Yesterday", then the
// date) above its first message, and "New messages" above the first message that was unread when
// the conversation was opened (it stays while the conversation is open).
import { $, el } from './dom.js'
import { state } from './state.js'

const CONTINUED_WITHIN_MS = 5 * 60 * 1000
const weekdayDate = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' })
const fullDate = new Intl.DateTimeFormat(undefined, {
  weekday: 'long',
  month: 'long',
  day: 'numeric',
  year: 'numeric',
})

/** Where the "New messages" line goes: a conversation and the message it goes above. */
let unreadLine = { conversationId: 0, messageId: 0 }

/** @param {Date} date */
export function dayLabel(date) {
  const today = new Date()
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1)
  if (date.toDateString() === today.toDateString()) return 'Today'
  if (date.toDateString() === yesterday.toDateString()) return 'Yesterday'
  return (date.getFullYear() === today.getFullYear() ? weekdayDate : fullDate).format(date)
}

/**
 * Remembers, as a conversation opens, where its unread messages start: after my read pointer, the
 * first message from someone else. Nothing unread: no line.
 * @param {number} conversationId
 * @param {number} unreadCount the count before opening
 * @param {number} readPointer my read pointer before opening
 * @param {Array<{id: number, sender_id: number, deleted?: boolean}>} messages the loaded ones, oldest first
 */
export function placeUnreadLine(conversationId, unreadCount, readPointer, messages) {
  const first = unreadCount
    ? messages.find((m) => m.id > readPointer && m.sender_id !== state.me?.id && !m.deleted)
    : undefined
  unreadLine = { conversationId, messageId: first?.id ?? 0 }
}

/** Redraws the day lines and the unread line among the message rows. */
export function renderTimelineMarks() {
  const list = $('message-list')
  for (const mark of list.querySelectorAll('li.day-separator, li.unread-marker')) mark.remove()
  const rows = /** @type {NodeListOf<HTMLElement>} */ (list.querySelectorAll('li.message[data-id]'))
  let previousDay = ''
  /** @type {HTMLElement | null} */
  let previous = null
  for (const row of rows) {
    const date = new Date(Number(row.dataset.time))
    const day = date.toDateString()
    const newDay = day !== previousDay
    if (newDay) row.before(el('li', { class: 'day-separator', role: 'separator' }, dayLabel(date)))
    const unread =
      unreadLine.conversationId === state.currentId && Number(row.dataset.id) === unreadLine.messageId
    if (unread) row.before(el('li', { class: 'unread-marker', role: 'separator' }, 'New messages'))
    // A line between two messages shows the sender's name and time again.
    const continued =
      !newDay &&
      !unread &&
      previous !== null &&
      previous.dataset.sender === row.dataset.sender &&
      Number(row.dataset.time) - Number(previous.dataset.time) < CONTINUED_WITHIN_MS
    row.classList.toggle('continued', continued)
    previousDay = day
    previous = row
  }
}
