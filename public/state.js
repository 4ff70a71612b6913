// @ts-check
// What the page knows: the signed-in account, conversations, people, projects and the client.
// Modules read and change `state` directly; the client is set on login and cleared on logout.
import { api } from '/client/parley-client.js'
import { conversationPager } from './conversation-pages.js'

/** @typedef {import('/client/parley-client.js').User} User */
/** @typedef {import('/client/parley-client.js').Message} Message */
/** @typedef {import('/client/parley-client.js').FileInfo} FileInfo */
/** @typedef {import('/client/parley-client.js').ParleyClient} ParleyClient */

/**
 * Someone the page has heard of: a full user from the API, or only a presence change.
 * @typedef {{id: number} & Partial<User>} Person
 *
 * @typedef {object} Conversation
 * @property {number} id
 * @property {'direct' | 'group' | 'project'} kind
 * @property {string | null} [title]
 * @property {number | null} [project_id]
 * @property {User[]} [members]
 * @property {Message | null} [last_message]
 * @property {number} [unread_count]
 * @property {number} [unread_mentions] mentions of me after my read pointer
 * @property {'all' | 'mentions' | 'none'} [notification_level] what of it notifies me
 * @property {number} [last_read_message_id] my read pointer
 * @property {Array<{user_id: number, message_id: number}>} [read_pointers] every member's read pointer
 * @property {string} [created_at]
 * @property {string} [last_activity_at]
 *
 * @typedef {object} Project
 * @property {number} id
 * @property {string} name
 * @property {string} [description]
 * @property {number | null} owner_id
 * @property {number} conversation_id
 */

export const state = {
  /** @type {User | null} */
  me: null,
  /** @type {Map<number, Conversation>} */
  conversations: new Map(),
  /** @type {Map<number, Person>} people we know of, by id */
  people: new Map(),
  /** @type {Map<number, Project>} */
  projects: new Map(),
  /** @type {number | null} */
  currentId: null,
  /** @type {Map<number, Map<number, number>>} conversation -> user -> expiry timer */
  typing: new Map(),
  /** @type {Map<number, Map<number, number>>} conversation -> user -> last read message id */
  reads: new Map(),
  /** @type {Map<number, HTMLElement>} message id -> row, for the open conversation */
  rows: new Map(),
  loadingOlder: false,
  /** The sidebar's pages of GET /conversations. */
  sidebar: conversationPager(api),
  /** @type {number[]} people picked for a new group */
  groupPick: [],
  detailsOpen: false,
}

/** @type {ParleyClient | null} the connection, while someone is signed in */
export let client = null

/** @param {ParleyClient | null} next */
export function setClient(next) {
  client = next
}

/** Forgets everything of the account that signed out. */
export function resetState() {
  state.me = null
  state.currentId = null
  state.conversations.clear()
  state.projects.clear()
  state.rows.clear()
  state.reads.clear()
  state.typing.clear()
  state.sidebar = conversationPager(api)
}

/**
 * Merges what we learn of a user with what we knew.
 * @template {Person} T
 * @param {T} user
 * @returns {T}
 */
export function rememberUser(user) {
  if (!user || typeof user.id !== 'number') return user
  const known = state.people.get(user.id)
  const merged = known ? { ...known, ...user } : user
  state.people.set(user.id, merged)
  return merged
}

/** @param {number} conversationId */
export function readsOf(conversationId) {
  let reads = state.reads.get(conversationId)
  if (!reads) {
    reads = new Map()
    state.reads.set(conversationId, reads)
  }
  return reads
}

/**
 * Stores a conversation from the API or a live frame, merged with what we knew of it.
 * @param {Conversation} conversation
 */
export function upsertConversation(conversation) {
  for (const member of conversation.members ?? []) rememberUser(member)
  const known = state.conversations.get(conversation.id)
  const merged = { ...(known ?? {}), ...conversation }
  // A list fetched before a live message must not roll the preview back.
  if (
    known?.last_message &&
    conversation.last_message &&
    known.last_message.id > conversation.last_message.id
  ) {
    merged.last_message = known.last_message
  }
  if (conversation.id === state.currentId) Object.assign(merged, { unread_count: 0, unread_mentions: 0 })
  state.conversations.set(conversation.id, merged)
  const reads = readsOf(conversation.id)
  // The server tells my own read pointer (last_read_message_id); others' come as live `read` events.
  if (state.me && typeof conversation.last_read_message_id === 'number') {
    reads.set(state.me.id, Math.max(reads.get(state.me.id) ?? 0, conversation.last_read_message_id))
  }
  for (const entry of conversation.read_pointers ?? []) {
    if (entry.message_id > (reads.get(entry.user_id) ?? 0)) reads.set(entry.user_id, entry.message_id)
  }
  return merged
}
