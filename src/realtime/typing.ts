import type { Hub } from '../hub/types.js'
import { frame } from './frames.js'

/** A typing indicator lasts this long unless renewed, so a client that vanished stops "typing". */
export const TYPING_TTL_MS = 6000
/** Repeated "still typing" frames from one user are passed on at most this often. */
const TYPING_THROTTLE_MS = 2000

interface TypingEntry {
  since: number
  expires: number
  /** On the node whose socket typed: the socket, and the timer that announces the lapse. */
  socketId?: string
  lapse?: NodeJS.Timeout
}

/** Told when a typing state this node announced lapses without a "stopped". */
export type OnLapse = (conversationId: number, userId: number, socketId: string) => void

/** Who is typing where, with expiry and throttling. */
export class Typing {
  private readonly state = new Map<number, Map<number, TypingEntry>>()

  constructor(
    private readonly onLapse: OnLapse = () => {},
    private readonly ttlMs = TYPING_TTL_MS,
  ) {}

  /** Records the state from this node's socket; returns whether others should hear of it now. */
  update(
    conversationId: number,
    userId: number,
    isTyping: boolean,
    socketId?: string,
    now = Date.now(),
  ): boolean {
    const room = this.state.get(conversationId) ?? new Map<number, TypingEntry>()
    const current = room.get(userId)
    if (!isTyping) {
      if (!current) return false
      this.remove(room, conversationId, userId)
      return current.expires > now
    }
    this.state.set(conversationId, room)
    const fresh = !current || current.expires <= now
    if (fresh || now - current.since >= TYPING_THROTTLE_MS) {
      clearTimeout(current?.lapse)
      const entry: TypingEntry = { since: now, expires: now + this.ttlMs, socketId }
      room.set(userId, entry)
      if (socketId !== undefined) this.watchLapse(conversationId, userId, entry, this.ttlMs)
      return true
    }
    current.expires = now + this.ttlMs
    return false
  }

  /** Records a change heard from the hub (this node's or another's), without throttling. */
  record(conversationId: number, userId: number, isTyping: boolean, now = Date.now()): void {
    const room = this.state.get(conversationId) ?? new Map<number, TypingEntry>()
    const current = room.get(userId)
    if (isTyping) {
      if (current) current.expires = Math.max(current.expires, now + this.ttlMs)
      else room.set(userId, { since: now, expires: now + this.ttlMs })
      this.state.set(conversationId, room)
      return
    }
    if (current) this.remove(room, conversationId, userId)
  }

  typingIn(conversationId: number, now = Date.now()): number[] {
    const room = this.state.get(conversationId)
    if (!room) return []
    return [...room.entries()].filter(([, entry]) => entry.expires > now).map(([userId]) => userId)
  }

  /** Clears a user's typing everywhere; returns the conversations where they were typing. */
  clearUser(userId: number, now = Date.now()): number[] {
    const cleared: number[] = []
    for (const [conversationId, room] of this.state) {
      const entry = room.get(userId)
      if (!entry) continue
      this.remove(room, conversationId, userId)
      if (entry.expires > now) cleared.push(conversationId)
    }
    return cleared
  }

  /** Stops every lapse timer (the node is closing). */
  stop(): void {
    for (const room of this.state.values()) for (const entry of room.values()) clearTimeout(entry.lapse)
    this.state.clear()
  }

  /** When the state runs out unrenewed, it is removed and announced (renewals move the deadline). */
  private watchLapse(conversationId: number, userId: number, entry: TypingEntry, delay: number): void {
    entry.lapse = setTimeout(() => {
      const room = this.state.get(conversationId)
      if (room?.get(userId) !== entry) return
      const left = entry.expires - Date.now()
      if (left > 0) return this.watchLapse(conversationId, userId, entry, left)
      this.remove(room, conversationId, userId)
      this.onLapse(conversationId, userId, entry.socketId as string)
    }, delay)
    entry.lapse.unref()
  }

  private remove(room: Map<number, TypingEntry>, conversationId: number, userId: number): void {
    clearTimeout(room.get(userId)?.lapse)
    room.delete(userId)
    if (room.size === 0) this.state.delete(conversationId)
  }
}

/** Tells the room's sockets (but the typer's own) that someone is or stopped typing, on every node. */
export function announceTyping(
  hub: Hub,
  conversationId: number,
  userId: number,
  isTyping: boolean,
  exceptSocketId?: string,
): void {
  hub.publish({
    kind: 'room',
    conversationId,
    exceptSocketId,
    typing: { userId, isTyping },
    frame: frame('typing', { conversation_id: conversationId, user_id: userId, is_typing: isTyping }),
  })
}
