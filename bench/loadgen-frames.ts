import { performance } from 'node:perf_hooks'
import * as hdr from 'hdr-histogram-js'
import type WebSocket from 'ws'
import type { SocketSpec } from './messages.js'

// The load generator's state and its hot path: every incoming frame is matched by substring, not
// JSON.parse, to keep the generator's own CPU low (bench/loadgen.ts drives it).

export interface Sock {
  index: number
  ws: WebSocket
  spec: SocketSpec
  /** Sockets of the same conversation held by this generator (the expected recipients). */
  roomSize: number
  open: boolean
  onControl?: (frame: Record<string, unknown>) => void
}

export interface Step {
  needle: string
  scheduled: Float64Array
  deliveries: Uint8Array
  acked: Uint8Array
  expected: Uint8Array
  latency: hdr.Histogram
  ackLatency: hdr.Histogram
  sendLag: hdr.Histogram
  delivered: number
  ackCount: number
  duplicates: number
  stale: number
  lastDelivery: number
  lastAck: number
  start: number
  /** Per 250 ms of scheduled send time: the worst end-to-end latency, ms. */
  timelineMax: Float64Array
}

/** What the generator holds and counts between commands. */
export const state = {
  sockets: [] as Sock[],
  current: null as Step | null,
  lastNeedlePrefix: '',
  pongs: 0,
  errors: {} as Record<string, number>,
  closes: {} as Record<string, number>,
}

export const histogram = () =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  })

export const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1
}

/** Empties the error and close counts, before a step or a hold. */
export function resetCounts() {
  for (const key of Object.keys(state.errors)) delete state.errors[key]
  for (const key of Object.keys(state.closes)) delete state.closes[key]
}

const MESSAGE = '"type":"message"'
const ACK = '"type":"ack"'
const ERROR = '"type":"error"'
const PONG = '"type":"pong"'

function readSeq(s: string, from: number): number {
  let seq = 0
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) break
    seq = seq * 10 + (c - 48)
  }
  return seq
}

export function onFrame(sock: Sock, data: Buffer) {
  // Only ASCII is searched for; latin1 decoding is the cheapest.
  const s = data.toString('latin1')
  const step = state.current
  if (step) {
    const k = s.indexOf(step.needle)
    if (k >= 0) {
      const seq = readSeq(s, k + step.needle.length)
      const now = performance.now()
      if (s.indexOf(MESSAGE) >= 0) {
        const micros = Math.max(1, Math.round((now - step.scheduled[seq]) * 1000))
        step.latency.recordValue(micros)
        const bucket = Math.floor((step.scheduled[seq] - step.start) / 250)
        if (bucket >= 0 && bucket < step.timelineMax.length && micros / 1000 > step.timelineMax[bucket]) {
          step.timelineMax[bucket] = micros / 1000
        }
        step.deliveries[seq]++
        if (step.deliveries[seq] > step.expected[seq]) step.duplicates++
        else step.delivered++
        step.lastDelivery = now
      } else if (s.indexOf(ACK) >= 0) {
        if (step.acked[seq] === 0) {
          step.acked[seq] = 1
          step.ackCount++
          step.ackLatency.recordValue(Math.max(1, Math.round((now - step.scheduled[seq]) * 1000)))
          step.lastAck = now
        }
      }
      return
    }
    if (state.lastNeedlePrefix && s.indexOf(MESSAGE) >= 0 && s.indexOf(state.lastNeedlePrefix) >= 0) {
      step.stale++
      return
    }
  }
  if (s.indexOf(PONG) >= 0 && !sock.onControl) {
    state.pongs++
    return
  }
  if (s.indexOf(ERROR) >= 0) {
    try {
      const frame = JSON.parse(data.toString())
      bump(state.errors, String(frame.code))
    } catch {
      bump(state.errors, 'UNPARSEABLE')
    }
  }
  if (sock.onControl) {
    try {
      sock.onControl(JSON.parse(data.toString()))
    } catch {
      // a control frame that is not JSON: ignored; the connect timeout reports it
    }
  }
}
