import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { HTTP_HELP, HTTP_OPTIONS } from './http-mode.js'
import { BENCH_DIR } from './lib.js'
import { SEARCH_HELP, SEARCH_OPTIONS } from './search.js'

// The command line of `npm run bench`: every flag, its default (some from the environment), and
// the checked options the modes read. Parsing does nothing else.

const OPTIONS = {
  mode: { type: 'string', default: process.env.BENCH_MODE ?? 'ladder' },
  quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
  target: { type: 'string', default: process.env.BENCH_TARGET ?? 'both' },
  rates: { type: 'string', default: process.env.BENCH_RATES },
  duration: { type: 'string', default: process.env.BENCH_DURATION },
  drain: { type: 'string', default: process.env.BENCH_DRAIN ?? '3' },
  settle: { type: 'string', default: '2' },
  users: { type: 'string', default: process.env.BENCH_USERS ?? '1000' },
  'room-size': { type: 'string', default: '10' },
  generators: { type: 'string', default: process.env.BENCH_GENERATORS ?? '1' },
  'content-bytes': { type: 'string', default: '100' },
  'stop-share': { type: 'string', default: '0.9' },
  'stop-p99': { type: 'string', default: '5000' },
  sockets: { type: 'string', default: process.env.BENCH_SOCKETS ?? '10000' },
  'idle-users': { type: 'string', default: '1000' },
  hold: { type: 'string', default: '30' },
  'ping-interval': { type: 'string', default: '25' },
  'local-addresses': { type: 'string' },
  'history-messages': { type: 'string', default: '5000' },
  connections: { type: 'string', default: '50' },
  'history-duration': { type: 'string', default: '10' },
  database: { type: 'string', default: process.env.BENCH_DATABASE },
  nodes: { type: 'string', default: process.env.BENCH_NODES ?? '1' },
  redis: { type: 'string', default: process.env.BENCH_REDIS ?? 'redis://127.0.0.1:6379' },
  'parley-url': { type: 'string' },
  'parley-pid': { type: 'string' },
  accounts: { type: 'string' },
  out: { type: 'string', default: join(BENCH_DIR, 'results') },
  'quiet-wait': { type: 'string', default: '60' },
  'quiet-threshold': { type: 'string', default: '25' },
  'profile-server': { type: 'boolean', default: false },
  'without-search-index': { type: 'boolean', default: false },
  'profile-generator': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
  ...HTTP_OPTIONS,
  ...SEARCH_OPTIONS,
} as const

export const HELP = `npm run bench -- [options]
  --mode ladder|idle|history|http|search   (default ladder)
  --target both|parley|raw     (default both)
  --quick                      3 short steps (1000,2000,4000 msg/s, 4 s each)
  --rates 1000,2000,...        ladder of aggregate msg/s (default 1000,2000,4000,7000,10000,14000)
  --duration S --drain S       seconds per step (default 10) / max wait for stragglers (default 3)
  --users N --room-size K      sockets (one per user) and members per conversation (1000, 10)
  --generators G               load generator processes (default 1)
  --database postgres://...    Parley on PostgreSQL (a schema of its own, dropped after) instead of
                               a fresh SQLite file; ladder, idle and history modes
  --nodes N                    ladder: N Parley processes on that database and Redis, the sockets
                               round robin over them (every room spans nodes); default 1, no Redis
  --redis URL                  the Redis of --nodes (default redis://127.0.0.1:6379)
  --sockets N --idle-users U   idle mode: sockets held (10000), accounts they use (1000)
  --hold S --ping-interval S   idle mode: hold time (30) and per-socket ping interval (25, 0 = none)
  --history-messages N --connections C --history-duration S   history mode
${HTTP_HELP}
${SEARCH_HELP}
  --quiet-wait S --quiet-threshold P   before each step wait up to S s (60) until the rest of the
                               machine uses under P% of a core (25): other jobs skew the figures
  --profile-server / --profile-generator   node --cpu-prof into bench/results/profiles/
  --without-search-index       SQLite: the writer keeps no search index (marked up to date at start),
                               to compare the ladder with and without its cost
  --parley-url http://127.0.0.1:3000 [--parley-pid PID]   use a running Parley instead of starting one
  --accounts FILE              with --parley-url: the accounts and rooms \`npm run bench:setup\` wrote
                               into that server's database, instead of registering them over HTTP
  env: BENCH_RATES, BENCH_DURATION, BENCH_USERS, BENCH_GENERATORS, BENCH_SOCKETS, BENCH_MODE,
       BENCH_DATABASE, BENCH_NODES, BENCH_REDIS`

export type Mode = 'ladder' | 'idle' | 'history' | 'http' | 'search'
export type Target = 'parley' | 'raw'

