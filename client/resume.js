// @ts-check
// Conversations joined and resumed: every joined conversation is re-joined on reconnect with the
// latest `cursor` it got, so what was created, edited or deleted meanwhile arrives once. Messages
// are kept per conversation, deduplicated by id, with edits and deletions applied in place.
import { Connection } from './connection.js'
import { ProtocolError } from './errors.js'

/** @typedef {import('./types.js').JoinResult} JoinResult */
/** @typedef {import('./types.js').Message} Message */
/** @typedef {import('./types.js').Room} Room */

/** Orders messages by id: the server's commit order within a conversation. */
const byId = (/** @type {Message} */ a, /** @type {Message} */ b) => a.id - b.id

export class Rooms extends Connection {
  /** @param {import('./types.js').ClientOptions} [options] */
  constructor(options = {}) {
    super(options)
    /** @type {Map<number, Room>} */
    this.rooms = new Map()
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

  /** @param {number} conversationId */
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
    /** @type {Message[]} */
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

  /**
   * @override
   * @param {any} frame
   */
  handleEvent(frame) {
    if (frame.type === 'message' || frame.type === 'message_updated') {
      if (frame.message) this.apply(frame.message)
    } else if (frame.type === 'message_deleted') {
      this.applyDeletion(Number(frame.conversation_id), Number(frame.message_id))
    } else {
      super.handleEvent(frame)
    }
  }

  /** @override */
  resumeAfterReady() {
    super.resumeAfterReady()
    for (const room of this.rooms.values()) {
      if (room.joined) this.sendJoin(room)
    }
  }

  /** @override */
  resetAfterDisconnect() {
    super.resetAfterDisconnect()
    for (const room of this.rooms.values()) room.joining = false
  }

  /** @override */
  rejectOnClose() {
    super.rejectOnClose()
    for (const room of this.rooms.values()) this.rejectWaiters(room, new ProtocolError('CLOSED', 'closed'))
  }
}
