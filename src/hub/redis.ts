import { randomUUID } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import type { Presence } from '../realtime/presence.js'
import type { Hub, HubEvent, HubHandler } from './types.js'

// The multi-node bus. Every node publishes every event to one Redis pub/sub channel and hears
// every event there, its own included, so all sockets on all nodes see events in one order
// (the order Redis received them). Pub/sub keeps nothing: an event published while a node is
// cut off from Redis is lost to that node, so when its subscription comes back the node closes
// its sockets with 1012 and clients resume with their cursor (nothing missed, nothing twice).
//
// Presence across nodes, under `<prefix>:`:
//   nodes                 SET of node ids that may hold users
//   node:<id>:alive       a key with a TTL, renewed by the node's heartbeat
//   node:<id>:users       SET of the user ids with a socket on that node
//   reap:<id>             a short lock: exactly one node announces a dead node's users offline
// A node's users reach the others at once (a bus message) and at each heartbeat (a snapshot).
// A node whose alive key expired (killed, partitioned) is reaped by the first node to notice:
// its users who are on no other node are announced offline, within TTL + one heartbeat.

export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface RedisHubOptions {
  /** `redis://[:password@]host:port[/db][?prefix=name]`; `rediss://` for TLS. */
  url: string
  log: Logger
  /** How often a node renews its heartbeat and reads the others' users (ms); default 5000. */
  heartbeatMs?: number
  /** A node silent for this long is dead (ms); default 3 heartbeats. */
  ttlMs?: number
  /** How long to wait for Redis at start before giving up (ms); default 10000. */
  connectTimeoutMs?: number
}

/** Messages of the presence protocol; they never reach sockets. */
type BusMessage =
  | { kind: 'node_user'; userId: number; online: boolean }
  | { kind: 'announced_offline'; userId: number }
  /** The node stops (graceful shutdown): reap it now rather than after its TTL. */
  | { kind: 'node_stopping' }
  /** A dead node was reaped: forget it. */
  | { kind: 'node_gone'; nodeId: string }

interface Envelope {
  /** The sending node. */
  n: string
  /** A hub event for sockets... */
  e?: HubEvent
  /** ...or a presence message. */
  p?: BusMessage
}

/**
 * Splits our parameters off the URL; the rest goes to ioredis as it is. `prefix` (default
 * `parley`) names the cluster: nodes with the same prefix form one, so several clusters can share
 * a Redis. `heartbeat_ms` (default 5000) sets the presence heartbeat; a dead node's users go
 * offline within about four heartbeats.
 */
export function parseRedisUrl(url: string): { url: string; prefix: string; heartbeatMs: number | undefined } {
  const parsed = new URL(url)
  const prefix = parsed.searchParams.get('prefix') || 'parley'
  const heartbeat = parsed.searchParams.get('heartbeat_ms')
  parsed.searchParams.delete('prefix')
  parsed.searchParams.delete('heartbeat_ms')
  if (!/^[\w.-]{1,64}$/.test(prefix)) throw new Error('REDIS_URL: prefix must be 1-64 letters, digits, _ . -')
  const heartbeatMs = heartbeat === null ? undefined : Number(heartbeat)
  if (
    heartbeatMs !== undefined &&
    !(Number.isInteger(heartbeatMs) && heartbeatMs >= 50 && heartbeatMs <= 600_000)
  ) {
    throw new Error('REDIS_URL: heartbeat_ms must be an integer from 50 to 600000')
  }
  return { url: parsed.toString(), prefix, heartbeatMs }
}

const redactRedisUrl = (url: string) => url.replace(/\/\/[^@/]*@/, '//[redacted]@')

export class RedisHub implements Hub {
  readonly nodeId = randomUUID()
  readonly prefix: string
  private readonly pub: Redis
  private readonly sub: Redis
  private readonly channel: string
  private readonly handlers = new Set<HubHandler>()
  private readonly restoredListeners = new Set<() => void>()
  private readonly heartbeatMs: number
  private readonly ttlMs: number
  private presence: Presence | undefined
  private timer: NodeJS.Timeout | undefined
  private beating: Promise<void> | undefined
  private closed = false
  /** Presence changes heard while a snapshot was being read: applied again on top of it. */
  private heardDuringSync: Array<{ nodeId: string; userId: number; online: boolean }> | undefined

