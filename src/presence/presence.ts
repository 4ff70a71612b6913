import type { ClusterPresence, PresenceBus } from '../hub/presence.js'

/**
 * Who is online: a count of open sockets per user on this node, and, in the multi-node mode, the
 * users of every other live node (kept current by the bus: changes as they happen, plus a full
 * snapshot at every heartbeat). A user is online while any socket on any node is open, so two
 * tabs, on one node or on two, make one presence, and closing one of them changes nothing.
 */
export class Presence implements ClusterPresence {
  private readonly sockets = new Map<number, number>()
  /** Other nodes' users, by node id. */
  private readonly remote = new Map<string, Set<number>>()
  /** Set by the multi-node hub. */
  bus: PresenceBus | undefined
  /** Users who were online only on a node that died or stopped: their audience must hear it. */
  onNodeLost: ((userIds: number[]) => void) | undefined
  /**
   * Another node announced a user offline while the user still has a socket here (they moved
   * between nodes at that very moment): the user must be announced online again.
   */
  onContradicted: ((userId: number) => void) | undefined

  /** Returns true when this socket brought the user online (on no node before). */
  connected(userId: number): boolean {
    const count = this.sockets.get(userId) ?? 0
    this.sockets.set(userId, count + 1)
    if (count > 0) return false
    this.bus?.nodeUser(userId, true)
    return !this.onOtherNode(userId)
  }

  /** Returns true when this socket was the user's last (on every node). */
  disconnected(userId: number): boolean {
    const count = this.sockets.get(userId) ?? 0
    if (count > 1) {
      this.sockets.set(userId, count - 1)
      return false
    }
    this.sockets.delete(userId)
    if (count === 0) return false
    this.bus?.nodeUser(userId, false)
    return !this.onOtherNode(userId)
  }

  /** Called once the user's audience was told they went offline. */
  announcedOffline(userId: number): void {
    this.bus?.announcedOffline(userId)
  }

  isOnline(userId: number): boolean {
    return this.sockets.has(userId) || this.onOtherNode(userId)
  }

  /** Online on this node. */
  isLocal(userId: number): boolean {
    return this.sockets.has(userId)
  }

  onlineUserIds(): number[] {
    const ids = new Set(this.sockets.keys())
    for (const users of this.remote.values()) for (const id of users) ids.add(id)
    return [...ids]
  }

  localUserIds(): number[] {
    return [...this.sockets.keys()]
  }

  private onOtherNode(userId: number): boolean {
    for (const users of this.remote.values()) if (users.has(userId)) return true
    return false
  }

  // What the bus feeds in.

  /** The full picture of the other live nodes (a heartbeat's snapshot). */
  replaceRemote(nodes: Map<string, Set<number>>): void {
    this.remote.clear()
    for (const [nodeId, users] of nodes) this.remote.set(nodeId, new Set(users))
  }

  /** One change on another node. */
  remoteUser(nodeId: string, userId: number, online: boolean): void {
    let users = this.remote.get(nodeId)
    if (!users) {
      if (!online) return
      users = new Set()
      this.remote.set(nodeId, users)
    }
    if (online) users.add(userId)
    else users.delete(userId)
  }

  /** Another node said the user went offline. */
  remoteAnnouncedOffline(userId: number): void {
    if (this.sockets.has(userId)) this.onContradicted?.(userId)
  }

  /** Forgets a node that is gone. */
  dropNode(nodeId: string): void {
    this.remote.delete(nodeId)
  }
}
