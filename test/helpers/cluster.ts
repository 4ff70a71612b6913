import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { connect as connectNats } from 'nats'
import type { Test } from 'tap'
import { createTestSchema, REDIS_URL } from './postgres.js'
import type { Frame } from './ws.js'

// Real nodes for the cluster tests: `src/server.ts` in child processes, on ephemeral ports,
// configured only through the environment, as an operator would run them.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface Node {
  name: string
  http: string
  ws: string
  child: ChildProcess
  /** Every line the node logged. */
  log: string[]
  /** SIGKILL: no goodbye to anyone. */
  kill(): Promise<void>
  /** SIGTERM: the graceful shutdown. */
  stop(): Promise<number | null>
}

/** undefined when Redis answers; otherwise why the tests that need it are skipped. */
export async function redisSkipReason(): Promise<string | undefined> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    await redis.ping()
    return undefined
  } catch {
    const url = new URL(REDIS_URL)
    return `Redis not reachable at ${url.hostname}:${url.port || 6379}`
  } finally {
    redis.disconnect()
  }
}

/** A Redis URL with a cluster prefix of its own, so test runs never hear each other. */
export function testRedisUrl(heartbeatMs = 200): { url: string; prefix: string } {
  const prefix = `t_${randomBytes(6).toString('hex')}`
  const url = new URL(REDIS_URL)
  url.searchParams.set('prefix', prefix)
  url.searchParams.set('heartbeat_ms', String(heartbeatMs))
  return { url: url.toString(), prefix }
}

/** Deletes a test cluster's keys. */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL)
  redis.on('error', () => {})
  try {
    const keys = await redis.keys(`${prefix}:*`)
    if (keys.length > 0) await redis.del(...keys)
  } finally {
    redis.disconnect()
  }
}

/** The NATS the NATS cluster tests use; PARLEY_TEST_NATS_URL overrides it. */
export const NATS_URL = process.env.PARLEY_TEST_NATS_URL || 'nats://127.0.0.1:4222'

/** undefined when NATS answers; otherwise why the tests that need it are skipped. */
export async function natsSkipReason(): Promise<string | undefined> {
  const url = new URL(NATS_URL)
  const server = `${url.hostname}:${url.port || 4222}`
  try {
    const nc = await connectNats({ servers: server, timeout: 2000, reconnect: false })
    await nc.flush()
    await nc.close()
    return undefined
  } catch {
    return `NATS not reachable at ${server}`
  }
}

/**
 * A NATS URL with a cluster prefix of its own, so test runs never hear each other (core NATS
 * keeps nothing, so there is nothing to clean up after).
 */
export function testNatsUrl(heartbeatMs = 200, base = NATS_URL): string {
  const url = new URL(base)
  url.searchParams.set('prefix', `t_${randomBytes(6).toString('hex')}`)
  url.searchParams.set('heartbeat_ms', String(heartbeatMs))
  return url.toString()
}

/** The NATS server binary, for tests that need a server of their own to stop and restart. */
export const NATS_SERVER_BIN = process.env.PARLEY_TEST_NATS_SERVER || '/usr/sbin/nats-server'

export const natsServerSkipReason = (): string | undefined =>
  existsSync(NATS_SERVER_BIN) ? undefined : `no nats-server at ${NATS_SERVER_BIN}`

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

export interface NatsServer {
  url: string
  /** SIGKILL: the bus vanishes under the nodes. */
  kill(): Promise<void>
}

