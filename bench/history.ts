import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { BenchOptions, Target } from './cli.js'
import { deploy } from './deploy.js'
import { fmt, http, int, mapLimit, mb, ProcSampler, ROOT } from './lib.js'
import { registerUsers } from './sockets.js'

// npm run bench:history: autocannon (its CLI, a process of its own) on a history page of a seeded
// conversation and on /healthz, against Parley and the raw server's in-memory page.

export interface CannonResult {
  label: string
  url: string
  requestsPerSec: number
  p50: number
  p99: number
  p999: number
  max: number
  non2xx: number
  errors: number
  timeouts: number
  serverCpu: number
  serverRssMaxMB: number
}

interface AutocannonJson {
  requests: { average: number }
  latency: { p50: number; p99: number; p99_9?: number; p999?: number; max: number }
  non2xx: number
  errors: number
  timeouts: number
}

function autocannon(
  options: BenchOptions,
  url: string,
  token: string | undefined,
  pid: number,
): Promise<Omit<CannonResult, 'label'>> {
  const cannonArgs = [
    join(ROOT, 'node_modules', 'autocannon', 'autocannon.js'),
    '-c',
    String(options.connections),
    '-d',
    String(options.historyDurationS),
    '-j',
    '-n',
  ]
  if (token) cannonArgs.push('-H', `authorization=Bearer ${token}`)
  cannonArgs.push(url)
  const sampler = pid ? new ProcSampler(pid) : null
  sampler?.start()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cannonArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      const proc = sampler?.stop()
      try {
        const line = out.trim().split('\n').pop() ?? ''
        const r = JSON.parse(line) as AutocannonJson
        resolve({
          url,
          requestsPerSec: r.requests.average,
          p50: r.latency.p50,
          p99: r.latency.p99,
          p999: r.latency.p99_9 ?? r.latency.p999 ?? Number.NaN,
          max: r.latency.max,
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          serverCpu: proc?.cpuPercent ?? Number.NaN,
          serverRssMaxMB: proc ? mb(proc.rssMaxBytes) : Number.NaN,
        })
      } catch {
        reject(new Error(`autocannon exited ${code}: ${err.slice(0, 500)} ${out.slice(0, 500)}`))
      }
    })
  })
}

export interface HistoryRun {
  server: string
  setupError?: string
  seeded?: number
  results: CannonResult[]
  logTail?: string[]
}

export async function runHistory(
  options: BenchOptions,
  target: Target,
  tmp: string,
  log: (line: string) => void,
): Promise<HistoryRun> {
  const run: HistoryRun = { server: target, results: [] }
  log(`\n== ${target}: history API`)
  const deployment = await deploy(options, target, tmp)
  const server = deployment.nodes[0]
  try {
    let token: string | undefined
    let conversationId = 1
    let middle = 1
    if (target === 'parley') {
      const [a, b] = await registerUsers(server, 2, log)
      token = a.token
      const { json } = await http<{ conversation: { id: number } }>(
        'POST',
        `${server.httpUrl}/conversations`,
        { member_ids: [b.id], title: 'bench history' },
        a.token,
      )
      conversationId = json.conversation.id
      const count = options.historyMessages
      const started = performance.now()
      const pad = 'x'.repeat(options.contentBytes)
      const ids = await mapLimit(
        Array.from({ length: count }, (_, i) => i),
        8,
        async (i) => {
          const { json: m } = await http<{ message: { id: number } }>(
            'POST',
            `${server.httpUrl}/conversations/${conversationId}/messages`,
            { content: `history ${i} ${pad}`.slice(0, options.contentBytes), client_id: `h-${i}` },
            i % 2 ? b.token : a.token,
          )
          return m.message.id
        },
      )
      ids.sort((x, y) => x - y)
      middle = ids[Math.floor(ids.length / 2)] ?? 1
      run.seeded = count
      log(`  seeded ${count} messages in ${fmt((performance.now() - started) / 1000)} s`)
    }
    const cases: [string, string][] = [
      ['latest page (limit 50)', `/conversations/${conversationId}/messages?limit=50`],
      [
        'older page (before=middle, limit 50)',
        `/conversations/${conversationId}/messages?before=${middle}&limit=50`,
      ],
      ['healthz', '/healthz'],
    ]
    for (const [label, path] of cases) {
      const r = await autocannon(options, `${server.httpUrl}${path}`, token, server.pid)
      run.results.push({ label, ...r })
      log(
        `  ${label}: ${int(r.requestsPerSec)} req/s, p50 ${r.p50} p99 ${r.p99} p99.9 ${fmt(r.p999)} max ${r.max} ms, ` +
          `non-2xx ${r.non2xx}, errors ${r.errors}, server ${fmt(r.serverCpu, 0)}% CPU ${fmt(r.serverRssMaxMB, 0)} MB`,
      )
    }
  } catch (error) {
    run.setupError = error instanceof Error ? error.message : String(error)
    log(`  ${target}: ${run.setupError}`)
  } finally {
    run.logTail = deployment.logTail()
    await deployment.stop()
  }
  return run
}