  private constructor(
    private readonly options: RedisHubOptions,
    url: string,
    prefix: string,
    heartbeatMs: number | undefined,
  ) {
    this.prefix = prefix
    this.channel = `${prefix}:events`
    this.heartbeatMs = options.heartbeatMs ?? heartbeatMs ?? 5000
    this.ttlMs = options.ttlMs ?? this.heartbeatMs * 3
    const common: RedisOptions = {
      lazyConnect: true,
      keepAlive: 5000,
      connectionName: `parley-${this.nodeId.slice(0, 8)}`,
      // Reconnect forever, backing off to 2 s; publishes wait in the offline queue meanwhile.
      retryStrategy: (times) => Math.min(times * 100, 2000),
    }
    this.pub = new Redis(url, common)
    this.sub = new Redis(url, common)
    this.watch(this.pub, 'publisher')
    this.watch(this.sub, 'subscriber')
    this.sub.on('message', (channel: string, raw: string) => {
      if (channel === this.channel) this.receive(raw)
    })
  }

  /** Connects both connections and subscribes; fails when Redis does not answer in time. */
  static async connect(options: RedisHubOptions): Promise<RedisHub> {
    const { url, prefix, heartbeatMs } = parseRedisUrl(options.url)
    const hub = new RedisHub(options, url, prefix, heartbeatMs)
    const timeoutMs = options.connectTimeoutMs ?? 10_000
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`Redis did not answer at ${redactRedisUrl(options.url)} within ${timeoutMs} ms`)),
        timeoutMs,
      )
    })
    try {
      await Promise.race([
        Promise.all([hub.pub.connect(), hub.sub.connect().then(() => hub.sub.subscribe(hub.channel))]),
        timeout,
      ])
    } catch (error) {
      hub.closed = true
      hub.pub.disconnect()
      hub.sub.disconnect()
      throw error
    } finally {
      clearTimeout(timer)
    }
    options.log.info({ node: hub.nodeId, prefix }, 'event bus connected (Redis)')
    return hub
  }

  private watch(redis: Redis, role: string): void {
    let lost = false
    redis.on('error', (error: Error) => {
      if (!this.closed) this.options.log.warn({ err: error, role }, 'event bus (Redis) error')
    })
    redis.on('close', () => {
      if (this.closed || lost) return
      lost = true
      this.options.log.warn({ role }, 'event bus (Redis) connection lost; reconnecting')
    })
    redis.on('ready', () => {
      if (!lost) return
      lost = false
      this.options.log.info({ role }, 'event bus (Redis) reconnected')
      if (redis === this.sub) void this.restored()
    })
  }

  /** The subscription is back: whatever was published meanwhile never reached this node. */
  private async restored(): Promise<void> {
    try {
      await this.sub.subscribe(this.channel)
    } catch {
      return // Lost again; the next 'ready' tries again.
    }
    void this.beat()
    for (const listener of this.restoredListeners) listener()
  }

  publish(event: HubEvent): void {
    this.send({ n: this.nodeId, e: event })
  }

  private send(envelope: Envelope): void {
    if (this.closed) return
    this.pub.publish(this.channel, JSON.stringify(envelope)).catch((error: Error) => {
      this.options.log.warn({ err: error }, 'event bus (Redis) publish failed')
    })
  }

  subscribe(handler: HubHandler): () => void {
    this.handlers.add(handler)
    return () => this.handlers.delete(handler)
  }

  onBusRestored(listener: () => void): () => void {
    this.restoredListeners.add(listener)
    return () => this.restoredListeners.delete(listener)
  }

  private receive(raw: string): void {
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
    if (envelope.p && envelope.n !== this.nodeId) this.receivePresence(envelope.n, envelope.p)
  }

  private receivePresence(from: string, message: BusMessage): void {
    const presence = this.presence
    if (!presence) return
    switch (message.kind) {
      case 'node_user':
        presence.remoteUser(from, message.userId, message.online)
        this.heardDuringSync?.push({ nodeId: from, userId: message.userId, online: message.online })
        return
      case 'announced_offline':
        presence.remoteAnnouncedOffline(message.userId)
        return
      case 'node_stopping':
        void this.reap(from)
        return
      case 'node_gone':
        presence.dropNode(message.nodeId)
        return
    }
  }

  // Presence across nodes.

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':')
  }

  /** Starts this node's heartbeat and keeps `presence` current with the other nodes. */
  async attachPresence(presence: Presence): Promise<void> {
    this.presence = presence
    presence.bus = {
      nodeUser: (userId, online) => {
        const users = this.key('node', this.nodeId, 'users')
        const write = online ? this.pub.sadd(users, userId) : this.pub.srem(users, userId)
        write.catch(() => {}) // The next heartbeat writes the whole set anyway.
        this.send({ n: this.nodeId, p: { kind: 'node_user', userId, online } })
      },
      announcedOffline: (userId) => this.send({ n: this.nodeId, p: { kind: 'announced_offline', userId } }),
    }
    await this.beat()
    this.timer = setInterval(() => void this.beat(), this.heartbeatMs)
    this.timer.unref()
  }

  /** One heartbeat: renew this node, rewrite its users, read the others', reap the dead. */
  beat(): Promise<void> {
    // One at a time: a slow Redis must not pile heartbeats up.
    this.beating ??= this.heartbeat()
      .catch((error: Error) => {
        if (!this.closed) this.options.log.warn({ err: error }, 'presence heartbeat failed')
      })
      .finally(() => {
        this.beating = undefined
      })
    return this.beating
  }

  private async heartbeat(): Promise<void> {
    const presence = this.presence
    if (!presence || this.closed) return
    const users = this.key('node', this.nodeId, 'users')
    const local = presence.localUserIds()
    const write = this.pub
      .multi()
      .sadd(this.key('nodes'), this.nodeId)
      .set(this.key('node', this.nodeId, 'alive'), String(Date.now()), 'PX', this.ttlMs)
      .del(users)
    if (local.length > 0) write.sadd(users, ...local)
    await write.exec()
    await this.sync(presence)
  }

  /** Reads every other node's users; reaps the nodes whose heartbeat stopped. */
  private async sync(presence: Presence): Promise<void> {
    const nodeIds = (await this.pub.smembers(this.key('nodes'))).filter((id) => id !== this.nodeId)
    this.heardDuringSync = []
    try {
      const read = this.pub.pipeline()
      for (const id of nodeIds) {
        read.exists(this.key('node', id, 'alive'))
        read.smembers(this.key('node', id, 'users'))
      }
      const results = (await read.exec()) ?? []
      const live = new Map<string, Set<number>>()
      const dead: string[] = []
      nodeIds.forEach((id, i) => {
        const [aliveError, alive] = results[i * 2]
        const [usersError, members] = results[i * 2 + 1]
        if (aliveError || usersError) throw aliveError ?? usersError
        if (alive === 1) live.set(id, new Set((members as string[]).map(Number)))
        else dead.push(id)
      })
      presence.replaceRemote(live)
      for (const change of this.heardDuringSync)
        presence.remoteUser(change.nodeId, change.userId, change.online)
      for (const id of dead) await this.reap(id)
    } finally {
      this.heardDuringSync = undefined
    }
  }

  /**
   * A node is dead or stopping: the one node that takes its reap lock removes it and announces
   * offline its users who are on no other node.
   */
  private async reap(nodeId: string): Promise<void> {
    const presence = this.presence
    if (!presence || this.closed) return
    const locked = await this.pub.set(this.key('reap', nodeId), this.nodeId, 'PX', this.ttlMs, 'NX')
    if (locked !== 'OK') return
    const usersKey = this.key('node', nodeId, 'users')
    const users = (await this.pub.smembers(usersKey)).map(Number)
    await this.pub
      .multi()
      .srem(this.key('nodes'), nodeId)
      .del(usersKey, this.key('node', nodeId, 'alive'))
      .exec()
    presence.dropNode(nodeId)
    this.send({ n: this.nodeId, p: { kind: 'node_gone', nodeId } })
    this.options.log.info(
      { node: nodeId, users: users.length },
      'a node stopped or died; its users are offline',
    )
    const offline = users.filter((id) => !presence.isOnline(id))
    if (offline.length > 0) presence.onNodeLost?.(offline)
  }

  async close(): Promise<void> {
    if (this.closed) return
    if (this.timer) clearInterval(this.timer)
    await this.beating
    if (this.presence) {
      // The users still here go offline now, not after the TTL: another node announces it.
      try {
        const stop = this.pub.multi().del(this.key('node', this.nodeId, 'alive'))
        // Every socket closed and was announced: nothing is left for another node to hand over.
        if (this.presence.localUserIds().length === 0) {
          stop.srem(this.key('nodes'), this.nodeId).del(this.key('node', this.nodeId, 'users'))
        }
        await stop.exec()
        await this.pub.publish(this.channel, JSON.stringify({ n: this.nodeId, p: { kind: 'node_stopping' } }))
      } catch {
        // Redis is away: the TTL does it.
      }
    }
    this.closed = true
    this.handlers.clear()
    this.restoredListeners.clear()
    await Promise.all([this.pub.quit().catch(() => {}), this.sub.quit().catch(() => {})])
  }
}

export function createRedisHub(options: RedisHubOptions): Promise<RedisHub> {
  return RedisHub.connect(options)
}
