import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import webpush from 'web-push'
import { hostOf, isPrivateAddress, PrivateAddressError, publicOnlyLookup } from './address-guard.js'

// One push, to one device: the payload encrypted for it (RFC 8291, aes128gcm) and signed for the
// push service (RFC 8292 VAPID), both by web-push's generateRequestDetails; sent here with
// node:http(s), so that the address guard runs in the request's own DNS lookup.

export interface PushTarget {
  endpoint: string
  p256dh: string
  auth: string
}

export interface VapidDetails {
  subject: string
  publicKey: string
  privateKey: string
}

export type PushOutcome =
  /** 2xx: the push service has it. */
  | { kind: 'sent' }
  /** 404/410: the subscription is gone (or its endpoint now leads somewhere it must not). */
  | { kind: 'gone'; status: number | undefined }
  /** 429, 5xx, a network error or a timeout: try again later (after `retryAfterMs`, if said). */
  | { kind: 'retry'; status: number | undefined; retryAfterMs: number | undefined }
  /** Any other answer: this push will never be taken. */
  | { kind: 'refused'; status: number }

export interface SendOptions {
  vapid: VapidDetails
  allowPrivate: boolean
  timeoutMs: number
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (!value) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

export async function sendPush(
  target: PushTarget,
  payload: string,
  options: SendOptions,
): Promise<PushOutcome> {
  let details: ReturnType<typeof webpush.generateRequestDetails>
  try {
    details = webpush.generateRequestDetails(
      { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
      payload,
      { vapidDetails: options.vapid, TTL: 24 * 3600, contentEncoding: 'aes128gcm' },
    )
  } catch {
    // Keys that cannot be encrypted for: the subscription can never work.
    return { kind: 'gone', status: undefined }
  }
  const url = new URL(details.endpoint)
  if (!options.allowPrivate) {
    const host = hostOf(url)
    if (url.protocol !== 'https:' || (isIP(host) && isPrivateAddress(host)))
      return { kind: 'gone', status: undefined }
  }
  return new Promise((resolve) => {
    const request = (url.protocol === 'http:' ? httpRequest : httpsRequest)(
      url,
      {
        method: details.method,
        headers: details.headers as Record<string, string>,
        timeout: options.timeoutMs,
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }),
      },
      (response) => {
        response.resume()
        const status = response.statusCode ?? 0
        if (status >= 200 && status < 300) resolve({ kind: 'sent' })
        else if (status === 404 || status === 410) resolve({ kind: 'gone', status })
        else if (status === 429 || status >= 500) {
          resolve({ kind: 'retry', status, retryAfterMs: retryAfterMs(response.headers['retry-after']) })
        } else resolve({ kind: 'refused', status })
      },
    )
    request.on('timeout', () => request.destroy(new Error('push service timed out')))
    request.on('error', (error) => {
      if (error instanceof PrivateAddressError) resolve({ kind: 'gone', status: undefined })
      else resolve({ kind: 'retry', status: undefined, retryAfterMs: undefined })
    })
    request.end(details.body ?? undefined)
  })
}
