// Never a token in a log line. Clients that cannot set headers put the session token in the
// query of /ws; the query is logged with the URL, so the value of every key that names a token is
// cut. Keys are looked at as the query parser sees them, decoded: `%74oken` is `token`. Invitation
// codes and reset tokens travel in paths (/join/<code>, /reset/<token>, DELETE /invites/<code>):
// the segment after those is cut too. Request bodies are never logged.

/** A path whose next segment is a secret, matched however its letters or slashes are written. */
const SECRET_PATH = /^(\/+(?:join|reset|invites)\/+)[^/?#]+/i

function redactPath(path: string): string {
  let decoded = path
  try {
    decoded = decodeURIComponent(path)
  } catch {
    // Undecodable: matched as it is.
  }
  if (SECRET_PATH.test(decoded)) return decoded.replace(SECRET_PATH, '$1[redacted]')
  return path
}

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
  if (start === -1) return redactPath(url)
  const pairs = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=')
      const key = equals === -1 ? pair : pair.slice(0, equals)
      return isSecretKey(key) ? `${key}=[redacted]` : pair
    })
  return `${redactPath(url.slice(0, start))}?${pairs.join('&')}`
}
