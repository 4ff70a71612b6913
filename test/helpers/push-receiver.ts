import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

// A push service in the test process, as a browser's would be: it takes what the app POSTs to a
// device's endpoint, checks the VAPID JWT (RFC 8292: ES256 signature by the key in `k`, `aud` the
// endpoint's origin, `sub`, `exp`), and decrypts the payload with the device's private key and
// auth secret (RFC 8291, aes128gcm) the way the browser does. Its answers are scripted per test.

export interface Device {
  id: string
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } }
  privateKey: Buffer
  publicKey: Buffer
  authSecret: Buffer
}

export interface Received {
  device: string
  /** The decrypted payload, parsed. */
  // biome-ignore lint/suspicious/noExplicitAny: payloads of the contract's shape, read by the tests
  payload: any
  /** The VAPID claims, after the signature was checked. */
  claims: { aud: string; sub: string; exp: number }
  /** The VAPID public key the request was signed with (base64url). */
  vapidKey: string
  at: number
}

export type Answer = { status: number; headers?: Record<string, string> }

export interface PushReceiver {
  origin: string
  device(): Device
  received: Received[]
  /** Every request, answered or not: the device and its status. */
  requests: Array<{ device: string; status: number; at: number }>
  /** The answer to each request (201 by default); called before decrypting. */
  answer: (device: string, attempt: number) => Answer
  /** Resolves when `predicate` holds for what was received so far. */
  waitFor(predicate: (received: Received[]) => boolean, what: string, timeoutMs?: number): Promise<void>
  /** Problems found in requests (bad signature, undecryptable body): each test asserts none. */
  problems: string[]
  close(): Promise<void>
}

const b64u = (buffer: Buffer) => buffer.toString('base64url')

/** RFC 8291 aes128gcm decryption of one record, as a user agent does it. */
export function decryptPayload(
  body: Buffer,
  device: Pick<Device, 'privateKey' | 'publicKey' | 'authSecret'>,
) {
  const salt = body.subarray(0, 16)
  const idLength = body.readUInt8(20)
  const serverPublic = body.subarray(21, 21 + idLength)
  const record = body.subarray(21 + idLength)
  const ecdh = createECDH('prime256v1')
  ecdh.setPrivateKey(device.privateKey)
  const shared = ecdh.computeSecret(serverPublic)
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), device.publicKey, serverPublic])
  const ikm = Buffer.from(hkdfSync('sha256', shared, device.authSecret, keyInfo, 32))
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16))
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12))
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce)
  decipher.setAuthTag(record.subarray(record.length - 16))
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()])
  let end = padded.length - 1
  while (end >= 0 && padded[end] === 0) end--
  if (padded[end] !== 2) throw new Error('last record without its 0x02 delimiter')
  return padded.subarray(0, end).toString('utf8')
}

/** Checks `Authorization: vapid t=<jwt>, k=<key>`; returns the claims and key, or throws. */
export function verifyVapid(header: string | undefined) {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '')
  if (!match) throw new Error(`no VAPID authorization: ${header}`)
  const [, jwt, k] = match as unknown as [string, string, string]
  const [head, claims, signature] = jwt.split('.') as [string, string, string]
  const raw = Buffer.from(k, 'base64url')
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33, 65)) },
    format: 'jwk',
  })
  const ok = verify(
    'sha256',
    Buffer.from(`${head}.${claims}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  )
  if (!ok) throw new Error('VAPID signature does not verify')
  if (JSON.parse(Buffer.from(head, 'base64url').toString()).alg !== 'ES256')
    throw new Error('alg is not ES256')
  return { claims: JSON.parse(Buffer.from(claims, 'base64url').toString()), vapidKey: k }
}

function bodyOf(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks)))
    request.on('error', reject)
  })
}

export async function startPushReceiver(): Promise<PushReceiver> {
  const devices = new Map<string, Device>()
  const attempts = new Map<string, number>()
  let counter = 0
  const waiters = new Set<() => void>()
  const receiver: PushReceiver = {
    origin: '',
    received: [],
    requests: [],
    problems: [],
    answer: () => ({ status: 201 }),
    device() {
      const ecdh = createECDH('prime256v1')
      ecdh.generateKeys()
      const id = `d${++counter}`
      const device: Device = {
        id,
        privateKey: ecdh.getPrivateKey(),
        publicKey: ecdh.getPublicKey(),
        authSecret: randomBytes(16),
        subscription: { endpoint: '', keys: { p256dh: '', auth: '' } },
      }
      device.subscription = {
        endpoint: `${receiver.origin}/push/${id}`,
        keys: { p256dh: b64u(device.publicKey), auth: b64u(device.authSecret) },
      }
      devices.set(id, device)
      return device
    },
    waitFor(predicate, what, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (receiver.problems.length > 0) {
            clearTimeout(timer)
            waiters.delete(check)
            reject(new Error(`push receiver: ${receiver.problems.join('; ')}`))
            return
          }
          if (!predicate(receiver.received)) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve()
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(
            new Error(
              `push receiver: timed out waiting for ${what}; got ${JSON.stringify(receiver.received.map((r) => r.payload))}`,
            ),
          )
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    async close() {
      await new Promise((resolve) => server.close(resolve))
    },
  }
  const server = createServer(async (request, response) => {
    const body = await bodyOf(request)
    const id = /^\/push\/(\w+)$/.exec(request.url ?? '')?.[1] ?? ''
    const device = devices.get(id)
    if (!device || request.method !== 'POST') {
      response.writeHead(404).end()
      return
    }
    const attempt = (attempts.get(id) ?? 0) + 1
    attempts.set(id, attempt)
    const answer = receiver.answer(id, attempt)
    receiver.requests.push({ device: id, status: answer.status, at: Date.now() })
    if (answer.status >= 200 && answer.status < 300) {
      try {
        if (request.headers['content-encoding'] !== 'aes128gcm') throw new Error('not aes128gcm')
        if (!request.headers.ttl) throw new Error('no TTL header')
        const { claims, vapidKey } = verifyVapid(request.headers.authorization)
        if (claims.aud !== receiver.origin) throw new Error(`aud ${claims.aud} is not ${receiver.origin}`)
        if (!(claims.exp > Date.now() / 1000)) throw new Error('exp is past')
        const payload = JSON.parse(decryptPayload(body, device))
        receiver.received.push({ device: id, payload, claims, vapidKey, at: Date.now() })
      } catch (error) {
        receiver.problems.push(String(error))
      }
    }
    response.writeHead(answer.status, answer.headers).end()
    for (const waiter of [...waiters]) waiter()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return receiver
}
