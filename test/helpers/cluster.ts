import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { REDIS_URL } from './postgres.js'

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
