import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { BENCH_PASSWORD, createRooms, type Post, registerAccounts, roomSockets } from './accounts.js'
import type { BenchOptions } from './cli.js'
import type { Deployment } from './deploy.js'
import type { Generator } from './generator.js'
import { http, type ServerHandle } from './lib.js'
import type { AccountsFile, ConnectResult, SocketSpec } from './messages.js'

// The sockets of a run: the accounts and rooms behind them (not measured), which node and which
// generator each socket belongs to, and connecting them all.

export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

/** POSTs to a server over HTTP, for the shared account and room setup (accounts.ts). */
const postTo =
  (server: ServerHandle): Post =>
  async (path, body, token) =>
    (await http('POST', `${server.httpUrl}${path}`, body, token)).json

export const registerUsers = (server: ServerHandle, count: number, log: (line: string) => void) =>
  registerAccounts(postTo(server), count, (line) => log(`  ${line}`))

/**
 * Accounts in rooms of `roomSize` (the first member of each room creates the group), registered
 * here, or with `--accounts` read from the file `npm run bench:setup` wrote into the server's database.
 */
export async function setupParley(
  options: BenchOptions,
  server: ServerHandle,
  log: (line: string) => void,
): Promise<SocketSpec[]> {
  let file: AccountsFile
  if (options.accounts) {
    file = JSON.parse(readFileSync(options.accounts, 'utf8')) as AccountsFile
    log(`  accounts and rooms from ${options.accounts}`)
  } else {
    const accounts = await registerUsers(server, options.users, log)
    const rooms = await createRooms(postTo(server), accounts, options.roomSize, (line) => log(`  ${line}`))
    file = { password: BENCH_PASSWORD, users: accounts, rooms }
  }
  return roomSockets(file, Math.floor(options.users / options.roomSize) * options.roomSize)
}

export function setupRaw(options: BenchOptions): SocketSpec[] {
  const rooms = Math.floor(options.users / options.roomSize)
  return Array.from({ length: rooms * options.roomSize }, (_, i) => ({
    token: 'raw',
    conversationId: Math.floor(i / options.roomSize) + 1,
  }))
}

/**
 * Socket i goes to node i % nodes: the specs come room by room, so with several nodes the members
 * of every room sit on different nodes and each message crosses the bus.
 */
export function spreadOverNodes(specs: SocketSpec[], nodes: number): SocketSpec[] {
  return specs.map((spec, i) => ({ ...spec, node: i % nodes }))
}

/** Splits sockets over the generators by conversation, so each generator sees whole rooms. */
export function partition(specs: SocketSpec[], count: number): SocketSpec[][] {
  const parts: SocketSpec[][] = Array.from({ length: count }, () => [])
  const order = [...new Set(specs.map((s) => s.conversationId))]
  const slot = new Map(order.map((id, i) => [id, i % count]))
  for (const s of specs) parts[slot.get(s.conversationId) ?? 0].push(s)
  return parts
}

/** Source addresses 127.0.0.x for the client sockets: one per 5,000 sockets, or `wanted`. */
function localAddresses(sockets: number, wanted: number): string[] {
  const count = wanted || (sockets > 5000 ? Math.ceil(sockets / 5000) : 0)
  return Array.from({ length: Math.min(count, 250) }, (_, i) => `127.0.0.${i + 1}`)
}

/** Connects (and with `join`, joins) every generator's part, each socket to its node. */
export async function connectAll(
  options: BenchOptions,
  target: Deployment,
  gens: Generator[],
  parts: SocketSpec[][],
  join: boolean,
  concurrency: number,
): Promise<ConnectResult> {
  const addresses = localAddresses(parts.flat().length, options.localAddresses)
  const started = performance.now()
  const results = await Promise.all(
    gens.map((g, i) =>
      g.request<ConnectResult>(
        {
          cmd: 'connect',
          urls: target.nodes.map((n) => n.wsUrl),
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
  return {
    evt: 'connected',
    requested: sum(results.map((r) => r.requested)),
    open: sum(results.map((r) => r.open)),
    failed: sum(results.map((r) => r.failed)),
    joinErrors: sum(results.map((r) => r.joinErrors)),
    wallMs: performance.now() - started,
    connectP50: Math.max(...results.map((r) => r.connectP50)),
    connectP99: Math.max(...results.map((r) => r.connectP99)),
    connectMax: Math.max(...results.map((r) => r.connectMax)),
    firstErrors: results.flatMap((r) => r.firstErrors).slice(0, 5),
  }
}
