import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import * as hdr from 'hdr-histogram-js'
import { BENCH_PASSWORD, createRooms, type Post, registerAccounts, roomSockets } from './accounts.js'
import { Generator } from './generator.js'
import { HTTP_HELP, HTTP_OPTIONS, runHttpMode } from './http-mode.js'
import { httpMarkdown } from './http-report.js'
import {
  BENCH_DIR,
  fmt,
  HttpError,
  http,
  int,
  mapLimit,
  mb,
  ProcSampler,
  ROOT,
  rssBytes,
  type ServerHandle,
  sleep,
  waitUntilQuiet,
} from './lib.js'
import type { AccountsFile, ConnectResult, HoldResult, SocketSpec, StepResult } from './messages.js'
import { attachParley, startParley as startParleyProcess, startRaw as startRawProcess } from './servers.js'

// npm run bench [-- --quick] [-- --mode idle|history] [-- --target parley|raw|both] ...
// See docs/BENCHMARKS.md. Every server and every generator is its own process; all traffic
// stays on 127.0.0.x.

const { values: args } = parseArgs({
  options: {
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
    'parley-url': { type: 'string' },
    'parley-pid': { type: 'string' },
    accounts: { type: 'string' },
    out: { type: 'string', default: join(BENCH_DIR, 'results') },
    'quiet-wait': { type: 'string', default: '60' },
    'quiet-threshold': { type: 'string', default: '25' },
    'profile-server': { type: 'boolean', default: false },
    'profile-generator': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
    ...HTTP_OPTIONS,
  },
  allowPositionals: false,
})

if (args.help) {
  console.log(`npm run bench -- [options]
  --mode ladder|idle|history|http   (default ladder)
  --target both|parley|raw     (default both)
  --quick                      3 short steps (1000,2000,4000 msg/s, 4 s each)
  --rates 1000,2000,...        ladder of aggregate msg/s (default 1000,2000,4000,7000,10000,14000)
  --duration S --drain S       seconds per step (default 10) / max wait for stragglers (default 3)
  --users N --room-size K      sockets (one per user) and members per conversation (1000, 10)
  --generators G               load generator processes (default 1)
  --sockets N --idle-users U   idle mode: sockets held (10000), accounts they use (1000)
  --hold S --ping-interval S   idle mode: hold time (30) and per-socket ping interval (25, 0 = none)
  --history-messages N --connections C --history-duration S   history mode
${HTTP_HELP}
  --quiet-wait S --quiet-threshold P   before each step wait up to S s (60) until the rest of the
                               machine uses under P% of a core (25): other jobs skew the figures
  --profile-server / --profile-generator   node --cpu-prof into bench/results/profiles/
  --parley-url http://127.0.0.1:3000 [--parley-pid PID]   use a running Parley instead of starting one
  --accounts FILE              with --parley-url: the accounts and rooms \`npm run bench:setup\` wrote
                               into that server's database, instead of registering them over HTTP
  env: BENCH_RATES, BENCH_DURATION, BENCH_USERS, BENCH_GENERATORS, BENCH_SOCKETS, BENCH_MODE`)
  process.exit(0)
}

