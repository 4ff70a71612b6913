import type { BenchOptions, Target } from './cli.js'
import { deploy } from './deploy.js'
import { Generator } from './generator.js'
import { NodesSampler, type StepSummary, summarize, waitsText } from './ladder-summary.js'
import { fmt, HttpError, int, sleep, waitUntilQuiet } from './lib.js'
import type { ConnectResult, StepResult } from './messages.js'
import { connectAll, partition, setupParley, setupRaw, spreadOverNodes } from './sockets.js'

// The ladder (the default mode): sockets in rooms, open-loop `send_message` at each rate of the
// ladder in turn, every delivery timed from its scheduled send (bench/loadgen.ts).

export interface LadderRun {
  server: string
  /** What the server ran on ("SQLite, 1 node", "PostgreSQL, 2 nodes + Redis", "raw ws"). */
  deployment: string
  setupError?: string
  connect?: ConnectResult
  steps: StepSummary[]
  stoppedAt?: number
  stopReason?: string
  serverExit?: number | null
  logTail?: string[]
}

function stepLine(rate: number, step: StepSummary): string {
  const services = Number.isFinite(step.postgresCpu)
    ? `, PostgreSQL ${fmt(step.postgresCpu, 0)}%` +
      (Number.isFinite(step.redisCpu) ? ` Redis ${fmt(step.redisCpu, 0)}%` : '')
    : ''
  const waits = Object.keys(step.postgresWaits).length
    ? ` (connections busy: ${waitsText(step.postgresWaits)})`
    : ''
  const nodes = step.nodeCpu.length > 1 ? ` (nodes ${step.nodeCpu.map((c) => fmt(c, 0)).join(' + ')})` : ''
  return (
    `  ${int(rate)} msg/s: acked ${int(step.ackedPerSec)}/s, ${int(step.deliveriesPerSec)} deliveries/s, ` +
    `${fmt(step.share * 100, 2)}% delivered, p50 ${fmt(step.p50, 2)} p99 ${fmt(step.p99, 2)} ` +
    `p99.9 ${fmt(step.p999, 2)} max ${fmt(step.max, 1)} ms, server ${fmt(step.serverCpu, 0)}% CPU${nodes} (main thread ${fmt(step.serverMainThreadCpu, 0)}%) ` +
    `${fmt(step.serverRssMaxMB, 0)} MB${services}${waits}, ${int(step.serverSegmentsPerSec)} socket writes/s (${fmt(step.framesPerWrite, 1)} frames each), generator ${fmt(step.generatorCpu, 0)}% CPU, others ${fmt(step.otherCpu, 0)}%` +
    (step.notes.length ? ` [${step.notes.join('; ')}]` : '')
  )
}

export async function runLadder(
  options: BenchOptions,
  target: Target,
  tmp: string,
  log: (line: string) => void,
): Promise<LadderRun> {
  log(`\n== ${target}: starting`)
  const server = await deploy(options, target, tmp)
  const run: LadderRun = { server: target, deployment: server.label, steps: [] }
  const gens: Generator[] = []
  try {
    for (const node of server.nodes) log(`  ${node.name} pid ${node.pid} on ${node.httpUrl}`)
    if (server.services) log(`  PostgreSQL schema ${server.services.schema}`)
    const specs = spreadOverNodes(
      target === 'parley' ? await setupParley(options, server.nodes[0], log) : setupRaw(options),
      server.nodes.length,
    )
    for (let i = 0; i < options.generatorCount; i++) gens.push(new Generator(i, options.generatorProfileDir))
    const parts = partition(specs, gens.length)
    run.connect = await connectAll(options, server, gens, parts, true, 100)
    const c = run.connect
    log(
      `  connected ${c.open}/${c.requested} sockets in ${fmt(c.wallMs / 1000)} s` +
        (c.failed || c.joinErrors
          ? ` (${c.failed} failed, ${c.joinErrors} join errors: ${c.firstErrors})`
          : ''),
    )
    if (c.open === 0) throw new Error(`no socket connected: ${c.firstErrors.join('; ')}`)
    await sleep(options.settleMs)
    for (const rate of options.rates) {
      if (!server.alive()) {
        run.stopReason = 'server exited'
        break
      }
      const quiet = await waitUntilQuiet(options.quietWaitMs, options.quietThreshold)
      if (quiet.waitedS >= 1)
        log(`  (waited ${fmt(quiet.waitedS, 0)} s for other processes: ${fmt(quiet.busy, 0)}% busy)`)
      const sampler = new NodesSampler(server.nodes)
      const problems0 = server.logProblems()
      const servicesDone = await server.services?.sample()
      sampler.start()
      const results = await Promise.all(
        gens.map((g, i) =>
          g.request<StepResult>(
            {
              cmd: 'step',
              step: run.steps.length,
              rate: (rate * parts[i].length) / specs.length,
              durationMs: options.durationMs,
              drainMs: options.drainMs,
              contentBytes: options.contentBytes,
            },
            options.durationMs + options.drainMs + 120_000,
          ),
        ),
      )
      const nodes = sampler.stop()
      const step = summarize(rate, results, { nodes, services: (await servicesDone?.()) ?? null })
      step.serverLogProblems = server.logProblems() - problems0
      if (step.serverLogProblems) step.notes.push(`${step.serverLogProblems} warn/error log lines`)
      run.steps.push(step)
      log(stepLine(rate, step))
      if (step.share < options.stopShare || step.p99 > options.stopP99) {
        run.stoppedAt = rate
        run.stopReason = `${fmt(step.share * 100, 1)}% delivered, p99 ${fmt(step.p99, 0)} ms at ${rate} msg/s`
        log(`  stopping the ladder for ${target}: ${run.stopReason}`)
        break
      }
      await sleep(options.settleMs)
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
