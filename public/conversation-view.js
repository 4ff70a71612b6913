// @ts-check
// The open conversation: opening and closing it, its header, its messages (rows: message-row.js),
// older history as it is scrolled up, messages not yet acked, and messages as they arrive.
import { api } from '/client/parley-client.js'
import { renderHeaderAvatar } from './chat-avatar.js'
import { resetComposer } from './composer.js'
import { renderContactButton } from './contacts.js'
import { refreshDetails } from './details.js'
import { $, el, errorText, toast } from './dom.js'
import { lastSeen } from './format.js'
import { mentionsMe } from './mentions.js'
import { placeGap } from './message-jump.js'
import { insertRow } from './message-row.js'
import { otherMembers, titleOf } from './people.js'
import { refreshFiles } from './project-files.js'
import { renderProjectList } from './projects.js'
import { markReadLatest, renderReceipts } from './receipts.js'
import { fetchConversation, renderConversationList } from './sidebar.js'
import { client, readsOf, rememberUser, state } from './state.js'
import { placeUnreadLine, renderTimelineMarks } from './timeline-marks.js'
import { clearTyping, renderTyping } from './typing.js'

/** @typedef {import('./state.js').Message} Message */

const messagesBox = $('messages')
const messageList = $('message-list')

/** @param {number} conversationId */
export async function openConversation(conversationId) {
  if (!client) return
  const conversation = state.conversations.get(conversationId)
  if (!conversation) return
  const previous = state.currentId
  if (previous && previous !== conversationId) {
    client.typing(previous, false)
    client.leave(previous)
  }
  state.currentId = conversationId
  const unreadBefore = conversation.unread_count ?? 0
  const readBefore = state.me ? (readsOf(conversationId).get(state.me.id) ?? 0) : 0
  conversation.unread_count = 0
  conversation.unread_mentions = 0
  history.replaceState(null, '', `#c=${conversationId}`)
  $('empty-state').hidden = true
  $('chat-pane').hidden = false
  $('app-view').classList.add('chat-open')
  renderConversationList()
  renderProjectList()
  renderHeader()
  renderTyping()
  messageList.replaceChildren()
  state.rows.clear()
  $('history-status').textContent = 'Loading…'
  if (state.detailsOpen && conversation.kind !== 'direct') refreshDetails()
  else $('details').hidden = true
  resetComposer()
  try {
    await client.join(conversationId, { limit: 50 })
  } catch (error) {
    if (state.currentId === conversationId) $('history-status').textContent = errorText(error)
    return
  }
  if (state.currentId !== conversationId) return
  placeUnreadLine(conversationId, unreadBefore, readBefore, client.messages(conversationId))
  renderMessages()
  markReadLatest()
  // Fill the view if the first page does not reach the top.
  maybeLoadOlder()
}

export function closeConversation() {
  if (client && state.currentId) {
    client.typing(state.currentId, false)
    client.leave(state.currentId)
  }
  state.currentId = null
  history.replaceState(null, '', location.pathname)
  $('app-view').classList.remove('chat-open')
  $('chat-pane').hidden = true
  $('empty-state').hidden = false
  renderConversationList()
  renderProjectList()
}

export function renderHeader() {
  const conversation = state.currentId ? state.conversations.get(state.currentId) : undefined
  if (!conversation) return
  $('chat-title').textContent = titleOf(conversation)
  renderHeaderAvatar(conversation)
  const subtitle = $('chat-subtitle')
  subtitle.classList.remove('online')
  // While the page reconnects, who is online is not known.
  const known = client?.state === 'open'
  if (conversation.kind === 'direct') {
    const other = otherMembers(conversation)[0]
    const person = other ? state.people.get(other.id) : null
    if (!known) subtitle.textContent = ''
    else if (person?.online) {
      subtitle.textContent = 'online'
      subtitle.classList.add('online')
    } else {
      subtitle.textContent = person ? lastSeen(person.last_seen_at) : ''
    }
  } else {
    const members = conversation.members ?? []
    const online = members.filter((m) => state.people.get(m.id)?.online).length
    const kind = conversation.kind === 'project' ? 'Project · ' : ''
    subtitle.textContent = `${kind}${members.length} members${known ? `, ${online} online` : ''}`
  }
  $('details-btn').textContent = conversation.kind === 'project' ? 'Files & members' : 'Members'
  // A direct conversation is the other person: their avatar and presence, no member list.
  $('details-btn').hidden = conversation.kind === 'direct'
  renderContactButton()
}

/** Renders every message the client holds for the open conversation, plus unsent ones. */
export function renderMessages() {
  if (!client || !state.currentId) return
  messageList.replaceChildren()
  state.rows.clear()
  for (const message of client.messages(state.currentId)) insertRow(message)
  placeGap() // message search: the stand-in for messages not loaded between two runs (message-jump.js)
  renderPending()
  renderReceipts()
  renderTimelineMarks()
  updateHistoryStatus()
  scrollToBottom()
}

export function updateHistoryStatus() {
  if (!client || !state.currentId) return
  const room = client.rooms.get(state.currentId)
  const status = $('history-status')
  if (state.loadingOlder) status.textContent = 'Loading older messages…'
  else if (room?.hasOlder) status.textContent = 'Scroll up for older messages'
  else status.textContent = state.rows.size ? 'Beginning of the conversation' : 'No messages yet. Say hello!'
}

