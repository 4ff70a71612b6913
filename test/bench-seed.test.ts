import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import t from 'tap'
import { DEFAULT_SEED, seedHttpBench } from '../bench/seed.js'
import { openDatabase } from '../src/db/index.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { buildTestApp } from './helpers/app.js'

// `npm run bench -- --mode http` writes its data straight into the SQLite file: the server that
// opens it must see exactly the conversations, messages and unread counts the bench claims.

t.test('the HTTP bench seed: counts, unread counts and tokens the app agrees with', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-seed-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const dbPath = join(dir, 'parley.db')
  const sizes = {
    ...DEFAULT_SEED,
    heavyConversations: 3,
    heavyUnread: 7,
    ordinaryConversations: 2,
    ordinaryMessages: 12,
    ordinaryUnread: 4,
    posters: 2,
    members: 3,
  }
  const seeded = await seedHttpBench(dbPath, sizes)
  t.same(seeded.counts, { users: 6, conversations: 7, members: 21, messages: 3 * 7 + 2 * 12 })

  const sqlite = new SqliteDatabase(dbPath, { readonly: true })
  const count = (sql: string) => (sqlite.prepare(sql).get() as { n: number }).n
  t.equal(count('select count(*) as n from messages'), seeded.counts.messages, 'the messages are in the file')
  t.equal(count('select count(*) as n from conversation_members'), seeded.counts.members)
  sqlite.close()

  const app = await buildTestApp(t, { databaseUrl: `sqlite:${dbPath}` })
  const get = (url: string, token: string) =>
    app.inject({ url, headers: { authorization: `Bearer ${token}` } })

  const heavy = (await get('/conversations', seeded.heavy.token)).json().conversations
  t.same(
    heavy.map((c: { id: number; unread_count: number }) => [c.id, c.unread_count]).sort(),
    seeded.heavy.conversationIds.map((id) => [id, 7]).sort(),
    'the heavy user has every message of each conversation unread',
  )
  // The ordinary user wrote every third message (0, 3, 6, 9) and read all but the last four
  // (8-11), of which 9 is their own: three unread.
  const ordinary = (await get('/conversations', seeded.ordinary.token)).json().conversations
  t.same(
    ordinary.map((c: { unread_count: number }) => c.unread_count),
    [3, 3],
  )
  const page = await get(
    `/conversations/${seeded.ordinary.conversationIds[0]}/messages?limit=5`,
    seeded.ordinary.token,
  )
  t.equal(page.statusCode, 200)
  t.equal(page.json().messages.length, 5)

  for (const poster of seeded.posters) {
    const posted = await app.inject({
      method: 'POST',
      url: `/conversations/${poster.conversationId}/messages`,
      headers: { authorization: `Bearer ${poster.token}` },
      payload: { content: 'hello' },
    })
    t.equal(posted.statusCode, 201, 'a poster posts into its own conversation')
  }
  // The peers have read everything: nothing unread for them anywhere.
  const peer = (await get('/conversations', seeded.peers[0].token)).json().conversations
  t.equal(peer.length, 3 + 2 + 2)
  t.same(
    peer
      .filter((c: { unread_count: number }) => c.unread_count > 0)
      .map((c: { title: string }) => c.title)
      .sort(),
    ['posting 0', 'posting 1'],
    "only the posters' new messages",
  )
})

t.test('the HTTP bench seed fills stored unread counters when the schema has them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-seed-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const dbPath = join(dir, 'parley.db')
  // The app's schema, with the counters added here if its migrations do not add them yet.
  const database = await openDatabase(`sqlite:${dbPath}`)
  await migrateToLatest(database.db)
  await database.close()
  const sqlite = new SqliteDatabase(dbPath)
  const columns = (sqlite.pragma('table_info(conversation_members)') as Array<{ name: string }>).map(
    (c) => c.name,
  )
  for (const name of ['unread_count', 'unread_mentions'])
    if (!columns.includes(name))
      sqlite.exec(`alter table conversation_members add column ${name} integer not null default 0`)
  sqlite.close()

  const seeded = await seedHttpBench(dbPath, {
    ...DEFAULT_SEED,
    heavyConversations: 2,
    heavyUnread: 5,
    ordinaryConversations: 1,
    ordinaryMessages: 12,
    ordinaryUnread: 4,
    posters: 1,
    members: 2,
  })
  t.equal(seeded.storedUnread, true)
  const check = new SqliteDatabase(dbPath, { readonly: true })
  t.teardown(() => check.close())
  const unread = (userId: number) =>
    (
      check
        .prepare(
          'select unread_count as n from conversation_members where user_id = ? order by conversation_id',
        )
        .all(userId) as Array<{ n: number }>
    ).map((row) => row.n)
  t.same(unread(seeded.heavy.id), [5, 5])
  t.same(unread(seeded.ordinary.id), [3])
  t.same(unread(seeded.peers[0].id), [0, 0, 0, 0], 'the peer has read everything')
})
