import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import SqliteDatabase from 'better-sqlite3'
import { testConfig } from '../src/config.js'
import { type Post, registerAccounts } from './accounts.js'

// The HTTP benchmark's data, written into an SQLite file before the server opens it. Accounts and
// their session tokens come from the app's own register route (in process, as `bench:setup` makes
// them); conversations, members and messages go straight into the tables in one transaction of
// prepared statements: two million messages through the API would take longer than the benchmark.
// The columns are read from the schema the app's migrations made, so a column a later migration
// adds with a default needs nothing here; `unread_count`/`unread_mentions` on members, when they
// exist, are set to what the messages imply.

export interface SeedSizes {
  /** The heavy user's conversations, each with `heavyUnread` messages they have not read. */
  heavyConversations: number
  heavyUnread: number
  /** The ordinary user's conversations, each with `ordinaryMessages`, the last `ordinaryUnread` unread. */
  ordinaryConversations: number
  ordinaryMessages: number
  ordinaryUnread: number
  /** Accounts that post, each into its own conversation. */
  posters: number
  /** Members of every seeded conversation (its owner plus shared peer accounts). */
  members: number
  contentBytes: number
}

export const DEFAULT_SEED: SeedSizes = {
  heavyConversations: 200,
  heavyUnread: 10_000,
  ordinaryConversations: 20,
  ordinaryMessages: 200,
  ordinaryUnread: 10,
  posters: 8,
  members: 5,
  contentBytes: 100,
}

export interface SeedAccount {
  id: number
  token: string
}

export interface Seeded {
  heavy: SeedAccount & { conversationIds: number[] }
  ordinary: SeedAccount & { conversationIds: number[] }
  /** Each poster and the conversation it posts into. */
  posters: Array<SeedAccount & { conversationId: number }>
  peers: SeedAccount[]
  counts: { users: number; conversations: number; members: number; messages: number }
  /** Whether conversation_members has stored unread counters (set here when it has). */
  storedUnread: boolean
  accountsSeconds: number
  rowsSeconds: number
}

/** Registers the accounts through the app (which also migrates the file), then closes it. */
async function registerThroughApp(dbPath: string, count: number): Promise<SeedAccount[]> {
  // Imported here, not at the top: the other modes of bench/run.ts never load the app.
  const { buildApp } = await import('../src/app.js')
  const app = await buildApp({
    config: testConfig({
      databaseUrl: `sqlite:${dbPath}`,
      uploadDir: join(dirname(dbPath), 'seed-uploads'),
      authRateLimit: 1_000_000,
      logLevel: 'warn',
    }),
  })
  try {
    const post: Post = async (path, body) => {
      const response = await app.inject({ method: 'POST', url: path, payload: body })
      if (response.statusCode >= 300) throw new Error(`POST ${path}: ${response.statusCode} ${response.body}`)
      return response.json()
    }
    return await registerAccounts(post, count, () => {})
  } finally {
    await app.close()
  }
}

type Row = Record<string, string | number | null>

/**
 * An INSERT for the columns of `table` that exist; refuses a NOT NULL column without a default
 * that this seeder does not fill, naming it, rather than failing later with SQLite's message.
 */
function inserter(sqlite: SqliteDatabase.Database, table: string, wanted: string[]) {
  const columns = sqlite.pragma(`table_info(${table})`) as Array<{
    name: string
    notnull: number
    dflt_value: unknown
    pk: number
  }>
  const names = new Set(columns.map((c) => c.name))
  const missing = columns.find((c) => c.notnull && c.dflt_value === null && !c.pk && !wanted.includes(c.name))
  if (missing) throw new Error(`bench/seed.ts: ${table}.${missing.name} is NOT NULL without a default`)
  const used = wanted.filter((name) => names.has(name))
  const statement = sqlite.prepare(
    `insert into ${table} (${used.join(', ')}) values (${used.map(() => '?').join(', ')})`,
  )
  return {
    has: (name: string) => names.has(name),
    run: (row: Row) => Number(statement.run(used.map((n) => row[n] ?? null)).lastInsertRowid),
  }
}

