import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
export const ROOT = dirname(BENCH_DIR)

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>) {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index], index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`)
  }
}

export async function http<T>(
  method: string,
  url: string,
  body?: unknown,
  token?: string,
  timeoutMs = 30_000,
): Promise<{ status: number; json: T }> {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  })
  const text = await res.text()
  if (res.status >= 300) throw new HttpError(res.status, text, `${method} ${new URL(url).pathname}`)
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T }
}

export async function waitForHttp(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = performance.now() + timeoutMs
  let last = ''
  while (performance.now() < deadline) {
    if (!alive()) throw new Error(`server exited before answering ${url}`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      if (res.status === 200) return
      last = `HTTP ${res.status}`
    } catch (error) {
      last = error instanceof Error ? error.message : String(error)
    }
    await sleep(200)
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms (${last})`)
}

// ---- /proc sampling -------------------------------------------------------------------------

const CLK_TCK = 100

/**
 * utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat); with
 * `mainThreadOnly`, of its main thread alone (/proc/<pid>/task/<pid>/stat), the one that runs JS.
 */
export function cpuTicks(pid: number, mainThreadOnly = false): number {
  const stat = readFileSync(mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(fields[11]) + Number(fields[12])
}

/**
 * TCP data segments sent so far by the sockets on a local port (`data_segs_out` of `ss -ti`,
 * summed), or NaN when `ss` cannot tell. On loopback one socket write leaves as one segment, so
 * frames per segment show how much a server coalesces its writes (raw ws: one write per frame).
 */
export function dataSegmentsOut(port: number): number {
  try {
    const out = execFileSync('ss', ['-tinH', 'state', 'established', `( sport = :${port} )`], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    })
    let total = 0
    for (const match of out.matchAll(/\bdata_segs_out:(\d+)/g)) total += Number(match[1])
    return total
  } catch {
    return Number.NaN
  }
}

/** VmRSS of a process, bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  return match ? Number(match[1]) * 1024 : 0
}

/** Busy ticks of the whole machine (all CPUs) from /proc/stat: everything but idle and iowait. */
export function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]
  const t = line.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  return t[0] + t[1] + t[2] + t[5] + t[6] + t[7]
}

/**
 * Waits (at most `limitMs`) until the rest of the machine uses under `threshold` percent of a core
 * over a second: other jobs skew the figures. Returns the seconds waited and the last busy share.
 */
export async function waitUntilQuiet(
  limitMs: number,
  threshold: number,
): Promise<{ waitedS: number; busy: number }> {
  const started = performance.now()
  let busy = 0
  for (let i = 0; i < 600; i++) {
    const t0 = machineBusyTicks()
    await sleep(1000)
    busy = machineBusyTicks() - t0
    if (busy < threshold || performance.now() - started >= limitMs) break
  }
  return { waitedS: (performance.now() - started) / 1000 - 1, busy }
}

export interface ProcSample {
  cpuPercent: number
  /** The main thread alone (the event loop): near 100 it is the bottleneck, whatever the rest. */
  mainThreadCpuPercent: number
  /** TCP data segments the server's sockets sent in the window (see dataSegmentsOut), NaN if unknown. */
  segments: number
  segmentsPerSec: number
  /** All processes on the machine, percent of one core (2 cores: up to 200). */
  machineBusyPercent: number
  rssMaxBytes: number
  rssEndBytes: number
}

/** Samples a process's RSS every 250 ms and its CPU over the whole window. */
export class ProcSampler {
  private ticks0 = 0
  private mainTicks0 = 0
  private segments0 = Number.NaN
  private machine0 = 0
  private wall0 = 0
  private rssMax = 0
  private timer: NodeJS.Timeout | undefined

  /** With `port`, also counts the data segments its sockets send. */
  constructor(
    private readonly pid: number,
    private readonly port?: number,
  ) {}

  start(): void {
    this.ticks0 = cpuTicks(this.pid)
    this.mainTicks0 = cpuTicks(this.pid, true)
    if (this.port !== undefined) this.segments0 = dataSegmentsOut(this.port)
    this.machine0 = machineBusyTicks()
    this.wall0 = performance.now()
    this.rssMax = rssBytes(this.pid)
    this.timer = setInterval(() => {
      try {
        this.rssMax = Math.max(this.rssMax, rssBytes(this.pid))
      } catch {
        // the process is gone; stop() reports what was seen
      }
    }, 250)
  }

