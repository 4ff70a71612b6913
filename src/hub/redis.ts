import { Redis, type RedisOptions } from 'ioredis'
import { BusHub, type BusHubOptions, type Envelope, parseBusUrl, redactBusUrl } from './bus.js'
import type { ClusterPresence } from './presence.js'

// The multi-node bus on Redis. Every node publishes every event to one Redis pub/sub channel and
// hears every event there, its own included, so all sockets on all nodes see events in one order
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

export type { Logger } from './bus.js'

export interface RedisHubOptions extends BusHubOptions {
  /** `redis://[:password@]host:port[/db][?prefix=name&heartbeat_ms=5000]`; `rediss://` for TLS. */
  url: string
}

/** Splits our parameters (`prefix`, `heartbeat_ms`) off the URL; the rest goes to ioredis as it is. */
export function parseRedisUrl(url: string): { url: string; prefix: string; heartbeatMs: number | undefined } {
  return parseBusUrl(url, 'REDIS_URL')
}

export class RedisHub extends BusHub {
  private readonly pub: Redis
  private readonly sub: Redis
  private readonly channel: string
  /** ClusterPresence changes heard while a snapshot was being read: applied again on top of it. */
  private heardDuringSync: Array<{ nodeId: string; userId: number; online: boolean }> | undefined

  private constructor(
    options: RedisHubOptions,
    url: string,
    prefix: string,
    heartbeatMs: number | undefined,
  ) {
    super(options, prefix, heartbeatMs)
    this.channel = `${prefix}:events`
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
          reject(new Error(`Redis did not answer at ${redactBusUrl(options.url)} within ${timeoutMs} ms`)),
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
    this.busRestored()
  }

  protected send(envelope: Envelope): void {
    if (this.closed) return
    this.pub.publish(this.channel, JSON.stringify(envelope)).catch((error: Error) => {
      this.options.log.warn({ err: error }, 'event bus (Redis) publish failed')
    })
  }

  protected override remoteUser(
    presence: ClusterPresence,
    from: string,
    userId: number,
    online: boolean,
  ): void {
    presence.remoteUser(from, userId, online)
    this.heardDuringSync?.push({ nodeId: from, userId, online })
  }

  protected nodeStopping(_presence: ClusterPresence, from: string): void {
    void this.reap(from)
  }

  // Presence across nodes.

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':')
  }

  protected override localUser(userId: number, online: boolean): void {
    const users = this.key('node', this.nodeId, 'users')
    const write = online ? this.pub.sadd(users, userId) : this.pub.srem(users, userId)
    write.catch(() => {}) // The next heartbeat writes the whole set anyway.
  }

  /** One heartbeat: renew this node, rewrite its users, read the others', reap the dead. */
  protected async heartbeat(): Promise<void> {
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
  private async sync(presence: ClusterPresence): Promise<void> {
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
    this.nodeLost(presence, nodeId, users)
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.stopHeartbeat()
    if (this.presence) {
      // The users still here go offline now, not after the TTL: another node announces it.
      try {
        const stop = this.pub.multi().del(this.key('node', this.nodeId, 'alive'))
        // Every socket closed and was announced: nothing is left for another node to hand over.
        if (this.presence.localUserIds().length === 0) {
          stop.srem(this.key('nodes'), this.nodeId).del(this.key('node', this.nodeId, 'users'))
        }
        await stop.exec()
        const stopping: Envelope = { n: this.nodeId, p: { kind: 'node_stopping' } }
        await this.pub.publish(this.channel, JSON.stringify(stopping))
      } catch {
        // Redis is away: the TTL does it.
      }
    }
    this.markClosed()
    await Promise.all([this.pub.quit().catch(() => {}), this.sub.quit().catch(() => {})])
  }
}

export function createRedisHub(options: RedisHubOptions): Promise<RedisHub> {
  return RedisHub.connect(options)
}
