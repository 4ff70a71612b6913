/**
 * Who is online: a count of open sockets per user. A user is online while any socket is open,
 * so two tabs make one presence and closing one of them changes nothing.
 */
export class Presence {
  private readonly sockets = new Map<number, number>()

  /** Returns true when this socket brought the user online. */
  connected(userId: number): boolean {
    const count = this.sockets.get(userId) ?? 0
    this.sockets.set(userId, count + 1)
    return count === 0
  }

  /** Returns true when this socket was the user's last. */
  disconnected(userId: number): boolean {
    const count = this.sockets.get(userId) ?? 0
    if (count <= 1) {
      this.sockets.delete(userId)
      return count === 1
    }
    this.sockets.set(userId, count - 1)
    return false
  }

  isOnline(userId: number): boolean {
    return this.sockets.has(userId)
  }

  onlineUserIds(): number[] {
    return [...this.sockets.keys()]
  }
}
