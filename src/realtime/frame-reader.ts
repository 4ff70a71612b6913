import type { RawData } from 'ws'
import { WebSocket } from 'ws'
import { malformedJson } from '../validation-messages.js'

// Reading one client frame: size, UTF-8, JSON, an object, its ref. Kept apart from the socket's
// wiring so a refused frame (rate limit) can still be answered with its ref.

/** A frame over 64 KiB closes the socket with 1009 (ws does it; ParleySocket gives the reason). */
export const MAX_FRAME_BYTES = 64 * 1024

const TOO_BIG_REASON = 'frame over 64 KiB: split it or upload the content as a file'

/**
 * The sockets' class: ws closes a socket whose frame is over maxPayload with 1009 and no reason;
 * this one says why.
 */
export class ParleySocket extends WebSocket {
  override close(code?: number, reason?: string | Buffer): void {
    super.close(code, code === 1009 && !reason ? TOO_BIG_REASON : reason)
  }
}

/** Text frames are checked here, not by ws (which would close the socket with 1007). */
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A frame that is a JSON object, not checked against any schema yet. */
export type FrameObject = { type?: unknown; ref?: unknown; [field: string]: unknown }

export type ReadFrame =
  | { ok: true; value: FrameObject; ref: string | undefined }
  | { ok: false; ref: string | undefined; message: string }

/** The frame as a JSON object with its ref (when it has a usable one), or why it is not one. */
export function readFrame(data: RawData, isBinary: boolean): ReadFrame {
  if (isBinary) return { ok: false, ref: undefined, message: 'Frames are JSON text, not binary' }
  let text: string
  try {
    text = utf8.decode(data as Buffer)
  } catch {
    return { ok: false, ref: undefined, message: 'Malformed text: a frame is UTF-8 JSON' }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return { ok: false, ref: undefined, message: malformedJson(text, error as Error) }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, ref: undefined, message: 'A frame is a JSON object with a type' }
  }
  const frame = value as FrameObject
  const ref = typeof frame.ref === 'string' && frame.ref.length <= 64 ? frame.ref : undefined
  return { ok: true, value: frame, ref }
}

/**
 * A token bucket per socket: `rate` frames a second, bursts of twice that. Frames beyond it get
 * RATE_LIMITED; more than a second's worth of refused frames within a second closes with 1008.
 */
export class FrameLimiter {
  private tokens: number
  private last = Date.now()
  private refusedWindowStart = 0
  private refused = 0

  constructor(private readonly rate: number) {
    this.tokens = rate * 2
  }

  take(now = Date.now()): 'ok' | 'limited' | 'close' {
    this.tokens = Math.min(this.rate * 2, this.tokens + ((now - this.last) / 1000) * this.rate)
    this.last = now
    if (this.tokens >= 1) {
      this.tokens -= 1
      return 'ok'
    }
    if (now - this.refusedWindowStart > 1000) {
      this.refusedWindowStart = now
      this.refused = 0
    }
    return ++this.refused > this.rate ? 'close' : 'limited'
  }
}
