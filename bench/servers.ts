import { join } from 'node:path'
import { freePort, type ServerHandle, startServer } from './lib.js'

// The servers the bench measures, each its own process started as `npm start` starts Parley
// (node with tsx), shared by every mode of the bench (bench/deploy.ts puts them together).

export interface ParleyOptions {
  /** In logs and errors (default "parley"; "parley node 2" of several). */
  name?: string
  /** The SQLite file (created and migrated by the server when missing)... */
  dbPath?: string
  /** ...or any DATABASE_URL (postgres://...?schema=...), which wins. */
  databaseUrl?: string
  uploadDir: string
  /** Node flags before the script (e.g. --cpu-prof ...). */
  nodeArgs?: string[]
  /** Load bench/heap-probe.ts and --expose-gc: idle mode's memory probe over IPC. */
  ipcProbe?: boolean
  /** Pin the server to these CPUs (see startServer). */
  cpus?: string
  /** Settings over the defaults below. */
  env?: Record<string, string>
}

/**
 * Parley with its default configuration but for the limits a benchmark would only measure itself
 * hitting: logins, frames and writes per account are raised far above any rate the bench offers.
 */
export const BENCH_PARLEY_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  AUTH_RATE_LIMIT: '1000000',
  WS_RATE_LIMIT: '100000',
  // The ladder stays far below the per-account defaults (about 14 messages a second per account),
  // but the history and http modes seed thousands of messages from few accounts, and a large
  // --sockets over few --users may pass 50 sockets per account.
  WRITE_RATE_LIMIT: '1000000',
  CREATE_RATE_LIMIT: '1000000',
  MAX_SOCKETS_PER_USER: '1000000',
}

/** The V8 flags `npm start` gives the server (package.json): the bench measures it as it runs. */
export const PARLEY_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size']

export async function startParley(options: ParleyOptions): Promise<ServerHandle> {
  const port = await freePort()
  const script = options.ipcProbe
    ? ['--expose-gc', '--import', 'tsx', '--import', './bench/heap-probe.ts', 'src/server.ts']
    : ['--import', 'tsx', 'src/server.ts']
  script.unshift(...PARLEY_NODE_FLAGS)
  return startServer({
    name: options.name ?? 'parley',
    args: [...(options.nodeArgs ?? []), ...script],
    env: {
      ...BENCH_PARLEY_ENV,
      DATABASE_URL: options.databaseUrl ?? `sqlite:${options.dbPath}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      UPLOAD_DIR: options.uploadDir,
      ...options.env,
    },
    port,
    ipc: Boolean(options.ipcProbe),
    healthPath: '/healthz',
    cpus: options.cpus,
  })
}

/** A Parley someone else started (`--parley-url`): measured, never started or stopped here. */
export function attachParley(url: string, pid: number): ServerHandle {
  const parsed = new URL(url)
  return {
    name: 'parley',
    pid,
    port: Number(parsed.port),
    httpUrl: parsed.origin,
    wsUrl: `ws://${parsed.host}/ws`,
    alive: () => true,
    logProblems: () => 0,
    logTail: () => [],
    probeMemory: async () => null,
    stop: async () => null,
  }
}

/** The raw `ws` server (bench/raw-server.ts): the WebSocket ceiling. */
export async function startRaw(options: { nodeArgs?: string[]; cpus?: string } = {}): Promise<ServerHandle> {
  const port = await freePort()
  return startServer({
    name: 'raw',
    args: [...(options.nodeArgs ?? []), '--expose-gc', '--import', 'tsx', join('bench', 'raw-server.ts')],
    env: { PORT: String(port), HOST: '127.0.0.1' },
    port,
    ipc: true,
    healthPath: '/healthz',
    cpus: options.cpus,
  })
}

/**
 * The HTTP ceiling (bench/http-ceiling.ts): Fastify answering each route with a constant,
 * described by the JSON file `routesFile` (see CeilingRoute there).
 */
export async function startHttpCeiling(options: {
  routesFile: string
  nodeArgs?: string[]
  cpus?: string
}): Promise<ServerHandle> {
  const port = await freePort()
  return startServer({
    name: 'ceiling',
    args: [...(options.nodeArgs ?? []), '--import', 'tsx', join('bench', 'http-ceiling.ts')],
    env: { PORT: String(port), HOST: '127.0.0.1', CEILING_ROUTES: options.routesFile },
    port,
    ipc: false,
    healthPath: '/healthz',
    cpus: options.cpus,
  })
}
