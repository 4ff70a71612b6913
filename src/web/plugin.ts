import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import helmet from '@fastify/helmet'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { vendorRoutes } from './vendor.js'

// The bundled web page: public/ at `/` (index.html at GET /) and the protocol client at /client/.
// No build step: the files are served as they are. Helmet and a strict Content-Security-Policy
// apply to these routes only (this plugin is encapsulated), so the JSON API keeps its own headers.

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const PUBLIC_DIR = join(root, 'public')
export const CLIENT_DIR = join(root, 'client')

/** The request's own host, if it looks like one (never a header value copied blindly into CSP). */
function ownHost(request: FastifyRequest): string | undefined {
  const host = request.headers.host
  return host && /^[A-Za-z0-9.\-:[\]]{1,255}$/.test(host) ? host : undefined
}

/** `connect-src`: the API on our origin, and the WebSocket of the same host (ws: or wss:). */
function connectSources(request: FastifyRequest): string {
  const host = ownHost(request)
  return host ? `'self' ws://${host} wss://${host}` : "'self'"
}

async function routes(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'blob:', 'data:'],
        'font-src': ["'self'"],
        'connect-src': [(request) => connectSources(request as unknown as FastifyRequest)],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
      },
    },
    // The page loads nothing cross-origin; images come from /files on the same origin.
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
    // HSTS belongs to the TLS terminator (a proxy), not to a server that may run on plain http.
    strictTransportSecurity: false,
  })

  const cacheHeaders = {
    // Revalidate every time (ETag): a new version of the page is picked up at once.
    cacheControl: true,
    maxAge: 0,
    etag: true,
    lastModified: true,
  }
  await vendorRoutes(app)
  await app.register(fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    ...cacheHeaders,
  })
  // Invitation and reset links open the page itself, which reads the code from its path.
  for (const path of ['/join/:code', '/reset/:token']) {
    app.get(path, { schema: { hide: true } }, (_request, reply) =>
      reply.header('cache-control', 'no-store').sendFile('index.html', PUBLIC_DIR),
    )
  }
  await app.register(fastifyStatic, {
    root: CLIENT_DIR,
    prefix: '/client/',
    wildcard: false,
    decorateReply: false,
    ...cacheHeaders,
  })
}

/** Encapsulated: its hooks (the session guard) apply to its own routes only. */
export const webRoutes = fp(routes, { name: 'web', encapsulate: true })