/** A private nats-server (no JetStream, nothing stored) on `port`, once it accepts connections. */
export async function startNatsServer(port: number): Promise<NatsServer> {
  const child = spawn(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const deadline = Date.now() + 10_000
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`nats-server did not start on port ${port}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}

/** The buses a cluster can run on, as the nodes name them in their logs. */
export type BusKind = 'Redis' | 'NATS'

/** A test cluster's bus: the environment that points the nodes at it, and its cleanup. */
export interface TestBus {
  env: Record<string, string>
  drop(): Promise<void>
}

/** A bus of `kind` under a prefix of its own; `natsBase` points NATS at another server. */
export function testBus(kind: BusKind, heartbeatMs: number, natsBase = NATS_URL): TestBus {
  if (kind === 'NATS') return { env: { NATS_URL: testNatsUrl(heartbeatMs, natsBase) }, drop: async () => {} }
  const redis = testRedisUrl(heartbeatMs)
  return { env: { REDIS_URL: redis.url }, drop: () => dropRedisPrefix(redis.prefix) }
}

/** `count` nodes on a fresh schema and `bus`; killed and cleaned up at `tap`'s teardown. */
export async function startCluster(tap: Test, count: number, bus: TestBus): Promise<Node[]> {
  const schema = await createTestSchema()
  const uploads = mkdtempSync(join(tmpdir(), 'parley-cluster-'))
  const nodes: Node[] = []
  tap.teardown(async () => {
    await Promise.all(nodes.map((node) => node.kill()))
    await schema.drop()
    await bus.drop()
    rmSync(uploads, { recursive: true, force: true })
  })
  const env = { DATABASE_URL: schema.url, UPLOAD_DIR: uploads, ...bus.env }
  // The first migrates; the others find the schema current.
  nodes.push(await startNode('node-a', env))
  for (let i = 1; i < count; i++) nodes.push(await startNode(`node-${String.fromCharCode(97 + i)}`, env))
  return nodes
}

export async function startNode(name: string, env: Record<string, string>): Promise<Node> {
  const { NODE_OPTIONS: _ignored, ...parentEnv } = process.env
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      ...parentEnv,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      AUTH_RATE_LIMIT: '100000',
      WS_RATE_LIMIT: '100000',
      // test accounts at the cheap argon2 cost (test-only; config.test.ts proves the real one)
      PARLEY_TEST_FAST_HASH: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log: string[] = []
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${log.join('\n')}`)), 30_000)
    let buffered = ''
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) {
        log.push(line)
        const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(line)
        if (match) {
          clearTimeout(timer)
          resolve(Number(match[1]))
        }
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited with ${code}:\n${log.join('\n')}`))
    })
  })
  return {
    name,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws`,
    child,
    log,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}

export interface Account {
  id: number
  token: string
  auth: { authorization: string }
}

/** One HTTP call to a node, as `account` (or anonymous); the JSON body parsed. */
export async function api(
  node: Node,
  account: Account | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: ReturnType<typeof JSON.parse> }> {
  const response = await fetch(`${node.http}${path}`, {
    method,
    headers: {
      ...(account ? account.auth : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}

let registered = 0

/** A new account registered through `node`: `<name><n>`, logged in. */
export async function register(node: Node, name: string): Promise<Account> {
  const username = `${name}${++registered}`
  const response = await api(node, undefined, 'POST', '/auth/register', {
    username,
    password: 'correct horse battery',
  })
  if (response.status !== 201)
    throw new Error(`register: ${response.status} ${JSON.stringify(response.body)}`)
  return {
    id: response.body.user.id,
    token: response.body.token,
    auth: { authorization: `Bearer ${response.body.token}` },
  }
}

/**
 * ann registered on `a`, bob on `b`, and the direct conversation ann starts with bob (through
 * `a`); `status` is that POST's, for the tests that check it.
 */
export async function annAndBob(
  a: Node,
  b: Node,
): Promise<{ ann: Account; bob: Account; id: number; status: number }> {
  const ann = await register(a, 'ann')
  const bob = await register(b, 'bob')
  const created = await api(a, ann, 'POST', '/conversations', { member_ids: [bob.id] })
  return { ann, bob, id: created.body?.conversation?.id as number, status: created.status }
}

/** The ids `node` says are online, as `account` sees them. */
export async function onlineIds(node: Node, account: Account): Promise<number[]> {
  const response = await api(node, account, 'GET', '/users/online')
  return (response.body.users as Array<{ id: number }>).map((u) => u.id)
}

export const messageId = (frame: Frame): number => (frame.message as { id: number }).id
