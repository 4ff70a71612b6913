import type { ClusterPresence } from './presence.js'

// The hub carries events from the code that committed a change to the sockets that must hear
// of it. In-process by default; the multi-node mode puts a bus (Redis or NATS) behind the same interface.

/** A domain event as it travels: a `type` and its fields, serializable as JSON. */
export type OutboundEvent = { type: string; [field: string]: unknown }

export type HubEvent =
  /**
   * What happened, for every open socket of these users: the realtime layer of each node
   * serializes it once (as `{type, ...}` JSON) and sends the same string to each socket.
   */
  | { kind: 'users'; userIds: number[]; event: OutboundEvent }
  /** A frame for the sockets that joined this conversation (status, typing), except one. */
  | {
      kind: 'room'
      conversationId: number
      frame: string
      exceptSocketId?: string
      /** A typing change: every node records it, so a socket joining later on any node is told. */
      typing?: { userId: number; isTyping: boolean }
    }
  /** Close these sessions' sockets (logout, password change). */
  | { kind: 'close_sessions'; sessionIds: number[]; code: number; reason: string }
  /** Close every socket of these users (account deleted). */
  | { kind: 'close_users'; userIds: number[]; code: number; reason: string }
  /** An admin changed a user's role: cached sessions drop, open sockets take the new role. */
  | { kind: 'role_changed'; userId: number; role: 'user' | 'admin' }
  /** A conversation's members changed: cached member lists are dropped on every node. */
  | { kind: 'members_changed'; conversationId: number }
  /** A user left a conversation: their sockets stop hearing its room at once. */
  | { kind: 'left_conversation'; conversationId: number; userIds: number[] }

export type HubHandler = (event: HubEvent) => void

export interface Hub {
  publish(event: HubEvent): void
  subscribe(handler: HubHandler): () => void
  close(): Promise<void>
  /** Multi-node: keeps the presence view of the other nodes current (heartbeats). */
  attachPresence?(presence: ClusterPresence): Promise<void>
  /**
   * Multi-node: the bus came back after a cut; events published meanwhile were lost to this node,
   * so its sockets must resume from their cursors.
   */
  onBusRestored?(listener: () => void): () => void
}
