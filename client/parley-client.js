// Parley's client: one dependency-free ES module that speaks the WebSocket protocol and the HTTP API.
// It runs unchanged in browsers and in Node 20+ (pass `WebSocket` from the `ws` package there).
// Every client of ours uses it: the web page, the tests and the benchmark. Reconnect, resume and
// retry live here and nowhere else.
//
// What it guarantees:
// - reconnect with exponential backoff and jitter; `state` is 'idle' | 'connecting' | 'open' |
//   'reconnecting' | 'closed', and every change is emitted as a 'state' event;
// - every joined conversation is re-joined on reconnect with the latest `cursor` it got, so the
//   messages created, edited or deleted meanwhile arrive once; messages are deduplicated by id and
//   edits and deletions are applied in place;
// - `send` gives each message a `client_id`, queues it while offline and re-sends it with the same
//   `client_id` until it is acked, so a message is committed exactly once.

/**
 * @typedef {'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'} ConnectionState
 *
 * @typedef {object} User
 * @property {number} id
 * @property {string} username
 * @property {string} display_name
 * @property {'user' | 'admin'} role
 * @property {boolean} online
 * @property {string | null} last_seen_at
 * @property {string} created_at
 * @property {boolean} [deleted]
 *
 * @typedef {object} FileInfo
 * @property {number} id
 * @property {string} name
 * @property {number} size
 * @property {string} content_type
 * @property {string} sha256
 * @property {number} uploaded_by
 * @property {number | null} project_id
 * @property {number | null} conversation_id
 * @property {string} created_at
 *
 * @typedef {object} Message
 * @property {number} id
 * @property {number} conversation_id
 * @property {number} sender_id
 * @property {string} content
 * @property {string | null} client_id
 * @property {FileInfo[]} attachments
 * @property {string} created_at
 * @property {string | null} edited_at
 * @property {boolean} deleted
 *
 * @typedef {object} Frame
 * @property {string} type
 * @property {string} [ref]
 * @property {any} [key]
 *
 * @typedef {object} OutboxItem
 * @property {number} conversation_id
 * @property {string} content
 * @property {string} client_id
 * @property {string | null} ref
 * @property {(message: Message) => void} resolve
 * @property {(error: Error) => void} reject
 * @property {any} [timer]
 *
 * @typedef {object} Room
 * @property {number} id
 * @property {boolean} joined
 * @property {string | number | null} cursor
 * @property {Map<number, Message>} messages
 * @property {boolean} hasOlder
 * @property {boolean} joining
 * @property {Array<{resolve: (value: JoinResult) => void, reject: (error: Error) => void}>} waiters
 * @property {number} limit
 *
 * @typedef {object} JoinResult
 * @property {number} conversation_id
 * @property {Message[]} messages every message the client holds for the conversation, oldest first
 * @property {boolean} has_more older messages exist on the server
 *
 * @typedef {object} ClientOptions
 * @property {string} [url] the WebSocket URL; by default `/ws` on `baseUrl` (or the page's origin)
 * @property {string} [baseUrl] the HTTP base URL for `api()`; by default the page's origin
 * @property {string | null} [token] a session token, sent as `?token=`; without it a browser relies on the cookie
 * @property {any} [WebSocket] a WebSocket constructor (the `ws` package in Node); `globalThis.WebSocket` by default
 * @property {typeof fetch} [fetch] a fetch implementation; `globalThis.fetch` by default
 * @property {number} [minDelay] first reconnect delay in ms (250)
 * @property {number} [maxDelay] longest reconnect delay in ms (10000)
 * @property {number} [pingInterval] ms between heartbeats (25000); 0 turns them off
 * @property {number} [pongTimeout] ms to wait for a pong before the connection counts as dead (10000)
 * @property {number} [requestTimeout] ms to wait for a reply (15000)
 * @property {number} [typingThrottle] ms between two `typing: true` frames for one conversation (3000)
 * @property {() => Promise<boolean>} [checkAuth] asked when a connection fails before `ready`; false stops reconnecting
 */

/** An HTTP error answer from the API: `status`, `code` and `message` of the contract's error shape. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {any} body
   */
  constructor(status, body) {
    super((body && typeof body.message === 'string' && body.message) || `HTTP ${status}`)
    this.name = 'ApiError'
    /** @type {number} */
    this.status = status
    /** @type {string} */
    this.code = (body && typeof body.code === 'string' && body.code) || 'HTTP_ERROR'
    this.body = body
  }
}

/** A protocol-level failure: an `error` frame in reply to a request, a timeout or a lost connection. */
export class ProtocolError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message)
    this.name = 'ProtocolError'
    /** @type {string} */
    this.code = code
  }
}

