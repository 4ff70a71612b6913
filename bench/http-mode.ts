import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { type HttpTarget, type Measured, measureRoute } from './http-cannon.js'
import type { CeilingRoute } from './http-ceiling.js'
import { fmt, int, rate, type ServerHandle, waitUntilQuiet } from './lib.js'
import { DEFAULT_SEED, type Seeded, type SeedSizes, seedHttpBench } from './seed.js'
import { startHttpCeiling, startParley } from './servers.js'

// npm run bench -- --mode http: autocannon against Parley (`npm start` on a seeded SQLite file,
// limits raised) and against the Fastify ceiling (bench/http-ceiling.ts), route by route.

/** The flags of this mode, for bench/cli.ts's parseArgs. */
export const HTTP_OPTIONS = {
  warmup: { type: 'string', default: '2' },
  routes: { type: 'string' },
  'heavy-conversations': { type: 'string', default: String(DEFAULT_SEED.heavyConversations) },
  'heavy-unread': { type: 'string', default: String(DEFAULT_SEED.heavyUnread) },
  'sidebar-conversations': { type: 'string', default: String(DEFAULT_SEED.ordinaryConversations) },
  posters: { type: 'string', default: String(DEFAULT_SEED.posters) },
  members: { type: 'string', default: String(DEFAULT_SEED.members) },
  pin: { type: 'string', default: 'auto' },
} as const

export const HTTP_HELP = `  --mode http                  HTTP routes under autocannon, Parley and the Fastify ceiling
    --duration S (10) --warmup S (2) --connections C (50)   per route
    --routes post,history,sidebar,sidebar-heavy   a subset (default all)
    --heavy-conversations N (200) --heavy-unread M (10000)   the heavy user's sidebar
    --sidebar-conversations N (20) --posters P (8) --members K (5)
    --pin auto|off               server on the last CPU, bench and autocannon on the others`

export interface HttpModeOptions {
  flags: Record<string, string | boolean | undefined>
  durationS: number
  connections: number
  contentBytes: number
  targets: string[]
  /** A directory for the database and the ceiling's routes; the caller removes it. */
  tmp: string
  nodeArgs: string[]
  quiet: { limitMs: number; threshold: number }
  log: (line: string) => void
}

interface RouteCase {
  key: string
  label: (sizes: SeedSizes) => string
  method: 'GET' | 'POST'
  /** The Fastify pattern the ceiling answers on. */
  pattern: string
  /** The requests, one per connection round robin (several accounts spread a per-account limit). */
  targets: (seeded: Seeded, sizes: SeedSizes) => HttpTarget[]
}

const ROUTES: RouteCase[] = [
  {
    key: 'post',
    label: (s) => `post a message (${s.posters} accounts, ${s.members} members each)`,
    method: 'POST',
    pattern: '/conversations/:id/messages',
    targets: (seeded, s) =>
      seeded.posters.map((p) => ({
        path: `/conversations/${p.conversationId}/messages`,
        token: p.token,
        body: JSON.stringify({
          content: `bench post ${'x'.repeat(s.contentBytes)}`.slice(0, s.contentBytes),
        }),
      })),
  },
  {
    key: 'history',
    label: (s) => `history page of 50 (of ${s.ordinaryMessages})`,
    method: 'GET',
    pattern: '/conversations/:id/messages',
    targets: (seeded) => [
      {
        path: `/conversations/${seeded.ordinary.conversationIds[0]}/messages?limit=50`,
        token: seeded.ordinary.token,
      },
    ],
  },
  {
    key: 'sidebar',
    label: (s) => `sidebar, ${s.ordinaryConversations} conversations`,
    method: 'GET',
    pattern: '/conversations',
    targets: (seeded) => [{ path: '/conversations', token: seeded.ordinary.token }],
  },
  {
    key: 'sidebar-heavy',
    label: (s) => `sidebar, ${int(s.heavyConversations)} conversations × ${int(s.heavyUnread)} unread`,
    method: 'GET',
    pattern: '/conversations',
    targets: (seeded) => [{ path: '/conversations', token: seeded.heavy.token }],
  },
  // Search goes here once the API has it: { key: 'search', label: ..., method: 'GET', pattern:
  // '/search', targets: (seeded) => [{ path: '/search?q=...', token: seeded.ordinary.token }] },
  // with words to find in the seeded content (bench/seed.ts) and a row in the docs' table.
]

