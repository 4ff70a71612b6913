// Never a token in a log line. Clients that cannot set headers put the session token in the
// query of /ws; the query is logged with the URL, so the value of every key that names a token is
// cut. Keys are looked at as the query parser sees them, decoded: `%74oken` is `token`.

/** A key that decodes to anything with "token" in it (any case), or that cannot be decoded. */
function isSecretKey(rawKey: string): boolean {
  let key: string
  try {
    key = decodeURIComponent(rawKey.replace(/\+/g, ' '))
  } catch {
    return true
  }
  return key.toLowerCase().includes('token')
}

export function redactUrl(url: string): string {
  const start = url.indexOf('?')
  if (start === -1) return url
  const pairs = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=')
      const key = equals === -1 ? pair : pair.slice(0, equals)
      return isSecretKey(key) ? `${key}=[redacted]` : pair
    })
  return `${url.slice(0, start)}?${pairs.join('&')}`
}
