import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { TestContext } from './helpers/app.js'
import { freePort } from './helpers/server-process.js'

const root = fileURLToPath(new URL('..', import.meta.url))

interface Running {
  child: ChildProcessWithoutNullStreams
  port: number
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** How the server is started: node itself, or `npm start` as the README says (npm, sh, tsx, node). */
const COMMANDS: Record<string, [string, string[]]> = {
  node: [process.execPath, ['--import', 'tsx', 'src/server.ts']],
  'npm start': ['npm', ['start', '--silent']],
}

async function startServer(t: TestContext, how: string): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-shutdown-'))
  const port = await freePort()
  const [command, args] = COMMANDS[how]
  const child = spawn(command, args, {
    cwd: root,
    // its own process group, so the teardown can end everything it started, wrappers' children too
    detached: true,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${join(dir, 'parley.db')}`,
      UPLOAD_DIR: join(dir, 'uploads'),
      LOG_LEVEL: 'info',
    },
  })
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  t.teardown(() => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // the group is gone already
    }
    rmSync(dir, { recursive: true, force: true })
  })
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early: ${output}`)
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`)
      if (response.status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server did not come up: ${output}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { child, port, output: () => output, exited }
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** An idle keep-alive connection must not hold the shutdown up. */
function openKeepAlive(port: number): Promise<http.Agent> {
  const agent = new http.Agent({ keepAlive: true })
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/healthz', agent }, (response) => {
        response.resume()
        response.on('end', () => resolve(agent))
      })
      .on('error', reject)
  })
}

for (const [how, signal] of [
  ['node', 'SIGTERM'],
  ['node', 'SIGINT'],
  ['npm start', 'SIGTERM'],
  ['npm start', 'SIGINT'],
] as const) {
  t.test(`${how}, ${signal}: the server stops accepting and exits 0 within 10 s`, async (t) => {
    const server = await startServer(t, how)
    const agent = await openKeepAlive(server.port)
    t.teardown(() => agent.destroy())
    const started = Date.now()
    server.child.kill(signal)
    const result = await within(server.exited, 10_000)
    if (result === 'timeout' || result.code !== 0) t.comment(server.output())
    t.not(result, 'timeout', 'exited within 10 s')
    if (result === 'timeout') return
    t.equal(result.code, 0, 'exit code 0')
    t.equal(result.signal, null, 'exited by itself, not killed by the signal')
    t.ok(Date.now() - started < 10_000, `stopped in ${Date.now() - started} ms`)
    t.match(server.output(), /shutting down/)
    t.match(server.output(), new RegExp(signal))
    await t.rejects(
      fetch(`http://127.0.0.1:${server.port}/healthz`),
      'no longer accepting: the server itself stopped, not only a wrapper around it',
    )
  })
}
