// @ts-check
// One message as a row of the open conversation: sender and time, the text, attachments (images
// inline), "(edited)", and on my own messages the Edit and Delete actions.
import { $, el } from './dom.js'
import { formatSize, fullFormat, shortTime } from './format.js'
import { imageAttachment } from './image-viewer.js'
import { markdownText, renderMarkdown } from './markdown.js'
import { highlightMentions, mentionsMe } from './mentions.js'
import { deleteMessage, startEdit } from './message-actions.js'
import { avatar, personName } from './people.js'
import { state } from './state.js'

/** @typedef {import('./state.js').FileInfo} FileInfo */
/** @typedef {import('./state.js').Message} Message */

/**
 * Puts a message's row in id order (new ones usually go last), replacing an older rendering.
 * @param {Message} message
 */
export function insertRow(message) {
  // History leaves deleted messages out; a deletion seen live takes the row away alike.
  if (message.deleted) return removeRow(message.id)
  const messageList = $('message-list')
  const row = renderMessage(message)
  const existing = state.rows.get(message.id)
  if (existing) {
    existing.replaceWith(row)
    state.rows.set(message.id, row)
    restyleContinuation(row)
    return
  }
  state.rows.set(message.id, row)
  const rows = /** @type {NodeListOf<HTMLElement>} */ (messageList.querySelectorAll('li.message[data-id]'))
  let before = null
  for (let i = rows.length - 1; i >= 0; i--) {
    if (Number(rows[i].dataset.id) < message.id) break
    before = rows[i]
  }
  if (before) messageList.insertBefore(row, before)
  else {
    const firstPending = messageList.querySelector('li.message.pending')
    if (firstPending) messageList.insertBefore(row, firstPending)
    else messageList.append(row)
  }
  restyleContinuation(row)
  const next = /** @type {HTMLElement | null} */ (row.nextElementSibling)
  if (next) restyleContinuation(next)
}

/** @param {number} messageId */
function removeRow(messageId) {
  const row = state.rows.get(messageId)
  if (!row) return
  const next = /** @type {HTMLElement | null} */ (row.nextElementSibling)
  row.remove()
  state.rows.delete(messageId)
  if (next?.dataset.id) restyleContinuation(next)
}

/** A message right after one from the same sender within 5 minutes hides its name and time. @param {HTMLElement} row */
function restyleContinuation(row) {
  const previous = /** @type {HTMLElement | null} */ (row.previousElementSibling)
  const continued =
    previous !== null &&
    previous.dataset.sender === row.dataset.sender &&
    Number(row.dataset.time) - Number(previous.dataset.time) < 5 * 60 * 1000
  row.classList.toggle('continued', continued)
}

/** @param {Message} message */
function renderBubble(message) {
  const bubble = el('div', { class: 'bubble' })
  if (message.deleted) {
    bubble.append(el('span', { class: 'content' }, 'This message was deleted'))
    return bubble
  }
  // A file message's text is often just the file's name: shown once, as the attachment.
  // A project's file comes as "Uploaded <name>": the chip below says it already.
  const name = message.attachments?.length === 1 ? message.attachments[0].name : null
  const onlyName = name !== null && (message.content === name || message.content === `Uploaded ${name}`)
  if (message.content && !onlyName) {
    const content = el('div', { class: 'content markdown' }, renderMarkdown(message.content))
    highlightMentions(content, message)
    bubble.append(content)
  } else if (onlyName && message.attachments[0].content_type?.startsWith('image/')) {
    bubble.classList.add('media')
  }
  if (message.edited_at) {
    bubble.append(
      el('span', { class: 'edited', title: fullFormat.format(new Date(message.edited_at)) }, '(edited)'),
    )
  }
  if (message.attachments?.length) bubble.append(renderAttachments(message.attachments))
  return bubble
}

/** @param {Message} message */
function renderMessage(message) {
  const mine = message.sender_id === state.me?.id
  const row = el('li', {
    class: `message ${mine ? 'mine' : 'theirs'} ${message.deleted ? 'deleted' : ''} ${mentionsMe(message) ? 'mentions-me' : ''}`,
    dataset: {
      id: String(message.id),
      sender: String(message.sender_id),
      time: String(new Date(message.created_at).getTime()),
      clientId: message.client_id ?? '',
    },
  })
  row.append(
    el(
      'div',
      { class: 'meta' },
      mine ? null : avatar(state.people.get(message.sender_id) ?? { id: message.sender_id }),
      el('span', { class: 'sender' }, mine ? 'You' : personName(message.sender_id)),
      el(
        'time',
        { datetime: message.created_at, title: fullFormat.format(new Date(message.created_at)) },
        shortTime(message.created_at),
      ),
    ),
  )
  const bubble = renderBubble(message)
  const line = el('div', { class: 'bubble-row' })
  if (mine && !message.deleted) {
    // My message: focusable (tap or Tab) to reveal its actions.
    bubble.setAttribute('tabindex', '0')
    bubble.setAttribute(
      'aria-label',
      `Your message: ${markdownText(message.content ?? '') || 'file'}. Tab for Edit and Delete`,
    )
    line.append(
      el(
        'div',
        { class: 'message-actions' },
        message.content
          ? el('button', { type: 'button', class: 'edit-btn', onclick: () => startEdit(message.id) }, 'Edit')
          : null,
        el(
          'button',
          { type: 'button', class: 'delete-btn', onclick: () => deleteMessage(message.id) },
          'Delete',
        ),
      ),
    )
  }
  line.append(bubble)
  row.append(line)
  row.append(el('div', { class: 'receipt', 'aria-live': 'polite' }))
  return row
}

/** @param {FileInfo[]} files */
function renderAttachments(files) {
  const box = el('div', { class: 'attachments' })
  for (const file of files) {
    const href = `/files/${Number(file.id)}`
    if (typeof file.content_type === 'string' && file.content_type.startsWith('image/')) {
      box.append(imageAttachment(file))
    } else {
      box.append(
        el(
          'a',
          { class: 'file-link', href, download: file.name },
          el('img', { src: '/icons/file.svg', alt: '', width: '18', height: '18' }),
          el('span', {}, file.name),
          el('small', {}, formatSize(file.size)),
        ),
      )
    }
  }
  return box
}