export interface BenchOptions {
  mode: Mode
  quick: boolean
  targets: Target[]
  rates: number[]
  durationMs: number
  drainMs: number
  settleMs: number
  users: number
  roomSize: number
  generatorCount: number
  contentBytes: number
  stopShare: number
  stopP99: number
  /** Idle mode. */
  sockets: number
  idleUsers: number
  holdMs: number
  pingIntervalMs: number
  /** 0: as many as the socket count needs (see sockets.ts). */
  localAddresses: number
  /** History mode. */
  historyMessages: number
  connections: number
  historyDurationS: number
  /** PostgreSQL to run Parley on; undefined: SQLite. */
  database: string | undefined
  nodes: number
  redis: string
  parleyUrl: string | undefined
  parleyPid: number
  accounts: string | undefined
  out: string
  quietWaitMs: number
  quietThreshold: number
  /** Node flags for every server process (--cpu-prof ...). */
  serverNodeArgs: string[]
  /** SQLite: mark the search index up to date forever, so the writer never indexes. */
  withoutSearchIndex: boolean
  generatorProfileDir: string | undefined
  /** The raw flags, for the http mode's own options, and for the report. */
  flags: Record<string, string | boolean | undefined>
}

function num(name: string, value: string | boolean | undefined): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a number: ${value}`)
  return n
}

/** The options of `argv` (without node and the script), or 'help' for --help. */
export function parseCli(argv: string[]): BenchOptions | 'help' {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false })
  if (a.help) return 'help'
  const mode = String(a.mode)
  if (!['ladder', 'idle', 'history', 'http', 'search'].includes(mode))
    throw new Error('--mode: ladder, idle, history, http or search')
  const targets = a.target === 'both' ? ['parley', 'raw'] : [String(a.target)]
  for (const t of targets) if (t !== 'parley' && t !== 'raw') throw new Error('--target: parley, raw or both')
  if (a.accounts && !a['parley-url'])
    throw new Error('--accounts needs --parley-url: the server whose database holds them')
  const quick = Boolean(a.quick)
  const nodes = Math.max(1, Math.floor(num('nodes', a.nodes)))
  const database = a.database || undefined
  if (database && !/^postgres(ql)?:\/\//.test(database)) throw new Error('--database: a postgres:// URL')
  if (database && (mode === 'http' || mode === 'search'))
    throw new Error('--database: the http and search modes seed a SQLite file')
  if (nodes > 1 && (!database || mode !== 'ladder'))
    throw new Error('--nodes: the ladder mode on PostgreSQL (--database postgres://...)')
  if (a['without-search-index'] && (database || a['parley-url']))
    throw new Error('--without-search-index: the SQLite server the bench starts')
  if ((database || nodes > 1) && a['parley-url'])
    throw new Error('--database/--nodes start servers; --parley-url uses one')
  const profileDir = join(String(a.out), 'profiles')
  return {
    mode: mode as Mode,
    quick,
    targets: targets as Target[],
    rates: (a.rates ?? (quick ? '1000,2000,4000' : '1000,2000,4000,7000,10000,14000'))
      .split(',')
      .map((r) => num('rates', r.trim()))
      .filter((r) => r > 0),
    durationMs: num('duration', a.duration ?? (quick ? '4' : '10')) * 1000,
    drainMs: num('drain', a.drain) * 1000,
    settleMs: num('settle', a.settle) * 1000,
    users: num('users', a.users),
    roomSize: num('room-size', a['room-size']),
    generatorCount: Math.max(1, num('generators', a.generators)),
    contentBytes: num('content-bytes', a['content-bytes']),
    stopShare: num('stop-share', a['stop-share']),
    stopP99: num('stop-p99', a['stop-p99']),
    sockets: num('sockets', a.sockets),
    idleUsers: num('idle-users', a['idle-users']),
    holdMs: num('hold', a.hold) * 1000,
    pingIntervalMs: num('ping-interval', a['ping-interval']) * 1000,
    localAddresses: a['local-addresses'] ? num('local-addresses', a['local-addresses']) : 0,
    historyMessages: num('history-messages', a['history-messages']),
    connections: num('connections', a.connections),
    historyDurationS: num('history-duration', a['history-duration']),
    database,
    nodes,
    redis: String(a.redis),
    parleyUrl: a['parley-url'],
    parleyPid: Number(a['parley-pid'] ?? 0),
    accounts: a.accounts,
    out: String(a.out),
    quietWaitMs: num('quiet-wait', a['quiet-wait']) * 1000,
    quietThreshold: num('quiet-threshold', a['quiet-threshold']),
    serverNodeArgs: a['profile-server'] ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    withoutSearchIndex: Boolean(a['without-search-index']),
    generatorProfileDir: a['profile-generator'] ? profileDir : undefined,
    flags: a,
  }
}
