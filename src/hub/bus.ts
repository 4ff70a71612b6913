import { randomUUID } from 'node:crypto'
import type { ClusterPresence } from './presence.js'
import type { Hub, HubEvent, HubHandler } from './types.js'

// What the multi-node buses (Redis, NATS) share: the URL parameters, the envelope every bus
// message travels in, the delivery of events to the local subscribers, the heartbeat loop and
// the presence protocol between nodes. Each bus adds only how it carries messages and where it
// keeps (or does not keep) the nodes' users.

export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface BusHubOptions {
  /** The bus URL, with the optional `prefix` and `heartbeat_ms` parameters (see parseBusUrl). */
  url: string
  log: Logger
  /** How often a node renews its heartbeat (ms); default 5000, or `heartbeat_ms` in the URL. */
  heartbeatMs?: number
  /** A node silent for this long is dead (ms); default 3 heartbeats. */
  ttlMs?: number
  /** How long to wait for the bus at start before giving up (ms); default 10000. */
  connectTimeoutMs?: number
}

export const DEFAULT_HEARTBEAT_MS = 5000

/** Messages of the presence protocol; they never reach sockets. */
export type BusMessage =
  | { kind: 'node_user'; userId: number; online: boolean }
  | { kind: 'announced_offline'; userId: number }
  /**
   * The node stops (graceful shutdown): reap it now rather than after its TTL. `users` are those it
   * still had (buses that keep no state send them here).
   */
  | { kind: 'node_stopping'; users?: number[] }
  /** A dead node was reaped: forget it. */
  | { kind: 'node_gone'; nodeId: string }
  /**
   * A heartbeat carrying the node's users (buses that keep no state, NATS). `sync`: the node just
   * (re)joined and asks every other node for its heartbeat now.
   */
  | { kind: 'heartbeat'; users: number[]; sync?: true }

export interface Envelope {
  /** The sending node. */
  n: string
  /** A hub event for sockets... */
  e?: HubEvent
  /** ...or a presence message. */
  p?: BusMessage
}

/**
 * Splits our parameters off a bus URL. `prefix` (default `parley`) names the cluster: nodes with
 * the same prefix form one, so several clusters can share a bus. `heartbeat_ms` (default 5000)
 * sets the presence heartbeat; a dead node's users go offline within about four heartbeats.
 * `variable` (REDIS_URL, NATS_URL) names the setting in error messages.
 */
export function parseBusUrl(
  url: string,
  variable: string,
): { url: string; prefix: string; heartbeatMs: number | undefined } {
  const parsed = new URL(url)
  const prefix = parsed.searchParams.get('prefix') || 'parley'
  const heartbeat = parsed.searchParams.get('heartbeat_ms')
  parsed.searchParams.delete('prefix')
  parsed.searchParams.delete('heartbeat_ms')
  if (!/^[\w.-]{1,64}$/.test(prefix))
    throw new Error(`${variable}: prefix must be 1-64 letters, digits, _ . -`)
  const heartbeatMs = heartbeat === null ? undefined : Number(heartbeat)
  if (
    heartbeatMs !== undefined &&
    !(Number.isInteger(heartbeatMs) && heartbeatMs >= 50 && heartbeatMs <= 600_000)
  ) {
    throw new Error(`${variable}: heartbeat_ms must be an integer from 50 to 600000`)
  }
  return { url: parsed.toString(), prefix, heartbeatMs }
}

/** A bus URL fit for a log line: no credentials. */
export const redactBusUrl = (url: string) => url.replace(/\/\/[^@/]*@/, '//[redacted]@')

/**
 * A hub on a bus. Every node publishes every event to the cluster and hears every event there,
 * its own included, so all sockets on all nodes see events in one order (the order the bus
 * received them). Subclasses carry the envelopes (`send`, and `receive` what arrives) and keep
 * the other nodes' users current (`heartbeat`).
 */
export abstract class BusHub implements Hub {
  readonly nodeId = randomUUID()
  protected readonly handlers = new Set<HubHandler>()
  private readonly restoredListeners = new Set<() => void>()
  protected readonly heartbeatMs: number
  protected readonly ttlMs: number
  protected presence: ClusterPresence | undefined
  private timer: NodeJS.Timeout | undefined
  private beating: Promise<void> | undefined
  protected closed = false

  protected constructor(
    protected readonly options: BusHubOptions,
    readonly prefix: string,
    heartbeatMs: number | undefined,
  ) {
    this.heartbeatMs = options.heartbeatMs ?? heartbeatMs ?? DEFAULT_HEARTBEAT_MS
    this.ttlMs = options.ttlMs ?? this.heartbeatMs * 3
  }

  /** Puts one envelope on the bus (fire and forget; failures are logged). */
  protected abstract send(envelope: Envelope): void