/**
 * Calls the HTTP API: JSON in and out, the session cookie included (same origin), or a Bearer token.
 * Returns the parsed body (null for 204); throws ApiError for an error status.
 * @param {string} path
 * @param {{method?: string, body?: any, baseUrl?: string, token?: string | null, fetch?: typeof fetch, headers?: Record<string, string>}} [options]
 * @returns {Promise<any>}
 */
export async function api(path, options = {}) {
  const fetchImpl = options.fetch ?? globalThis.fetch
  if (!fetchImpl) throw new Error('parley api(): no fetch available')
  const base = options.baseUrl ?? (globalThis.location ? globalThis.location.origin : undefined)
  const url = base ? new URL(path, base).toString() : path
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', ...(options.headers ?? {}) }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  /** @type {RequestInit} */
  const init = { method: options.method ?? 'GET', headers, credentials: 'same-origin' }
  if (options.body !== undefined) {
    if (typeof FormData !== 'undefined' && options.body instanceof FormData) {
      init.body = options.body
    } else {
      headers['content-type'] = 'application/json'
      init.body = JSON.stringify(options.body)
    }
  }
  const response = await fetchImpl(url, init)
  const text = response.status === 204 ? '' : await response.text()
  let data = null
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = { message: text }
    }
  }
  if (!response.ok) throw new ApiError(response.status, data)
  return data
}

