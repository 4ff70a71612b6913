import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { unauthorized } from './errors.js'

/** The app's Prometheus metrics; one registry per app so tests can build several. */
export class Metrics {
  readonly registry = new Registry()
  readonly messagesIn = new Counter({
    name: 'parley_messages_in_total',
    help: 'Messages committed',
    registers: [this.registry],
  })
  readonly framesOut = new Counter({
    name: 'parley_frames_out_total',
    help: 'Frames sent to sockets (deliveries)',
    registers: [this.registry],
  })
  readonly fanoutSeconds = new Histogram({
    name: 'parley_fanout_seconds',
    help: 'From commit to the frames handed to every local socket',
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  })
  readonly commitBatchSize = new Histogram({
    name: 'parley_commit_batch_size',
    help: 'Writes grouped into one transaction',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [this.registry],
  })
  readonly commitSeconds = new Histogram({
    name: 'parley_commit_seconds',
    help: 'Time of one group-commit transaction',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  })
  readonly historyPages = new Counter({
    name: 'parley_history_pages_total',
    help: 'History pages asked for (HTTP history and WebSocket join), by whether the page cache had them',
    labelNames: ['result'],
    registers: [this.registry],
  })
  readonly messageCommits = new Counter({
    name: 'parley_message_commits_total',
    help: 'Message group commits, by the thread that ran them (main: small batches at light load)',
    labelNames: ['thread'],
    registers: [this.registry],
  })
  readonly httpSeconds = new Histogram({
    name: 'parley_http_request_seconds',
    help: 'HTTP latency by route',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  })
  readonly openSockets = new Gauge({
    name: 'parley_open_sockets',
    help: 'WebSocket connections open on this node',
    registers: [this.registry],
  })

  constructor() {
    // Includes nodejs_eventloop_lag_seconds, heap and RSS.
    collectDefaultMetrics({ register: this.registry })
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest()

/**
 * With a token, an onRequest guard that wants `Authorization: Bearer <token>`. Both sides are
 * hashed first, so the comparison takes the same time whatever the length or content sent.
 */
function metricsGuard(token: string | undefined) {
  if (!token) return undefined
  const expected = digest(`Bearer ${token}`)
  return async (request: FastifyRequest): Promise<void> => {
    const sent = digest(request.headers.authorization ?? '')
    if (!timingSafeEqual(sent, expected)) throw unauthorized('GET /metrics needs its Bearer token')
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

/** The `metrics` plugin: the registry, the timing of every HTTP route, and GET /metrics. */
export const metricsPlugin = fp(
  async (app: FastifyInstance, options: { token: string | undefined }) => {
    const metrics = new Metrics()
    app.decorate('metrics', metrics)
    registerMetricsRoutes(app, metrics, options.token)
  },
  { name: 'metrics' },
)

function registerMetricsRoutes(app: FastifyInstance, metrics: Metrics, token: string | undefined): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url
    if (!route || route === '/metrics') return
    metrics.httpSeconds.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    )
  })
  const onRequest = metricsGuard(token)
  app.get(
    '/metrics',
    { schema: { hide: true }, ...(onRequest ? { onRequest } : {}) },
    async (_request, reply) => {
      reply.type(metrics.registry.contentType)
      return metrics.registry.metrics()
    },
  )
}