  stop(): ProcSample {
    clearInterval(this.timer)
    const wallSeconds = (performance.now() - this.wall0) / 1000
    let ticks = this.ticks0
    let mainTicks = this.mainTicks0
    let rssEnd = 0
    try {
      ticks = cpuTicks(this.pid)
      mainTicks = cpuTicks(this.pid, true)
      rssEnd = rssBytes(this.pid)
    } catch {
      // gone
    }
    this.rssMax = Math.max(this.rssMax, rssEnd)
    const segments = this.port === undefined ? Number.NaN : dataSegmentsOut(this.port)
    return {
      cpuPercent: ((ticks - this.ticks0) / CLK_TCK / wallSeconds) * 100,
      mainThreadCpuPercent: ((mainTicks - this.mainTicks0) / CLK_TCK / wallSeconds) * 100,
      segments: segments - this.segments0,
      segmentsPerSec: (segments - this.segments0) / wallSeconds,
      machineBusyPercent: ((machineBusyTicks() - this.machine0) / CLK_TCK / wallSeconds) * 100,
      rssMaxBytes: this.rssMax,
      rssEndBytes: rssEnd,
    }
  }
}

// ---- child processes -------------------------------------------------------------------------

export interface ServerHandle {
  name: string
  pid: number
  port: number
  httpUrl: string
  wsUrl: string
  alive(): boolean
  /** Warn/error log lines seen so far (pino level >= 40, or any stderr line). */
  logProblems(): number
  logTail(): string[]
  /** The server's memory right after a full GC (idle mode's heap probe), or null. */
  probeMemory(): Promise<NodeJS.MemoryUsage | null>
  stop(): Promise<number | null>
}

export interface StartOptions {
  name: string
  args: string[]
  env: Record<string, string>
  port: number
  ipc: boolean
  healthPath: string
  /** Pins the process and every thread it starts to these CPUs (`taskset -c`, e.g. "1"). */
  cpus?: string
}

export async function startServer(options: StartOptions): Promise<ServerHandle> {
  // taskset execs node: the pid stays the server's, and its later threads inherit the affinity.
  const [command, args]: [string, string[]] = options.cpus
    ? ['taskset', ['-c', options.cpus, process.execPath, ...options.args]]
    : [process.execPath, options.args]
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  })
  let exited = false
  let exitCode: number | null = null
  const exitPromise = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true
      exitCode = code ?? (signal ? 128 : null)
      resolve(exitCode)
    })
  })
  const tail: string[] = []
  let problems = 0
  const watch = (stream: NodeJS.ReadableStream | null, isStderr: boolean) => {
    let buffer = ''
    stream?.setEncoding('utf8')
    stream?.on('data', (chunk: string) => {
      buffer += chunk
      let nl = buffer.indexOf('\n')
      while (nl >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        nl = buffer.indexOf('\n')
        if (!line.trim()) continue
        let problem = isStderr
        const level = /"level":(\d+)/.exec(line)
        if (level) problem = Number(level[1]) >= 40
        if (problem) {
          problems++
          tail.push(line.slice(0, 500))
          if (tail.length > 20) tail.shift()
        }
      }
      if (buffer.length > 100_000) buffer = ''
    })
  }
  watch(child.stdout, false)
  watch(child.stderr, true)
  const base = `http://127.0.0.1:${options.port}`
  const handle: ServerHandle = {
    name: options.name,
    pid: child.pid ?? 0,
    port: options.port,
    httpUrl: base,
    wsUrl: `ws://127.0.0.1:${options.port}/ws`,
    alive: () => !exited,
    logProblems: () => problems,
    logTail: () => [...tail],
    probeMemory: () => probe(child),
    async stop() {
      if (exited) return exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const code = await exitPromise
      clearTimeout(timer)
      return code
    },
  }
  try {
    await waitForHttp(`${base}${options.healthPath}`, 60_000, handle.alive)
  } catch (error) {
    await handle.stop()
    throw new Error(
      `${options.name} did not start: ${error instanceof Error ? error.message : error}\n${tail.join('\n')}`,
    )
  }
  return handle
}

function probe(child: ChildProcess): Promise<NodeJS.MemoryUsage | null> {
  if (!child.send || !child.connected) return Promise.resolve(null)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage)
      resolve(null)
    }, 10_000)
    const onMessage = (msg: { probe?: string; memory?: NodeJS.MemoryUsage }) => {
      if (msg?.probe !== 'memory') return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolve(msg.memory ?? null)
    }
    child.on('message', onMessage)
    child.send({ probe: 'memory' })
  })
}

export const mb = (bytes: number) => bytes / 1024 / 1024
export const fmt = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits)
export const int = (value: number | null | undefined) =>
  value === null || value === undefined || !Number.isFinite(value)
    ? '—'
    : Math.round(value).toLocaleString('en-US')
/** A rate: whole numbers, but a decimal below 10 (a slow route's 0.4/s is not 0). */
export const rate = (value: number | null | undefined) =>
  value !== null && value !== undefined && Math.abs(value) < 10 ? fmt(value, 1) : int(value)
