// @ts-check
// The connection: one WebSocket at a time, reconnected with exponential backoff and jitter,
// heartbeats, and frames handed to the layers above
// (resume.js, outbox.js) through the hooks at the end of the class. Requests and their replies
// are requests.js's.
import { ProtocolError } from './errors.js'
import { unref } from './events.js'
import { Requests } from './requests.js'

/** @typedef {import('./types.js').ClientOptions} ClientOptions */
/** @typedef {import('./types.js').ConnectionState} ConnectionState */
/** @typedef {import('./types.js').User} User */

const OPEN = 1
/** Close codes that mean "do not come back": the session ended (logout, password change, account deleted). */
const isTerminalClose = (/** @type {number} */ code) => code >= 4000 && code < 5000

export class Connection extends Requests {
  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    super(options.requestTimeout ?? 15_000)
    const WebSocketImpl = options.WebSocket ?? globalThis.WebSocket
    if (!WebSocketImpl) {
      throw new Error('ParleyClient: no WebSocket available; in Node pass { WebSocket } from the ws package')
    }
    this.WebSocket = WebSocketImpl
    /** @type {string | undefined} */
    this.baseUrl = options.baseUrl ?? (globalThis.location ? globalThis.location.origin : undefined)
    if (!options.url && !this.baseUrl) throw new Error('ParleyClient: pass url or baseUrl')
    /** @type {string} */
    this.url = options.url ?? Connection.wsUrlFor(/** @type {string} */ (this.baseUrl))
    /** @type {string | null} */
    this.token = options.token ?? null
    this.fetch = options.fetch
    this.options = {
      minDelay: options.minDelay ?? 250,
      maxDelay: options.maxDelay ?? 10_000,
      pingInterval: options.pingInterval ?? 25_000,
      pongTimeout: options.pongTimeout ?? 10_000,
      requestTimeout: options.requestTimeout ?? 15_000,
      typingThrottle: options.typingThrottle ?? 3_000,
    }
    this.checkAuth = options.checkAuth
    /** @type {ConnectionState} */
    this.state = 'idle'
    /** @type {User | null} the account, from the server's `ready` frame */
    this.user = null
    /** @type {any} a WebSocket of the browser or of the `ws` package */
    this.socket = null
    this.attempt = 0
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.reconnectTimer = undefined
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.heartbeatTimer = undefined
    this.stopped = false
    /** @type {number} how many sockets this client has seen reach `ready` */
    this.connections = 0
    this.onOnline = () => {
      if (this.state === 'reconnecting') this.reconnectNow()
    }
    if (typeof globalThis.addEventListener === 'function' && typeof globalThis.document !== 'undefined') {
      globalThis.addEventListener('online', this.onOnline)
    }
  }

  /**
   * `ws://host/ws` for `http://host`, `wss://` for `https://`.
   * @param {string} baseUrl
   */
  static wsUrlFor(baseUrl) {
    const url = new URL('/ws', baseUrl)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    return url.toString()
  }

  /** @param {ConnectionState} state */
  setState(state) {
    if (this.state === state) return
    const previous = this.state
    this.state = state
    this.emit('state', { state, previous })
  }

  /**
   * Opens the connection (and keeps it open until `close()`). Resolves on the first `ready`.
   * @returns {Promise<User | null>}
   */
  connect() {
    this.stopped = false
    if (this.state === 'open') return Promise.resolve(this.user)
    const ready = this.once('ready', () => true, 2 ** 31 - 1).then((event) => event.user)
    if (!this.socket && !this.reconnectTimer) this.openSocket()
    return ready
  }

  /** Closes the connection for good: no reconnect; unsent messages are rejected. */
  close() {
    this.stopped = true
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    this.stopHeartbeat()
    if (typeof globalThis.removeEventListener === 'function') {
      globalThis.removeEventListener('online', this.onOnline)
    }
    const socket = this.socket
    this.detach()
    if (socket) {
      try {
        socket.close(1000, 'client closed')
      } catch {}
    }
    this.failPending(new ProtocolError('CLOSED', 'the client was closed'), true)
    this.rejectOnClose()
    this.setState('closed')
  }

  /** Skips the backoff wait and reconnects at once (e.g. when the browser comes back online). */
  reconnectNow() {
    if (this.stopped || this.socket) return
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    this.openSocket()
  }

  /**
   * Drops the current socket as if the network failed, and reconnects with backoff.
   * Useful when a heartbeat goes unanswered, and in tests.
   */
  drop() {
    if (!this.socket) return
    const socket = this.socket
    this.detach()
    try {
      socket.close(4999, 'dropped')
    } catch {
      try {
        socket.terminate?.()
      } catch {}
    }
    this.handleClose(1006, 'dropped', false)
  }

  openSocket() {
    this.reconnectTimer = undefined
    this.setState(this.connections === 0 && this.attempt === 0 ? 'connecting' : 'reconnecting')
    let url = this.url
    if (this.token) {
      const parsed = new URL(url)
      parsed.searchParams.set('token', this.token)
      url = parsed.toString()
    }
    /** @type {any} */
    let socket
    try {
      socket = new this.WebSocket(url)
    } catch (error) {
      this.emit('error', { code: 'CONNECT_FAILED', message: String(error) })
      this.scheduleReconnect()
      return
    }
    this.socket = socket
    let gotReady = false
    socket.onmessage = (/** @type {{data: any}} */ event) => {
      let frame
      try {
        frame = JSON.parse(typeof event.data === 'string' ? event.data : String(event.data))
      } catch {
        return
      }
      if (frame && frame.type === 'ready') gotReady = true
      this.handleFrame(frame)
    }
    socket.onclose = (/** @type {{code: number, reason: string}} */ event) => {
      if (this.socket !== socket) return
      this.detach()
      this.handleClose(event.code, event.reason, gotReady)
    }
    socket.onerror = () => {
      // A close event follows; nothing to do here (browsers tell nothing useful about the error).
    }
  }

  /** Forgets the current socket's handlers so a late event from it changes nothing. */
  detach() {
    const socket = this.socket
    if (!socket) return
    socket.onmessage = null
    socket.onclose = null
    socket.onerror = () => {}
    this.socket = null
    this.stopHeartbeat()
  }

  /**
   * @param {number} code
   * @param {string} reason
   * @param {boolean} gotReady
   */
  async handleClose(code, reason, gotReady) {
    this.failPending(new ProtocolError('DISCONNECTED', 'the connection was lost'), false)
    this.resetAfterDisconnect()
    if (this.stopped) {
      this.setState('closed')
      return
    }
    if (isTerminalClose(code) && code !== 4999) {
      this.stopped = true
      this.setState('closed')
      this.emit('closed', { code, reason })
      return
    }
    this.setState('reconnecting')
    if (!gotReady && this.checkAuth) {
      let ok = true
      try {
        ok = await this.checkAuth()
      } catch {
        ok = true // the server is unreachable: keep trying
      }
      if (!ok) {
        this.stopped = true
        this.setState('closed')
        this.emit('unauthorized', {})
        return
      }
      if (this.stopped || this.socket) return
    }
    this.scheduleReconnect()
  }

  scheduleReconnect() {
    if (this.stopped) return
    const base = Math.min(this.options.maxDelay, this.options.minDelay * 2 ** this.attempt)
    const delay = Math.round(base / 2 + Math.random() * (base / 2))
    this.attempt += 1
    this.setState('reconnecting')
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = unref(setTimeout(() => this.openSocket(), delay))
  }

  startHeartbeat() {
    this.stopHeartbeat()
    if (!this.options.pingInterval) return
    this.heartbeatTimer = unref(
      setInterval(() => {
        if (this.state !== 'open') return
        this.request('ping', {}, { timeout: this.options.pongTimeout }).catch((error) => {
          if (error instanceof ProtocolError && error.code === 'TIMEOUT') this.drop()
        })
      }, this.options.pingInterval),
    )
  }

  stopHeartbeat() {
    clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = undefined
  }

  /**
   * @override
   * @param {string} type
   * @param {Record<string, any>} [fields]
   */
  fire(type, fields = {}) {
    if (!this.socket || this.state !== 'open' || this.socket.readyState !== OPEN) return false
    this.socket.send(JSON.stringify({ type, ...fields }))
    return true
  }

  /** @param {any} frame */
  handleFrame(frame) {
    if (!frame || typeof frame.type !== 'string') return
    this.emit('frame', frame)
    if (this.settleReply(frame)) return
    if (frame.type === 'ready') this.onReady(frame)
    else this.handleEvent(frame)
  }

  /** @param {any} frame */
  onReady(frame) {
    const reconnected = this.connections > 0
    this.connections += 1
    this.attempt = 0
    this.user = frame.user ?? null
    this.setState('open')
    this.startHeartbeat()
    this.resumeAfterReady()
    this.emit('ready', { user: this.user, reconnected })
  }

  // Hooks for the layers above (resume.js, outbox.js), each of which calls `super`.

  /**
   * A frame that is not only a reply: emitted as an event of its type.
   * @param {any} frame
   */
  handleEvent(frame) {
    switch (frame.type) {
      case 'recent_messages':
      case 'ack':
      case 'pong':
      case 'presence_list':
        return // replies: handled by their request
      default:
        this.emit(frame.type, frame)
    }
  }

  /** A socket reached `ready`: re-join, re-send. */
  resumeAfterReady() {}

  /** The socket was lost: what was on its way will go again on the next `ready`. */
  resetAfterDisconnect() {}

  /** `close()` was called: nothing will be sent any more. */
  rejectOnClose() {}
}
