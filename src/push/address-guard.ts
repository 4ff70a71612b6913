import { type LookupAddress, lookup } from 'node:dns'
import { lookup as lookupAll } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'

// Push endpoints are URLs a client gives: the server must not be made to send requests into its
// own network. An endpoint's host must resolve to public addresses only, checked when it is
// subscribed and again at each send (the lookup the request itself uses, so a name that resolves
// elsewhere by then, DNS rebinding, is refused too).

const blocked = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6')
}

/** An IPv4 address carried in an IPv6 one (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::), if any. */
function embeddedIpv4(ip: string): string | undefined {
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (dotted) return dotted[1]
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip)
  if (!hex) return undefined
  const high = Number.parseInt(hex[1] as string, 16)
  const low = Number.parseInt(hex[2] as string, 16)
  return [high >> 8, high & 255, low >> 8, low & 255].join('.')
}

/** Private, loopback, link-local, unique-local, multicast or otherwise not a public address. */
export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip)
  if (family === 4) return blocked.check(ip, 'ipv4')
  if (family !== 6) return true
  const v4 = embeddedIpv4(ip)
  if (v4) return blocked.check(v4, 'ipv4')
  return blocked.check(ip, 'ipv6')
}

/** The host of a URL as an address would be written ([::1] -> ::1). */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1')

/**
 * Why this endpoint is refused, or undefined when it may be used: https only, to a host whose every
 * address is public, unless private ones are allowed (then http:// too).
 */
export async function endpointProblem(endpoint: string, allowPrivate: boolean): Promise<string | undefined> {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    return 'endpoint must be an absolute URL'
  }
  if (allowPrivate) {
    return url.protocol === 'https:' || url.protocol === 'http:' ? undefined : 'endpoint must be an https URL'
  }
  if (url.protocol !== 'https:') return 'endpoint must be an https URL'
  const host = hostOf(url)
  if (isIP(host)) return isPrivateAddress(host) ? 'endpoint is on a private address' : undefined
  let addresses: LookupAddress[]
  try {
    addresses = await lookupAll(host, { all: true })
  } catch {
    return 'endpoint host does not resolve'
  }
  if (addresses.length === 0) return 'endpoint host does not resolve'
  return addresses.some((a) => isPrivateAddress(a.address)) ? 'endpoint is on a private address' : undefined
}

/** Raised when a send finds the endpoint's host on a private address. */
export class PrivateAddressError extends Error {
  readonly code = 'PARLEY_PRIVATE_ADDRESS'
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void

/** A dns.lookup for http.request that fails on any private address among the answers. */
export function publicOnlyLookup(
  hostname: string,
  options: { all?: boolean },
  callback: LookupCallback,
): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, [])
    if (addresses.length === 0 || addresses.some((a) => isPrivateAddress(a.address))) {
      return callback(new PrivateAddressError(`${hostname} resolves to a private address`), [])
    }
    const first = addresses[0] as LookupAddress
    if (options.all) callback(null, addresses)
    else callback(null, first.address, first.family)
  })
}
