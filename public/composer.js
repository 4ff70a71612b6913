// @ts-check
// The composer: Enter sends (Shift+Enter for a new line), typing is announced, Up in an empty
// composer edits my last message, a pasted file is uploaded.
import { followBottom, renderPending } from './conversation-view.js'
import { $, toast } from './dom.js'
import { startEdit } from './message-actions.js'
import { client, state } from './state.js'
import { uploadFile } from './uploads.js'

const MAX_LENGTH = 4000
const composer = /** @type {HTMLTextAreaElement} */ ($('composer-input'))

function autoGrow() {
  composer.style.height = 'auto'
  composer.style.height = `${Math.min(composer.scrollHeight + 2, 144)}px`
}

/** Empties the composer for a conversation just opened (focused where there is a keyboard). */
export function resetComposer() {
  composer.value = ''
  autoGrow()
  if (window.matchMedia('(min-width: 761px)').matches) composer.focus()
}

let typingIdle = 0

function announceTyping() {
  if (!client || !state.currentId) return
  const conversationId = state.currentId
  clearTimeout(typingIdle)
  if (composer.value.trim()) {
    client.typing(conversationId, true)
    typingIdle = window.setTimeout(() => client?.typing(conversationId, false), 4000)
  } else {
    client.typing(conversationId, false)
  }
}

function sendFromComposer() {
  if (!client || !state.currentId) return
  const content = composer.value
  if (!content.trim()) return
  if (content.length > MAX_LENGTH) {
    toast(`A message holds at most ${MAX_LENGTH} characters.`)
    return
  }
  const conversationId = state.currentId
  composer.value = ''
  autoGrow()
  clearTimeout(typingIdle)
  client.typing(conversationId, false)
  followBottom()
  client.send(conversationId, content).catch(() => {})
  renderPending()
}

/** Up in an empty composer edits my last message. @param {KeyboardEvent} event */
function editLastMessage(event) {
  if (!client || !state.currentId) return
  const mine = client
    .messages(state.currentId)
    .filter((m) => m.sender_id === state.me?.id && !m.deleted && m.content)
    .pop()
  if (mine) {
    event.preventDefault()
    startEdit(mine.id)
  }
}

export function setupComposer() {
  composer.addEventListener('input', () => {
    autoGrow()
    announceTyping()
  })
  composer.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault()
      sendFromComposer()
    } else if (event.key === 'ArrowUp' && !composer.value) {
      editLastMessage(event)
    }
  })
  $('composer').addEventListener('submit', (event) => {
    event.preventDefault()
    sendFromComposer()
  })
  // A file pasted from the clipboard (a screenshot) is uploaded.
  composer.addEventListener('paste', (event) => {
    const files = [...(event.clipboardData?.files ?? [])]
    if (files.length === 0) return
    event.preventDefault()
    for (const file of files) uploadFile(file)
  })
}
