import type { BenchOptions, Target } from './cli.js'
import { deploy } from './deploy.js'
import { Generator } from './generator.js'
import { mergeCounts } from './ladder-summary.js'
import { fmt, int, mb, ProcSampler, rssBytes, sleep } from './lib.js'
import type { ConnectResult, HoldResult, SocketSpec } from './messages.js'
import { connectAll, registerUsers, sum } from './sockets.js'

// npm run bench:idle: many idle sockets on one server, its memory per socket before and after a
// hold with heartbeats (Parley with the heap probe of bench/heap-probe.ts).

export interface IdleRun {
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

export async function runIdle(
  options: BenchOptions,
  target: Target,
  tmp: string,
  log: (line: string) => void,
): Promise<IdleRun> {
  const sockets = options.sockets
  const run: IdleRun = { server: target, sockets }
  log(`\n== ${target}: idle, ${int(sockets)} sockets`)
  const deployment = await deploy(options, target, tmp, true)
  const server = deployment.nodes[0]
  const gens: Generator[] = []
  try {
    let specs: SocketSpec[]
    if (target === 'parley') {
      const accounts = await registerUsers(server, Math.min(sockets, options.idleUsers), log)
      specs = Array.from({ length: sockets }, (_, i) => ({
        token: accounts[i % accounts.length].token,
        conversationId: 0,
      }))
    } else {
      specs = Array.from({ length: sockets }, () => ({ token: 'raw', conversationId: 0 }))
    }
    for (let i = 0; i < options.generatorCount; i++) gens.push(new Generator(i, options.generatorProfileDir))
    await sleep(3000)
    const rssBefore = server.pid ? rssBytes(server.pid) : Number.NaN
    const before = await server.probeMemory()
    const parts: SocketSpec[][] = Array.from({ length: gens.length }, () => [])
    for (const [i, s] of specs.entries()) parts[i % gens.length].push(s)
    run.connect = await connectAll(options, deployment, gens, parts, false, 200)
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
    const holdMs = options.holdMs
    if (holdMs > 0) {
      const sampler = server.pid ? new ProcSampler(server.pid) : null
      sampler?.start()
      const holds = await Promise.all(
        gens.map((g) =>
          g.request<HoldResult>(
            {
              cmd: 'hold',
              durationMs: holdMs,
              pingIntervalMs: options.pingIntervalMs,
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
    run.logTail = deployment.logTail()
    await deployment.stop()
  }
  return run
}
