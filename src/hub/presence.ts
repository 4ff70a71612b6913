// What the hubs need of presence, so that the hub (below) never imports the realtime layer
// (above): the class is src/presence/presence.ts.

/**
 * What this node tells the other nodes about presence (the bus hubs implement it; one node
 * alone needs none of it).
 */
export interface PresenceBus {
  /** This node's first socket of the user opened (`true`) or its last one closed (`false`). */
  nodeUser(userId: number, online: boolean): void
  /** This node told the user's audience that the user went offline. */
  announcedOffline(userId: number): void
}

/** Presence as a bus keeps it current: this node's users, and the other nodes' as they report. */
export interface ClusterPresence {
  /** Set by the multi-node hub. */
  bus: PresenceBus | undefined
  /** Users who were online only on a node that died or stopped: their audience must hear it. */
  onNodeLost: ((userIds: number[]) => void) | undefined
  isOnline(userId: number): boolean
  localUserIds(): number[]
  /** The full picture of the other live nodes (a heartbeat's snapshot). */
  replaceRemote(nodes: Map<string, Set<number>>): void
  /** One change on another node. */
  remoteUser(nodeId: string, userId: number, online: boolean): void
  /** Another node said the user went offline. */
  remoteAnnouncedOffline(userId: number): void
  /** Forgets a node that is gone. */
  dropNode(nodeId: string): void
}
