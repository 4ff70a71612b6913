import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestContext } from './app.js'

// The real server (`node --import tsx src/server.ts`, or `npm start` as the README says) as a child
// process, on its own port, SQLite file and upload dir: for tests that kill it, stop it with
// signals, or restart it on the same data.

const root = fileURLToPath(new URL('../..', import.meta.url))

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

export interface ServerDir {
  dir: string
  dbPath: string
  uploadDir: string
}

/** A temp dir holding the database file and the uploads, removed when the test ends. */
export function serverDir(t: TestContext): ServerDir {
  const dir = mkdtempSync(join(tmpdir(), 'parley-proc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return { dir, dbPath: join(dir, 'parley.db'), uploadDir: join(dir, 'uploads') }
}

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams
  port: number
  http: string
  ws: string
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export interface SpawnOptions {
  /** Reuse a database and upload dir (a restart); a fresh one otherwise. */
  dir?: ServerDir
  env?: Record<string, string>
  /** The port to listen on (the same again after a restart keeps clients' URLs); a free one otherwise. */
  port?: number
  startTimeoutMs?: number
  /** How the server is started: node itself (the default), or `npm start` (npm, sh, tsx, node). */
  command?: 'node' | 'npm start'
  /**
   * Its own process group, so the teardown can end everything it started, wrappers' children too.
   * Always so for `npm start`.
   */
  detached?: boolean
}

const COMMANDS: Record<NonNullable<SpawnOptions['command']>, [string, string[]]> = {
  node: [process.execPath, ['--import', 'tsx', 'src/server.ts']],
  'npm start': ['npm', ['start', '--silent']],
}

/**
 * Starts the server and resolves once GET /healthz answers 200. Killed with SIGKILL at teardown:
 * the child, or its whole process group when detached.
 */
export async function spawnServer(t: TestContext, options: SpawnOptions = {}): Promise<ServerProcess> {
  const dir = options.dir ?? serverDir(t)
  const port = options.port ?? (await freePort())
  const [command, args] = COMMANDS[options.command ?? 'node']
  // a wrapper (npm, sh, tsx) leaves its children behind when only it is killed
  const detached = options.detached ?? options.command === 'npm start'
  const child = spawn(command, args, {
    cwd: root,
    detached,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${dir.dbPath}`,
      UPLOAD_DIR: dir.uploadDir,
      LOG_LEVEL: 'warn',
      AUTH_RATE_LIMIT: '100000',
      // test accounts at the cheap argon2 cost (test-only; config.test.ts proves the real one)
      PARLEY_TEST_FAST_HASH: '1',
      ...options.env,
    },
  })
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk
    if (output.length > 200_000) output = output.slice(-100_000)
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const alive = () => child.exitCode === null && child.signalCode === null
  t.teardown(async () => {
    if (detached) {
      // the whole group, even when the wrapper itself is gone and only what it started is left
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL')
      } catch {
        // the group is gone already
      }
    } else if (alive()) {
      child.kill('SIGKILL')
    }
    if (child.pid) await exited
  })
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000)
  for (;;) {
    if (!alive()) throw new Error(`server exited early: ${output}`)
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`)
      if (response.status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server did not come up: ${output}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return {
    child,
    port,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws`,
    output: () => output,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (alive()) child.kill(signal)
      return exited
    },
  }
}

/** Registers an account over HTTP; returns its id and token. */
export async function registerOver(
  base: string,
  username: string,
  password = 'correct horse battery',
): Promise<{ id: number; token: string; username: string }> {
  const response = await fetch(`${base}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  })
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${await response.text()}`)
  const body = (await response.json()) as { user: { id: number }; token: string }
  return { id: body.user.id, token: body.token, username }
}

/** A JSON request with a bearer token; the parsed body (undefined for 204). */
export async function api(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: a JSON body of any route, read by tests
): Promise<{ status: number; body: any }> {
  const response = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}
