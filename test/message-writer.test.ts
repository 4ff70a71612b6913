import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { workerMessageStore } from '../src/conversations/message-store/sqlite-worker.js'
import { openDatabase, SQLITE_BUSY_TIMEOUT_MS } from '../src/db/index.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { AppError, isUnavailable } from '../src/errors.js'
import { buildTestApp, createConversation, register } from './helpers/app.js'

// The SQLite message writer runs in a worker thread with its own connection (message-store.ts).
// These tests drive it directly, beside an app that owns the same database file.

t.test('the writer thread: group commit, order, client_id dedupe, one bad message alone fails', async (t) => {
  const app = await buildTestApp(t)
  const path = app.ctx.database.sqlitePath
  if (!path) {
    t.comment('SKIP: the writer thread is for SQLite files only (PARLEY_TEST_DB=postgres)')
    return
  }
  const ann = await register(app)
  const bob = await register(app)
  const conversationId = await createConversation(app, ann, [bob])

  const batches: number[] = []
  const store = workerMessageStore(path, SQLITE_BUSY_TIMEOUT_MS, (size) => batches.push(size))
  t.teardown(() => store.close())
  const sends = Array.from({ length: 200 }, (_, i) =>
    store.append({ conversationId, senderId: i % 2 ? ann.id : bob.id, content: `m${i}`, clientId: `c${i}` }),
  )
  const missing = store.append({ conversationId: 999_999, senderId: ann.id, content: 'lost', clientId: null })
  const results = await Promise.all(sends)
  const error = await missing.catch((e: unknown) => e)
  t.ok(error instanceof AppError && error.statusCode === 404, 'a conversation that does not exist: 404')
  t.ok(
    results.every((r) => r.created),
    'every message created',
  )
  const ids = results.map((r) => Number(r.row.id))
  t.same(
    ids,
    [...ids].sort((a, b) => a - b),
    'ids grow in the order the messages were asked for',
  )
  t.equal(new Set(ids).size, 200, 'no id twice')
  t.ok(batches.length < 200, `grouped into ${batches.length} commits`)
  t.equal(
    batches.reduce((a, b) => a + b, 0),
    201,
    'every append went through a commit',
  )

  const again = await store.append({ conversationId, senderId: bob.id, content: 'retry', clientId: 'c0' })
  t.equal(again.created, false, 'a repeated client_id is not a new message')
  t.equal(Number(again.row.id), ids[0], 'it names the first one')
  await store.drain()

  // The app's own connection sees what the thread committed.
  const page = await app.inject({
    method: 'GET',
    url: `/conversations/${conversationId}/messages?limit=200`,
    headers: ann.auth,
  })
  t.equal(page.json().messages.length, 200, 'the app reads all 200 from its own connection')
})

t.test(
  'with the main connection: small batches commit there, larger ones and any during a transaction in the thread',
  async (t) => {
    const app = await buildTestApp(t)
    const { sqlitePath: path, sqlite } = app.ctx.database
    if (!path || !sqlite) {
      t.comment('SKIP: the writer thread is for SQLite files only (PARLEY_TEST_DB=postgres)')
      return
    }
    const ann = await register(app)
    const conversationId = await createConversation(app, ann, [await register(app)])
    const commits: Array<{ size: number; thread: string }> = []
    const store = workerMessageStore(
      path,
      SQLITE_BUSY_TIMEOUT_MS,
      (size, _ms, thread) => commits.push({ size, thread }),
      sqlite,
      // No search indexing when idle: it would hold the writer at moments this test depends on.
      3_600_000,
    )
    t.teardown(() => store.close())
    const send = (i: number) =>
      store.append({ conversationId, senderId: ann.id, content: `m${i}`, clientId: `h${i}` })

    const ids: number[] = []
    ids.push(Number((await send(0)).row.id))
    t.same(
      commits,
      [{ size: 1, thread: 'main' }],
      'one message at light load: committed on the main connection',
    )

    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => send(1 + i)))
    ids.push(...burst.map((r) => Number(r.row.id)))
    t.same(commits[1], { size: 40, thread: 'writer' }, 'a batch of 40: committed in the writer thread')

    // A Kysely transaction is open on the main connection: the batch goes to the thread, whose
    // BEGIN IMMEDIATE waits for that transaction to end.
    let during: Promise<{ row: { id: unknown } }> | undefined
    await app.ctx.db.transaction().execute(async (trx) => {
      await trx.selectFrom('users').select('id').limit(1).execute()
      during = send(41)
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
    })
    ids.push(Number((await during)?.row.id))
    t.same(
      commits[2],
      { size: 1, thread: 'writer' },
      'during a transaction on the main connection: the thread',
    )

    ids.push(Number((await send(42)).row.id))
    t.same(commits[3], { size: 1, thread: 'main' }, 'back on the main connection once the thread is idle')
    t.same(
      ids,
      [...ids].sort((a, b) => a - b),
      'ids grow in the order asked for, across both connections',
    )
    t.equal(new Set(ids).size, 43, 'no id twice')
    t.equal(
      (await send(3)).created,
      false,
      "a repeated client_id from the thread's batch is found from the main connection",
    )
  },
)

t.test(
  'a writer thread that dies fails its batch as unavailable, and the next one starts afresh',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-writer-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 'empty.db')
    // A file without the schema: the thread cannot prepare its statements and stops.
    const bare = await openDatabase(`sqlite:${path}`)
    const store = workerMessageStore(path, SQLITE_BUSY_TIMEOUT_MS)
    t.teardown(() => store.close())
    const first = await store
      .append({ conversationId: 1, senderId: 1, content: 'x', clientId: null })
      .catch((e: unknown) => e)
    t.ok(isUnavailable(first), `refused as unavailable (503), not left hanging: ${String(first)}`)

    // The schema arrives (as after a restore): the next append gets a new, working thread.
    await migrateToLatest(bare.db)
    const sqlite = bare.sqlite
    if (!sqlite) throw new Error('sqlite handle expected')
    sqlite
      .prepare(
        `INSERT INTO users (username, username_key, display_name, password_hash, role, created_at)
       VALUES ('solo', 'solo', 'solo', 'x', 'admin', '2026-01-01T00:00:00.000Z')`,
      )
      .run()
    sqlite
      .prepare(
        `INSERT INTO conversations (kind, title, created_by, created_at, last_activity_at)
       VALUES ('group', 't', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`,
      )
      .run()
    // Only a member's message commits.
    sqlite
      .prepare(
        `INSERT INTO conversation_members (conversation_id, user_id, joined_at)
       VALUES (1, 1, '2026-01-01T00:00:00.000Z')`,
      )
      .run()
    const second = await store.append({ conversationId: 1, senderId: 1, content: 'y', clientId: null })
    t.equal(second.created, true, 'the next batch commits')
    t.equal(second.row.content, 'y')
    await bare.close()
  },
)
