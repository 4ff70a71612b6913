// @ts-check
// "… is typing": who is typing in which conversation, each for a few seconds at most.
import { $ } from './dom.js'
import { personName } from './people.js'
import { state } from './state.js'

/** How long "is typing" lasts without news: a lost "stopped typing" must not leave it on forever. */
const TYPING_EXPIRY = 6000

/** @param {{conversation_id: number, user_id: number, is_typing: boolean}} frame */
export function onTyping(frame) {
  if (frame.user_id === state.me?.id) return
  let users = state.typing.get(frame.conversation_id)
  if (!users) {
    users = new Map()
    state.typing.set(frame.conversation_id, users)
  }
  clearTimeout(users.get(frame.user_id))
  if (frame.is_typing) {
    users.set(
      frame.user_id,
      window.setTimeout(() => clearTyping(frame.conversation_id, frame.user_id), TYPING_EXPIRY),
    )
  } else {
    users.delete(frame.user_id)
  }
  if (frame.conversation_id === state.currentId) renderTyping()
}

/** @param {number} conversationId @param {number} userId */
export function clearTyping(conversationId, userId) {
  const users = state.typing.get(conversationId)
  if (!users?.has(userId)) return
  clearTimeout(users.get(userId))
  users.delete(userId)
  if (conversationId === state.currentId) renderTyping()
}

export function renderTyping() {
  const users = state.currentId ? [...(state.typing.get(state.currentId)?.keys() ?? [])] : []
  const box = $('typing')
  if (users.length === 0) box.textContent = ''
  else if (users.length === 1) box.textContent = `${personName(users[0])} is typing…`
  else if (users.length === 2) {
    box.textContent = `${personName(users[0])} and ${personName(users[1])} are typing…`
  } else box.textContent = 'Several people are typing…'
}
