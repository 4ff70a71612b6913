// @ts-check
// The outbox: `send` gives each message a `client_id`, queues it while offline and re-sends it
// with the same `client_id` until it is acked, so a message is committed exactly once.
import { ProtocolError } from './errors.js'
import { unref } from './events.js'
import { randomId } from './http.js'
import { Rooms } from './resume.js'

/** @typedef {import('./types.js').Message} Message */
/** @typedef {import('./types.js').OutboxItem} OutboxItem */

/** Error codes after which a message is sent again (same `client_id`) rather than given up. */
const RETRIED = new Set(['RATE_LIMITED', 'INTERNAL_ERROR', 'UNAVAILABLE'])
const RETRY_DELAY = 1000

export class Outbox extends Rooms {
  /** @param {import('./types.js').ClientOptions} [options] */
  constructor(options = {}) {
    super(options)
    /** @type {OutboxItem[]} messages not yet acked, in the order they were sent */
    this.outbox = []
  }

  /**
   * Sends a message. Resolves with the committed message once acked. While offline it waits in the
   * outbox and is sent on reconnect with the same `client_id`, so it is committed exactly once.
   * @param {number} conversationId
   * @param {string} content
   * @param {{clientId?: string}} [options]
   * @returns {Promise<Message>}
   */
  send(conversationId, content, options = {}) {
    return new Promise((resolve, reject) => {
      /** @type {OutboxItem} */
      const item = {
        conversation_id: conversationId,
        content,
        client_id: options.clientId ?? randomId(),
        ref: null,
        resolve,
        reject,
      }
      this.outbox.push(item)
      this.emit('outbox', { items: this.pendingMessages() })
      if (this.state === 'open') this.transmit(item)
    })
  }

  /**
   * Messages sent but not acked yet (what a UI shows as "sending…").
   * @param {number} [conversationId]
   */
  pendingMessages(conversationId) {
    return this.outbox
      .filter((item) => conversationId === undefined || item.conversation_id === conversationId)
      .map((item) => ({
        conversation_id: item.conversation_id,
        content: item.content,
        client_id: item.client_id,
      }))
  }

  /** @param {OutboxItem} item */
  transmit(item) {
    clearTimeout(item.timer)
    const ref = this.nextRef()
    item.ref = ref
    const done = () => {
      const index = this.outbox.indexOf(item)
      if (index >= 0) this.outbox.splice(index, 1)
      clearTimeout(item.timer)
      this.emit('outbox', { items: this.pendingMessages() })
    }
    const timer = unref(
      setTimeout(() => {
        // No ack in time on a socket that still looks open: send again, same client_id.
        if (!this.pending.delete(ref)) return
        if (item.ref === ref && this.state === 'open') this.transmit(item)
      }, this.options.requestTimeout),
    )
    this.pending.set(ref, {
      type: 'send_message',
      timer,
      resolve: (frame) => {
        if (item.ref !== ref) return
        done()
        if (frame.message) this.apply(frame.message)
        item.resolve(frame.message)
      },
      reject: (error) => {
        if (item.ref !== ref) return
        if (error instanceof ProtocolError && RETRIED.has(error.code)) {
          item.ref = null
          item.timer = unref(setTimeout(() => this.state === 'open' && this.transmit(item), RETRY_DELAY))
          return
        }
        done()
        item.reject(error)
        this.emit('send_failed', { conversation_id: item.conversation_id, client_id: item.client_id, error })
      },
    })
    const sent = this.fire('send_message', {
      ref,
      conversation_id: item.conversation_id,
      content: item.content,
      client_id: item.client_id,
    })
    if (!sent) {
      this.pending.delete(ref)
      clearTimeout(timer)
      item.ref = null // sent on the next `ready`
    }
  }

  /** @override */
  resumeAfterReady() {
    super.resumeAfterReady()
    for (const item of this.outbox) this.transmit(item)
  }

  /** @override */
  resetAfterDisconnect() {
    for (const item of this.outbox) {
      clearTimeout(item.timer)
      item.ref = null
    }
    super.resetAfterDisconnect()
  }

  /** @override */
  rejectOnClose() {
    for (const item of this.outbox.splice(0)) {
      clearTimeout(item.timer)
      item.reject(new ProtocolError('CLOSED', 'the client was closed before the message was sent'))
    }
    super.rejectOnClose()
  }
}
