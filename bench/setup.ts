import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { BENCH_PASSWORD, createRooms, type Post, registerAccounts } from './accounts.js'
import { BENCH_DIR } from './lib.js'
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
    const post: Post = async (path, body, token) => {
      const response = await app.inject({
        method: 'POST',
        url: path,
        payload: body,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      })
      if (response.statusCode >= 300) throw new Error(`POST ${path}: ${response.statusCode} ${response.body}`)
      return response.json()
    }
    const accounts = await registerAccounts(post, users, console.log)
    const rooms = await createRooms(post, accounts, roomSize, console.log)
    const file: AccountsFile = { password: BENCH_PASSWORD, users: accounts, rooms }
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
