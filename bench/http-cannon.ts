import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { cpuTicks, ProcSampler, type ServerHandle, sleep } from './lib.js'

// autocannon's programmatic API, in this process, for one route: a warm-up, then the measured run
// with the server's CPU (from /proc) and this process's CPU beside it.

/** One request of a route, sent by one connection for the whole run. */
export interface HttpTarget {
  path: string
  token: string
  body?: string
}

interface CannonClient {
  setRequests(
    requests: Array<{ method: string; path: string; headers: Record<string, string>; body?: string }>,
  ): void
}

interface CannonResult {
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  '2xx': number
  statusCodeStats: Record<string, { count: number }>
  latency: { p50: number; p99: number; max: number; mean: number }
}

type Autocannon = (options: {
  url: string
  connections: number
  duration: number
  setupClient: (client: CannonClient) => void
}) => Promise<CannonResult>

// CommonJS without types of its own: the little of it used here is typed above.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

export interface Measured {
  /** 2xx answers per second over the measured run. */
  requestsPerSec: number
  requests: number
  p50: number
  p99: number
  max: number
  mean: number
  errors: number
  timeouts: number
  non2xx: number
  statusCodes: Record<string, number>
  /** The server process, percent of one core, and its main thread (the event loop) alone. */
  serverCpu: number
  serverMainThreadCpu: number
  serverRssMaxMB: number
  /** This process (autocannon): near 100 it, not the server, may be the limit. */
  benchCpu: number
  /** Everything else on the machine, percent of one core. */
  otherCpu: number
}

function fire(
  server: ServerHandle,
  method: string,
  targets: HttpTarget[],
  connections: number,
  durationS: number,
) {
  let next = 0
  return autocannon({
    url: `${server.httpUrl}${targets[0].path}`,
    connections,
    duration: durationS,
    setupClient: (client) => {
      const target = targets[next++ % targets.length]
      const headers: Record<string, string> = { authorization: `Bearer ${target.token}` }
      if (target.body !== undefined) headers['content-type'] = 'application/json'
      client.setRequests([{ method, path: target.path, headers, body: target.body }])
    },
  })
}

/**
 * Waits (at most `limitMs`) until the server has finished what the last run left queued: autocannon
 * stops sending at its deadline, but a slow route may still have up to a request per connection
 * to answer. Idle means under 10% of a core over half a second.
 */
async function settle(pid: number, limitMs = 300_000): Promise<void> {
  const deadline = performance.now() + limitMs
  try {
    while (performance.now() < deadline) {
      const t0 = cpuTicks(pid)
      await sleep(500)
      if (cpuTicks(pid) - t0 < 5) return
    }
  } catch {
    // the server is gone: nothing left to wait for
  }
}

export async function measureRoute(
  server: ServerHandle,
  method: string,
  targets: HttpTarget[],
  options: { connections: number; durationS: number; warmupS: number },
): Promise<Measured> {
  if (options.warmupS > 0) await fire(server, method, targets, options.connections, options.warmupS)
  await settle(server.pid)
  const sampler = new ProcSampler(server.pid)
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  sampler.start()
  const r = await fire(server, method, targets, options.connections, options.durationS)
  const proc = sampler.stop()
  const wallS = (performance.now() - wall0) / 1000
  const cpu = process.cpuUsage(cpu0)
  await settle(server.pid)
  const benchCpu = ((cpu.user + cpu.system) / 1e6 / wallS) * 100
  return {
    requestsPerSec: r['2xx'] / r.duration,
    requests: r['2xx'] + r.non2xx,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    mean: r.latency.mean,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count])),
    serverCpu: proc.cpuPercent,
    serverMainThreadCpu: proc.mainThreadCpuPercent,
    serverRssMaxMB: proc.rssMaxBytes / 1024 / 1024,
    benchCpu,
    otherCpu: proc.machineBusyPercent - proc.cpuPercent - benchCpu,
  }
}
