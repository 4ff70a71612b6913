// @ts-check
// Requests and their replies: each request frame carries a fresh `ref`, and the reply that carries
// it back settles the request's promise. How a frame goes out is the connection's (connection.js).
import { ProtocolError } from './errors.js'
import { ClientEvents, unref } from './events.js'
import { randomId } from './http.js'

/** @typedef {import('./types.js').PendingRequest} PendingRequest */

export class Requests extends ClientEvents {
  /** @param {number} requestTimeout ms to wait for a reply */
  constructor(requestTimeout) {
    super(requestTimeout)
    /** @type {Map<string, PendingRequest>} */
    this.pending = new Map()
    this.refPrefix = randomId().slice(0, 8)
    this.refCounter = 0
  }

  nextRef() {
    this.refCounter += 1
    return `${this.refPrefix}-${this.refCounter}`
  }

  /**
   * Sends a frame without waiting for a reply. Returns false when the connection is not open.
   * The connection provides it.
   * @param {string} type
   * @param {Record<string, any>} [fields]
   * @returns {boolean}
   */
  fire(type, fields = {}) {
    void type
    void fields
    return false
  }

  /**
   * Sends a frame with a fresh `ref` and resolves with the reply that carries it; an `error` reply
   * rejects with a ProtocolError of its code. Rejects at once when the connection is not open.
   * @param {string} type
   * @param {Record<string, any>} [fields]
   * @param {{timeout?: number}} [options]
   * @returns {Promise<any>}
   */
  request(type, fields = {}, options = {}) {
    return new Promise((resolve, reject) => {
      const ref = this.nextRef()
      const timeout = options.timeout ?? this.defaultTimeout
      const timer = unref(
        setTimeout(() => {
          if (!this.pending.delete(ref)) return
          reject(new ProtocolError('TIMEOUT', `no reply to ${type} within ${timeout} ms`))
        }, timeout),
      )
      this.pending.set(ref, { type, resolve, reject, timer })
      if (!this.fire(type, { ...fields, ref })) {
        this.pending.delete(ref)
        clearTimeout(timer)
        reject(new ProtocolError('DISCONNECTED', 'not connected'))
      }
    })
  }

  /** Round trip to the server; resolves with the time it took in ms. */
  async ping() {
    const started = Date.now()
    await this.request('ping')
    return Date.now() - started
  }

  /**
   * Settles the request a frame answers. Returns true when the frame was only that answer (an
   * error, a pong, a presence list), false when it still has to be handled as an event.
   * @param {any} frame
   */
  settleReply(frame) {
    const entry = typeof frame.ref === 'string' ? this.pending.get(frame.ref) : undefined
    if (!entry) return false
    this.pending.delete(frame.ref)
    clearTimeout(entry.timer)
    if (frame.type === 'error') {
      entry.reject(new ProtocolError(frame.code ?? 'ERROR', frame.message ?? 'error'))
    } else {
      entry.resolve(frame)
    }
    return frame.type === 'error' || frame.type === 'pong' || frame.type === 'presence_list'
  }

  /**
   * Rejects the requests waiting for a reply. Sends and joins that survive a reconnect are only
   * forgotten: they are sent again on the next `ready` (see outbox.js and resume.js).
   * @param {Error} error
   * @param {boolean} all also requests that would survive a reconnect
   */
  failPending(error, all) {
    for (const [ref, entry] of this.pending) {
      this.pending.delete(ref)
      clearTimeout(entry.timer)
      if (!all && (entry.type === 'send_message' || entry.type === 'join')) continue
      entry.reject(error)
    }
  }
}
