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
}
