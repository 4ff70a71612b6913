// @ts-check
// Editing and deleting my own messages, in place in the open conversation.
import { api } from '/client/parley-client.js'
import { el, errorText, toast } from './dom.js'
import { insertRow } from './message-row.js'
import { client, state } from './state.js'

/** @param {number} messageId */
export function startEdit(messageId) {
  if (!client || !state.currentId) return
  const conversationId = state.currentId
  const message = client.messages(conversationId).find((m) => m.id === messageId)
  const row = state.rows.get(messageId)
  if (!message || !row) return
  const bubble = /** @type {HTMLElement} */ (row.querySelector('.bubble'))
  bubble.removeAttribute('tabindex')
  row.classList.add('editing') // the editor takes the bubble's width; the actions hide
  const box = el('textarea', {
    class: 'edit-box',
    rows: '2',
    maxlength: '4000',
    'aria-label': 'Edit message',
  })
  box.value = message.content
  const restore = () => insertRow(client?.messages(conversationId).find((m) => m.id === messageId) ?? message)
  const save = async () => {
    const content = box.value
    if (!content.trim()) return
    if (content === message.content) return restore()
    box.disabled = true
    try {
      const { message: edited } = await api(`/conversations/${conversationId}/messages/${messageId}`, {
        method: 'PATCH',
        body: { content },
      })
      client?.apply(edited)
      if (conversationId === state.currentId) insertRow(edited)
    } catch (error) {
      toast(errorText(error))
      box.disabled = false
    }
  }
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault()
      save()
    } else if (event.key === 'Escape') {
      event.preventDefault()
      restore()
    }
  })
  bubble.replaceChildren(box, el('div', { class: 'edit-hint' }, 'Enter saves · Esc cancels'))
  box.focus()
  box.setSelectionRange(box.value.length, box.value.length)
}

/** @param {number} messageId */
export async function deleteMessage(messageId) {
  if (!state.currentId) return
  if (!window.confirm('Delete this message for everyone?')) return
  try {
    await api(`/conversations/${state.currentId}/messages/${messageId}`, { method: 'DELETE' })
    client?.applyDeletion(state.currentId, messageId)
  } catch (error) {
    toast(errorText(error))
  }
}
