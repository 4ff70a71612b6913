import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import type { BenchOptions } from './cli.js'
import type { HistoryRun } from './history.js'
import type { IdleRun } from './idle.js'
import type { LadderRun } from './ladder.js'
import { type StepSummary, waitsText } from './ladder-summary.js'
import { fmt, int } from './lib.js'

// The Markdown tables of the ladder, idle and history modes (the http mode has bench/http-report.ts),
// and the files every run writes to bench/results/.

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

export function ladderMarkdown(o: BenchOptions, runs: LadderRun[]): string {
  const parley = runs.find((r) => r.server === 'parley')
  const raw = runs.find((r) => r.server === 'raw')
  // By position, not by rate: a ladder may repeat a rate (4000,6000,4000 shows the recovery).
  const at = (run: LadderRun | undefined, index: number) => run?.steps[index]
  const out: string[] = []
  out.push(
    `Ladder: ${int(o.users)} sockets (one per user) in conversations of ${o.roomSize}, ${o.contentBytes}-byte messages, ` +
      `${o.durationMs / 1000} s per step (+ up to ${o.drainMs / 1000} s drain), ${o.generatorCount} generator process(es). ` +
      `Latency is from the scheduled send time to each member's receipt of \`message\` (sender's own socket included), ms. ` +
      `Ratios are Parley / raw.`,
    '',
    `Servers: ${runs.map((r) => `${r.server} on ${r.deployment}`).join('; ')}.`,
    '',
    '| offered msg/s | Parley acked/s | raw acked/s | ratio | Parley deliveries/s | raw deliveries/s | ratio | Parley delivered | raw delivered |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  )
  for (const [index, rate] of o.rates.entries()) {
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
  for (const [index, rate] of o.rates.entries()) {
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
  for (const [index, rate] of o.rates.entries()) {
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
  if (parley?.steps.some((step) => Number.isFinite(step.postgresCpu) || step.nodeCpu.length > 1))
    out.push('', servicesMarkdown(o, parley))
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

export function idleMarkdown(o: BenchOptions, runs: IdleRun[]): string {
  const p = runs.find((r) => r.server === 'parley')
  const r = runs.find((x) => x.server === 'raw')
  const row = (label: string, get: (x: IdleRun) => number | undefined, digits = 1, withRatio = true) => {
    const a = p ? get(p) : undefined
    const b = r ? get(r) : undefined
    return `| ${label} | ${fmt(a, digits)} | ${fmt(b, digits)} | ${withRatio ? ratio(a, b) : ''} |`
  }
  const out = [
    `Idle: ${int(o.sockets)} sockets (Parley: authenticated with Bearer tokens of ${int(Math.min(o.sockets, o.idleUsers))} accounts), ` +
      `held ${o.holdMs / 1000} s with a ping every ${o.pingIntervalMs / 1000} s per socket. Heap is measured after a forced GC.`,
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

export function historyMarkdown(o: BenchOptions, runs: HistoryRun[]): string {
  const out = [
    `History API under autocannon: ${o.connections} connections, ${o.historyDurationS} s per case; ` +
      `Parley seeded with ${o.historyMessages} messages in one conversation, Bearer token. ` +
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

/** Where Parley's CPU went on PostgreSQL or several nodes: each node, PostgreSQL, Redis, the rest. */
function servicesMarkdown(o: BenchOptions, run: LadderRun): string {
  const out = [
    `CPU during each step of Parley on ${run.deployment}, percent of one core (the machine has ${cpus().length} cores):`,
    '',
    '| offered msg/s | Parley nodes (each) | busiest main thread | PostgreSQL | Redis | generators | others | delivered | p50 ms | p99 ms | PostgreSQL connections busy (mean) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ]
  for (const [index, rate] of o.rates.entries()) {
    const s = run.steps[index]
    if (!s) continue
    const each = s.nodeCpu.length > 1 ? ` (${s.nodeCpu.map((c) => fmt(c, 0)).join(' + ')})` : ''
    out.push(
      `| ${int(rate)}${s.unreliable ? ' *' : ''} | ${fmt(s.serverCpu, 0)}${each} | ${fmt(s.serverMainThreadCpu, 0)} | ${fmt(s.postgresCpu, 0)} | ` +
        `${fmt(s.redisCpu, 0)} | ${fmt(s.generatorCpu, 0)} | ${fmt(s.otherCpu, 0)} | ${fmt(s.share * 100, 2)}% | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${waitsText(s.postgresWaits)} |`,
    )
  }
  out.push(
    '',
    'PostgreSQL counts this run\'s connections and the server\'s background processes; "others" is the rest of the machine (other PostgreSQL clients included). ' +
      "Connections busy: the mean number of the run's connections in each state over the step (pg_stat_activity every 100 ms; idle ones left out).",
  )
  return out.join('\n')
}

export function machine() {
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

/** Writes `bench/results/<mode>-<time>.md` and `.json`; returns the Markdown file's path. */
export function writeReport(
  o: BenchOptions,
  started: Date,
  markdown: string,
  data: unknown,
  m: ReturnType<typeof machine>,
): string {
  const stamp = started.toISOString().replace(/[:.]/g, '-')
  const name = `${o.mode}${o.quick ? '-quick' : ''}-${stamp}`
  mkdirSync(o.out, { recursive: true })
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim()
  const header = `# Parley bench: ${o.mode}${o.quick ? ' (quick)' : ''}, ${started.toISOString()}\n\nMachine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGB} GB RAM, Node ${m.node}, Linux ${m.kernel}.\nCommand: \`${command}\`\n\n`
  writeFileSync(join(o.out, `${name}.md`), `${header}${markdown}\n`)
  writeFileSync(
    join(o.out, `${name}.json`),
    `${JSON.stringify({ mode: o.mode, quick: o.quick, command, started: started.toISOString(), machine: m, args: o.flags, rates: o.rates, results: data }, null, 2)}\n`,
  )
  return join(o.out, `${name}.md`)
}