/** Whether the view follows new messages (it does unless scrolled up to read). */
let stickToBottom = true

function scrollToBottom() {
  messagesBox.scrollTop = messagesBox.scrollHeight
}

function nearBottom() {
  return messagesBox.scrollHeight - messagesBox.scrollTop - messagesBox.clientHeight < 120
}

/** Keeps the view at the bottom as an image above it loads, unless scrolled up. */
export function keepBottom() {
  if (stickToBottom) scrollToBottom()
}

/** I sent something: follow it down. */
export function followBottom() {
  stickToBottom = true
}

/** Messages sent but not yet acked, shown as "sending…" at the bottom. */
export function renderPending() {
  if (!client || !state.currentId) return
  for (const row of messageList.querySelectorAll('li.message.pending')) row.remove()
  for (const item of client.pendingMessages(state.currentId)) {
    messageList.append(
      el(
        'li',
        { class: 'message mine pending', dataset: { clientId: item.client_id } },
        el('div', { class: 'bubble' }, el('span', { class: 'content' }, item.content)),
        el('div', { class: 'receipt' }, client.state === 'open' ? 'Sending…' : 'Waiting for connection…'),
      ),
    )
  }
  keepBottom()
}

async function maybeLoadOlder() {
  if (!client || !state.currentId || state.loadingOlder) return
  const conversationId = state.currentId
  const room = client.rooms.get(conversationId)
  if (!room?.hasOlder) return
  if (messagesBox.scrollTop > 80 && messagesBox.scrollHeight > messagesBox.clientHeight) return
  const oldest = client.messages(conversationId)[0]
  if (!oldest) return
  state.loadingOlder = true
  updateHistoryStatus()
  try {
    /** @type {{messages?: Message[], has_more?: boolean}} */
    const page = await api(`/conversations/${conversationId}/messages?before=${oldest.id}&limit=50`)
    if (state.currentId !== conversationId) return
    const heightBefore = messagesBox.scrollHeight
    const topBefore = messagesBox.scrollTop
    for (const message of page.messages ?? []) rememberMessageSender(message)
    const added = client.addHistory(conversationId, page.messages ?? [], Boolean(page.has_more))
    for (const message of added) insertRow(message)
    renderReceipts()
    renderTimelineMarks()
    messagesBox.scrollTop = topBefore + (messagesBox.scrollHeight - heightBefore)
  } catch (error) {
    toast(errorText(error))
  } finally {
    state.loadingOlder = false
    updateHistoryStatus()
  }
  if (state.currentId === conversationId) window.setTimeout(maybeLoadOlder, 50)
}

/** A message may carry its sender (a user object): remember them. @param {Message} message */
function rememberMessageSender(message) {
  const sender = /** @type {{sender?: unknown}} */ (message).sender
  if (sender && typeof sender === 'object') rememberUser(/** @type {import('./state.js').Person} */ (sender))
}

/**
 * The sidebar's side of a message that arrived or changed: the preview and the unread count.
 * @param {Message} message
 * @param {boolean} updated
 */
function updateSidebar(message, updated) {
  const conversation = state.conversations.get(message.conversation_id)
  if (!conversation) {
    // A conversation we have not seen yet (someone started it with us): fetch it.
    if (!updated) fetchConversation(message.conversation_id).catch(() => {})
    return
  }
  if (!updated) {
    if (!conversation.last_message || conversation.last_message.id <= message.id) {
      conversation.last_message = message
    }
    if (message.sender_id !== state.me?.id && message.conversation_id !== state.currentId) {
      conversation.unread_count = (conversation.unread_count ?? 0) + 1
      if (mentionsMe(message)) conversation.unread_mentions = (conversation.unread_mentions ?? 0) + 1
    }
  } else if (conversation.last_message?.id === message.id) {
    // The latest message changed; if it was deleted, the one before it is the latest now.
    conversation.last_message = message.deleted
      ? (client
          ?.messages(message.conversation_id)
          .filter((m) => !m.deleted)
          .pop() ?? null)
      : message
  }
  renderConversationList()
  renderProjectList()
}

/**
 * A message arrived (live, from a resume, or an ack) or changed.
 * @param {Message} message
 * @param {boolean} updated
 */
export function onMessage(message, updated) {
  rememberMessageSender(message)
  updateSidebar(message, updated)
  if (message.conversation_id !== state.currentId) return
  const wasAtBottom = nearBottom()
  insertRow(message)
  if (!updated) clearTyping(message.conversation_id, message.sender_id)
  renderPending()
  renderReceipts()
  renderTimelineMarks()
  updateHistoryStatus()
  if (!updated && (wasAtBottom || message.sender_id === state.me?.id)) scrollToBottom()
  if (!updated) markReadLatest()
  if ((updated || message.attachments?.length) && state.detailsOpen) refreshFiles()
}

export function setupConversationView() {
  $('back-btn').addEventListener('click', closeConversation)
  messagesBox.addEventListener('scroll', () => {
    stickToBottom = nearBottom()
    if (messagesBox.scrollTop < 80) maybeLoadOlder()
  })
}