const num = (name: keyof typeof args, value: string | boolean | undefined): number => {
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${String(name)}: not a number: ${value}`)
  return n
}

const quick = Boolean(args.quick)
const mode = String(args.mode)
const targets = args.target === 'both' ? ['parley', 'raw'] : [String(args.target)]
const rates = (args.rates ?? (quick ? '1000,2000,4000' : '1000,2000,4000,7000,10000,14000'))
  .split(',')
  .map((r) => num('rates', r.trim()))
  .filter((r) => r > 0)
const durationMs = num('duration', args.duration ?? (quick ? '4' : '10')) * 1000
const drainMs = num('drain', args.drain) * 1000
const settleMs = num('settle', args.settle) * 1000
const users = num('users', args.users)
const roomSize = num('room-size', args['room-size'])
const generatorCount = Math.max(1, num('generators', args.generators))
const contentBytes = num('content-bytes', args['content-bytes'])
const stopShare = num('stop-share', args['stop-share'])
const stopP99 = num('stop-p99', args['stop-p99'])
const profileDir = join(String(args.out), 'profiles')
const serverProfile = args['profile-server'] ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []
const generatorProfile = args['profile-generator'] ? profileDir : undefined

for (const t of targets) if (t !== 'parley' && t !== 'raw') throw new Error(`--target: parley, raw or both`)
if (args.accounts && !args['parley-url'])
  throw new Error('--accounts needs --parley-url: the server whose database holds them')
if (!['ladder', 'idle', 'history', 'http'].includes(mode))
  throw new Error(`--mode: ladder, idle, history or http`)

// ---- servers ---------------------------------------------------------------------------------

const tmp = mkdtempSync(join(tmpdir(), 'parley-bench-'))

function startParley(ipcProbe: boolean): Promise<ServerHandle> {
  if (args['parley-url'])
    return Promise.resolve(attachParley(args['parley-url'], Number(args['parley-pid'] ?? 0)))
  return startParleyProcess({
    dbPath: join(tmp, `bench-${Date.now()}.db`),
    uploadDir: join(tmp, 'uploads'),
    nodeArgs: serverProfile,
    ipcProbe,
  })
}

const startRaw = () => startRawProcess({ nodeArgs: serverProfile })

/** POSTs to a server over HTTP, for the shared account and room setup (accounts.ts). */
const postTo =
  (server: ServerHandle): Post =>
  async (path, body, token) =>
    (await http('POST', `${server.httpUrl}${path}`, body, token)).json

const registerUsers = (server: ServerHandle, count: number) =>
  registerAccounts(postTo(server), count, (line) => log(`  ${line}`))

/**
 * Accounts in rooms of `roomSize` (the first member of each room creates the group), registered
 * here, or with `--accounts` read from the file `npm run bench:setup` wrote into the server's database.
 */
async function setupParley(server: ServerHandle): Promise<SocketSpec[]> {
  let file: AccountsFile
  if (args.accounts) {
    file = JSON.parse(readFileSync(args.accounts, 'utf8')) as AccountsFile
    log(`  accounts and rooms from ${args.accounts}`)
  } else {
    const accounts = await registerUsers(server, users)
    const rooms = await createRooms(postTo(server), accounts, roomSize, (line) => log(`  ${line}`))
    file = { password: BENCH_PASSWORD, users: accounts, rooms }
  }
  return roomSockets(file, Math.floor(users / roomSize) * roomSize)
}

function setupRaw(): SocketSpec[] {
  const rooms = Math.floor(users / roomSize)
  return Array.from({ length: rooms * roomSize }, (_, i) => ({
    token: 'raw',
    conversationId: Math.floor(i / roomSize) + 1,
  }))
}

function localAddresses(sockets: number): string[] {
  const wanted = args['local-addresses'] ? num('local-addresses', args['local-addresses']) : 0
  const count = wanted || (sockets > 5000 ? Math.ceil(sockets / 5000) : 0)
  return Array.from({ length: Math.min(count, 250) }, (_, i) => `127.0.0.${i + 1}`)
}

/** Splits sockets over the generators by conversation, so each generator sees whole rooms. */
function partition(specs: SocketSpec[], count: number): SocketSpec[][] {
  const parts: SocketSpec[][] = Array.from({ length: count }, () => [])
  const order = [...new Set(specs.map((s) => s.conversationId))]
  const slot = new Map(order.map((id, i) => [id, i % count]))
  for (const s of specs) parts[slot.get(s.conversationId) ?? 0].push(s)
  return parts
}

async function connectAll(
  server: ServerHandle,
  gens: Generator[],
  parts: SocketSpec[][],
  join: boolean,
  concurrency: number,
): Promise<ConnectResult> {
  const all = parts.flat().length
  const addresses = localAddresses(all)
  const started = performance.now()
  const results = await Promise.all(
    gens.map((g, i) =>
      g.request<ConnectResult>(
        {
          cmd: 'connect',
          url: server.wsUrl,
          sockets: parts[i],
          localAddresses: addresses,
          concurrency: Math.max(1, Math.round(concurrency / gens.length)),
          join,
          timeoutMs: 30_000,
        },
        30 * 60_000,
      ),
    ),
  )
  const wallMs = performance.now() - started
  return {
    evt: 'connected',
    requested: sum(results.map((r) => r.requested)),
    open: sum(results.map((r) => r.open)),
    failed: sum(results.map((r) => r.failed)),
    joinErrors: sum(results.map((r) => r.joinErrors)),
    wallMs,
    connectP50: Math.max(...results.map((r) => r.connectP50)),
    connectP99: Math.max(...results.map((r) => r.connectP99)),
    connectMax: Math.max(...results.map((r) => r.connectMax)),
    firstErrors: results.flatMap((r) => r.firstErrors).slice(0, 5),
  }
}

/** Waits (bounded) until the machine, bench processes idle between steps, is quiet. */
const waitForQuiet = () =>
  waitUntilQuiet(
    num('quiet-wait', args['quiet-wait']) * 1000,
    num('quiet-threshold', args['quiet-threshold']),
  )

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

// ---- the ladder --------------------------------------------------------------------------------

interface StepSummary {
  rate: number
  sent: number
  ackedPerSec: number
  acked: number
  deliveriesPerSec: number
  delivered: number
  expected: number
  share: number
  fullyDelivered: number
  duplicates: number
  stale: number
  p50: number
  p99: number
  p999: number
  max: number
  mean: number
  ackP50: number
  ackP99: number
  sendLagP99: number
  serverCpu: number
  serverMainThreadCpu: number
  /** TCP data segments the server sent per second: its socket writes (loopback: one segment each). */
  serverSegmentsPerSec: number
  /** Frames out (deliveries and acks) per socket write: 1 when every frame is its own write. */
  framesPerWrite: number
  serverRssMaxMB: number
  serverRssEndMB: number
  generatorCpu: number
  generatorLoopP99: number
  /** CPU used on the machine by everything but the server and the generators, percent of one core. */
  otherCpu: number
  unreliable: boolean
  errors: Record<string, number>
  closes: Record<string, number>
  serverLogProblems: number
  /** Worst latency per 250 ms of scheduled send time (the first generator's), ms. */
  timelineMax: number[]
  notes: string[]
}

function mergeHist(encoded: string[]) {
  const total = hdr.build({ numberOfSignificantValueDigits: 3 })
  for (const e of encoded) total.add(hdr.decodeFromCompressedBase64(e))
  return total
}

function mergeCounts(list: Record<string, number>[]) {
  const out: Record<string, number> = {}
  for (const counts of list) for (const [k, v] of Object.entries(counts)) out[k] = (out[k] ?? 0) + v
  return out
}

function summarize(rate: number, results: StepResult[], proc: ReturnType<ProcSampler['stop']> | null) {
  const latency = mergeHist(results.map((r) => r.latency))
  const ack = mergeHist(results.map((r) => r.ackLatency))
  const lag = mergeHist(results.map((r) => r.sendLag))
  const ms = (micros: number) => micros / 1000
  const expected = sum(results.map((r) => r.expectedDeliveries))
  const delivered = sum(results.map((r) => r.delivered))
  const generatorCpu = Math.max(...results.map((r) => r.cpuPercent))
  const summary: StepSummary = {
    rate,
    sent: sum(results.map((r) => r.sent)),
    acked: sum(results.map((r) => r.acked)),
    ackedPerSec: sum(results.map((r) => r.ackedPerSec)),
    delivered,
    expected,
    deliveriesPerSec: sum(results.map((r) => r.deliveriesPerSec)),
    share: expected ? delivered / expected : 0,
    fullyDelivered: sum(results.map((r) => r.fullyDelivered)),
    duplicates: sum(results.map((r) => r.duplicates)),
    stale: sum(results.map((r) => r.stale)),
    p50: ms(latency.getValueAtPercentile(50)),
    p99: ms(latency.getValueAtPercentile(99)),
    p999: ms(latency.getValueAtPercentile(99.9)),
    max: ms(latency.maxValue),
    mean: ms(latency.mean),
    ackP50: ms(ack.getValueAtPercentile(50)),
    ackP99: ms(ack.getValueAtPercentile(99)),
    sendLagP99: ms(lag.getValueAtPercentile(99)),
    serverCpu: proc?.cpuPercent ?? Number.NaN,
    serverMainThreadCpu: proc?.mainThreadCpuPercent ?? Number.NaN,
    serverSegmentsPerSec: proc?.segmentsPerSec ?? Number.NaN,
    framesPerWrite: proc ? (delivered + sum(results.map((r) => r.acked))) / proc.segments : Number.NaN,
    serverRssMaxMB: proc ? mb(proc.rssMaxBytes) : Number.NaN,
    serverRssEndMB: proc ? mb(proc.rssEndBytes) : Number.NaN,
    generatorCpu,
    generatorLoopP99: Math.max(...results.map((r) => r.loopDelayP99)),
    otherCpu: proc
      ? proc.machineBusyPercent - proc.cpuPercent - sum(results.map((r) => r.cpuPercent))
      : Number.NaN,
    unreliable: generatorCpu > 90,
    errors: mergeCounts(results.map((r) => r.errors)),
    closes: mergeCounts(results.map((r) => r.closes)),
    serverLogProblems: 0,
    timelineMax: results[0]?.timelineMax ?? [],
    notes: [],
  }
  if (generatorCpu > 90) summary.notes.push(`generator saturated (${fmt(generatorCpu, 0)}% CPU)`)
  if (summary.otherCpu > 20) {
    summary.unreliable = true
    summary.notes.push(`other processes used ${fmt(summary.otherCpu, 0)}% of a core`)
  }
  if (summary.share < 1) summary.notes.push(`${int(expected - delivered)} deliveries missing`)
  if (summary.acked < summary.sent) summary.notes.push(`${int(summary.sent - summary.acked)} unacked`)
  if (summary.duplicates) summary.notes.push(`${int(summary.duplicates)} duplicate deliveries`)
  for (const [code, n] of Object.entries(summary.errors)) summary.notes.push(`error ${code} ×${n}`)
  for (const [code, n] of Object.entries(summary.closes)) summary.notes.push(`close ${code} ×${n}`)
  return summary
}

interface LadderRun {
  server: string
  setupError?: string
  connect?: ConnectResult
  steps: StepSummary[]
  stoppedAt?: number
  stopReason?: string
  serverExit?: number | null
  logTail?: string[]
}

async function ladder(target: string): Promise<LadderRun> {
  const run: LadderRun = { server: target, steps: [] }
  log(`\n== ${target}: starting`)
  const server = target === 'parley' ? await startParley(false) : await startRaw()
  const gens: Generator[] = []
  try {
    log(`  ${target} pid ${server.pid} on ${server.httpUrl}`)
    const specs = target === 'parley' ? await setupParley(server) : setupRaw()
    for (let i = 0; i < generatorCount; i++) gens.push(new Generator(i, generatorProfile))
    const parts = partition(specs, gens.length)
    run.connect = await connectAll(server, gens, parts, true, 100)
    const c = run.connect
    log(
      `  connected ${c.open}/${c.requested} sockets in ${fmt(c.wallMs / 1000)} s` +
        (c.failed || c.joinErrors
          ? ` (${c.failed} failed, ${c.joinErrors} join errors: ${c.firstErrors})`
          : ''),
    )
    if (c.open === 0) throw new Error(`no socket connected: ${c.firstErrors.join('; ')}`)
    await sleep(settleMs)
    for (const rate of rates) {
      if (!server.alive()) {
        run.stopReason = 'server exited'
        break
      }
      const quiet = await waitForQuiet()
      if (quiet.waitedS >= 1)
        log(`  (waited ${fmt(quiet.waitedS, 0)} s for other processes: ${fmt(quiet.busy, 0)}% busy)`)
      const sampler = server.pid ? new ProcSampler(server.pid, server.port) : null
      const problems0 = server.logProblems()
      sampler?.start()
      const results = await Promise.all(
        gens.map((g, i) =>
          g.request<StepResult>(
            {
              cmd: 'step',
              step: run.steps.length,
              rate: (rate * parts[i].length) / specs.length,
              durationMs,
              drainMs,
              contentBytes,
            },
            durationMs + drainMs + 120_000,
          ),
        ),
      )
      const step = summarize(rate, results, sampler?.stop() ?? null)
      step.serverLogProblems = server.logProblems() - problems0
      if (step.serverLogProblems) step.notes.push(`${step.serverLogProblems} warn/error log lines`)
      run.steps.push(step)
      log(
        `  ${int(rate)} msg/s: acked ${int(step.ackedPerSec)}/s, ${int(step.deliveriesPerSec)} deliveries/s, ` +
          `${fmt(step.share * 100, 2)}% delivered, p50 ${fmt(step.p50, 2)} p99 ${fmt(step.p99, 2)} ` +
          `p99.9 ${fmt(step.p999, 2)} max ${fmt(step.max, 1)} ms, server ${fmt(step.serverCpu, 0)}% CPU (main thread ${fmt(step.serverMainThreadCpu, 0)}%) ` +
          `${fmt(step.serverRssMaxMB, 0)} MB, ${int(step.serverSegmentsPerSec)} socket writes/s (${fmt(step.framesPerWrite, 1)} frames each), generator ${fmt(step.generatorCpu, 0)}% CPU, others ${fmt(step.otherCpu, 0)}%` +
          (step.notes.length ? ` [${step.notes.join('; ')}]` : ''),
      )
      if (step.share < stopShare || step.p99 > stopP99) {
        run.stoppedAt = rate
        run.stopReason = `${fmt(step.share * 100, 1)}% delivered, p99 ${fmt(step.p99, 0)} ms at ${rate} msg/s`
        log(`  stopping the ladder for ${target}: ${run.stopReason}`)
        break
      }
      await sleep(settleMs)
    }
  } catch (error) {
    run.setupError = error instanceof HttpError || error instanceof Error ? error.message : String(error)
    log(`  ${target}: ${run.setupError}`)
  } finally {
    for (const g of gens) await g.close()
    run.logTail = server.logTail()
    run.serverExit = await server.stop()
  }
  return run
}

// ---- idle sockets ------------------------------------------------------------------------------

interface IdleRun {
  server: string
  sockets: number
  setupError?: string
  connect?: ConnectResult
  connectPerSec?: number
  rssBeforeMB?: number
  rssAfterMB?: number
  rssAfterHoldMB?: number
  rssPerSocketKB?: number
  rssPerSocketAfterHoldKB?: number
  heapBeforeMB?: number
  heapAfterMB?: number
  heapPerSocketKB?: number
  externalPerSocketKB?: number
  serverCpuHold?: number
  hold?: HoldResult
  logTail?: string[]
}

async function idle(target: string): Promise<IdleRun> {
  const sockets = num('sockets', args.sockets)
  const run: IdleRun = { server: target, sockets }
  log(`\n== ${target}: idle, ${int(sockets)} sockets`)
  const server = target === 'parley' ? await startParley(true) : await startRaw()
  const gens: Generator[] = []
  try {
    let specs: SocketSpec[]
    if (target === 'parley') {
      const accounts = await registerUsers(server, Math.min(sockets, num('idle-users', args['idle-users'])))
      specs = Array.from({ length: sockets }, (_, i) => ({
        token: accounts[i % accounts.length].token,
        conversationId: 0,
      }))
    } else {
      specs = Array.from({ length: sockets }, () => ({ token: 'raw', conversationId: 0 }))
    }
    for (let i = 0; i < generatorCount; i++) gens.push(new Generator(i, generatorProfile))
    await sleep(3000)
    const rssBefore = server.pid ? rssBytes(server.pid) : Number.NaN
    const before = await server.probeMemory()
    const parts: SocketSpec[][] = Array.from({ length: gens.length }, () => [])
    for (const [i, s] of specs.entries()) parts[i % gens.length].push(s)
    run.connect = await connectAll(server, gens, parts, false, 200)
    run.connectPerSec = run.connect.open / (run.connect.wallMs / 1000)
    log(
      `  connected ${int(run.connect.open)}/${int(sockets)} in ${fmt(run.connect.wallMs / 1000)} s ` +
        `(${int(run.connectPerSec)}/s, p99 ${fmt(run.connect.connectP99)} ms)` +
        (run.connect.failed ? `, ${run.connect.failed} failed: ${run.connect.firstErrors.join('; ')}` : ''),
    )
    await sleep(5000)
    const rssAfter = server.pid ? rssBytes(server.pid) : Number.NaN
    const after = await server.probeMemory()
    const open = Math.max(1, run.connect.open)
    run.rssBeforeMB = mb(rssBefore)
    run.rssAfterMB = mb(rssAfter)
    run.rssPerSocketKB = (rssAfter - rssBefore) / 1024 / open
    if (before && after) {
      run.heapBeforeMB = mb(before.heapUsed)
      run.heapAfterMB = mb(after.heapUsed)
      run.heapPerSocketKB = (after.heapUsed - before.heapUsed) / 1024 / open
      run.externalPerSocketKB =
        (after.external + after.arrayBuffers - before.external - before.arrayBuffers) / 1024 / open
    }
    log(
      `  RSS ${fmt(run.rssBeforeMB)} -> ${fmt(run.rssAfterMB)} MB: ${fmt(run.rssPerSocketKB, 2)} KB/socket; ` +
        `heap ${fmt(run.heapPerSocketKB, 2)} KB/socket`,
    )
    const holdMs = num('hold', args.hold) * 1000
    if (holdMs > 0) {
      const sampler = server.pid ? new ProcSampler(server.pid) : null
      sampler?.start()
      const holds = await Promise.all(
        gens.map((g) =>
          g.request<HoldResult>(
            {
              cmd: 'hold',
              durationMs: holdMs,
              pingIntervalMs: num('ping-interval', args['ping-interval']) * 1000,
            },
            holdMs + 60_000,
          ),
        ),
      )
      const proc = sampler?.stop()
      run.serverCpuHold = proc?.cpuPercent
      run.rssAfterHoldMB = proc ? mb(proc.rssEndBytes) : undefined
      if (proc) run.rssPerSocketAfterHoldKB = (proc.rssEndBytes - rssBefore) / 1024 / open
      run.hold = {
        evt: 'held',
        open: sum(holds.map((h) => h.open)),
        pingsSent: sum(holds.map((h) => h.pingsSent)),
        pongs: sum(holds.map((h) => h.pongs)),
        closes: mergeCounts(holds.map((h) => h.closes)),
        errors: mergeCounts(holds.map((h) => h.errors)),
        cpuPercent: Math.max(...holds.map((h) => h.cpuPercent)),
      }
      log(
        `  held ${fmt(holdMs / 1000, 0)} s: ${int(run.hold.open)} open, ${int(run.hold.pongs)}/${int(run.hold.pingsSent)} pongs, ` +
          `server ${fmt(run.serverCpuHold, 1)}% CPU, RSS ${fmt(run.rssAfterHoldMB)} MB` +
          (Object.keys(run.hold.closes).length ? `, closes ${JSON.stringify(run.hold.closes)}` : ''),
      )
    }
  } catch (error) {
    run.setupError = error instanceof Error ? error.message : String(error)
    log(`  ${target}: ${run.setupError}`)
  } finally {
    for (const g of gens) await g.close()
    run.logTail = server.logTail()
    await server.stop()
  }
  return run
}

// ---- history API ------------------------------------------------------------------------------

interface CannonResult {
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
  url: string,
  token: string | undefined,
  pid: number,
): Promise<Omit<CannonResult, 'label'>> {
  const cannonArgs = [
    join(ROOT, 'node_modules', 'autocannon', 'autocannon.js'),
    '-c',
    String(num('connections', args.connections)),
    '-d',
    String(num('history-duration', args['history-duration'])),
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

interface HistoryRun {
  server: string
  setupError?: string
  seeded?: number
  results: CannonResult[]
  logTail?: string[]
}

async function history(target: string): Promise<HistoryRun> {
  const run: HistoryRun = { server: target, results: [] }
  log(`\n== ${target}: history API`)
  const server = target === 'parley' ? await startParley(false) : await startRaw()
  try {
    let token: string | undefined
    let conversationId = 1
    let middle = 1
    if (target === 'parley') {
      const [a, b] = await registerUsers(server, 2)
      token = a.token
      const { json } = await http<{ conversation: { id: number } }>(
        'POST',
        `${server.httpUrl}/conversations`,
        { member_ids: [b.id], title: 'bench history' },
        a.token,
      )
      conversationId = json.conversation.id
      const count = num('history-messages', args['history-messages'])
      const started = performance.now()
      const pad = 'x'.repeat(contentBytes)
      const ids = await mapLimit(
        Array.from({ length: count }, (_, i) => i),
        8,
        async (i) => {
          const { json: m } = await http<{ message: { id: number } }>(
            'POST',
            `${server.httpUrl}/conversations/${conversationId}/messages`,
            { content: `history ${i} ${pad}`.slice(0, contentBytes), client_id: `h-${i}` },
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
      const r = await autocannon(`${server.httpUrl}${path}`, token, server.pid)
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
    run.logTail = server.logTail()
    await server.stop()
  }
  return run
}

// ---- reports ------------------------------------------------------------------------------------

function log(line: string) {
  console.log(line)
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !b || !Number.isFinite(a) || !Number.isFinite(b)
    ? '—'
    : `${fmt(a / b, 2)}x`

function sustained(run: LadderRun | undefined): StepSummary | undefined {
  const ok = (run?.steps ?? []).filter(
    (s) => s.share >= 1 && s.acked >= s.sent && s.ackedPerSec >= s.rate * 0.95,
  )
  return ok.at(-1)
}

function ladderMarkdown(runs: LadderRun[]): string {
  const parley = runs.find((r) => r.server === 'parley')
  const raw = runs.find((r) => r.server === 'raw')
  // By position, not by rate: a ladder may repeat a rate (4000,6000,4000 shows the recovery).
  const at = (run: LadderRun | undefined, index: number) => run?.steps[index]
  const out: string[] = []
  out.push(
    `Ladder: ${int(users)} sockets (one per user) in conversations of ${roomSize}, ${contentBytes}-byte messages, ` +
      `${durationMs / 1000} s per step (+ up to ${drainMs / 1000} s drain), ${generatorCount} generator process(es). ` +
      `Latency is from the scheduled send time to each member's receipt of \`message\` (sender's own socket included), ms. ` +
      `Ratios are Parley / raw.`,
    '',
    '| offered msg/s | Parley acked/s | raw acked/s | ratio | Parley deliveries/s | raw deliveries/s | ratio | Parley delivered | raw delivered |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  )
  for (const [index, rate] of rates.entries()) {
    const p = at(parley, index)
    const r = at(raw, index)
    out.push(
      `| ${int(rate)}${p?.unreliable || r?.unreliable ? ' *' : ''} | ${int(p?.ackedPerSec)} | ${int(r?.ackedPerSec)} | ${ratio(p?.ackedPerSec, r?.ackedPerSec)} | ` +
        `${int(p?.deliveriesPerSec)} | ${int(r?.deliveriesPerSec)} | ${ratio(p?.deliveriesPerSec, r?.deliveriesPerSec)} | ` +
        `${p ? `${fmt(p.share * 100, 2)}%` : '—'} | ${r ? `${fmt(r.share * 100, 2)}%` : '—'} |`,
    )
  }
  out.push(
    '',
    '| offered msg/s | Parley p50 | raw p50 | Parley p99 | raw p99 | p99 ratio | Parley p99.9 | raw p99.9 | Parley max | raw max | Parley ack p99 |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  )
  for (const [index, rate] of rates.entries()) {
    const p = at(parley, index)
    const r = at(raw, index)
    out.push(
      `| ${int(rate)} | ${fmt(p?.p50, 2)} | ${fmt(r?.p50, 2)} | ${fmt(p?.p99, 2)} | ${fmt(r?.p99, 2)} | ${ratio(p?.p99, r?.p99)} | ` +
        `${fmt(p?.p999, 2)} | ${fmt(r?.p999, 2)} | ${fmt(p?.max, 1)} | ${fmt(r?.max, 1)} | ${fmt(p?.ackP99, 2)} |`,
    )
  }
  out.push(
    '',
    '| offered msg/s | Parley CPU % (main thread) | raw CPU % (main thread) | Parley RSS max MB | raw RSS max MB | socket writes/s (P / raw) | frames per write (P / raw) | generator CPU % (P / raw) | generator send lag p99 ms (P / raw) | notes |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  )
  for (const [index, rate] of rates.entries()) {
    const p = at(parley, index)
    const r = at(raw, index)
    const notes = [
      ...(p?.notes ?? []).map((n) => `Parley: ${n}`),
      ...(r?.notes ?? []).map((n) => `raw: ${n}`),
    ].join('; ')
    out.push(
      `| ${int(rate)} | ${fmt(p?.serverCpu, 0)} (${fmt(p?.serverMainThreadCpu, 0)}) | ${fmt(r?.serverCpu, 0)} (${fmt(r?.serverMainThreadCpu, 0)}) | ${fmt(p?.serverRssMaxMB, 0)} | ${fmt(r?.serverRssMaxMB, 0)} | ` +
        `${int(p?.serverSegmentsPerSec)} / ${int(r?.serverSegmentsPerSec)} | ${fmt(p?.framesPerWrite, 1)} / ${fmt(r?.framesPerWrite, 1)} | ` +
        `${fmt(p?.generatorCpu, 0)} / ${fmt(r?.generatorCpu, 0)} | ${fmt(p?.sendLagP99, 2)} / ${fmt(r?.sendLagP99, 2)} | ${notes} |`,
    )
  }
  out.push(
    '',
    '\\* a step marked unreliable for one server or both: its generator passed 90% of a core, or other processes on the machine used more than 20% of a core during it (see notes).',
  )
  const sp = sustained(parley)
  const sr = sustained(raw)
  out.push(
    '',
    `Highest step fully delivered and acked at ≥ 95% of the offered rate: Parley ${sp ? `${int(sp.rate)} msg/s (${int(sp.deliveriesPerSec)} deliveries/s)` : '—'}, ` +
      `raw ${sr ? `${int(sr.rate)} msg/s (${int(sr.deliveriesPerSec)} deliveries/s)` : '—'}, ratio ${ratio(sp?.rate, sr?.rate)}.`,
  )
  for (const run of runs) {
    if (run.connect) {
      out.push(
        `${run.server}: ${int(run.connect.open)}/${int(run.connect.requested)} sockets connected and joined in ${fmt(run.connect.wallMs / 1000)} s` +
          (run.connect.failed || run.connect.joinErrors
            ? ` (${run.connect.failed} failed, ${run.connect.joinErrors} join errors: ${run.connect.firstErrors.join('; ')})`
            : '') +
          '.',
      )
    }
    if (run.stopReason) out.push(`${run.server}: ladder stopped: ${run.stopReason}.`)
    if (run.setupError) out.push(`${run.server}: error: ${run.setupError.split('\n')[0]}`)
  }
  return out.join('\n')
}

function idleMarkdown(runs: IdleRun[]): string {
  const p = runs.find((r) => r.server === 'parley')
  const r = runs.find((x) => x.server === 'raw')
  const row = (label: string, get: (x: IdleRun) => number | undefined, digits = 1, withRatio = true) => {
    const a = p ? get(p) : undefined
    const b = r ? get(r) : undefined
    return `| ${label} | ${fmt(a, digits)} | ${fmt(b, digits)} | ${withRatio ? ratio(a, b) : ''} |`
  }
  const out = [
    `Idle: ${int(num('sockets', args.sockets))} sockets (Parley: authenticated with Bearer tokens of ${int(Math.min(num('sockets', args.sockets), num('idle-users', args['idle-users'])))} accounts), ` +
      `held ${args.hold} s with a ping every ${args['ping-interval']} s per socket. Heap is measured after a forced GC.`,
    '',
    '| | Parley | raw | ratio |',
    '| --- | ---: | ---: | ---: |',
    row('sockets open', (x) => x.connect?.open, 0, false),
    row('connects/s', (x) => x.connectPerSec, 0),
    row('connect p99 ms', (x) => x.connect?.connectP99, 1),
    row('RSS before MB', (x) => x.rssBeforeMB, 1, false),
    row('RSS after connect MB', (x) => x.rssAfterMB, 1, false),
    row('RSS per socket KB', (x) => x.rssPerSocketKB, 2),
    row('heap per socket KB', (x) => x.heapPerSocketKB, 2),
    row('external+buffers per socket KB', (x) => x.externalPerSocketKB, 2),
    row('open after hold', (x) => x.hold?.open, 0, false),
    row('pongs / pings', (x) => (x.hold?.pingsSent ? x.hold.pongs / x.hold.pingsSent : undefined), 3, false),
    row('server CPU % during hold', (x) => x.serverCpuHold, 1),
    row('RSS after hold MB', (x) => x.rssAfterHoldMB, 1, false),
    row('RSS per socket after hold KB', (x) => x.rssPerSocketAfterHoldKB, 2),
  ]
  for (const run of runs)
    if (run.setupError) out.push('', `${run.server}: error: ${run.setupError.split('\n')[0]}`)
  return out.join('\n')
}

function historyMarkdown(runs: HistoryRun[]): string {
  const out = [
    `History API under autocannon: ${args.connections} connections, ${args['history-duration']} s per case; ` +
      `Parley seeded with ${args['history-messages']} messages in one conversation, Bearer token. ` +
      `The raw server answers the history URLs with an in-memory page of 50 messages serialized per request (an HTTP ceiling, not a history implementation), and /healthz with a constant.`,
    '',
    '| server | case | req/s | ratio to raw | p50 ms | p99 ms | p99.9 ms | max ms | non-2xx | errors | server CPU % | server RSS MB |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  const raw = runs.find((r) => r.server === 'raw')
  for (const run of runs) {
    for (const r of run.results) {
      const base = raw?.results.find((x) => x.label === r.label)
      out.push(
        `| ${run.server} | ${r.label} | ${int(r.requestsPerSec)} | ${ratio(r.requestsPerSec, base?.requestsPerSec)} | ${r.p50} | ${r.p99} | ${fmt(r.p999)} | ${r.max} | ` +
          `${r.non2xx} | ${r.errors} | ${fmt(r.serverCpu, 0)} | ${fmt(r.serverRssMaxMB, 0)} |`,
      )
    }
    if (run.setupError) out.push('', `${run.server}: error: ${run.setupError.split('\n')[0]}`)
  }
  return out.join('\n')
}

function machine() {
  let kernel = ''
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()
  } catch {
    // not Linux
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    memoryGB: Number((totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    kernel,
  }
}

async function main() {
  const started = new Date()
  const m = machine()
  log(
    `Parley bench: mode ${mode}${quick ? ' (quick)' : ''}, targets ${targets.join(', ')}; ` +
      `${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGB} GB, node ${m.node}`,
  )
  let markdown = ''
  let data: unknown
  if (mode === 'ladder') {
    log(
      `rates ${rates.join(', ')} msg/s, ${durationMs / 1000} s per step, ${users} sockets, rooms of ${roomSize}`,
    )
    const runs: LadderRun[] = []
    for (const t of targets) runs.push(await ladder(t))
    markdown = ladderMarkdown(runs)
    data = runs
  } else if (mode === 'idle') {
    const runs: IdleRun[] = []
    for (const t of targets) runs.push(await idle(t))
    markdown = idleMarkdown(runs)
    data = runs
  } else if (mode === 'http') {
    const run = await runHttpMode({
      flags: args,
      durationS: durationMs / 1000,
      connections: num('connections', args.connections),
      contentBytes,
      targets,
      tmp,
      nodeArgs: serverProfile,
      quiet: {
        limitMs: num('quiet-wait', args['quiet-wait']) * 1000,
        threshold: num('quiet-threshold', args['quiet-threshold']),
      },
      log,
    })
    markdown = httpMarkdown(run)
    data = run
  } else {
    const runs: HistoryRun[] = []
    for (const t of targets) runs.push(await history(t))
    markdown = historyMarkdown(runs)
    data = runs
  }
  const stamp = started.toISOString().replace(/[:.]/g, '-')
  const name = `${mode}${quick ? '-quick' : ''}-${stamp}`
  mkdirSync(args.out, { recursive: true })
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim()
  const header = `# Parley bench: ${mode}${quick ? ' (quick)' : ''}, ${started.toISOString()}\n\nMachine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGB} GB RAM, Node ${m.node}, Linux ${m.kernel}.\nCommand: \`${command}\`\n\n`
  writeFileSync(join(args.out, `${name}.md`), `${header}${markdown}\n`)
  writeFileSync(
    join(args.out, `${name}.json`),
    `${JSON.stringify({ mode, quick, command, started: started.toISOString(), machine: m, args, rates, results: data }, null, 2)}\n`,
  )
  console.log(`\n${markdown}\n`)
  console.log(`wrote ${join(args.out, `${name}.md`)} and .json`)
}

main()
  .catch((error) => {
    console.error(error instanceof Error ? error.stack : error)
    process.exitCode = 1
  })
  .finally(() => {
    rmSync(tmp, { recursive: true, force: true })
  })
