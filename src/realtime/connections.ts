import type { WebSocket } from 'ws'
import type { HubEvent } from '../hub/types.js'
import type { Metrics } from '../metrics.js'

/** A socket's send buffer beyond this means it is not reading: it is shed, not buffered forever. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024

export interface Connection {
  id: string
  userId: number
  /** The user's role (kept current by role_changed): admins see everyone's presence. */
  role: 'user' | 'admin'
  sessionId: number
  socket: WebSocket
  /** Conversations this socket joined: it hears their `status` and `typing`. */
  rooms: Set<number>
}

/** A `join` under way on one socket: a removal of its user from the conversation voids it. */
export interface RoomTicket {
  connection: Connection
  conversationId: number
  voided: boolean
}

/**
 * Every open socket on this node, by user, by session and by room. Hub events land here and go
 * out as the one pre-serialized frame they carry.
 */
export class Connections {
  constructor(private readonly metrics?: Metrics) {}

  private readonly byId = new Map<string, Connection>()
  private readonly byUser = new Map<number, Set<Connection>>()
  private readonly rooms = new Map<number, Set<Connection>>()
  /** Joins between their membership check and their entry into the room. */
  private readonly joining = new Set<RoomTicket>()

  get size(): number {
    return this.byId.size
  }

  /** Sockets of one account open on this node. */
  countOf(userId: number): number {
    return this.byUser.get(userId)?.size ?? 0
  }

  add(connection: Connection): void {
    this.byId.set(connection.id, connection)
    this.metrics?.openSockets.inc()
    const set = this.byUser.get(connection.userId) ?? new Set()
    this.byUser.set(connection.userId, set)
    set.add(connection)
  }

  remove(connection: Connection): void {
    if (this.byId.delete(connection.id)) this.metrics?.openSockets.dec()
    const set = this.byUser.get(connection.userId)
    set?.delete(connection)
    if (set?.size === 0) this.byUser.delete(connection.userId)
    for (const room of connection.rooms) this.leave(connection, room)
  }

  join(connection: Connection, conversationId: number): void {
    connection.rooms.add(conversationId)
    const set = this.rooms.get(conversationId) ?? new Set()
    this.rooms.set(conversationId, set)
    set.add(connection)
  }

  /**
   * Starts a join, before its membership check: a removal of the user from the conversation
   * heard from now on (`left_conversation`, from any node) voids the ticket, so a check that
   * passed just before the removal cannot put the socket in the room after it.
   */
  reserve(connection: Connection, conversationId: number): RoomTicket {
    const ticket = { connection, conversationId, voided: false }
    this.joining.add(ticket)
    return ticket
  }

  /** Ends a join: the socket enters the room unless the ticket was voided or the socket closed. */
  admit(ticket: RoomTicket): boolean {
    this.joining.delete(ticket)
    if (ticket.voided || !this.byId.has(ticket.connection.id)) return false
    this.join(ticket.connection, ticket.conversationId)
    return true
  }

  /** Drops a join that failed before admit. */
  release(ticket: RoomTicket): void {
    this.joining.delete(ticket)
  }

  leave(connection: Connection, conversationId: number): void {
    connection.rooms.delete(conversationId)
    const set = this.rooms.get(conversationId)
    set?.delete(connection)
    if (set?.size === 0) this.rooms.delete(conversationId)
  }

  /** User ids with a socket in the room. */
  roomUserIds(conversationId: number): number[] {
    return [...new Set([...(this.rooms.get(conversationId) ?? [])].map((c) => c.userId))]
  }

  all(): IterableIterator<Connection> {
    return this.byId.values()
  }

  deliver(event: HubEvent): void {
    switch (event.kind) {
      case 'users': {
        // Serialized once here, on this node, and the same string goes to every recipient socket.
        const frame = JSON.stringify(event.event)
        let sent = 0
        for (const userId of event.userIds) {
          for (const connection of this.byUser.get(userId) ?? []) sent += send(connection, frame)
        }
        this.metrics?.framesOut.inc(sent)
        return
      }
      case 'room': {
        let sent = 0
        for (const connection of this.rooms.get(event.conversationId) ?? []) {
          if (connection.id !== event.exceptSocketId) sent += send(connection, event.frame)
        }
        this.metrics?.framesOut.inc(sent)
        return
      }
      case 'close_sessions': {
        const ids = new Set(event.sessionIds)
        for (const connection of this.byId.values()) {
          if (ids.has(connection.sessionId)) connection.socket.close(event.code, event.reason)
        }
        return
      }
      case 'close_users':
        for (const userId of event.userIds) {
          for (const connection of this.byUser.get(userId) ?? [])
            connection.socket.close(event.code, event.reason)
        }
        return
      case 'role_changed':
        for (const connection of this.byUser.get(event.userId) ?? []) connection.role = event.role
        return
      case 'members_changed':
        return
      case 'left_conversation': {
        const userIds = new Set(event.userIds)
        for (const userId of userIds) {
          for (const connection of this.byUser.get(userId) ?? []) this.leave(connection, event.conversationId)
        }
        for (const ticket of this.joining) {
          if (ticket.conversationId === event.conversationId && userIds.has(ticket.connection.userId)) {
            ticket.voided = true
          }
        }
        return
      }
    }
  }
}

let watchFrame: ((frame: string) => void) | undefined

/** Tests only: sees every frame sent to a socket (test/helpers checks each against its schema). */
export function watchOutgoingFrames(watch: ((frame: string) => void) | undefined): void {
  watchFrame = watch
}

/** Sends a frame unless the socket stopped reading, in which case it is closed (1013, try again later). */
export function send(connection: Connection, frame: string): 0 | 1 {
  const socket = connection.socket
  if (socket.readyState !== socket.OPEN) return 0
  if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
    socket.close(1013, 'too slow: reconnect and resume')
    return 0
  }
  holdUntilTick(socket)
  socket.send(frame)
  watchFrame?.(frame)
  return 1
}

// Frames sent to one socket while the current burst of work runs (a commit batch fans out many
// messages, an ack and its message go to the same sender) leave in one write: the socket is
// corked on its first frame and uncorked once the current callbacks and microtasks are done.
// On loopback a socket write costs ~10 µs whatever its size, and writes are most of the CPU.
const corked: Array<{ uncork(): void }> = []

function holdUntilTick(socket: WebSocket): void {
  // `_socket` is ws's underlying net.Socket (stable across ws 8); absent once it is torn down.
  const raw = (socket as unknown as { _socket?: { cork(): void; uncork(): void; writableCorked: number } })
    ._socket
  if (!raw || raw.writableCorked > 0) return
  raw.cork()
  if (corked.push(raw) === 1) process.nextTick(uncorkAll)
}

function uncorkAll(): void {
  for (const raw of corked.splice(0)) raw.uncork()
}
