import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import t from 'tap'
import WebSocket from 'ws'
import { openDatabase } from '../src/db/index.js'
import { sweepOrphans } from '../src/storage/files.js'
import {
  api,
  freePort,
  registerOver,
  type ServerProcess,
  serverDir,
  spawnServer,
} from './helpers/server-process.js'

// Crash and retry: several senders pipeline messages with unique client_ids over real sockets while
// the real server is killed with SIGKILL at random moments and restarted on the same SQLite file.
// After every restart the clients resend whatever was not acked, with the same client_id. At the
// end every acked message must be in the database exactly once, with the id it was acked with.
//
// RELIABILITY_KILLS (default 5, for `npm test`; `npm run soak` kills 100 times) and
// RELIABILITY_SEED change the run.

const KILLS = Number(process.env.RELIABILITY_KILLS || 5)
// A restart of the real server takes seconds on a loaded machine: many of them take longer than
// tap's 120 s per file.
t.setTimeout(Number(process.env.RELIABILITY_TIMEOUT_MS || Math.max(600_000, KILLS * 20_000)))
const SENDERS = 4
let seed = Number(process.env.RELIABILITY_SEED ?? Date.now() % 1_000_000)
const initialSeed = seed
/** A small deterministic PRNG, so a failing run can be replayed with RELIABILITY_SEED. */
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}
const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Outgoing {
  clientId: string
  conversationId: number
  content: string
}

interface Sender {
  id: number
  token: string
  next: number
  /** Sent (maybe several times), no ack yet. */
  pending: Map<string, Outgoing>
  /** client_id -> the message id it was acked with. */
  acked: Map<string, { id: number; conversationId: number; content: string }>
  socket?: WebSocket
}

const problems: string[] = []
/** Acks received while the server was still up to be killed (not in the final catch-up). */
let ackedInFlight = 0

/** Opens a sender's socket; resends every pending message first; resolves once `ready` arrived. */
function connectSender(server: ServerProcess, sender: Sender): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(server.ws, { headers: { authorization: `Bearer ${sender.token}` } })
    sender.socket = socket
    /** The last `message` id seen per conversation on this socket: broadcasts come in id order. */
    const lastSeen = new Map<number, number>()
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString())
      if (frame.type === 'ready') {
        for (const item of sender.pending.values()) send(sender, item)
        resolve()
        return
      }
      if (frame.type === 'message') {
        const { id, conversation_id } = frame.message
        const last = lastSeen.get(conversation_id) ?? 0
        if (id <= last) problems.push(`message ${id} after ${last} in conversation ${conversation_id}`)
        lastSeen.set(conversation_id, id)
        return
      }
      if (frame.type === 'ack') {
        const clientId = frame.ref as string
        const message = frame.message
        if (message.client_id !== clientId) problems.push(`ack for ${clientId} names ${message.client_id}`)
        const before = sender.acked.get(clientId)
        if (before && before.id !== message.id) {
          problems.push(`${clientId} acked as ${before.id}, then as ${message.id}`)
        }
        const item = sender.pending.get(clientId)
        if (item) {
          ackedInFlight++
          sender.acked.set(clientId, {
            id: message.id,
            conversationId: item.conversationId,
            content: item.content,
          })
          sender.pending.delete(clientId)
        }
        return
      }
      if (frame.type === 'error') problems.push(`error frame ${JSON.stringify(frame)}`)
    })
    socket.once('error', (error) => reject(error))
    socket.on('error', () => {})
  })
}

function send(sender: Sender, item: Outgoing): void {
  const socket = sender.socket
  if (!socket || socket.readyState !== WebSocket.OPEN) return
  socket.send(
    JSON.stringify({
      type: 'send_message',
      ref: item.clientId,
      client_id: item.clientId,
      conversation_id: item.conversationId,
      content: item.content,
    }),
  )
}

function newMessage(sender: Sender, conversations: number[]): Outgoing {
  const n = sender.next++
  const item = {
    clientId: `s${sender.id}-${n}`,
    conversationId: conversations[between(0, conversations.length - 1)],
    content: `from ${sender.id}: #${n}`,
  }
  sender.pending.set(item.clientId, item)
  return item
}

