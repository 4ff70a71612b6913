import type { FastifyReply } from 'fastify'

// What a browser gets for a link followed from an email: a small page in words, with a way back
// to Parley, instead of the JSON other clients get. It loads only /email-link.css (no script, no
// inline style), under a CSP of its own: these routes are outside the web page's helmet.

const CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** The q of a media range in an Accept header (0 when it is not there). */
function quality(accept: string, type: string): number {
  for (const part of accept.split(',')) {
    const [range, ...params] = part.split(';').map((piece) => piece.trim().toLowerCase())
    if (range !== type) continue
    const q = params.find((param) => param.startsWith('q='))
    const value = q === undefined ? 1 : Number(q.slice(2))
    return Number.isFinite(value) ? value : 0
  }
  return 0
}

/** A browser: text/html named, and preferred to application/json. curl, scripts, any wildcard: JSON. */
export function wantsHtml(accept: string | undefined): boolean {
  if (!accept) return false
  const html = quality(accept, 'text/html')
  return html > 0 && html > quality(accept, 'application/json')
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string,
  )

export interface LinkPage {
  ok: boolean
  title: string
  /** Plain text; escaped here. */
  message: string
  hint: string
}

export function linkPageHtml(page: LinkPage): string {
  const title = escapeHtml(page.title)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Parley</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/email-link.css">
</head>
<body>
<main class="email-link ${page.ok ? 'email-link-done' : 'email-link-failed'}">
<p class="email-link-brand">Parley</p>
<h1>${title}</h1>
<p class="email-link-message">${escapeHtml(page.message)}</p>
<p class="email-link-hint">${escapeHtml(page.hint)}</p>
<p><a class="email-link-back" href="/">Back to Parley</a></p>
</main>
</body>
</html>
`
}

export function sendLinkPage(reply: FastifyReply, page: LinkPage): FastifyReply {
  return reply
    .status(page.ok ? 200 : 400)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .send(linkPageHtml(page))
}
