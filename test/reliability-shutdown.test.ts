import SqliteDatabase from 'better-sqlite3'
import t from 'tap'
import WebSocket from 'ws'
import { api, registerOver, serverDir, spawnServer } from './helpers/server-process.js'

// Graceful stop: SIGTERM while a few hundred sockets are open and messages are in flight. Every
// socket is closed with 1001, every acked message is in the database, the process exits 0 in time.

const SOCKETS = Number(process.env.RELIABILITY_SOCKETS ?? 300)
const USERS = 10

/** `promise`, or 'timeout' after `ms`; the timer is cleared, so it does not keep the file running. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

t.test(
  `SIGTERM with ${SOCKETS} open sockets: 1001 for each, acked writes kept, exit 0 within 10 s`,
  async (t) => {
    const dir = serverDir(t)
    const server = await spawnServer(t, { dir, env: { WS_RATE_LIMIT: '100000' } })
    const users: Array<{ id: number; token: string }> = []
    for (let i = 0; i < USERS; i++) users.push(await registerOver(server.http, `stop${i}`))
    const group = await api(server.http, users[0].token, 'POST', '/conversations', {
      member_ids: users.slice(1).map((u) => u.id),
      title: 'shutdown',
    })
    const conversationId = group.body.conversation.id as number

    const closes: number[] = []
    const sockets: WebSocket[] = []
    const acked = new Map<string, number>()
    let sent = 0
    await Promise.all(
      Array.from({ length: SOCKETS }, (_, i) => {
        const user = users[i % USERS]
        return new Promise<void>((resolve, reject) => {
          const socket = new WebSocket(server.ws, { headers: { authorization: `Bearer ${user.token}` } })
          sockets.push(socket)
          socket.on('message', (data) => {
            const frame = JSON.parse(data.toString())
            if (frame.type === 'ready') resolve()
            if (frame.type === 'ack' && frame.message) acked.set(frame.ref, frame.message.id)
          })
          socket.on('close', (code) => closes.push(code))
          socket.once('error', reject)
          socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade ${res.statusCode}`)))
        })
      }),
    )
    t.equal(sockets.length, SOCKETS, `${SOCKETS} sockets open`)

    // Writes in flight at the moment of the signal: every tenth socket keeps sending.
    let sending = true
    const senders = sockets
      .filter((_, i) => i % 10 === 0)
      .map(async (socket, n) => {
        while (sending && socket.readyState === WebSocket.OPEN) {
          const clientId = `stop-${n}-${sent++}`
          socket.send(
            JSON.stringify({
              type: 'send_message',
              ref: clientId,
              client_id: clientId,
              conversation_id: conversationId,
              content: clientId,
            }),
          )
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
      })
    await new Promise((resolve) => setTimeout(resolve, 300))

    const started = Date.now()
    server.child.kill('SIGTERM')
    const exit = await within(server.exited, 10_000)
    const took = Date.now() - started
    sending = false
    await Promise.all(senders)
    t.not(exit, 'timeout', `exited within 10 s\n${server.output().slice(-500)}`)
    if (exit === 'timeout') return
    t.same(exit, { code: 0, signal: null }, 'exit code 0, by itself')
    // Every socket hears of the close (some after the process is gone: wait for the last of them).
    for (let i = 0; i < 100 && closes.length < SOCKETS; i++) await new Promise((r) => setTimeout(r, 20))
    const by = new Map<number, number>()
    for (const code of closes) by.set(code, (by.get(code) ?? 0) + 1)
    t.equal(closes.length, SOCKETS, 'every socket closed')
    t.same(Object.fromEntries(by), { 1001: SOCKETS }, 'each with 1001 (going away)')

    const db = new SqliteDatabase(dir.dbPath, { readonly: true })
    t.teardown(() => db.close())
    const find = db.prepare('SELECT id FROM messages WHERE client_id = ?')
    let missing = 0
    for (const [clientId, id] of acked) {
      const row = find.get(clientId) as { id: number } | undefined
      if (row?.id !== id) missing++
    }
    t.equal(missing, 0, 'every acked message is in the database with its id')
    t.equal(db.pragma('integrity_check', { simple: true }), 'ok')
    t.comment(`sockets: ${SOCKETS}, messages sent: ${sent}, acked: ${acked.size}, exit after ${took} ms`)
  },
)

t.test('SIGTERM with clients that stopped reading: the shutdown does not wait for them', async (t) => {
  const server = await spawnServer(t)
  const user = await registerOver(server.http, 'stopslow')
  const sockets: WebSocket[] = []
  const closes: number[] = []
  for (let i = 0; i < 3; i++) {
    const socket = new WebSocket(server.ws, { headers: { authorization: `Bearer ${user.token}` } })
    await new Promise<void>((resolve, reject) => {
      socket.once('message', () => resolve())
      socket.once('error', reject)
    })
    socket.on('close', (code) => closes.push(code))
    socket.on('error', () => {})
    sockets.push(socket)
  }
  // Two of them stop reading: they will never answer the close handshake.
  for (const socket of sockets.slice(1)) (socket as unknown as { _socket: { pause(): void } })._socket.pause()
  const started = Date.now()
  server.child.kill('SIGTERM')
  const exit = await within(server.exited, 15_000)
  const took = Date.now() - started
  t.same(exit, { code: 0, signal: null }, `exit code 0 (after ${took} ms)\n${server.output().slice(-500)}`)
  t.ok(took < 10_000, `within 10 s (${took} ms)`)
  for (let i = 0; i < 50 && closes.length < 1; i++) await new Promise((r) => setTimeout(r, 20))
  t.same(closes.slice(0, 1), [1001], 'the reading client got 1001')
})