/** Seeds `dbPath` (a new file) for `npm run bench -- --mode http`. */
export async function seedHttpBench(dbPath: string, sizes: SeedSizes): Promise<Seeded> {
  const peerCount = Math.max(1, sizes.members - 1)
  const started = performance.now()
  // The first account of a database is its admin: a peer takes that place.
  const accounts = await registerThroughApp(dbPath, peerCount + 2 + sizes.posters)
  const accountsSeconds = (performance.now() - started) / 1000
  const peers = accounts.slice(0, peerCount)
  const [heavy, ordinary] = accounts.slice(peerCount, peerCount + 2)
  const posterAccounts = accounts.slice(peerCount + 2)

  const rowsStarted = performance.now()
  const sqlite = new SqliteDatabase(dbPath)
  try {
    // A file nobody else has open, rebuilt on failure: no journal to speak of, no fsync.
    sqlite.pragma('journal_mode = DELETE')
    sqlite.pragma('synchronous = OFF')
    sqlite.pragma('cache_size = -262144')
    const conversations = inserter(sqlite, 'conversations', [
      'kind',
      'title',
      'created_by',
      'created_at',
      'last_activity_at',
      'change_seq',
      'change_floor',
    ])
    const members = inserter(sqlite, 'conversation_members', [
      'conversation_id',
      'user_id',
      'joined_at',
      'last_read_message_id',
      'unread_count',
      'unread_mentions',
    ])
    const messages = inserter(sqlite, 'messages', [
      'conversation_id',
      'sender_id',
      'content',
      'client_id',
      'created_at',
      'edited_at',
      'deleted_at',
      'change_seq',
    ])
    const setActivity = sqlite.prepare(
      'update conversations set last_activity_at = ?, change_seq = ? where id = ?',
    )
    const counts = { users: accounts.length, conversations: 0, members: 0, messages: 0 }
    const pad = 'x'.repeat(sizes.contentBytes)
    // Message times advance a millisecond a message from a day ago, so every ordering is defined.
    let clock = Date.now() - 24 * 3600 * 1000
    const iso = () => new Date(clock++).toISOString()

    /**
     * One group of `owner` and the peers with `count` messages; the owner wrote every `ownEvery`th
     * (0: none) and has read all but the last `unread`; the peers have read everything.
     */
    const conversation = (
      owner: SeedAccount,
      title: string,
      count: number,
      unread: number,
      ownEvery: number,
    ) => {
      const createdAt = iso()
      const id = conversations.run({
        kind: 'group',
        title,
        created_by: owner.id,
        created_at: createdAt,
        last_activity_at: createdAt,
        change_seq: 0,
        change_floor: 0,
      })
      counts.conversations++
      const ids: number[] = []
      let ownerUnread = 0
      for (let i = 0; i < count; i++) {
        const own = ownEvery > 0 && i % ownEvery === 0
        const sender = own ? owner : peers[i % peers.length]
        ids.push(
          messages.run({
            conversation_id: id,
            sender_id: sender.id,
            content: `${title} message ${i} ${pad}`.slice(0, sizes.contentBytes),
            created_at: iso(),
            change_seq: i + 1,
          }),
        )
        if (i >= count - unread && !own) ownerUnread++
      }
      counts.messages += count
      if (count > 0) setActivity.run(new Date(clock - 1).toISOString(), count, id)
      const lastRead = count - unread > 0 ? ids[count - unread - 1] : 0
      const member = (user: SeedAccount, read: number, unreadCount: number) => {
        members.run({
          conversation_id: id,
          user_id: user.id,
          joined_at: createdAt,
          last_read_message_id: read,
          unread_count: unreadCount,
          unread_mentions: 0,
        })
        counts.members++
      }
      member(owner, lastRead, ownerUnread)
      for (const peer of peers) member(peer, ids.at(-1) ?? 0, 0)
      return id
    }

    const seeded = sqlite.transaction(() => {
      const ordinaryIds = Array.from({ length: sizes.ordinaryConversations }, (_, i) =>
        conversation(ordinary, `ordinary ${i}`, sizes.ordinaryMessages, sizes.ordinaryUnread, 3),
      )
      const heavyIds = Array.from({ length: sizes.heavyConversations }, (_, i) =>
        conversation(heavy, `heavy ${i}`, sizes.heavyUnread, sizes.heavyUnread, 0),
      )
      const posterRooms = posterAccounts.map((poster, i) => conversation(poster, `posting ${i}`, 0, 0, 0))
      return { ordinaryIds, heavyIds, posterRooms }
    })()
    sqlite.pragma('journal_mode = WAL')
    return {
      heavy: { ...heavy, conversationIds: seeded.heavyIds },
      ordinary: { ...ordinary, conversationIds: seeded.ordinaryIds },
      posters: posterAccounts.map((poster, i) => ({ ...poster, conversationId: seeded.posterRooms[i] })),
      peers,
      counts,
      storedUnread: members.has('unread_count'),
      accountsSeconds,
      rowsSeconds: (performance.now() - rowsStarted) / 1000,
    }
  } finally {
    sqlite.close()
  }
}
