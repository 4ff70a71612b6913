// @ts-check
// Who is online, and who is in which conversation, as live frames tell it: `presence` and
// `status` frames, members added and removed.
import { closeConversation, renderHeader } from './conversation-view.js'
import { openDetails, renderMembers } from './details.js'
import { renderProjectList } from './projects.js'
import { renderConversationList } from './sidebar.js'
import { rememberUser, state } from './state.js'

/** @typedef {import('./state.js').User} User */

/** @param {number} userId @param {boolean} online @param {string | null} [lastSeenAt] */
function setOnline(userId, online, lastSeenAt) {
  const person = state.people.get(userId)
  if (person) {
    person.online = online
    if (lastSeenAt !== undefined) person.last_seen_at = lastSeenAt
  } else {
    state.people.set(userId, { id: userId, online, last_seen_at: lastSeenAt ?? null })
  }
  for (const dot of document.querySelectorAll(`[data-presence="${userId}"]`)) {
    dot.classList.toggle('online', online)
    dot.setAttribute('title', online ? 'online' : 'offline')
  }
}

/** The open conversation's header and members show who is here. @param {number} conversationId */
function renderWhoIsHere(conversationId) {
  if (conversationId !== state.currentId) return
  renderHeader()
  if (state.detailsOpen) renderMembers()
}

/** @param {{user_id: number, online: boolean, last_seen_at?: string | null}} frame */
export function onPresence(frame) {
  setOnline(frame.user_id, Boolean(frame.online), frame.last_seen_at ?? null)
  renderConversationList()
  if (state.currentId) renderWhoIsHere(state.currentId)
}

/** @param {{conversation_id: number, online_user_ids?: number[]}} frame */
export function onStatus(frame) {
  for (const id of frame.online_user_ids ?? []) {
    if (!state.people.get(id)?.online) setOnline(id, true)
  }
  if (frame.conversation_id === state.currentId) renderHeader()
}

/** @param {{conversation_id: number, user?: User}} frame */
export function onMemberAdded(frame) {
  const conversation = state.conversations.get(frame.conversation_id)
  const user = frame.user
  if (!conversation || !user) return
  rememberUser(user)
  const members = conversation.members ?? []
  if (!members.some((m) => m.id === user.id)) conversation.members = [...members, user]
  renderConversationList()
  renderWhoIsHere(frame.conversation_id)
}

/** @param {{conversation_id: number, user_id: number}} frame */
export function onMemberRemoved(frame) {
  const conversation = state.conversations.get(frame.conversation_id)
  if (!conversation) return
  if (frame.user_id === state.me?.id) {
    // I left or was removed: the conversation goes away from this page.
    state.conversations.delete(frame.conversation_id)
    for (const [id, project] of state.projects) {
      if (project.conversation_id === frame.conversation_id) state.projects.delete(id)
    }
    if (frame.conversation_id === state.currentId) {
      openDetails(false)
      closeConversation()
    }
    renderConversationList()
    renderProjectList()
    return
  }
  conversation.members = (conversation.members ?? []).filter((m) => m.id !== frame.user_id)
  renderWhoIsHere(frame.conversation_id)
}