/** 128 random bits as hex; works in browsers on plain http too (getRandomValues needs no secure context). */
export function randomId() {
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

const OPEN = 1
/** Close codes that mean "do not come back": the session ended (logout, password change, account deleted). */
const isTerminalClose = (/** @type {number} */ code) => code >= 4000 && code < 5000

/** @param {any} timer */
const unref = (timer) => {
  if (timer && typeof timer.unref === 'function') timer.unref()
  return timer
}

/** Orders messages by id: the server's commit order within a conversation. */
const byId = (/** @type {Message} */ a, /** @type {Message} */ b) => a.id - b.id

export class ParleyClient {
  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    const WebSocketImpl = options.WebSocket ?? globalThis.WebSocket
    if (!WebSocketImpl) {
      throw new Error('ParleyClient: no WebSocket available; in Node pass { WebSocket } from the ws package')
    }
    this.WebSocket = WebSocketImpl
    /** @type {string | undefined} */
    this.baseUrl = options.baseUrl ?? (globalThis.location ? globalThis.location.origin : undefined)
    if (!options.url && !this.baseUrl) throw new Error('ParleyClient: pass url or baseUrl')
    /** @type {string} */
    this.url = options.url ?? ParleyClient.wsUrlFor(/** @type {string} */ (this.baseUrl))
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
    /** @type {any} */
    this.socket = null
    /** @type {Map<string, Set<(payload: any) => void>>} */
    this.listeners = new Map()
    /** @type {Map<string, {type: string, resolve: (frame: any) => void, reject: (error: Error) => void, timer: any}>} */
    this.pending = new Map()
    /** @type {OutboxItem[]} messages not yet acked, in the order they were sent */
    this.outbox = []
    /** @type {Map<number, Room>} */
    this.rooms = new Map()
    /** @type {Map<number, number>} when `typing: true` was last sent, per conversation */
    this.typingSent = new Map()
    this.attempt = 0
    this.refPrefix = randomId().slice(0, 8)
    this.refCounter = 0
    this.reconnectTimer = null
    this.heartbeatTimer = null
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

  // ---------------------------------------------------------------- events

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
  once(type, predicate = () => true, timeout = this.options.requestTimeout) {
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

  /** @param {ConnectionState} state */
  setState(state) {
    if (this.state === state) return
    const previous = this.state
    this.state = state
    this.emit('state', { state, previous })
  }

  // ---------------------------------------------------------------- connection

  /** Opens the connection (and keeps it open until `close()`). Resolves on the first `ready`. */
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
    this.reconnectTimer = null
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
    for (const item of this.outbox.splice(0)) {
      clearTimeout(item.timer)
      item.reject(new ProtocolError('CLOSED', 'the client was closed before the message was sent'))
    }
    for (const room of this.rooms.values()) this.rejectWaiters(room, new ProtocolError('CLOSED', 'closed'))
    this.setState('closed')
  }

  /** Skips the backoff wait and reconnects at once (e.g. when the browser comes back online). */
  reconnectNow() {
    if (this.stopped || this.socket) return
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
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
    this.reconnectTimer = null
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
    for (const item of this.outbox) {
      clearTimeout(item.timer)
      item.ref = null
    }
    for (const room of this.rooms.values()) room.joining = false
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
    this.heartbeatTimer = null
  }

  /**
   * @param {Error} error
   * @param {boolean} all also requests that would survive a reconnect
   */
  failPending(error, all) {
    for (const [ref, entry] of this.pending) {
      if (entry.type === 'send_message' && !all) {
        this.pending.delete(ref)
        clearTimeout(entry.timer)
        continue
      }
      if (entry.type === 'join' && !all) {
        this.pending.delete(ref)
        clearTimeout(entry.timer)
        continue
      }
      this.pending.delete(ref)
      clearTimeout(entry.timer)
      entry.reject(error)
    }
  }

  // ---------------------------------------------------------------- frames

  /** @param {any} frame */
  handleFrame(frame) {
    if (!frame || typeof frame.type !== 'string') return
    this.emit('frame', frame)
    const entry = typeof frame.ref === 'string' ? this.pending.get(frame.ref) : undefined
    if (entry) {
      this.pending.delete(frame.ref)
      clearTimeout(entry.timer)
      if (frame.type === 'error') {
        entry.reject(new ProtocolError(frame.code ?? 'ERROR', frame.message ?? 'error'))
      } else {
        entry.resolve(frame)
      }
      if (frame.type === 'error' || frame.type === 'pong' || frame.type === 'presence_list') return
    }
    switch (frame.type) {
      case 'ready':
        this.onReady(frame)
        return
      case 'message':
      case 'message_updated':
        if (frame.message) this.apply(frame.message)
        return
      case 'message_deleted':
        this.applyDeletion(Number(frame.conversation_id), Number(frame.message_id))
        return
      case 'recent_messages':
      case 'ack':
      case 'pong':
      case 'presence_list':
        return // replies: handled by their request
      default:
        this.emit(frame.type, frame)
    }
  }

  /** @param {any} frame */
  onReady(frame) {
    const reconnected = this.connections > 0
    this.connections += 1
    this.attempt = 0
    this.user = frame.user ?? null
    this.setState('open')
    this.startHeartbeat()
    for (const room of this.rooms.values()) {
      if (room.joined) this.sendJoin(room)
    }
    for (const item of this.outbox) this.transmit(item)
    this.emit('ready', { user: this.user, reconnected })
  }

  /**
   * Stores a message (created, edited or deleted) and tells listeners what changed; duplicates are ignored.
   * @param {Message} message
   */
  apply(message) {
    const room = this.room(Number(message.conversation_id))
    const known = room.messages.get(message.id)
    if (!known) {
      room.messages.set(message.id, message)
      this.emit('message', { message })
      return
    }
    if (known.deleted && !message.deleted) return // a deletion is final; a stale copy must not revive it
    if (
      known.content === message.content &&
      known.edited_at === message.edited_at &&
      known.deleted === message.deleted &&
      (known.attachments?.length ?? 0) === (message.attachments?.length ?? 0)
    ) {
      return
    }
    if (!message.deleted && known.edited_at && message.edited_at && message.edited_at < known.edited_at) {
      return // an older edit than the one shown
    }
    room.messages.set(message.id, message)
    this.emit('message_updated', { message })
  }

  /**
   * @param {number} conversationId
   * @param {number} messageId
   */
  applyDeletion(conversationId, messageId) {
    const room = this.room(conversationId)
    const known = room.messages.get(messageId)
    if (known && !known.deleted) {
      const message = { ...known, deleted: true, content: '', attachments: [] }
      room.messages.set(messageId, message)
      this.emit('message_updated', { message })
    }
    this.emit('message_deleted', { conversation_id: conversationId, message_id: messageId })
  }

  // ---------------------------------------------------------------- requests

  nextRef() {
    this.refCounter += 1
    return `${this.refPrefix}-${this.refCounter}`
  }

  /**
   * Sends a frame without waiting for a reply. Returns false when the connection is not open.
   * @param {string} type
   * @param {Record<string, any>} [fields]
   */
  fire(type, fields = {}) {
    if (!this.socket || this.state !== 'open' || this.socket.readyState !== OPEN) return false
    this.socket.send(JSON.stringify({ type, ...fields }))
    return true
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
      const timeout = options.timeout ?? this.options.requestTimeout
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
   * @param {number} conversationId
   * @returns {Room}
   */
  room(conversationId) {
    let room = this.rooms.get(conversationId)
    if (!room) {
      room = {
        id: conversationId,
        joined: false,
        cursor: null,
        messages: new Map(),
        hasOlder: false,
        joining: false,
        waiters: [],
        limit: 50,
      }
      this.rooms.set(conversationId, room)
    }
    return room
  }

  /**
   * Joins a conversation: resolves with its messages once the server answered (after a reconnect
   * if it must). From then on the conversation is re-joined with its cursor on every reconnect.
   * @param {number} conversationId
   * @param {{limit?: number}} [options]
   * @returns {Promise<JoinResult>}
   */
  join(conversationId, options = {}) {
    const room = this.room(conversationId)
    room.joined = true
    if (options.limit) room.limit = options.limit
    return new Promise((resolve, reject) => {
      room.waiters.push({ resolve, reject })
      if (this.state === 'open' && !room.joining) this.sendJoin(room)
    })
  }

  /**
   * @param {number} conversationId
   */
  leave(conversationId) {
    const room = this.rooms.get(conversationId)
    if (room) {
      room.joined = false
      this.rejectWaiters(room, new ProtocolError('LEFT', 'left the conversation'))
    }
    this.fire('leave', { conversation_id: conversationId })
  }

  /** @param {Room} room */
  sendJoin(room) {
    room.joining = true
    const fields =
      room.cursor !== null
        ? { conversation_id: room.id, cursor: room.cursor }
        : { conversation_id: room.id, limit: room.limit }
    const resumed = room.cursor !== null
    this.request('join', fields).then(
      (reply) => this.onJoined(room, reply, resumed),
      (error) => {
        room.joining = false
        if (!(error instanceof ProtocolError)) return
        if (error.code === 'CURSOR_EXPIRED') {
          // Too far behind to replay: start over from the latest page and tell the UI to reload.
          room.cursor = null
          room.messages.clear()
          this.emit('resync', { conversation_id: room.id })
          if (this.state === 'open') this.sendJoin(room)
        } else if (error.code === 'DISCONNECTED' || error.code === 'TIMEOUT') {
          if (error.code === 'TIMEOUT' && this.state === 'open') this.sendJoin(room)
          // otherwise: re-joined on the next `ready`
        } else {
          room.joined = false
          this.rejectWaiters(room, error)
        }
      },
    )
  }

  /**
   * @param {Room} room
   * @param {any} reply
   * @param {boolean} resumed
   */
  onJoined(room, reply, resumed) {
    const messages = Array.isArray(reply.messages) ? [...reply.messages].sort(byId) : []
    for (const message of messages) {
      if (message.deleted && !room.messages.has(message.id) && resumed) {
        // deleted before we ever saw it: keep the tombstone quietly, nothing to show or remove
        room.messages.set(message.id, message)
        this.emit('message_deleted', { conversation_id: room.id, message_id: message.id })
        continue
      }
      this.apply(message)
    }
    if (!resumed) room.hasOlder = Boolean(reply.has_more)
    if (reply.cursor !== undefined && reply.cursor !== null) room.cursor = reply.cursor
    if (resumed && reply.has_more && room.joined && this.state === 'open') {
      this.sendJoin(room) // more changes than one reply holds: keep reading from the new cursor
      return
    }
    room.joining = false
    const result = { conversation_id: room.id, messages: this.messages(room.id), has_more: room.hasOlder }
    for (const waiter of room.waiters.splice(0)) waiter.resolve(result)
    this.emit('joined', { ...result, resumed })
  }

  /**
   * @param {Room} room
   * @param {Error} error
   */
  rejectWaiters(room, error) {
    for (const waiter of room.waiters.splice(0)) waiter.reject(error)
  }

  /**
   * Every message this client holds for a conversation, oldest first (deleted ones included, as
   * `deleted: true`).
   * @param {number} conversationId
   * @returns {Message[]}
   */
  messages(conversationId) {
    const room = this.rooms.get(conversationId)
    return room ? [...room.messages.values()].sort(byId) : []
  }

  /**
   * Adds messages fetched over HTTP (older history) to the store; returns the ones that were new.
   * @param {number} conversationId
   * @param {Message[]} messages
   * @param {boolean} [hasOlder]
   */
  addHistory(conversationId, messages, hasOlder) {
    const room = this.room(conversationId)
    /** @type {Message[]} */
    const added = []
    for (const message of messages) {
      if (room.messages.has(message.id)) continue
      room.messages.set(message.id, message)
      added.push(message)
    }
    if (hasOlder !== undefined) room.hasOlder = hasOlder
    return added.sort(byId)
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
        const code = error instanceof ProtocolError ? error.code : ''
        if (code === 'RATE_LIMITED' || code === 'INTERNAL_ERROR' || code === 'UNAVAILABLE') {
          item.ref = null
          item.timer = unref(setTimeout(() => this.state === 'open' && this.transmit(item), 1000))
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
