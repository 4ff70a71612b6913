// @ts-check
// ParleyClient: the whole client (connection, resume, outbox) and the calls a UI makes with it:
// typing, read pointers, presence, and the HTTP API with this client's base URL and token.
import { api } from './http.js'
import { Outbox } from './outbox.js'

export class ParleyClient extends Outbox {
  /** @param {import('./types.js').ClientOptions} [options] */
  constructor(options = {}) {
    super(options)
    /** @type {Map<number, number>} when `typing: true` was last sent, per conversation */
    this.typingSent = new Map()
  }

  /**
   * Tells the room whether I am typing. `true` is throttled (once per `typingThrottle` ms);
   * `false` is sent only after a `true`.
   * @param {number} conversationId
   * @param {boolean} isTyping
   */
  typing(conversationId, isTyping) {
    const last = this.typingSent.get(conversationId)
    if (isTyping) {
      if (last !== undefined && Date.now() - last < this.options.typingThrottle) return false
      this.typingSent.set(conversationId, Date.now())
    } else {
      if (last === undefined) return false
      this.typingSent.delete(conversationId)
    }
    return this.fire('typing', { conversation_id: conversationId, is_typing: isTyping })
  }

  /**
   * Moves my read pointer.
   * @param {number} conversationId
   * @param {number} messageId
   */
  markRead(conversationId, messageId) {
    return this.fire('mark_read', { conversation_id: conversationId, message_id: messageId })
  }

  /**
   * @param {number[]} userIds
   * @returns {Promise<Array<{user_id: number, online: boolean, last_seen_at: string | null}>>}
   */
  async getPresence(userIds) {
    const reply = await this.request('get_presence', { user_ids: userIds })
    return reply.presence
  }

  /**
   * The HTTP API with this client's base URL and token (or the browser's session cookie).
   * @param {string} path
   * @param {{method?: string, body?: any, headers?: Record<string, string>}} [options]
   */
  api(path, options = {}) {
    return api(path, { ...options, baseUrl: this.baseUrl, token: this.token, fetch: this.fetch })
  }

  // Search: messages and files found, and a message's place in its history.

  /**
   * Full-text search over the messages of my conversations, newest first.
   * @param {import('./types.js').SearchParams} params
   * @returns {Promise<import('./types.js').SearchPage>}
   */
  search(params) {
    return this.api(`/search?${queryOf(params)}`)
  }

  /**
   * Files I can see, by name.
   * @param {{q?: string, conversation_id?: number | null, project_id?: number | null, limit?: number, cursor?: string | null}} params
   * @returns {Promise<import('./types.js').FilePage>}
   */
  searchFiles(params) {
    return this.api(`/search/files?${queryOf(params)}`)
  }

  /**
   * The page of a conversation's history centred on one message (to open a search result there).
   * @param {number} conversationId
   * @param {number} messageId
   * @param {number} [limit]
   * @returns {Promise<import('./types.js').AroundPage>}
   */
  messagesAround(conversationId, messageId, limit = 50) {
    return this.api(`/conversations/${conversationId}/messages?around=${messageId}&limit=${limit}`)
  }
}

/**
 * A query string of the parameters that have a value.
 * @param {Record<string, string | number | null | undefined>} params
 */
function queryOf(params) {
  const query = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(key, String(value))
  }
  return query.toString()
}
