// @ts-check
// The sidebar's list of conversations: paged from GET /conversations (conversation-pages.js),
// newest activity first, with unread counts and online dots.
import { api } from '/client/parley-client.js'
import { openConversation } from './conversation-view.js'
import { $, el, errorText, toast } from './dom.js'
import { shortTime } from './format.js'
import { mentionBadge } from './notifications.js'
import {
  activityOf,
  initials,
  otherMembers,
  presenceDot,
  previewOf,
  setAvatarFace,
  titleOf,
} from './people.js'
import { state, upsertConversation } from './state.js'
import { setUnreadBadge } from './tab-badge.js'

/** @typedef {import('./state.js').Conversation} Conversation */

/**
 * The first page of my conversations (again after a reconnect). Older ones come as the sidebar is
 * scrolled to its end; live `conversation` and `message` frames add any others.
 */
export async function loadConversations() {
  for (const conversation of await state.sidebar.first()) upsertConversation(conversation)
  renderConversationList()
}

async function loadMoreConversations() {
  const pager = state.sidebar
  const conversations = await pager.more().catch((error) => {
    toast(errorText(error))
    return null
  })
  // Nothing more, or a logout meanwhile started over.
  if (!conversations || state.sidebar !== pager) return
  for (const conversation of conversations) upsertConversation(conversation)
  renderConversationList()
}

/**
 * Fetches one conversation (new to the page, or its counts changed elsewhere) into the list.
 * @param {number} conversationId
 */
export async function fetchConversation(conversationId) {
  const { conversation } = await api(`/conversations/${conversationId}`)
  upsertConversation(conversation)
  renderConversationList()
}

/** @param {Conversation} conversation */
function conversationAvatar(conversation) {
  const title = titleOf(conversation)
  const avatar = el('span', { class: `avatar ${conversation.kind}`, 'aria-hidden': 'true' }, initials(title))
  if (conversation.kind === 'direct') {
    const other = otherMembers(conversation)[0]
    if (other) {
      avatar.append(presenceDot(other.id))
      setAvatarFace(avatar, state.people.get(other.id) ?? other)
    }
  }
  return avatar
}

/** @param {Conversation} conversation */
function conversationItem(conversation) {
  const unread = conversation.id === state.currentId ? 0 : (conversation.unread_count ?? 0)
  const other = conversation.kind === 'direct' ? otherMembers(conversation)[0] : undefined
  const online = other ? state.people.get(other.id)?.online : undefined
  const title = titleOf(conversation)
  const button = el(
    'button',
    {
      type: 'button',
      class: `conv-item ${conversation.id === state.currentId ? 'active' : ''} ${unread ? 'unread' : ''}`,
      dataset: { id: String(conversation.id), kind: conversation.kind },
      'aria-current': conversation.id === state.currentId ? 'true' : null,
      'aria-label': `${title}${online ? ', online' : ''}${unread ? `, ${unread} unread` : ''}`,
      onclick: () => openConversation(conversation.id),
    },
    conversationAvatar(conversation),
    el(
      'span',
      { class: 'conv-main' },
      el(
        'span',
        { class: 'conv-top' },
        el('span', { class: 'conv-name' }, title),
        el('span', { class: 'conv-time' }, shortTime(activityOf(conversation))),
      ),
      el(
        'span',
        { class: 'conv-bottom' },
        el('span', { class: 'conv-preview' }, previewOf(conversation.last_message)),
        mentionBadge(conversation),
        unread ? el('span', { class: 'badge', 'aria-hidden': 'true' }, unread > 99 ? '99+' : unread) : null,
      ),
    ),
  )
  return el('li', {}, button)
}

export function renderConversationList() {
  // A project's conversation is listed once, under Projects.
  const conversations = [...state.conversations.values()]
    .filter((conversation) => conversation.kind !== 'project')
    .sort((a, b) => activityOf(b).localeCompare(activityOf(a)))
  const items = conversations.map(conversationItem)
  $('conversation-list').replaceChildren(...items)
  $('conversation-empty').hidden = items.length > 0
  $('conversation-more').hidden = !state.sidebar.hasMore
  setUnreadBadge(totalUnread())
}

function totalUnread() {
  let total = 0
  for (const conversation of state.conversations.values()) {
    if (conversation.id !== state.currentId) total += conversation.unread_count ?? 0
  }
  return total
}

export function setupSidebar() {
  $('conversation-more').addEventListener('click', () => loadMoreConversations())
  // The "Show more" button coming into view as the sidebar scrolls to its end loads the next page.
  new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) loadMoreConversations()
  }).observe($('conversation-more'))
}
