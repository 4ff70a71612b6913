import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import type { BenchOptions, Target } from './cli.js'
import type { ServerHandle } from './lib.js'
import { attachParley, startParley, startRaw } from './servers.js'
import { Services } from './services.js'

// What one run of a mode measures: the raw server, or Parley as one or several processes, on a
// fresh SQLite file or on a fresh PostgreSQL schema (with Redis between several nodes), or a
// Parley someone else started (--parley-url).

export interface Deployment {
  target: Target
  /** One server, or Parley's nodes in order; a socket of global index i goes to node i % length. */
  nodes: ServerHandle[]
  /** PostgreSQL and Redis, when Parley runs on them. */
  services: Services | null
  /** "SQLite, 1 node", "PostgreSQL, 2 nodes + Redis", "raw ws". */
  label: string
  alive(): boolean
  logProblems(): number
  logTail(): string[]
  /** Stops every node (then drops the schema); the first node's exit code. */
  stop(): Promise<number | null>
}

export function describe(options: BenchOptions, target: Target): string {
  if (target === 'raw') return 'raw ws'
  if (options.parleyUrl) return `Parley at ${options.parleyUrl}`
  const nodes = `${options.nodes} node${options.nodes > 1 ? 's' : ''}`
  if (options.database) return `PostgreSQL, ${nodes}${options.nodes > 1 ? ' + Redis' : ''}`
  return `SQLite, ${nodes}${options.withoutSearchIndex ? ', no search index' : ''}`
}

function deployment(
  target: Target,
  label: string,
  nodes: ServerHandle[],
  services: Services | null,
): Deployment {
  return {
    target,
    nodes,
    services,
    label,
    alive: () => nodes.every((n) => n.alive()),
    logProblems: () => nodes.reduce((total, n) => total + n.logProblems(), 0),
    logTail: () => nodes.flatMap((n) => n.logTail()),
    async stop() {
      const codes = await Promise.all(nodes.map((n) => n.stop()))
      await services?.drop().catch(() => {})
      return codes[0] ?? null
    },
  }
}

/**
 * Starts what `target` names under `options`. `tmp` holds SQLite files and uploads; `ipcProbe`
 * loads the idle mode's heap probe into Parley.
 */
export async function deploy(
  options: BenchOptions,
  target: Target,
  tmp: string,
  ipcProbe = false,
): Promise<Deployment> {
  const label = describe(options, target)
  if (target === 'raw')
    return deployment(target, label, [await startRaw({ nodeArgs: options.serverNodeArgs })], null)
  if (options.parleyUrl)
    return deployment(target, label, [attachParley(options.parleyUrl, options.parleyPid)], null)
  const uploadDir = join(tmp, 'uploads')
  if (!options.database) {
    const dbPath = join(tmp, `bench-${Date.now()}.db`)
    const node = await startParley({ dbPath, uploadDir, nodeArgs: options.serverNodeArgs, ipcProbe })
    if (options.withoutSearchIndex) {
      // Migrated by now: the indexer finds every message below its mark and indexes none.
      const sqlite = new SqliteDatabase(dbPath)
      sqlite.prepare('update search_progress set indexed_upto = ?').run(Number.MAX_SAFE_INTEGER)
      sqlite.close()
    }
    return deployment(target, label, [node], null)
  }
  const services = await Services.start(options.database, options.nodes > 1 ? options.redis : undefined)
  const nodes: ServerHandle[] = []
  try {
    // One after the other: the first migrates the schema, the others find it done.
    for (let i = 0; i < options.nodes; i++) {
      nodes.push(
        await startParley({
          name: options.nodes > 1 ? `parley node ${i + 1}` : 'parley',
          databaseUrl: services.databaseUrl(i + 1),
          uploadDir,
          nodeArgs: options.serverNodeArgs,
          ipcProbe,
          env: services.redisUrl ? { REDIS_URL: services.redisUrl } : {},
        }),
      )
    }
  } catch (error) {
    await deployment(target, label, nodes, services).stop()
    throw error
  }
  return deployment(target, label, nodes, services)
}
