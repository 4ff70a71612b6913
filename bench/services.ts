import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { cpuTicks } from './lib.js'

// The services a run on PostgreSQL uses beside its Parley nodes: a schema of its own in the given
// database (dropped after), a Redis key prefix of its own, and the CPU both spend during a step.
// PostgreSQL and Redis are shared with whatever else runs on the machine, so the PostgreSQL CPU
// counted is that of this run's connections (tagged by application_name) plus the server's own
// background processes (WAL writer, checkpointer, autovacuum...); other clients' backends land
// in the "others" column.

const CLK_TCK = 100

export interface ServiceCpu {
  /** Percent of one core, NaN when unknown. */
  postgres: number
  redis: number
  /**
   * What this run's busy PostgreSQL connections were doing, sampled every 100 ms: the mean number
   * of connections in each state ("in transaction, waiting for Parley", "Lock:transactionid",
   * "IO:WALSync", "running"...). Idle connections are left out.
   */
  waits: Record<string, number>
}

const WAIT_SAMPLE_MS = 100

/** One pg_stat_activity row of a busy connection, as a state name (see ServiceCpu.waits). */
function waitName(row: { state: string; wait_event_type: string | null; wait_event: string | null }): string {
  if (row.state === 'idle in transaction') return 'in transaction, waiting for Parley'
  if (row.wait_event_type === 'Client') return `waiting for Parley (${row.wait_event})`
  return row.wait_event_type ? `${row.wait_event_type}:${row.wait_event}` : 'running'
}

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  client.on('error', () => {})
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end().catch(() => {})
  }
}

/** The pids of every `name` process on this machine (`pidof`), none when there is none. */
function pidsOf(name: string): number[] {
  try {
    return execFileSync('pidof', [name], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

function ticksOf(pids: number[]): Map<number, number> {
  const ticks = new Map<number, number>()
  for (const pid of pids) {
    try {
      ticks.set(pid, cpuTicks(pid))
    } catch {
      // exited meanwhile
    }
  }
  return ticks
}

/** CPU of a changing set of processes: those alive at the end, from the start or their birth. */
function cpuBetween(before: Map<number, number>, after: Map<number, number>, seconds: number): number {
  if (after.size === 0) return Number.NaN
  let ticks = 0
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0)
  return (ticks / CLK_TCK / seconds) * 100
}

export class Services {
  private constructor(
    private readonly baseUrl: string,
    readonly schema: string,
    readonly redisUrl: string | undefined,
    private readonly tag: string,
  ) {}

  /** A new schema in `databaseUrl`'s database, and with `redisUrl` a run-unique key prefix. */
  static async start(databaseUrl: string, redisUrl: string | undefined): Promise<Services> {
    const tag = `bench_${randomBytes(5).toString('hex')}`
    await withClient(databaseUrl, (client) => client.query(`create schema "${tag}"`))
    let redis: string | undefined
    if (redisUrl) {
      const url = new URL(redisUrl)
      url.searchParams.set('prefix', `parley-${tag}`)
      redis = url.toString()
    }
    return new Services(databaseUrl, tag, redis, tag)
  }

  /** DATABASE_URL of one node: the run's schema, its connections named so their CPU can be found. */
  databaseUrl(node: number): string {
    const url = new URL(this.baseUrl)
    url.searchParams.set('schema', this.schema)
    url.searchParams.set('application_name', `parley-${this.tag}-${node}`)
    return url.toString()
  }

  /** This run's backends and PostgreSQL's background processes (see the top of this file). */
  private async postgresPids(): Promise<number[]> {
    try {
      const { rows } = await withClient(this.baseUrl, (client) =>
        client.query<{ pid: number }>(
          `select pid from pg_stat_activity
           where application_name like $1 or backend_type not in ('client backend', 'walsender')`,
          [`parley-${this.tag}-%`],
        ),
      )
      return rows.map((row) => row.pid)
    } catch {
      return []
    }
  }

  /** Starts measuring; the returned function ends the window and gives the CPU of both. */
  async sample(): Promise<() => Promise<ServiceCpu>> {
    const pgBefore = ticksOf(await this.postgresPids())
    const redisBefore = ticksOf(this.redisUrl ? pidsOf('redis-server') : [])
    const stopWaits = await this.sampleWaits()
    const started = performance.now()
    return async () => {
      const seconds = (performance.now() - started) / 1000
      const redisAfter = ticksOf(this.redisUrl ? pidsOf('redis-server') : [])
      const waits = await stopWaits()
      const pgAfter = ticksOf(await this.postgresPids())
      return {
        postgres: cpuBetween(pgBefore, pgAfter, seconds),
        redis: cpuBetween(redisBefore, redisAfter, seconds),
        waits,
      }
    }
  }

  /** Samples the run's busy connections until the returned function is called (see ServiceCpu.waits). */
  private async sampleWaits(): Promise<() => Promise<Record<string, number>>> {
    const counts: Record<string, number> = {}
    let samples = 0
    let stopped = false
    let client: pg.Client | null = new pg.Client({
      connectionString: this.baseUrl,
      connectionTimeoutMillis: 5000,
    })
    client.on('error', () => {})
    try {
      await client.connect()
    } catch {
      client = null
    }
    const loop = (async () => {
      while (client && !stopped) {
        try {
          const { rows } = await client.query(
            `select state, wait_event_type, wait_event from pg_stat_activity
             where application_name like $1 and state is not null and state <> 'idle'`,
            [`parley-${this.tag}-%`],
          )
          samples++
          for (const row of rows) counts[waitName(row)] = (counts[waitName(row)] ?? 0) + 1
        } catch {
          break
        }
        await new Promise((resolve) => setTimeout(resolve, WAIT_SAMPLE_MS))
      }
    })()
    return async () => {
      stopped = true
      await loop
      await client?.end().catch(() => {})
      return Object.fromEntries(Object.entries(counts).map(([name, n]) => [name, n / Math.max(1, samples)]))
    }
  }

  /** Drops the schema and everything in it (the nodes clear their Redis keys as they stop). */
  async drop(): Promise<void> {
    await withClient(this.baseUrl, (client) => client.query(`drop schema if exists "${this.schema}" cascade`))
  }
}
