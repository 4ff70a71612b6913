import * as hdr from 'hdr-histogram-js'
import { fmt, int, mb, type ProcSample, ProcSampler } from './lib.js'
import type { StepResult } from './messages.js'
import type { ServiceCpu } from './services.js'
import { sum } from './sockets.js'

// One ladder step's figures: the generators' results merged, beside the CPU, memory and socket
// writes of the server's processes (every node) and of PostgreSQL and Redis.

export interface StepSummary {
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
  /** Every node together, percent of one core. */
  serverCpu: number
  /** The busiest node's main thread. */
  serverMainThreadCpu: number
  /** Each node's CPU, percent of one core. */
  nodeCpu: number[]
  /** This run's PostgreSQL backends and its background processes; NaN on SQLite. */
  postgresCpu: number
  /** redis-server; NaN without Redis. */
  redisCpu: number
  /** Mean number of this run's PostgreSQL connections in each busy state (see ServiceCpu.waits). */
  postgresWaits: Record<string, number>
  /** TCP data segments the server sent per second: its socket writes (loopback: one segment each). */
  serverSegmentsPerSec: number
  /** Frames out (deliveries and acks) per socket write: 1 when every frame is its own write. */
  framesPerWrite: number
  serverRssMaxMB: number
  serverRssEndMB: number
  generatorCpu: number
  generatorLoopP99: number
  /** CPU used on the machine by everything but the server, its services and the generators, percent of one core. */
  otherCpu: number
  unreliable: boolean
  errors: Record<string, number>
  closes: Record<string, number>
  serverLogProblems: number
  /** Worst latency per 250 ms of scheduled send time (the first generator's), ms. */
  timelineMax: number[]
  notes: string[]
}

/** The samples of a step: every node's process (and the machine), and the services' CPU. */
export interface StepSamples {
  nodes: ProcSample[]
  services: ServiceCpu | null
}

/** Samples every node of a deployment over one step (see ProcSampler). */
export class NodesSampler {
  private readonly samplers: ProcSampler[]
  constructor(nodes: Array<{ pid: number; port: number }>) {
    this.samplers = nodes.filter((n) => n.pid).map((n) => new ProcSampler(n.pid, n.port))
  }
  start(): void {
    for (const s of this.samplers) s.start()
  }
  stop(): ProcSample[] {
    return this.samplers.map((s) => s.stop())
  }
}

function mergeHist(encoded: string[]) {
  const total = hdr.build({ numberOfSignificantValueDigits: 3 })
  for (const e of encoded) total.add(hdr.decodeFromCompressedBase64(e))
  return total
}

export function mergeCounts(list: Record<string, number>[]) {
  const out: Record<string, number> = {}
  for (const counts of list) for (const [k, v] of Object.entries(counts)) out[k] = (out[k] ?? 0) + v
  return out
}

/** "in transaction, waiting for Parley 0.62, IO:WALSync 0.31": the busiest states first. */
export function waitsText(waits: Record<string, number>): string {
  return Object.entries(waits)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${fmt(n, 2)}`)
    .join(', ')
}

const orZero = (n: number) => (Number.isFinite(n) ? n : 0)

export function summarize(rate: number, results: StepResult[], samples: StepSamples): StepSummary {
  const latency = mergeHist(results.map((r) => r.latency))
  const ack = mergeHist(results.map((r) => r.ackLatency))
  const lag = mergeHist(results.map((r) => r.sendLag))
  const ms = (micros: number) => micros / 1000
  const expected = sum(results.map((r) => r.expectedDeliveries))
  const delivered = sum(results.map((r) => r.delivered))
  const generatorCpu = Math.max(...results.map((r) => r.cpuPercent))
  const nodes = samples.nodes
  const measured = nodes.length > 0
  const serverCpu = measured ? sum(nodes.map((n) => n.cpuPercent)) : Number.NaN
  const segments = sum(nodes.map((n) => n.segments))
  const postgresCpu = samples.services?.postgres ?? Number.NaN
  const redisCpu = samples.services?.redis ?? Number.NaN
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
    serverCpu,
    serverMainThreadCpu: measured ? Math.max(...nodes.map((n) => n.mainThreadCpuPercent)) : Number.NaN,
    nodeCpu: nodes.map((n) => n.cpuPercent),
    postgresCpu,
    redisCpu,
    postgresWaits: samples.services?.waits ?? {},
    serverSegmentsPerSec: measured ? sum(nodes.map((n) => n.segmentsPerSec)) : Number.NaN,
    framesPerWrite: measured ? (delivered + sum(results.map((r) => r.acked))) / segments : Number.NaN,
    serverRssMaxMB: measured ? mb(sum(nodes.map((n) => n.rssMaxBytes))) : Number.NaN,
    serverRssEndMB: measured ? mb(sum(nodes.map((n) => n.rssEndBytes))) : Number.NaN,
    generatorCpu,
    generatorLoopP99: Math.max(...results.map((r) => r.loopDelayP99)),
    otherCpu: measured
      ? nodes[0].machineBusyPercent -
        serverCpu -
        sum(results.map((r) => r.cpuPercent)) -
        orZero(postgresCpu) -
        orZero(redisCpu)
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
