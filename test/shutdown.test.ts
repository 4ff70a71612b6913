import http from 'node:http'
import t from 'tap'
import { spawnServer } from './helpers/server-process.js'

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
    // its own process group, so the teardown can end everything it started, wrappers' children too;
    // info logs, for the "shutting down" line
    const server = await spawnServer(t, { command: how, detached: true, env: { LOG_LEVEL: 'info' } })
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
