/** A typing indicator lasts this long unless renewed, so a client that vanished stops "typing". */
const TYPING_TTL_MS = 6000
/** Repeated "still typing" frames from one user are passed on at most this often. */
const TYPING_THROTTLE_MS = 2000

/** Who is typing where, with expiry and throttling. */
export class Typing {
  private readonly state = new Map<number, Map<number, { since: number; expires: number }>>()

  /** Records the state; returns whether others should hear of it now. */
  update(conversationId: number, userId: number, isTyping: boolean, now = Date.now()): boolean {
    const room = this.state.get(conversationId) ?? new Map<number, { since: number; expires: number }>()
    const current = room.get(userId)
    if (!isTyping) {
      if (!current) return false
      room.delete(userId)
      if (room.size === 0) this.state.delete(conversationId)
      return current.expires > now
    }
    this.state.set(conversationId, room)
    const fresh = !current || current.expires <= now
    if (fresh || now - current.since >= TYPING_THROTTLE_MS) {
      room.set(userId, { since: now, expires: now + TYPING_TTL_MS })
      return true
    }
    current.expires = now + TYPING_TTL_MS
    return false
  }

  /** Records a change heard from the hub (this node's or another's), without throttling. */
  record(conversationId: number, userId: number, isTyping: boolean, now = Date.now()): void {
    const room = this.state.get(conversationId) ?? new Map<number, { since: number; expires: number }>()
    if (isTyping) {
      const since = room.get(userId)?.since ?? now
      room.set(userId, { since, expires: Math.max(room.get(userId)?.expires ?? 0, now + TYPING_TTL_MS) })
      this.state.set(conversationId, room)
      return
    }
    room.delete(userId)
    if (room.size === 0) this.state.delete(conversationId)
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
      room.delete(userId)
      if (room.size === 0) this.state.delete(conversationId)
      if (entry.expires > now) cleared.push(conversationId)
    }
    return cleared
  }
}
