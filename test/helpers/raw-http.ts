import { connect, type Socket } from 'node:net'

/** A bare TCP connection to a listening app: for requests no HTTP client would send. */
export interface RawConnection {
  socket: Socket
  /** Everything the server has sent so far. */
  received(): string
  /** Resolves with what was received once the first bytes arrive, or '' if the server closes first. */
  firstReply: Promise<string>
  /** Resolves when the server (or the network) closes the connection. */
  closed: Promise<void>
}

export async function openRaw(httpUrl: string): Promise<RawConnection> {
  const { hostname, port } = new URL(httpUrl)
  const socket = connect(Number(port), hostname)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.on('error', () => {})
  let text = ''
  const firstReply = new Promise<string>((resolve) => {
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1')
      resolve(text)
    })
    socket.once('close', () => resolve(text))
  })
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  return { socket, received: () => text, firstReply, closed }
}

/** Resolves `true` when `promise` settles first, `false` after `ms` (a bound, so a broken server fails rather than hangs). */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    promise.then(() => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