export interface HttpRouteRun {
  key: string
  label: string
  /** What Parley answered the first request with (the ceiling answers these bytes). */
  status: number
  bodyBytes: number
  /** Parley's answer time, ms, to one request at a time (the median of five): its cost without queueing. */
  aloneMs: number
  note?: string
  parley?: Measured
  ceiling?: Measured
}

export interface HttpRun {
  sizes: SeedSizes
  seed: Omit<Seeded, 'heavy' | 'ordinary' | 'posters' | 'peers'>
  pinning: string
  connections: number
  durationS: number
  routes: HttpRouteRun[]
  error?: string
}

const count = (flags: HttpModeOptions['flags'], name: string, min: number): number => {
  const n = Number(flags[name])
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer of at least ${min}`)
  return n
}

/** Pins this process to all CPUs but the last and returns the last, for the server, when it can. */
function pin(mode: string, log: (line: string) => void): { serverCpus?: string; description: string } {
  const n = cpus().length
  if (mode === 'off') return { description: 'not pinned (--pin off)' }
  if (n < 2) return { description: 'not pinned (one CPU)' }
  const benchCpus = n === 2 ? '0' : `0-${n - 2}`
  try {
    execFileSync('taskset', ['-a', '-cp', benchCpus, String(process.pid)], { stdio: 'ignore' })
  } catch {
    return { description: 'not pinned (no taskset)' }
  }
  const description =
    `CPU ${n - 1}: the server measured (all its threads: the HTTP event loop and, for Parley, the SQLite writer thread); ` +
    `CPU ${benchCpus}: the bench process with autocannon. Other processes on the machine are not pinned.`
  log(`  ${description}`)
  return { serverCpus: String(n - 1), description }
}

/** Parley's answer to each route's first request: checks the seed, and is the ceiling's constant. */
async function capture(server: ServerHandle, target: HttpTarget, method: string) {
  const res = await fetch(`${server.httpUrl}${target.path}`, {
    method,
    headers: {
      authorization: `Bearer ${target.token}`,
      ...(target.body ? { 'content-type': 'application/json' } : {}),
    },
    body: target.body,
  })
  return { status: res.status, body: await res.text() }
}

async function alone(server: ServerHandle, target: HttpTarget, method: string): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < 5; i++) {
    const started = performance.now()
    await capture(server, target, method)
    times.push(performance.now() - started)
  }
  return times.sort((a, b) => a - b)[2]
}

function ceilingRoutes(captured: Array<{ route: RouteCase; token: string; status: number; body: string }>) {
  const routes = new Map<string, CeilingRoute>()
  for (const c of captured) {
    const key = `${c.route.method} ${c.route.pattern}`
    const route = routes.get(key) ?? {
      method: c.route.method,
      url: c.route.pattern,
      status: c.status,
      body: c.body,
      byAuthorization: {},
    }
    route.byAuthorization[`Bearer ${c.token}`] = c.body
    routes.set(key, route)
  }
  return [...routes.values()]
}

function sidebarNote(body: string): string | undefined {
  try {
    const list = (JSON.parse(body) as { conversations: Array<{ unread_count: number }> }).conversations
    return `first page: ${list.length} conversations, unread_count of the first ${int(list[0]?.unread_count)}`
  } catch {
    return undefined
  }
}

export async function runHttpMode(o: HttpModeOptions): Promise<HttpRun> {
  const f = o.flags
  const sizes: SeedSizes = {
    ...DEFAULT_SEED,
    heavyConversations: count(f, 'heavy-conversations', 1),
    heavyUnread: count(f, 'heavy-unread', 1),
    ordinaryConversations: count(f, 'sidebar-conversations', 1),
    posters: count(f, 'posters', 1),
    members: count(f, 'members', 2),
    contentBytes: o.contentBytes,
  }
  const wanted = f.routes ? String(f.routes).split(',') : ROUTES.map((r) => r.key)
  const cases = ROUTES.filter((r) => wanted.includes(r.key))
  if (cases.length !== wanted.length) throw new Error(`--routes: of ${ROUTES.map((r) => r.key).join(', ')}`)
  const warmupS = Number(f.warmup ?? 2)
  o.log(`\n== seeding: ${int(sizes.heavyConversations * sizes.heavyUnread)} messages for the heavy user`)
  const dbPath = join(o.tmp, `http-${Date.now()}.db`)
  const seeded = await seedHttpBench(dbPath, sizes)
  const { heavy, ordinary, posters, peers, ...seed } = seeded
  o.log(
    `  ${int(seed.counts.users)} accounts in ${fmt(seed.accountsSeconds)} s; ${int(seed.counts.conversations)} conversations, ` +
      `${int(seed.counts.members)} members, ${int(seed.counts.messages)} messages in ${fmt(seed.rowsSeconds)} s` +
      ` (stored unread counters: ${seed.storedUnread ? 'yes' : 'no'})`,
  )
  const pinning = pin(String(f.pin), o.log)
  const run: HttpRun = {
    sizes,
    seed,
    pinning: pinning.description,
    connections: o.connections,
    durationS: o.durationS,
    routes: [],
  }
  const servers: ServerHandle[] = []
  try {
    const parley = await startParley({
      dbPath,
      uploadDir: join(o.tmp, 'uploads'),
      nodeArgs: o.nodeArgs,
      cpus: pinning.serverCpus,
    })
    servers.push(parley)
    o.log(`  parley pid ${parley.pid} on ${parley.httpUrl}`)
    const captured = []
    for (const route of cases) {
      const [first] = route.targets(seeded, sizes)
      const answer = await capture(parley, first, route.method)
      captured.push({ route, token: first.token, ...answer })
      const aloneMs = await alone(parley, first, route.method)
      const note = route.key.startsWith('sidebar') ? sidebarNote(answer.body) : undefined
      run.routes.push({
        key: route.key,
        label: route.label(sizes),
        status: answer.status,
        bodyBytes: Buffer.byteLength(answer.body),
        aloneMs,
        note,
      })
      o.log(
        `  ${route.key}: ${answer.status}, ${int(Buffer.byteLength(answer.body))} bytes, ${fmt(aloneMs)} ms alone${note ? `; ${note}` : ''}`,
      )
    }
    const routesFile = join(o.tmp, 'ceiling-routes.json')
    writeFileSync(routesFile, JSON.stringify(ceilingRoutes(captured)))
    const ceiling = o.targets.includes('raw')
      ? await startHttpCeiling({ routesFile, nodeArgs: o.nodeArgs, cpus: pinning.serverCpus })
      : undefined
    if (ceiling) servers.push(ceiling)
    for (const [i, route] of cases.entries()) {
      const result = run.routes[i]
      const targets = route.targets(seeded, sizes)
      for (const [name, server] of [
        ['parley', o.targets.includes('parley') ? parley : undefined],
        ['ceiling', ceiling],
      ] as const) {
        if (!server) continue
        const quiet = await waitUntilQuiet(o.quiet.limitMs, o.quiet.threshold)
        if (quiet.waitedS >= 1)
          o.log(`  (waited ${fmt(quiet.waitedS, 0)} s for other processes: ${fmt(quiet.busy, 0)}% busy)`)
        const m = await measureRoute(server, route.method, targets, {
          connections: o.connections,
          durationS: o.durationS,
          // A route this slow is warm from the requests alone; a warm-up would only queue work.
          warmupS: name === 'parley' && result.aloneMs * o.connections > warmupS * 1000 ? 0 : warmupS,
        })
        result[name] = m
        o.log(
          `  ${name} ${route.key}: ${rate(m.requestsPerSec)} req/s, p50 ${fmt(m.p50, 1)} p99 ${fmt(m.p99, 1)} ms, ` +
            `errors ${m.errors}, non-2xx ${m.non2xx}, server ${fmt(m.serverCpu, 0)}% CPU (main ${fmt(m.serverMainThreadCpu, 0)}%), ` +
            `bench ${fmt(m.benchCpu, 0)}%, others ${fmt(m.otherCpu, 0)}%`,
        )
      }
    }
  } catch (error) {
    run.error = error instanceof Error ? error.message : String(error)
    o.log(`  error: ${run.error}`)
  } finally {
    for (const server of servers) await server.stop()
  }
  return run
}
