// The IPC messages between the orchestrator (bench/run.ts and its modes) and a load generator
// (bench/loadgen.ts).

export interface SocketSpec {
  token: string
  conversationId: number
  /** Index into ConnectCommand.urls: the node this socket connects to (default 0). */
  node?: number
}

export interface ConnectCommand {
  cmd: 'connect'
  /** ws://127.0.0.1:<port>/ws of each node (one server: one URL). */
  urls: string[]
  sockets: SocketSpec[]
  /** Local addresses to bind client sockets to, round robin (127.0.0.x), to spread ephemeral ports. */
  localAddresses: string[]
  /** Upgrades in flight at once. */
  concurrency: number
  /** Send `join` for the socket's conversation and wait for `recent_messages`. */
  join: boolean
  timeoutMs: number
}

export interface StepCommand {
  cmd: 'step'
  step: number
  /** Aggregate messages/s this generator offers (open loop, fixed timetable). */
  rate: number
  durationMs: number
  /** After the last send, wait at most this long for the outstanding acks and deliveries. */
  drainMs: number
  contentBytes: number
}

export interface HoldCommand {
  cmd: 'hold'
  durationMs: number
  /** Each socket sends `ping` this often (0: no heartbeats). */
  pingIntervalMs: number
}

export type ToLoadgen = ConnectCommand | StepCommand | HoldCommand | { cmd: 'close' }

export interface ConnectResult {
  evt: 'connected'
  requested: number
  open: number
  failed: number
  joinErrors: number
  wallMs: number
  /** Upgrade to `ready` (and `recent_messages` when joining), milliseconds. */
  connectP50: number
  connectP99: number
  connectMax: number
  firstErrors: string[]
}

export interface StepResult {
  evt: 'step'
  step: number
  targetRate: number
  sent: number
  /** First scheduled send to last actual send, seconds. */
  sendSeconds: number
  acked: number
  /** Acks counted from the first scheduled send to the last ack, per second. */
  ackedPerSec: number
  expectedDeliveries: number
  delivered: number
  deliveriesPerSec: number
  duplicates: number
  /** `message` frames of an earlier step that arrived during this one. */
  stale: number
  /** Messages whose every expected recipient got them. */
  fullyDelivered: number
  /** End-to-end latency, scheduled send to receipt by each member, HDR histogram (µs), base64. */
  latency: string
  /** Scheduled send to `ack`, µs, base64. */
  ackLatency: string
  /** Actual minus scheduled send time (the generator's own lag), µs, base64. */
  sendLag: string
  errors: Record<string, number>
  closes: Record<string, number>
  /** User+system CPU of the generator over the step, percent of one core. */
  cpuPercent: number
  /** The generator's event-loop delay p99 over the step, ms. */
  loopDelayP99: number
  wallSeconds: number
  /** Worst end-to-end latency per 250 ms of scheduled send time, ms. */
  timelineMax: number[]
}

export interface HoldResult {
  evt: 'held'
  open: number
  pingsSent: number
  pongs: number
  closes: Record<string, number>
  errors: Record<string, number>
  cpuPercent: number
}

export type FromLoadgen =
  | ConnectResult
  | StepResult
  | HoldResult
  | { evt: 'closed' }
  | { evt: 'fatal'; error: string }

/** What `npm run bench:setup` writes and `npm run bench -- --accounts <file>` reads. */
export interface AccountsFile {
  /** Every account's password (they are benchmark accounts). */
  password: string
  users: Array<{ id: number; username: string; token: string }>
  /** One conversation per room of `--room-size` consecutive users, created by the first of them. */
  rooms: Array<{ conversation_id: number; member_ids: number[] }>
}
