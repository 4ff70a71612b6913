import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { register, startTestServer } from './helpers/app.js'
import { connect } from './helpers/ws.js'

// An open WebSocket must not keep its upgrade request alive: headers, Fastify's request and reply
// and the ServerResponse came to ~3 KB of heap per idle socket, a third of the whole cost.

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

t.test('the upgrade request is garbage once the socket is open', async (t) => {
  const { app, ws } = await startTestServer(t)
  const upgrades: Array<WeakRef<object>> = []
  app.server.on('upgrade', (request: object) => upgrades.push(new WeakRef(request)))
  const ann = await register(app)
  const sockets = await Promise.all([connect(ws, ann.token), connect(ws, ann.token)])
  t.teardown(() => {
    for (const socket of sockets) socket.socket.terminate()
  })
  t.equal(upgrades.length, 2, 'two upgrades seen')
  // A WeakRef read in a job keeps its target alive to the end of that job: collect in a job of its own.
  const sleep = () => new Promise((resolve) => setTimeout(resolve, 20))
  let reachable = upgrades.length
  for (let i = 0; i < 5 && reachable > 0; i++) {
    await sleep()
    gc()
    await sleep()
    reachable = upgrades.filter((ref) => ref.deref() !== undefined).length
  }
  t.equal(reachable, 0, 'no upgrade request is still reachable')
  // The sockets still work, and a socket error is still handled (by the app's own listener).
  const pong = await sockets[0].request({ type: 'ping' })
  t.equal(pong.type, 'pong')
  t.equal(app.ctx.presence.isOnline(ann.id), true)
})
