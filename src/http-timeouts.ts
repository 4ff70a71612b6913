import type { ServerOptions } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from './config.js'
import { AppError } from './errors.js'

// Slow and silent clients must not hold connections open. Node's own timeouts cover a silent
// connection and slow headers; a slow body gets a deadline here, which grows with the body's size
// so that a large upload on a slow link still arrives.

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route streams a large body (an upload): its deadline allows for MAX_UPLOAD_BYTES. */
    upload?: boolean
  }
}

/** The slowest link a body may come over, beyond the base timeout: 16 KiB/s (128 kbit/s). */
export const MIN_BODY_BYTES_PER_SECOND = 16 * 1024
/** Longer than the 60 s idle timeout of common proxies and load balancers, so they close first. */
const KEEP_ALIVE_MS = 72_000

/** Fastify's server options for the timeouts. */
export function serverTimeouts(config: Config): {
  connectionTimeout: number
  keepAliveTimeout: number
  requestTimeout: number
  http: ServerOptions
} {
  const timeout = config.requestTimeoutMs
  return {
    // No byte either way for this long: the socket is closed (WebSocket sockets opt out on upgrade).
    connectionTimeout: timeout,
    keepAliveTimeout: KEEP_ALIVE_MS,
    // Node's whole-request timeout would cut off a large upload; bodyDeadlines does that job.
    requestTimeout: 0,
    http: {
      headersTimeout: timeout,
      // How often Node looks for requests whose headers are late.
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(timeout / 4))),
    },
  }
}

/** Whether the request still has body bytes to come (never for app.inject, which has no socket). */
const bodyPending = (request: FastifyRequest) => request.raw.complete === false

/** How long the body of this request may take to arrive. */
function bodyAllowanceMs(request: FastifyRequest, config: Config): number {
  const limit = request.routeOptions.config?.upload ? config.maxUploadBytes : request.routeOptions.bodyLimit
  const declared = Number(request.headers['content-length'])
  const size = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, limit ?? declared) : limit
  return config.requestTimeoutMs + Math.ceil(((size ?? 0) / MIN_BODY_BYTES_PER_SECOND) * 1000)
}

export function registerBodyDeadlines(app: FastifyInstance, config: Config): void {
  app.addHook('onRequest', (request, reply, done) => {
    if (!bodyPending(request)) return done()
    const timer = setTimeout(
      () => {
        if (!bodyPending(request)) return
        if (reply.sent) {
          request.raw.socket?.destroy()
          return
        }
        request.log.info({ code: 'REQUEST_TIMEOUT' }, 'request body too slow: connection closed')
        reply.send(new AppError(408, 'REQUEST_TIMEOUT', 'The request body did not arrive in time'))
      },
      bodyAllowanceMs(request, config),
    )
    timer.unref()
    const clear = () => clearTimeout(timer)
    request.raw.once('end', clear)
    request.raw.once('close', clear)
    done()
  })
  // An answer given before the body arrived (401 in onRequest, 404, 408...) ends the connection:
  // reading the rest of a body nobody wants would only let a slow client hold the socket.
  app.addHook('onSend', async (request, reply, payload) => {
    if (bodyPending(request)) reply.header('connection', 'close')
    return payload
  })
}
