import { buildApp } from '../src/app.js'
import { testConfig } from '../src/config.js'
import { pgMessageStore } from '../src/conversations/message-store/pg-batches.js'
import { addMembers } from './pg-rooms.js'

// The node process's CPU per message on PostgreSQL's write path, without sockets and without
// queueing: batches of B messages (100 bytes, a client_id each) over 10 conversations of 10, all
// in one lane, one batch at a time, so every run writes the same batches whatever the machine's
// load. After W warm-up batches, R rounds of N batches each print the node's CPU time (user +
// system, all its threads: JIT and GC included; PostgreSQL's work is not counted) per message; the
// lowest round is the least disturbed by other processes. The connections commit without waiting
// for the WAL flush (synchronous_commit=off): the node's work per batch is the same, and a batch's
// wall time, over which the app's timers also run, is short. Its own schema, dropped after.
// npx tsx bench/pg-batch-cpu.ts postgres://postgres@127.0.0.1:5432/test [B=10] [N=300] [R=5] [W=300]

const [url = 'postgres://postgres@127.0.0.1:5432/test', ...rest] = process.argv.slice(2)
const [size, batches, rounds, warmup] = [10, 300, 5, 300].map((fallback, i) => Number(rest[i] ?? fallback))
const schema = `bench_cpu_${process.pid}`
const databaseUrl = `${url}${url.includes('?') ? '&' : '?'}schema=${schema}&options=${encodeURIComponent('-c synchronous_commit=off')}`
const app = await buildApp({ config: testConfig({ databaseUrl, uploadDir: `/tmp/parley-${schema}` }) })
const db = app.ctx.db
const LANE_OF = 0
const now = new Date().toISOString()

const rooms: Array<{ id: number; members: number[] }> = []
let c = 0
while (rooms.length < 10) {
  const room = await db
    .insertInto('conversations')
    .values({ kind: 'group', title: `c${c++}`, created_at: now, last_activity_at: now })
    .returning('id')
    .executeTakeFirstOrThrow()
  if (Number(room.id) % 4 !== LANE_OF) continue // one lane: one batch at a time
  const members = await addMembers(db, Number(room.id), `u${rooms.length}`, 10, now)
  rooms.push({ id: Number(room.id), members })
}

const store = pgMessageStore(db, app.ctx.writes)
const content = 'x'.repeat(100)
let n = 0
async function batch() {
  const appends = []
  for (let i = 0; i < size; i++, n++) {
    const room = rooms[n % rooms.length]
    const senderId = room.members[Math.floor(n / rooms.length) % room.members.length]
    appends.push(store.append({ conversationId: room.id, senderId, content, clientId: `k${n}` }))
  }
  await Promise.all(appends)
}

try {
  for (let i = 0; i < warmup; i++) await batch()
  const results: number[] = []
  for (let r = 0; r < rounds; r++) {
    const cpu = process.cpuUsage()
    for (let i = 0; i < batches; i++) await batch()
    const used = process.cpuUsage(cpu)
    results.push((used.user + used.system) / (batches * size))
  }
  const idle = process.cpuUsage()
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const idleUs = process.cpuUsage(idle)
  const shown = results.map((us) => us.toFixed(1)).join(', ')
  console.log(
    `batches of ${size}: node CPU per message ${shown} µs (lowest ${Math.min(...results).toFixed(1)}); ` +
      `idle: ${((idleUs.user + idleUs.system) / 2000).toFixed(1)} µs per ms`,
  )
} finally {
  await app.close()
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query(`drop schema if exists "${schema}" cascade`)
  await client.end()
}
