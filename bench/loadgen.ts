import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import * as hdr from 'hdr-histogram-js'
import WebSocket from 'ws'
import { bump, histogram, onFrame, resetCounts, type Sock, type Step, state } from './loadgen-frames.js'
import type {
  ConnectCommand,
  ConnectResult,
  FromLoadgen,
  HoldCommand,
  HoldResult,
  SocketSpec,
  StepCommand,
  StepResult,
  ToLoadgen,
} from './messages.js'

// The load generator: its own process, forked by bench/generator.ts and driven over IPC. It holds the
// sockets, sends `send_message` on a fixed open-loop timetable and measures every delivery from
// the message's *scheduled* send time (so a stalled server or generator cannot hide latency:
// no coordinated omission). Frames are counted in bench/loadgen-frames.ts.

if (!process.send) {
  console.error('bench/loadgen.ts is started by the bench (it needs an IPC channel)')
  process.exit(1)
}

const send = (msg: FromLoadgen) => process.send?.(msg)

const LOOP_RESOLUTION_MS = 10
const { sockets, errors, closes } = state

function openSocket(
  cmd: ConnectCommand,
  index: number,
  spec: SocketSpec,
): Promise<{ sock: Sock | null; ms: number; error?: string; joinError?: boolean }> {
  const started = performance.now()
  return new Promise((resolve) => {
    const url = cmd.urls[spec.node ?? 0] ?? cmd.urls[0]
    const localAddress = cmd.localAddresses.length
      ? cmd.localAddresses[index % cmd.localAddresses.length]
      : undefined
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${spec.token}` },
      perMessageDeflate: false,
      skipUTF8Validation: true,
      handshakeTimeout: cmd.timeoutMs,
      // An all-zero mask is legal and lets ws skip masking: less generator CPU per send.
      generateMask: (mask: Buffer) => {
        mask.fill(0)
      },
      ...(localAddress ? { localAddress } : {}),
    })
    const sock: Sock = { index, ws, spec, roomSize: 0, open: false }
    let settled = false
    const done = (error?: string, joinError?: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      sock.onControl = undefined
      if (error && !joinError) {
        ws.terminate()
        resolve({ sock: null, ms: performance.now() - started, error })
      } else {
        resolve({ sock, ms: performance.now() - started, error, joinError })
      }
    }
    const timer = setTimeout(() => done('timeout'), cmd.timeoutMs)
    const ref = `j${index}`
    sock.onControl = (frame) => {
      if (frame.type === 'ready') {
        sock.open = true
        if (!cmd.join) return done()
        ws.send(JSON.stringify({ type: 'join', ref, conversation_id: spec.conversationId, limit: 1 }))
      } else if (frame.type === 'recent_messages' && frame.ref === ref) {
        done()
      } else if (frame.type === 'error' && frame.ref === ref) {
        done(`join error ${String(frame.code)}`, true)
      }
    }
    ws.on('message', (data, isBinary) => {
      if (!isBinary) onFrame(sock, data as Buffer)
    })
    ws.on('unexpected-response', (_req, res) => done(`HTTP ${res.statusCode}`))
    ws.on('error', (error) => done(error.message))
    ws.on('close', (code) => {
      if (sock.open) bump(closes, String(code))
      sock.open = false
      done(`closed ${code}`)
    })
  })
}

async function connect(cmd: ConnectCommand): Promise<ConnectResult> {
  const started = performance.now()
  const times = histogram()
  let next = 0
  let failed = 0
  let joinErrors = 0
  const firstErrors: string[] = []
  const worker = async () => {
    while (next < cmd.sockets.length) {
      const index = next++
      const result = await openSocket(cmd, index, cmd.sockets[index])
      times.recordValue(Math.max(1, Math.round(result.ms * 1000)))
      if (result.error && firstErrors.length < 5) firstErrors.push(result.error)
      if (result.joinError) joinErrors++
      if (result.sock) sockets.push(result.sock)
      else failed++
    }
  }
  await Promise.all(Array.from({ length: Math.min(cmd.concurrency, cmd.sockets.length) }, worker))
  const perRoom = new Map<number, number>()
  for (const s of sockets) perRoom.set(s.spec.conversationId, (perRoom.get(s.spec.conversationId) ?? 0) + 1)
  for (const s of sockets) s.roomSize = perRoom.get(s.spec.conversationId) ?? 0
  return {
    evt: 'connected',
    requested: cmd.sockets.length,
    open: sockets.filter((s) => s.open).length,
    failed,
    joinErrors,
    wallMs: performance.now() - started,
    connectP50: times.getValueAtPercentile(50) / 1000,
    connectP99: times.getValueAtPercentile(99) / 1000,
    connectMax: times.maxValue / 1000,
    firstErrors,
  }
}

/** Senders in an order that rotates through the conversations: member 0 of each, then member 1... */
function senderOrder(): Sock[] {
  const byRoom = new Map<number, Sock[]>()
  for (const s of sockets) {
    const list = byRoom.get(s.spec.conversationId) ?? []
    list.push(s)
    byRoom.set(s.spec.conversationId, list)
  }
  const rooms = [...byRoom.values()]
  const longest = Math.max(0, ...rooms.map((r) => r.length))
  const order: Sock[] = []
  for (let m = 0; m < longest; m++) for (const room of rooms) if (room[m]) order.push(room[m])
  return order
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function runStep(cmd: StepCommand): Promise<StepResult> {
  const senders = senderOrder().filter((s) => s.open)
  const total = Math.max(1, Math.round((cmd.rate * cmd.durationMs) / 1000))
  const tag = `b${process.pid}s${cmd.step}`
  const step: Step = {
    needle: `"client_id":"${tag}-`,
    scheduled: new Float64Array(total),
    deliveries: new Uint8Array(total),
    acked: new Uint8Array(total),
    expected: new Uint8Array(total),
    latency: histogram(),
    ackLatency: histogram(),
    sendLag: histogram(),
    delivered: 0,
    ackCount: 0,
    duplicates: 0,
    stale: 0,
    lastDelivery: 0,
    lastAck: 0,
    start: 0,
    timelineMax: new Float64Array(Math.ceil(cmd.durationMs / 250) + 1),
  }
  resetCounts()
  const padding = 'x'.repeat(Math.max(0, cmd.contentBytes))
  const interval = 1000 / cmd.rate
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  loop.enable()
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  state.current = step
  const start = performance.now() + 20
  step.start = start
  let sent = 0
  let expectedTotal = 0

  await sleep(20)
  // The timetable: message i is due at start + i * interval, whenever the loop gets to it.
  const deadline = start + cmd.durationMs + 60_000
  while (sent < total && senders.length > 0) {
    const now = performance.now()
    if (now > deadline) break
    const due = Math.min(total, Math.floor((now - start) / interval) + 1)
    while (sent < due) {
      const sock = senders[sent % senders.length]
      const scheduled = start + sent * interval
      step.scheduled[sent] = scheduled
      step.expected[sent] = sock.roomSize
      expectedTotal += sock.roomSize
      const clientId = `${tag}-${sent}`
      const content = `${clientId} ${padding}`.slice(0, Math.max(cmd.contentBytes, clientId.length))
      if (sock.ws.readyState === WebSocket.OPEN) {
        sock.ws.send(
          `{"type":"send_message","ref":"${sent}","conversation_id":${sock.spec.conversationId},"content":"${content}","client_id":"${clientId}"}`,
        )
      } else {
        bump(errors, 'GENERATOR_SOCKET_CLOSED')
      }
      step.sendLag.recordValue(Math.max(1, Math.round((performance.now() - scheduled) * 1000)))
      sent++
    }
    await sleep(1)
  }
  const lastSend = performance.now()
  const drainUntil = lastSend + cmd.drainMs
  while (performance.now() < drainUntil && (step.delivered < expectedTotal || step.ackCount < sent)) {
    await sleep(20)
  }
  const wall = performance.now() - wall0
  const cpu = process.cpuUsage(cpu0)
  loop.disable()
  state.current = null
  state.lastNeedlePrefix = `"client_id":"b${process.pid}s`

  let fullyDelivered = 0
  for (let i = 0; i < sent; i++) if (step.deliveries[i] >= step.expected[i]) fullyDelivered++
  const span = (t: number) => Math.max(0.001, (Math.max(t, lastSend) - start) / 1000)
  return {
    evt: 'step',
    step: cmd.step,
    targetRate: cmd.rate,
    sent,
    sendSeconds: Math.max(0.001, (lastSend - start) / 1000),
    acked: step.ackCount,
    ackedPerSec: step.ackCount / span(step.lastAck),
    expectedDeliveries: expectedTotal,
    delivered: step.delivered,
    deliveriesPerSec: step.delivered / span(step.lastDelivery),
    duplicates: step.duplicates,
    stale: step.stale,
    fullyDelivered,
    latency: hdr.encodeIntoCompressedBase64(step.latency),
    ackLatency: hdr.encodeIntoCompressedBase64(step.ackLatency),
    sendLag: hdr.encodeIntoCompressedBase64(step.sendLag),
    errors: { ...errors },
    closes: { ...closes },
    cpuPercent: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    // The histogram's samples include the sampling interval itself.
    loopDelayP99: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
    timelineMax: [...step.timelineMax].map((v) => Math.round(v * 100) / 100),
    wallSeconds: wall / 1000,
  }
}

async function hold(cmd: HoldCommand): Promise<HoldResult> {
  resetCounts()
  state.pongs = 0
  let pingsSent = 0
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  const open = () => sockets.filter((s) => s.open)
  if (cmd.pingIntervalMs > 0 && sockets.length > 0) {
    // Every socket pings once per interval, spread evenly over it, in 100 ms slices.
    const slices = Math.max(1, Math.round(cmd.pingIntervalMs / 100))
    let slice = 0
    while (performance.now() - wall0 < cmd.durationMs) {
      const live = open()
      for (let i = slice % slices; i < live.length; i += slices) {
        live[i].ws.send('{"type":"ping"}')
        pingsSent++
      }
      slice++
      await sleep(100)
    }
  } else {
    await sleep(cmd.durationMs)
  }
  await sleep(500)
  const wall = performance.now() - wall0
  const cpu = process.cpuUsage(cpu0)
  return {
    evt: 'held',
    open: open().length,
    pingsSent,
    pongs: state.pongs,
    closes: { ...closes },
    errors: { ...errors },
    cpuPercent: ((cpu.user + cpu.system) / 1000 / wall) * 100,
  }
}

async function close() {
  for (const s of sockets) s.ws.terminate()
  send({ evt: 'closed' })
  setTimeout(() => process.exit(0), 100)
}

process.on('message', (msg: ToLoadgen) => {
  const run = async () => {
    if (msg.cmd === 'connect') send(await connect(msg))
    else if (msg.cmd === 'step') send(await runStep(msg))
    else if (msg.cmd === 'hold') send(await hold(msg))
    else if (msg.cmd === 'close') await close()
  }
  run().catch((error) =>
    send({ evt: 'fatal', error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  )
})
process.on('disconnect', () => process.exit(0))
