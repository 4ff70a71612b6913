import { connect, Events, type Msg, type NatsConnection, type NatsError } from 'nats'
import { BusHub, type BusHubOptions, type Envelope, parseBusUrl, redactBusUrl } from './bus.js'
import type { ClusterPresence } from './presence.js'

// The multi-node bus on NATS (core pub/sub, no JetStream). Every node publishes every event to
// `<prefix>.events` and hears every event there, its own included, so all sockets on all nodes
// see events in one order (NATS keeps each publisher's order). Core NATS keeps nothing: an event
// published while a node is cut off is lost to that node, so when its connection comes back the
// node closes its sockets with 1012 and clients resume with their cursor (nothing missed, nothing
// twice), as with Redis.
//
// Presence across nodes, on `<prefix>.presence`. NATS stores nothing, so each node keeps the
// others' users from what it hears:
//   heartbeat      every heartbeat, a node's whole list of users (a snapshot of it)
//   node_user      a change as it happens (first socket of a user opened, last one closed)
//   node_stopping  a graceful stop, with the users the node still had
//   node_gone      a dead node was reaped: forget it
// A node unheard for three heartbeats (killed, partitioned) is dead. The live node with the lowest
// id reaps it: its users who are on no other node are announced offline, within TTL + one
// heartbeat. If no node_gone follows within another TTL (that node never knew the dead one, or
// died too), whoever still holds it reaps it. A node that starts or comes back asks the others
// for their heartbeat at once (`sync`), so it does not wait a heartbeat to know their users.
// A heartbeat is one NATS message: with the server's default max_payload (1 MiB) it carries up to
// about 100,000 users online on one node.

export interface NatsHubOptions extends BusHubOptions {
  /** `nats://[user:password@ | token@]host:port[?prefix=name&heartbeat_ms=5000]` */
  url: string
}

/** A node that (re)joins waits this long (at most one heartbeat) for the others' answers. */
const SYNC_WAIT_MS = 200

/** After a cut, the reconnect attempts are this far apart (plus up to 100 ms of jitter). */
const RECONNECT_WAIT_MS = 500

/** On a closing node, how long the last messages may take to leave before the connection is cut. */
const DRAIN_TIMEOUT_MS = 2000

export interface NatsUrl {
  /** `host:port` of each server listed (the client tries them in random order, and learns a cluster's others). */
  servers: string[]
  user?: string
  pass?: string
  token?: string
  prefix: string
  heartbeatMs: number | undefined
}

/**
 * Reads a NATS_URL: `prefix` and `heartbeat_ms` as for Redis; the prefix starts the subjects, so a
 * dot in it may not lead, trail or double. Credentials in the URL become the client's user and
 * password, or its token when there is no password. No other parameter means anything to NATS.
 * Several servers of one NATS cluster may be listed, comma separated, as the NATS tools take them
 * (`nats://user:pass@n1:4222,n2:4222,nats://n3`): credentials and parameters are written once.
 */
export function parseNatsUrl(url: string): NatsUrl {
  const { first, others } = splitServerList(url)
  const { url: rest, prefix, heartbeatMs } = parseBusUrl(first, 'NATS_URL')
  if (prefix.split('.').some((token) => token === '')) {
    throw new Error('NATS_URL: prefix may not begin or end with a dot, nor hold two in a row')
  }
  const parsed = new URL(rest)
  const unknown = [...parsed.searchParams.keys()]
  if (unknown.length > 0) {
    throw new Error(`NATS_URL: unknown parameter ${unknown[0]} (only prefix and heartbeat_ms are read)`)
  }
  if (!parsed.hostname) throw new Error('NATS_URL: a host is needed, as in nats://127.0.0.1:4222')
  const user = decodeURIComponent(parsed.username)
  const pass = decodeURIComponent(parsed.password)
  return {
    servers: [hostAndPort(parsed), ...others.map(otherServer)],
    ...(user && parsed.password ? { user, pass } : user ? { token: user } : {}),
    prefix,
    heartbeatMs,
  }
}

const hostAndPort = (url: URL) => `${url.hostname}:${url.port || 4222}`

