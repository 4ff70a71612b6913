import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { BENCH_DIR, fmt, mapLimit } from './lib.js'
import type { AccountsFile } from './messages.js'

// npm run bench:setup [-- --users 1000 --room-size 10 --out bench/results/accounts.json]
// Creates the benchmark's accounts (each with a session token) and its conversations in the
// database a server uses (DATABASE_URL, read as `npm start` reads it), through the app's own
// routes in this process: no HTTP, no rate limit, nothing measured. A load generator, ours
// (`npm run bench -- --accounts <file> --parley-url ...`) or anyone's, then connects with the
// tokens of the file. The server may be running meanwhile (SQLite in WAL mode, or PostgreSQL).

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '1000' },
    'room-size': { type: 'string', default: '10' },
    out: { type: 'string', default: join(BENCH_DIR, 'results', 'accounts.json') },
  },
})

const PASSWORD = 'bench password 1234'

function count(name: string, value: string | undefined, min: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer of at least ${min}`)
  return n
}

async function main(): Promise<void> {
  const users = count('users', args.users, 2)
  const roomSize = count('room-size', args['room-size'], 2)
  const config = { ...loadConfig(), logLevel: 'warn', authRateLimit: 1_000_000 }
  const app = await buildApp({ config })
  try {
    const tag = Date.now().toString(36)
    let started = performance.now()
    const accounts = await mapLimit(
      Array.from({ length: users }, (_, i) => i),
      4,
      async (i) => {
        const username = `b${tag}_${i}`
        const response = await app.inject({
          method: 'POST',
          url: '/auth/register',
          payload: { username, password: PASSWORD, display_name: `Bench ${i}` },
        })
        if (response.statusCode !== 201) throw new Error(`register: ${response.statusCode} ${response.body}`)
        const body = response.json()
        return { id: body.user.id as number, username, token: body.token as string }
      },
    )
    console.log(`registered ${users} accounts in ${fmt((performance.now() - started) / 1000)} s`)
    started = performance.now()
    const rooms: AccountsFile['rooms'] = []
    for (let r = 0; r + roomSize <= accounts.length; r += roomSize) {
      const members = accounts.slice(r, r + roomSize)
      const response = await app.inject({
        method: 'POST',
        url: '/conversations',
        headers: { authorization: `Bearer ${members[0].token}` },
        payload: { member_ids: members.slice(1).map((m) => m.id), title: `bench room ${r / roomSize}` },
      })
      if (response.statusCode !== 201)
        throw new Error(`conversation: ${response.statusCode} ${response.body}`)
      rooms.push({ conversation_id: response.json().conversation.id, member_ids: members.map((m) => m.id) })
    }
    console.log(`created ${rooms.length} conversations in ${fmt((performance.now() - started) / 1000)} s`)
    const file: AccountsFile = { password: PASSWORD, users: accounts, rooms }
    mkdirSync(dirname(args.out), { recursive: true })
    writeFileSync(args.out, `${JSON.stringify(file, null, 1)}\n`)
    console.log(`wrote ${args.out}`)
  } finally {
    await app.close()
  }
}

main().catch((error) => {
  // A bad setting or argument is a message, not a stack.
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
