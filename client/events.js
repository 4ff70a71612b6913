// @ts-check
// The client's events: listeners by type, and a promise for the next event of a type.
import { ProtocolError } from './errors.js'

/**
 * Keeps a timer from holding a Node process open (a no-op in browsers).
 * @template T
 * @param {T} timer
 * @returns {T}
 */
export function unref(timer) {
  const handle = /** @type {{unref?: () => void} | null} */ (/** @type {unknown} */ (timer))
  if (handle && typeof handle.unref === 'function') handle.unref()
  return timer
}

export class ClientEvents {
  /** @param {number} defaultTimeout ms `once()` waits by default */
  constructor(defaultTimeout) {
    /** @type {Map<string, Set<(payload: any) => void>>} */
    this.listeners = new Map()
    this.defaultTimeout = defaultTimeout
  }

  /**
   * Listens to an event: 'state' {state, previous}, 'ready' {user, reconnected}, 'message' {message}
   * (new to this client), 'message_updated' {message} (edited or deleted), 'message_deleted'
   * {conversation_id, message_id}, 'resync' {conversation_id} (a cursor expired: reload the
   * conversation), 'outbox' {items}, 'typing', 'read', 'status', 'presence', 'conversation', 'error',
   * 'closed' {code, reason}, 'unauthorized', and 'frame' (every frame as it came).
   * @param {string} type
   * @param {(payload: any) => void} handler
   * @returns {() => void} removes the listener
   */
  on(type, handler) {
    let set = this.listeners.get(type)
    if (!set) {
      set = new Set()
      this.listeners.set(type, set)
    }
    set.add(handler)
    return () => this.off(type, handler)
  }

  /**
   * @param {string} type
   * @param {(payload: any) => void} handler
   */
  off(type, handler) {
    this.listeners.get(type)?.delete(handler)
  }

  /**
   * Resolves with the payload of the next `type` event that `predicate` accepts.
   * @param {string} type
   * @param {(payload: any) => boolean} [predicate]
   * @param {number} [timeout]
   * @returns {Promise<any>}
   */
  once(type, predicate = () => true, timeout = this.defaultTimeout) {
    return new Promise((resolve, reject) => {
      const timer = unref(
        setTimeout(() => {
          off()
          reject(new ProtocolError('TIMEOUT', `no ${type} event within ${timeout} ms`))
        }, timeout),
      )
      const off = this.on(type, (payload) => {
        if (!predicate(payload)) return
        clearTimeout(timer)
        off()
        resolve(payload)
      })
    })
  }

  /**
   * @param {string} type
   * @param {any} payload
   */
  emit(type, payload) {
    const set = this.listeners.get(type)
    if (!set) return
    for (const handler of [...set]) {
      try {
        handler(payload)
      } catch (error) {
        console.error(`parley client: a '${type}' listener threw`, error)
      }
    }
  }
}