/** An upload alongside the messages: files must never end up as a row without bytes. */
async function upload(server: ServerProcess, token: string, projectId: number, n: number): Promise<void> {
  const form = new FormData()
  const bytes = Buffer.alloc(between(1, 256 * 1024), n % 251)
  form.append('file', new Blob([bytes]), `crash-${n}.bin`)
  await fetch(`${server.http}/projects/${projectId}/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  }).catch(() => {})
}

t.test('SIGKILL at random moments, restart, retry un-acked: every ack is kept exactly once', async (t) => {
  t.comment(`seed ${initialSeed} (RELIABILITY_SEED replays it)`)
  const dir = serverDir(t)
  const port = await freePort()
  const env = { WS_RATE_LIMIT: '100000' }
  let server = await spawnServer(t, { dir, port, env })

  const senders: Sender[] = []
  for (let i = 0; i < SENDERS; i++) {
    const account = await registerOver(server.http, `crash${i}`)
    senders.push({ ...account, id: account.id, next: 0, pending: new Map(), acked: new Map() })
  }
  const [first, ...others] = senders
  const group = await api(server.http, first.token, 'POST', '/conversations', {
    member_ids: others.map((s) => s.id),
    title: 'crash group',
  })
  const direct = await api(server.http, first.token, 'POST', '/conversations', { member_ids: [others[0].id] })
  const project = await api(server.http, first.token, 'POST', '/projects', {
    name: 'crash project',
    member_ids: others.map((s) => s.id),
  })
  t.equal(group.status, 201)
  t.equal(project.status, 201)
  const projectId = project.body.project.id as number
  const everyone = [group.body.conversation.id, project.body.project.conversation_id] as number[]
  const pair = [direct.body.conversation.id] as number[]
  const conversationsOf = (sender: Sender) =>
    sender === first || sender === others[0] ? [...everyone, ...pair] : everyone

  let kills = 0
  let uploads = 0
  const started = Date.now()
  for (kills = 0; kills < KILLS; ) {
    await Promise.all(senders.map((sender) => connectSender(server, sender)))
    // A burst: every sender pipelines a few new messages (no waiting for acks), an upload runs,
    // and the server is killed after a random short delay, usually with writes in flight.
    const burst = (async () => {
      for (let wave = 0; wave < 4; wave++) {
        for (const sender of senders) {
          for (let i = between(1, 6); i > 0; i--) send(sender, newMessage(sender, conversationsOf(sender)))
        }
        await sleep(between(0, 8))
      }
    })()
    const uploading = upload(server, senders[between(0, SENDERS - 1)].token, projectId, uploads++)
    // Mostly mid-burst; now and then late enough for an upload to commit.
    await sleep(random() < 0.8 ? between(0, 60) : between(100, 400))
    server.child.kill('SIGKILL')
    const exit = await server.exited
    if (exit.signal !== 'SIGKILL') t.fail(`the server was not killed but exited ${JSON.stringify(exit)}`)
    kills++
    await burst
    await uploading
    for (const sender of senders) sender.socket?.terminate()
    server = await spawnServer(t, { dir, port, env })
  }

  const ackedBeforeLastLife = ackedInFlight
  // The last life: resend everything still pending until all of it is acked.
  await Promise.all(senders.map((sender) => connectSender(server, sender)))
  const deadline = Date.now() + 20_000
  while (senders.some((s) => s.pending.size > 0) && Date.now() < deadline) await sleep(50)
  for (const sender of senders)
    t.equal(sender.pending.size, 0, `sender ${sender.id}: everything acked at last`)
  for (const sender of senders) sender.socket?.close()
  const stopped = await server.stop('SIGTERM')
  t.equal(stopped.code, 0, 'the last life ends with a clean exit')

  // What the database holds, read by a connection of our own after the server is gone.
  const db = new SqliteDatabase(dir.dbPath)
  t.teardown(() => db.close())
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'PRAGMA integrity_check')
  t.equal(
    (db.pragma('foreign_key_check') as unknown[]).length,
    0,
    'PRAGMA foreign_key_check: no dangling references',
  )
  const rows = db
    .prepare('SELECT id, conversation_id, sender_id, client_id, content, change_seq FROM messages')
    .all() as Array<{
    id: number
    conversation_id: number
    sender_id: number
    client_id: string | null
    content: string
    change_seq: number
  }>
  const byClient = new Map<string, (typeof rows)[number][]>()
  for (const row of rows) {
    if (row.client_id === null) continue
    const key = `${row.sender_id}/${row.client_id}`
    byClient.set(key, [...(byClient.get(key) ?? []), row])
  }
  let checked = 0
  let missing = 0
  let wrong = 0
  for (const sender of senders) {
    for (const [clientId, ack] of sender.acked) {
      const found = byClient.get(`${sender.id}/${clientId}`) ?? []
      if (found.length !== 1) {
        missing++
        continue
      }
      const row = found[0]
      if (row.id !== ack.id || row.conversation_id !== ack.conversationId || row.content !== ack.content)
        wrong++
      checked++
    }
  }
  const doubles = [...byClient.values()].filter((list) => list.length > 1).length
  const acked = senders.reduce((sum, s) => sum + s.acked.size, 0)
  const sent = senders.reduce((sum, s) => sum + s.next, 0)
  t.equal(missing, 0, 'every acked message is present exactly once')
  t.equal(wrong, 0, 'with the id, conversation and content it was acked with')
  t.equal(doubles, 0, 'no client_id was stored twice')
  t.equal(acked, sent, 'every message sent was acked in the end')
  t.equal(byClient.size, sent, 'and the database holds no message nobody sent')

  // Commit order: within each conversation, ids and change numbers rise together.
  const perConversation = new Map<number, typeof rows>()
  for (const row of rows)
    perConversation.set(row.conversation_id, [...(perConversation.get(row.conversation_id) ?? []), row])
  let outOfOrder = 0
  for (const list of perConversation.values()) {
    list.sort((a, b) => a.id - b.id)
    for (let i = 1; i < list.length; i++) if (list[i].change_seq <= list[i - 1].change_seq) outOfOrder++
  }
  t.equal(outOfOrder, 0, 'ids in commit order in every conversation')
  t.same(problems.slice(0, 10), [], 'acks consistent, broadcasts in id order, no error frames')

  // Uploads: no row without its bytes (intact), and nothing on disk that the start-up sweep would not remove.
  const files = db.prepare('SELECT storage_name, size, sha256 FROM files').all() as Array<{
    storage_name: string
    size: number
    sha256: string
  }>
  let badFiles = 0
  for (const file of files) {
    const path = join(dir.uploadDir, file.storage_name)
    if (!existsSync(path)) {
      badFiles++
      continue
    }
    const bytes = readFileSync(path)
    if (bytes.length !== file.size || createHash('sha256').update(bytes).digest('hex') !== file.sha256)
      badFiles++
  }
  t.equal(badFiles, 0, 'every file row has its bytes, intact')
  const known = new Set(files.map((file) => file.storage_name))
  const strays = readdirSync(dir.uploadDir).filter((name) => !known.has(name))
  t.ok(
    strays.every((name) => /^[0-9a-f]{32}(\.part)?$/.test(name)),
    'files no row names are only crash leftovers (bytes written, row never committed)',
  )
  // The start-up sweep removes such leftovers once they are old enough; with age 0, all of them now.
  const handle = await openDatabase(`sqlite:${dir.dbPath}`)
  const swept = await sweepOrphans(handle.db, dir.uploadDir, 0)
  await handle.close()
  t.same(swept.sort(), strays.sort(), 'the sweep removes exactly the leftovers')
  t.same(
    readdirSync(dir.uploadDir).sort(),
    [...known].sort(),
    'then the disk holds exactly the files the rows name',
  )

  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  t.comment(`kills survived: ${kills}`)
  t.comment(
    `messages sent: ${sent}, acked: ${acked} (${ackedBeforeLastLife} of them before the final restart), checked in the database: ${checked}`,
  )
  t.comment(
    `uploads tried: ${uploads}, file rows: ${files.length}, crash leftovers on disk: ${strays.length}`,
  )
  t.comment(`time: ${seconds} s`)
  t.ok(kills >= KILLS, `at least ${KILLS} kills`)
})
