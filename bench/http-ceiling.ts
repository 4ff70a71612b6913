import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

// The HTTP ceiling of `npm run bench -- --mode http`: Fastify, as Parley uses it, with the same
// routes answering constants: per route the very bytes Parley answered the bench's first request
// with, so both servers put the same bytes on the wire. No auth, no database, no plugins; a JSON
// body is parsed as Fastify parses any. What Parley costs beyond this is its own work.
//
//   PORT=4001 CEILING_ROUTES=routes.json node --import tsx bench/http-ceiling.ts

/** One route of the ceiling: its answer for each Authorization header, else `body`. */
export interface CeilingRoute {
  method: 'GET' | 'POST'
  /** A Fastify route pattern, e.g. /conversations/:id/messages */
  url: string
  status: number
  body: string
  byAuthorization: Record<string, string>
}

const routes = JSON.parse(readFileSync(String(process.env.CEILING_ROUTES), 'utf8')) as CeilingRoute[]
const app = Fastify({ logger: false })

app.get('/healthz', async () => ({ status: 'ok' }))
for (const route of routes) {
  const bodies = new Map(Object.entries(route.byAuthorization))
  app.route({
    method: route.method,
    url: route.url,
    handler: (request, reply) => {
      reply
        .status(route.status)
        .type('application/json; charset=utf-8')
        .send(bodies.get(request.headers.authorization ?? '') ?? route.body)
    },
  })
}

app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' }).then(
  (address) => console.log(`listening ${address}`),
  (error) => {
    console.error(error)
    process.exit(1)
  },
)

const shutdown = () => {
  app.close().then(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)
