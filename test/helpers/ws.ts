import WebSocket from 'ws'

export interface Frame {
  type: string
  ref?: string
  [key: string]: unknown
}

/** A real `ws` client that records every frame and can wait for the one a test expects. */
export class TestSocket {
  readonly frames: Frame[] = []
  closeCode: number | undefined
  private waiters: Array<{ match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }> = []
  private readonly closed: Promise<number>
  private refs = 0
  private readonly taken = new Set<Frame>()

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame
      this.frames.push(frame)
      const waiter = this.waiters.find((w) => w.match(frame))
      if (!waiter) return
      this.waiters.splice(this.waiters.indexOf(waiter), 1)
      this.taken.add(frame)
      waiter.resolve(frame)
    })
    this.closed = new Promise((resolve) =>
      socket.on('close', (code) => {
        this.closeCode = code
        resolve(code)
      }),
    )
  }

  send(frame: object | string): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** Sends a frame with a fresh ref and waits for the reply carrying it. */
  async request(frame: object, timeoutMs = 5000): Promise<Frame> {
    const ref = `r${++this.refs}`
    const reply = this.next((f) => f.ref === ref, timeoutMs)
    this.send({ ...frame, ref })
    return reply
  }

  /** The first frame (already received, or yet to come) that matches and was not taken before. */
  next(match: ((frame: Frame) => boolean) | string, timeoutMs = 5000): Promise<Frame> {
    const predicate = typeof match === 'string' ? (frame: Frame) => frame.type === match : match
    const earlier = this.frames.find((frame) => !this.taken.has(frame) && predicate(frame))
    if (earlier) {
      this.taken.add(earlier)
      return Promise.resolve(earlier)
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms`)), timeoutMs)
      this.waiters.push({
        match: predicate,
        resolve: (frame) => {
          clearTimeout(timer)
          resolve(frame)
        },
      })
    })
  }

  /** Frames of a type received so far. */
  ofType(type: string): Frame[] {
    return this.frames.filter((frame) => frame.type === type)
  }

  /** Waits a little and asserts nothing matching arrives; returns what did. */
  async quiet(match: (frame: Frame) => boolean, ms = 300): Promise<Frame[]> {
    const before = this.frames.length
    await new Promise((resolve) => setTimeout(resolve, ms))
    return this.frames.slice(before).filter(match)
  }

  close(): Promise<number> {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close()
    return this.whenClosed()
  }

  whenClosed(): Promise<number> {
    return this.closed
  }
}

/** Opens a socket with a bearer token and waits for `ready`. */
export async function connect(
  url: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<TestSocket> {
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}`, ...headers } })
  const client = new TestSocket(socket)
  const ready = client.next('ready')
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
  })
  await ready
  return client
}

/** Tries an upgrade and returns the HTTP status it was refused with (or 101). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers })
    socket.once('open', () => {
      socket.close()
      resolve(101)
    })
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      socket.terminate()
    })
    socket.once('error', reject)
  })
}
