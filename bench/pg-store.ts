import type { Kysely } from 'kysely'
import { buildApp } from '../src/app.js'
import { testConfig } from '../src/config.js'
import { kyselyMessageStore } from '../src/conversations/message-store/kysely.js'
import { pgMessageStore } from '../src/conversations/message-store/pg-batches.js'
import type { MessageStore } from '../src/conversations/message-store/types.js'
import type { Database } from '../src/db/types.js'
import { addMembers } from './pg-rooms.js'

// The PostgreSQL message store alone, without sockets: K appends in flight over 100 conversations
// of 10 (100-byte messages), the savepoint-per-message path (kyselyMessageStore) against the
// batched one (pgMessageStore), alternated twice, in a schema of its own (dropped after).
// The node process's CPU time per message (user + system, this process only: PostgreSQL's own
// work is not counted) and the mean batch size are printed with each run. A fourth argument
// `batched` runs only the batched store (twice).
// npx tsx bench/pg-store.ts postgres://postgres@127.0.0.1:5432/test 50 5 [batched]

const [url = 'postgres://postgres@127.0.0.1:5432/test', inflightArg = '50', secondsArg = '5', only = 'both'] =
  process.argv.slice(2)
const inflight = Number(inflightArg)
const seconds = Number(secondsArg)
const schema = `bench_store_${process.pid}`
const databaseUrl = `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`
const app = await buildApp({ config: testConfig({ databaseUrl, uploadDir: `/tmp/parley-${schema}` }) })
const db = app.ctx.db

async function seed(db: Kysely<Database>) {
  const now = new Date().toISOString()
  const rooms: Array<{ id: number; members: number[] }> = []
  for (let c = 0; c < 100; c++) {
    const room = await db
      .insertInto('conversations')
      .values({ kind: 'group', title: `c${c}`, created_at: now, last_activity_at: now })
      .returning('id')
      .executeTakeFirstOrThrow()
    const members = await addMembers(db, Number(room.id), `u${c}`, 10, now)
    rooms.push({ id: Number(room.id), members })
  }
  return rooms
}

const rooms = await seed(db)
const batches = { count: 0, messages: 0 }
const onCommit = (size: number) => {
  batches.count++
  batches.messages += size
}
let n = 0
async function run(name: string, store: MessageStore) {
  let running = true
  const latencies: number[] = []
  const worker = async () => {
    while (running) {
      const room = rooms[n % rooms.length]
      const senderId = room.members[Math.floor(n / rooms.length) % room.members.length]
      n++
      const started = performance.now()
      await store.append({ conversationId: room.id, senderId, content: 'x'.repeat(100), clientId: `k${n}` })
      latencies.push(performance.now() - started)
    }
  }
  const cpu = process.cpuUsage()
  const started = performance.now()
  const workers = Array.from({ length: inflight }, worker)
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  running = false
  await Promise.all(workers)
  const elapsed = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  const cpuPerMessage = (used.user + used.system) / latencies.length
  const batchSize = batches.count > 0 ? (batches.messages / batches.count).toFixed(1) : '-'
  batches.count = batches.messages = 0
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.floor(latencies.length * q)].toFixed(1)
  console.log(
    `${name}: ${inflight} in flight, ${Math.round(latencies.length / elapsed)} msg/s, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, node CPU ${cpuPerMessage.toFixed(1)} µs/msg, batch ${batchSize}`,
  )
}

try {
  for (let round = 0; round < 2; round++) {
    if (only !== 'batched') await run('savepoint per message', kyselyMessageStore(db, app.ctx.writes))
    await run('batched', pgMessageStore(db, app.ctx.writes, onCommit))
  }
} finally {
  await app.close()
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query(`drop schema if exists "${schema}" cascade`)
  await client.end()
}