/** `nats://a,b,c?x` is `nats://a?x` and the further servers `b` and `c`. */
function splitServerList(url: string): { first: string; others: string[] } {
  const match = /^(nats:\/\/)([^?#]*)(.*)$/s.exec(url)
  if (!match) return { first: url, others: [] }
  const [, scheme, authority, rest] = match
  // A comma may only separate servers: names, addresses and ports hold none.
  const [first, ...others] = authority.split(',')
  return { first: `${scheme}${first}${rest}`, others }
}

function otherServer(entry: string): string {
  const text = entry.startsWith('nats://') ? entry : `nats://${entry}`
  let parsed: URL | undefined
  try {
    parsed = new URL(text)
  } catch {}
  if (!parsed?.hostname || parsed.username || parsed.password || parsed.pathname.length > 1) {
    throw new Error(
      `NATS_URL: "${entry.replace(/^.*@/, '[redacted]@')}" is not a server (after the first, list host:port only, as in nats://user:pass@n1:4222,n2:4222)`,
    )
  }
  return hostAndPort(parsed)
}

interface RemoteNode {
  users: Set<number>
  /** When this node last heard from it. */
  seenAt: number
}

const encoder = new TextEncoder()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class NatsHub extends BusHub {
  private readonly eventsSubject: string
  private readonly presenceSubject: string
  private nc: NatsConnection | undefined
  /** The other live nodes and their users, as heard. */
  private readonly nodes = new Map<string, RemoteNode>()
  /** Nodes that stopped or went silent, not reaped yet: their users, and since when. */
  private readonly lost = new Map<string, { users: number[]; since: number }>()
  private connected = false
  /** The next heartbeat asks the others for theirs (at start and after a cut). */
  private syncNext = true

  private constructor(options: NatsHubOptions, prefix: string, heartbeatMs: number | undefined) {
    super(options, prefix, heartbeatMs)
    this.eventsSubject = `${prefix}.events`
    this.presenceSubject = `${prefix}.presence`
  }

  /** Connects and subscribes; fails when NATS does not answer in time. */
  static async connect(options: NatsHubOptions): Promise<NatsHub> {
    const { servers, user, pass, token, prefix, heartbeatMs } = parseNatsUrl(options.url)
    const hub = new NatsHub(options, prefix, heartbeatMs)
    const timeoutMs = options.connectTimeoutMs ?? 10_000
    let nc: NatsConnection
    try {
      nc = await connect({
        servers,
        user,
        pass,
        token,
        name: `parley-${hub.nodeId.slice(0, 8)}`,
        timeout: timeoutMs,
        // Reconnect forever, a short wait apart; publishes wait in the client's buffer meanwhile.
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: RECONNECT_WAIT_MS,
        ignoreAuthErrorAbort: true,
        // A silently dead connection is noticed within about 20 s (three pings unanswered).
        pingInterval: 5000,
        maxPingOut: 3,
      })
    } catch (error) {
      const reason = (error as NatsError).code ?? (error as Error).message
      throw new Error(`NATS did not answer at ${redactBusUrl(options.url)} (${reason})`)
    }
    hub.nc = nc
    hub.connected = true
    const onMessage = (error: NatsError | null, message: Msg) => {
      if (error) options.log.warn({ err: error }, 'event bus (NATS) subscription error')
      else hub.receive(message.string())
    }
    nc.subscribe(hub.eventsSubject, { callback: onMessage })
    nc.subscribe(hub.presenceSubject, { callback: onMessage })
    try {
      await nc.flush()
    } catch (error) {
      hub.markClosed()
      await nc.close().catch(() => {})
      throw error
    }
    void hub.watch(nc)
    options.log.info({ node: hub.nodeId, prefix }, 'event bus connected (NATS)')
    return hub
  }

  /** Follows the connection: a cut is logged, and the reconnect makes sockets resume. */
  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.closed) break
      switch (status.type) {
        case Events.Disconnect:
          if (!this.connected) break
          this.connected = false
          this.options.log.warn({ server: status.data }, 'event bus (NATS) connection lost; reconnecting')
          break
        case Events.Reconnect:
          this.connected = true
          this.options.log.info({ server: status.data }, 'event bus (NATS) reconnected')
          this.restored()
          break
        case Events.Error:
          this.options.log.warn({ err: status.data }, 'event bus (NATS) error')
          break
        case Events.LDM:
          this.options.log.info({ server: status.data }, 'event bus (NATS): the server is shutting down')
          break
      }
    }
    const error = await nc.closed()
    if (!this.closed && error) this.options.log.error({ err: error }, 'event bus (NATS) closed')
  }

  /** Back after a cut: whatever was published meanwhile never reached this node. */
  private restored(): void {
    // Nobody's heartbeat could be heard during the cut: each known node gets a fresh TTL to be
    // heard again (they answer the sync at once) before it is judged dead.
    const now = Date.now()
    for (const node of this.nodes.values()) node.seenAt = now
    this.syncNext = true
    void this.beat()
    this.busRestored()
  }

  protected send(envelope: Envelope): void {
    if (this.closed || !this.nc) return
    try {
      this.nc.publish(
        envelope.p ? this.presenceSubject : this.eventsSubject,
        encoder.encode(JSON.stringify(envelope)),
      )
    } catch (error) {
      this.options.log.warn({ err: error }, 'event bus (NATS) publish failed')
    }
  }

  // Presence across nodes.

  /** Any message from a node shows it lives; one unheard of (or thought dead) is added. */
  private heardFrom(from: string): RemoteNode {
    let node = this.nodes.get(from)
    if (!node) {
      node = { users: new Set(), seenAt: 0 }
      this.nodes.set(from, node)
      this.lost.delete(from)
    }
    node.seenAt = Date.now()
    return node
  }

  protected override heartbeatHeard(
    presence: ClusterPresence,
    from: string,
    users: number[],
    sync: boolean,
  ): void {
    const node = this.heardFrom(from)
    node.users = new Set(users)
    presence.dropNode(from)
    for (const userId of node.users) presence.remoteUser(from, userId, true)
    // A node just joined or came back: it learns this node's users now rather than in a heartbeat.
    if (sync && this.presence) this.announce(this.presence)
  }

  protected override remoteUser(
    presence: ClusterPresence,
    from: string,
    userId: number,
    online: boolean,
  ): void {
    const node = this.heardFrom(from)
    if (online) node.users.add(userId)
    else node.users.delete(userId)
    presence.remoteUser(from, userId, online)
  }

  protected nodeStopping(presence: ClusterPresence, from: string, users: number[] | undefined): void {
    const known = this.nodes.get(from)
    this.nodes.delete(from)
    presence.dropNode(from)
    this.lost.set(from, { users: users ?? [...(known?.users ?? [])], since: Date.now() })
    this.reapLost(presence)
  }

  protected override nodeGone(presence: ClusterPresence, nodeId: string): void {
    this.nodes.delete(nodeId)
    this.lost.delete(nodeId)
    presence.dropNode(nodeId)
  }

  /** This node's heartbeat: its users, to every other node. */
  private announce(presence: ClusterPresence, sync = false): void {
    const users = presence.localUserIds()
    this.send({ n: this.nodeId, p: sync ? { kind: 'heartbeat', users, sync } : { kind: 'heartbeat', users } })
  }

  /** One heartbeat: tell the others who is here, then judge who went silent. */
  protected async heartbeat(): Promise<void> {
    const presence = this.presence
    // Cut off, nothing can be told or heard: judging the others silent now would be wrong.
    if (!presence || this.closed || !this.connected) return
    const sync = this.syncNext
    this.syncNext = false
    this.announce(presence, sync)
    if (sync) await sleep(Math.min(SYNC_WAIT_MS, this.heartbeatMs))
    // Heartbeats already received but not yet read (a busy event loop) count before judging.
    await new Promise((resolve) => setImmediate(resolve))
    if (this.closed || !this.connected) return
    const now = Date.now()
    let silent = false
    for (const [id, node] of this.nodes) {
      if (now - node.seenAt <= this.ttlMs) continue
      this.nodes.delete(id)
      presence.dropNode(id)
      this.lost.set(id, { users: [...node.users], since: now })
      silent = true
    }
    if (silent || this.lost.size > 0) this.reapLost(presence)
  }

  /**
   * Reaps the lost nodes this node must: all of them when it has the lowest id of the live nodes
   * it knows, else those no node_gone came for within a TTL.
   */
  private reapLost(presence: ClusterPresence): void {
    if (this.closed) return
    const now = Date.now()
    let reaper = true
    for (const id of this.nodes.keys()) if (id < this.nodeId) reaper = false
    for (const [id, entry] of this.lost) {
      if (!reaper && now - entry.since <= this.ttlMs) continue
      this.lost.delete(id)
      this.nodeLost(presence, id, entry.users)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.stopHeartbeat()
    const nc = this.nc
    if (this.presence && this.connected) {
      // The users still here go offline now, not after the TTL: another node announces it.
      this.send({ n: this.nodeId, p: { kind: 'node_stopping', users: this.presence.localUserIds() } })
    }
    this.markClosed()
    if (!nc || nc.isClosed()) return
    // Drain: what was published leaves before the connection closes (unless NATS is away).
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      nc.drain().catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, DRAIN_TIMEOUT_MS)
      }),
    ])
    clearTimeout(timer)
    if (!nc.isClosed()) await nc.close().catch(() => {})
  }
}

export function createNatsHub(options: NatsHubOptions): Promise<NatsHub> {
  return NatsHub.connect(options)
}