  /** One heartbeat: tell the others this node lives and who is on it; learn theirs; reap the dead. */
  protected abstract heartbeat(): Promise<void>

  publish(event: HubEvent): void {
    this.send({ n: this.nodeId, e: event })
  }

  subscribe(handler: HubHandler): () => void {
    this.handlers.add(handler)
    return () => this.handlers.delete(handler)
  }

  onBusRestored(listener: () => void): () => void {
    this.restoredListeners.add(listener)
    return () => this.restoredListeners.delete(listener)
  }

  /** The subscription is back after a cut: whatever was published meanwhile never reached this node. */
  protected busRestored(): void {
    for (const listener of this.restoredListeners) listener()
  }

  /** One envelope from the bus, as its JSON text. */
  protected receive(raw: string): void {
    if (this.closed) return
    let envelope: Envelope
    try {
      envelope = JSON.parse(raw) as Envelope
    } catch {
      this.options.log.warn({}, 'event bus: a message that is not JSON was ignored')
      return
    }
    if (envelope.e) {
      for (const handler of this.handlers) {
        try {
          handler(envelope.e)
        } catch (error) {
          this.options.log.error({ err: error }, 'event bus: a handler failed')
        }
      }
    }
    if (envelope.p && envelope.n !== this.nodeId && this.presence) {
      this.receivePresence(this.presence, envelope.n, envelope.p)
    }
  }

  private receivePresence(presence: ClusterPresence, from: string, message: BusMessage): void {
    switch (message.kind) {
      case 'node_user':
        this.remoteUser(presence, from, message.userId, message.online)
        return
      case 'announced_offline':
        presence.remoteAnnouncedOffline(message.userId)
        return
      case 'node_stopping':
        this.nodeStopping(presence, from, message.users)
        return
      case 'node_gone':
        this.nodeGone(presence, message.nodeId)
        return
      case 'heartbeat':
        this.heartbeatHeard(presence, from, message.users, message.sync === true)
        return
    }
  }

  /** Another node's first socket of a user opened, or its last one closed. */
  protected remoteUser(presence: ClusterPresence, from: string, userId: number, online: boolean): void {
    presence.remoteUser(from, userId, online)
  }

  /** Another node stops: the users it still has must be announced offline (by one node). */
  protected abstract nodeStopping(presence: ClusterPresence, from: string, users: number[] | undefined): void

  /** Another node reaped a dead one. */
  protected nodeGone(presence: ClusterPresence, nodeId: string): void {
    presence.dropNode(nodeId)
  }

  /** Another node's heartbeat (buses that keep no state); ignored by default. */
  protected heartbeatHeard(
    _presence: ClusterPresence,
    _from: string,
    _users: number[],
    _sync: boolean,
  ): void {}

  /** This node's first socket of a user opened, or its last one closed; told to the others after. */
  protected localUser(_userId: number, _online: boolean): void {}

  /** Starts this node's heartbeat and keeps `presence` current with the other nodes. */
  async attachPresence(presence: ClusterPresence): Promise<void> {
    this.presence = presence
    presence.bus = {
      nodeUser: (userId, online) => {
        this.localUser(userId, online)
        this.send({ n: this.nodeId, p: { kind: 'node_user', userId, online } })
      },
      announcedOffline: (userId) => this.send({ n: this.nodeId, p: { kind: 'announced_offline', userId } }),
    }
    await this.beat()
    this.timer = setInterval(() => void this.beat(), this.heartbeatMs)
    this.timer.unref()
  }

  /** One heartbeat at a time: a slow bus must not pile them up. */
  beat(): Promise<void> {
    this.beating ??= this.heartbeat()
      .catch((error: Error) => {
        if (!this.closed) this.options.log.warn({ err: error }, 'presence heartbeat failed')
      })
      .finally(() => {
        this.beating = undefined
      })
    return this.beating
  }

  /** Stops the heartbeat and waits for the one under way. */
  protected async stopHeartbeat(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.beating
  }

  /**
   * This node reaps a node that died or stopped: forgets it, tells the others, and announces
   * offline its users who are on no other node.
   */
  protected nodeLost(presence: ClusterPresence, nodeId: string, users: number[]): void {
    presence.dropNode(nodeId)
    this.send({ n: this.nodeId, p: { kind: 'node_gone', nodeId } })
    this.options.log.info(
      { node: nodeId, users: users.length },
      'a node stopped or died; its users are offline',
    )
    const offline = users.filter((id) => !presence.isOnline(id))
    if (offline.length > 0) presence.onNodeLost?.(offline)
  }

  /** The hub is closed: no more events to anyone. */
  protected markClosed(): void {
    this.closed = true
    this.handlers.clear()
    this.restoredListeners.clear()
  }

  abstract close(): Promise<void>
}
