import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type BenchOptions, HELP, parseCli } from './cli.js'
import { runHistory } from './history.js'
import { runHttpMode } from './http-mode.js'
import { httpMarkdown } from './http-report.js'
import { runIdle } from './idle.js'
import { runLadder } from './ladder.js'
import { historyMarkdown, idleMarkdown, ladderMarkdown, machine, writeReport } from './report.js'
import { runSearchMode, searchMarkdown } from './search.js'

// npm run bench [-- --quick] [-- --mode idle|history|http|search] [-- --target parley|raw|both]
//   [-- --database postgres://... [--nodes N]] ...
// See docs/BENCHMARKS.md. Every server and every generator is its own process; all traffic stays
// on 127.0.0.x. The modes: ladder.ts, idle.ts, history.ts, http-mode.ts, search.ts; the tables: report.ts.

const log = (line: string) => console.log(line)

/** Runs the mode `options` name against each target in turn; its Markdown and its data. */
async function runMode(options: BenchOptions, tmp: string): Promise<{ markdown: string; data: unknown }> {
  const { mode, targets } = options
  if (mode === 'ladder') {
    log(
      `rates ${options.rates.join(', ')} msg/s, ${options.durationMs / 1000} s per step, ` +
        `${options.users} sockets, rooms of ${options.roomSize}`,
    )
    const runs = []
    for (const t of targets) runs.push(await runLadder(options, t, tmp, log))
    return { markdown: ladderMarkdown(options, runs), data: runs }
  }
  if (mode === 'idle') {
    const runs = []
    for (const t of targets) runs.push(await runIdle(options, t, tmp, log))
    return { markdown: idleMarkdown(options, runs), data: runs }
  }
  if (mode === 'history') {
    const runs = []
    for (const t of targets) runs.push(await runHistory(options, t, tmp, log))
    return { markdown: historyMarkdown(options, runs), data: runs }
  }
  if (mode === 'search') {
    const run = await runSearchMode(options.flags, tmp, log)
    return { markdown: searchMarkdown(run), data: run }
  }
  const run = await runHttpMode({
    flags: options.flags,
    durationS: options.durationMs / 1000,
    connections: options.connections,
    contentBytes: options.contentBytes,
    targets,
    tmp,
    nodeArgs: options.serverNodeArgs,
    quiet: { limitMs: options.quietWaitMs, threshold: options.quietThreshold },
    log,
  })
  return { markdown: httpMarkdown(run), data: run }
}

export async function main(argv: string[]): Promise<void> {
  const options = parseCli(argv)
  if (options === 'help') {
    console.log(HELP)
    return
  }
  const started = new Date()
  const m = machine()
  log(
    `Parley bench: mode ${options.mode}${options.quick ? ' (quick)' : ''}, targets ${options.targets.join(', ')}; ` +
      `${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGB} GB, node ${m.node}`,
  )
  const tmp = mkdtempSync(join(tmpdir(), 'parley-bench-'))
  try {
    const { markdown, data } = await runMode(options, tmp)
    const file = writeReport(options, started, markdown, data, m)
    console.log(`\n${markdown}\n`)
    console.log(`wrote ${file} and .json`)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

// Run as a script (`npm run bench`), not when imported.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof Error ? error.stack : error)
    process.exitCode = 1
  })
}
