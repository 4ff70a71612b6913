import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { Migrator } from 'kysely'
import t from 'tap'
import { CJK_GLOB as MIGRATION_CJK_GLOB } from '../migrations/0006_search.js'
import { migrations } from '../migrations/index.js'
import {
  CJK_GLOB,
  CJK_TEXT,
  INDEX_CHUNK_ROWS,
  INDEX_CHUNKS_PER_TURN,
  scopedWords,
} from '../src/conversations/message-store/sqlite-search-index.js'
import { workerMessageStore } from '../src/conversations/message-store/sqlite-worker.js'
import { openDatabase, SQLITE_BUSY_TIMEOUT_MS } from '../src/db/index.js'
import { searchMessages } from '../src/db/queries/search.js'
import { ftsScopedExpression, parseQuery } from '../src/search/query.js'
import {
  type Account,
  buildTestApp,
  createConversation,
  MANY_WRITES,
  register,
  type TestContext,
} from './helpers/app.js'

// SQLite indexes new messages for search after they commit, in chunks (sqlite-search-index.js);
// a search first brings the index up to the newest commit. These tests hold the index back (a
// store of their own that never indexes when idle) to see that what has committed is still found
// as it is now, edited or deleted, and that the writer indexes in bounded chunks on its own.

async function found(app: FastifyInstance, who: Account, q: string): Promise<number[]> {
  const response = await app.inject({
    method: 'GET',
    url: `/search?q=${encodeURIComponent(q)}`,
    headers: who.auth,
  })
  if (response.statusCode !== 200) throw new Error(`search ${q}: ${response.statusCode} ${response.body}`)
  return response.json().results.map((result: { message: { id: number } }) => result.message.id)
}

async function setup(t: TestContext) {
  const app = await buildTestApp(t, MANY_WRITES)
  const { sqlitePath: path, sqlite } = app.ctx.database
  if (!path || !sqlite) return undefined
  const [ann, bob] = [await register(app), await register(app)]
  const room = await createConversation(app, ann, [bob])
  // A store of the test's own that never indexes when idle: the index stays behind until asked.
  const store = workerMessageStore(path, SQLITE_BUSY_TIMEOUT_MS, undefined, sqlite, 3_600_000)
  t.teardown(() => store.close())
  const indexedUpto = () => Number(sqlite.prepare('SELECT indexed_upto FROM search_progress').pluck().get())
  const inIndex = (word: string) =>
    Number(
      sqlite
        .prepare('SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?')
        .pluck()
        .get(`"${scopedWords(room, word)}"`),
    )
  const append = async (content: string) =>
    Number((await store.append({ conversationId: room, senderId: ann.id, content, clientId: null })).row.id)
  return { app, store, ann, bob, room, indexedUpto, inIndex, append }
}

t.test('the scripts indexed by trigrams, and the words of the scoped column', async (t) => {
  for (const text of ['สวัสดี', 'ひらがな', 'カタカナ', '㐀', '会議', '한국어', '豈'])
    t.ok(CJK_TEXT.test(text), `${text}: by trigrams`)
  for (const text of ['Zoë', 'Привет', 'Καλημέρα', 'plain 123'])
    t.notOk(CJK_TEXT.test(text), `${text}: by words`)
  t.equal(scopedWords(12, 'Zoë’s zoe-approved, 3 snacks!'), '12xZoë 12xs 12xzoe 12xapproved 12x3 12xsnacks')
  t.equal(scopedWords(7, ' -- '), '', 'no words, nothing')
  t.equal(CJK_GLOB, MIGRATION_CJK_GLOB, 'the GLOB the indexer uses is the one the migrations used')
})

t.test('committed but not yet indexed: found by a search, as edited, never once deleted', async (t) => {
  const s = await setup(t)
  if (!s) return t.comment('SKIP: SQLite only; PostgreSQL keeps its index as rows are written')
  const { app, ann, bob, room, indexedUpto, inIndex, append } = s
  const before = indexedUpto()
  const first = await append('alpha quokka one')
  const second = await append('beta numbat two')
  const third = await append('gamma wombat three')
  const cjk = await append('会議は明日の午後三時からです')
  t.equal(indexedUpto(), before, 'the writes did not index')
  t.equal(inIndex('quokka'), 0, 'quokka is not in the index yet')

  const edit = await app.inject({
    method: 'PATCH',
    url: `/conversations/${room}/messages/${first}`,
    headers: ann.auth,
    payload: { content: 'alpha platypus one' },
  })
  t.equal(edit.statusCode, 200)
  const removed = await app.inject({
    method: 'DELETE',
    url: `/conversations/${room}/messages/${third}`,
    headers: ann.auth,
  })
  t.equal(removed.statusCode, 204)
  t.equal(indexedUpto(), before, 'edits of unindexed messages leave the index alone')

  t.same(await found(app, bob, 'platypus'), [first], 'the edited text is found')
  t.equal(indexedUpto(), cjk, 'the search brought the index up to the newest message')
  t.same(await found(app, bob, 'quokka'), [], 'the text before the edit is not')
  t.same(await found(app, bob, 'wombat'), [], 'the deleted message is not')
  t.same(await found(app, bob, 'numbat'), [second])
  t.same(await found(app, bob, '明日の午後'), [cjk], 'CJK text is indexed by trigrams too')

  // Indexed now: an edit changes the index in its own transaction, as before.
  const again = await app.inject({
    method: 'PATCH',
    url: `/conversations/${room}/messages/${first}`,
    headers: ann.auth,
    payload: { content: 'alpha echidna one' },
  })
  t.equal(again.statusCode, 200)
  t.equal(inIndex('platypus'), 0, 'an indexed message edited: its old words leave the index at commit')
  t.same(await found(app, bob, 'echidna'), [first], 'its new words are found')
  t.equal(inIndex('echidna'), 1, 're-indexed for that search')
  t.same(await found(app, bob, 'platypus'), [])
})

t.test('under sustained writes the writer indexes a chunk at a time on its own', async (t) => {
  const s = await setup(t)
  if (!s) return t.comment('SKIP: SQLite only; PostgreSQL keeps its index as rows are written')
  const { app, store, bob, room, ann, indexedUpto } = s
  const before = indexedUpto()
  const count = INDEX_CHUNK_ROWS * 2 + 500
  const rows = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      store.append({ conversationId: room, senderId: ann.id, content: `burst ${i} kiwi`, clientId: null }),
    ),
  )
  const newest = Math.max(...rows.map((r) => Number(r.row.id)))
  // The thread indexes right after it acknowledges the batch: wait for that chunk to commit.
  for (let waited = 0; indexedUpto() === before && waited < 10_000; waited += 20)
    await new Promise((resolve) => setTimeout(resolve, 20))
  const behind = newest - indexedUpto()
  t.ok(behind > 0 && behind < count, `indexed part of the burst by itself (${count - behind} of ${count})`)
  t.equal((indexedUpto() - before) % INDEX_CHUNK_ROWS, 0, 'in whole chunks')
  await store.searchable()
  t.equal(indexedUpto(), newest, 'searchable(): the index holds every committed message')
  const page = await found(app, bob, 'kiwi')
  t.equal(page[0], newest, 'the newest first')
})

t.test('messages a stopped writer left unindexed are indexed by the next search', async (t) => {
  const s = await setup(t)
  if (!s) return t.comment('SKIP: SQLite only; PostgreSQL keeps its index as rows are written')
  const { app, store, bob, indexedUpto, append } = s
  const id = await append('left behind marmot')
  await store.close()
  t.ok(indexedUpto() < id, 'closed with the message unindexed')
  t.same(await found(app, bob, 'marmot'), [id])
})

t.test('a writer that starts with the index behind catches it up by itself', async (t) => {
  const s = await setup(t)
  if (!s) return t.comment('SKIP: SQLite only; PostgreSQL keeps its index as rows are written')
  const { app, store, indexedUpto, append } = s
  const id = await append('left behind wombat')
  await store.close()
  const { sqlitePath: path, sqlite } = app.ctx.database
  const next = workerMessageStore(path as string, SQLITE_BUSY_TIMEOUT_MS, undefined, sqlite, 20)
  t.teardown(() => next.close())
  for (let waited = 0; indexedUpto() < id && waited < 10_000; waited += 20)
    await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(indexedUpto(), id, 'indexed with no search asking')
})

t.test('an idle writer merges the index segments the chunks made, a step at a time', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const { sqlitePath: path, sqlite } = app.ctx.database
  if (!path || !sqlite) return t.comment('SKIP: SQLite only; PostgreSQL keeps its index as rows are written')
  const [ann, bob] = [await register(app), await register(app)]
  const room = await createConversation(app, ann, [bob])
  const segments = () =>
    Number(sqlite.prepare('SELECT count(DISTINCT segid) FROM messages_fts_idx').pluck().get())
  // Indexes when idle after 20 ms: the chunks commit one by one, then the merging starts.
  const store = workerMessageStore(path, SQLITE_BUSY_TIMEOUT_MS, undefined, sqlite, 20)
  t.teardown(() => store.close())
  for (let round = 0; round < 4; round++) {
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        store.append({
          conversationId: room,
          senderId: ann.id,
          content: `round ${round} line ${i} kiwi`,
          clientId: null,
        }),
      ),
    )
    await store.searchable()
  }
  t.ok(segments() > 1, `the chunks left several segments (${segments()})`)
  for (let waited = 0; segments() > 1 && waited < 15_000; waited += 50)
    await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(segments(), 1, 'merged into one while idle')
  const response = await app.inject({ method: 'GET', url: '/search?q=kiwi&limit=100', headers: bob.auth })
  t.equal(response.json().results.length, 100, 'every message still found')
  t.equal(response.json().has_more, true)
})

t.test('a member of more conversations than one expression names: several, newest first', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  if (!app.ctx.database.sqlite)
    return t.comment('SKIP: SQLite only (the PostgreSQL query names no conversation)')
  const [ann, bob, cat] = [await register(app), await register(app), await register(app)]
  const first = await createConversation(app, ann, [bob])
  const second = await createConversation(app, ann, [cat])
  t.not(first, second)
  const ids: number[] = []
  for (let i = 0; i < 6; i++) {
    const room = i % 2 ? second : first
    const row = await app.ctx.messages.append({
      conversationId: room,
      senderId: ann.id,
      content: `lynx ${i}`,
      clientId: null,
    })
    ids.push(Number(row.row.id))
  }
  // 1,200 conversation ids: the two real ones fall in different slices of 500.
  const conversationIds = Array.from({ length: 1200 }, (_, i) => 1_000_000 + i)
  conversationIds[100] = first
  conversationIds[900] = second
  await app.ctx.messages.searchable()
  const terms = parseQuery('lynx')
  const rows = await searchMessages(
    app.ctx.db,
    { wordsIn: (some) => ftsScopedExpression(terms, some), substrings: [] },
    { userId: ann.id, conversationIds, limit: 4 },
  )
  t.same(
    rows.map((row) => Number(row.id)),
    [...ids].reverse().slice(0, 4),
    'the newest four of both conversations',
  )
})

t.test('a long catch-up takes turns with the messages waiting to be written', async (t) => {
  const s = await setup(t)
  if (!s) return t.comment('SKIP: SQLite only; PostgreSQL keeps its index as rows are written')
  const { app, store, ann, room, indexedUpto, append } = s
  await append('start the writer thread with a batch of one')
  await Promise.all(Array.from({ length: 20 }, (_, i) => append(`warm ${i}`)))
  // More than one turn of the writer (INDEX_CHUNKS_PER_TURN chunks) behind, written straight in.
  const sqlite = app.ctx.database.sqlite as NonNullable<typeof app.ctx.database.sqlite>
  const behind = INDEX_CHUNK_ROWS * INDEX_CHUNKS_PER_TURN + 5_000
  sqlite.transaction(() => {
    const insert = sqlite.prepare(
      "INSERT INTO messages (conversation_id, sender_id, content, created_at, change_seq) VALUES (?, ?, ?, '2026-12-01T00:00:00.000Z', 0)",
    )
    for (let i = 0; i < behind; i++) insert.run(room, ann.id, `backlog ${i} heron`)
  })()
  const order: string[] = []
  const searchable = store.searchable().then(() => order.push('searchable'))
  const written = store
    .append({ conversationId: room, senderId: ann.id, content: 'written meanwhile', clientId: null })
    .then(() => order.push('append'))
  await Promise.all([searchable, written])
  t.same(order, ['append', 'searchable'], 'the message waiting was written between two turns')
  const newest = Number(sqlite.prepare('SELECT max(id) FROM messages').pluck().get())
  t.equal(indexedUpto(), newest, 'then the index caught up, all of it')
})

t.test('a database from before the index was per conversation: rebuilt from its messages', async (t) => {
  if (process.env.PARLEY_TEST_DB === 'postgres') return t.comment('SKIP: SQLite only (migration 0011)')
  const dir = mkdtempSync(join(tmpdir(), 'parley-upgrade-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'parley.db')
  // The schema as the previous version left it (migrations up to 0010), with messages in it.
  const old = await openDatabase(`sqlite:${path}`)
  const earlier = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0011'))
  const migrator = new Migrator({ db: old.db, provider: { getMigrations: async () => earlier } })
  t.notOk((await migrator.migrateToLatest()).error)
  const at = '2026-11-01T00:00:00.000Z'
  old.sqlite?.exec(`
    INSERT INTO users (username, username_key, display_name, password_hash, role, created_at)
      VALUES ('olduser', 'olduser', 'Old User', 'x', 'member', '${at}');
    INSERT INTO conversations (kind, title, created_at, last_activity_at) VALUES ('group', 'old', '${at}', '${at}');
    INSERT INTO conversation_members (conversation_id, user_id, joined_at) VALUES (1, 1, '${at}');
    INSERT INTO messages (conversation_id, sender_id, content, created_at, change_seq)
      VALUES (1, 1, 'an old heron', '${at}', 1);`)
  await old.db.destroy()
  const app = await buildTestApp(t, { ...MANY_WRITES, databaseUrl: `sqlite:${path}` })
  const bob = await register(app)
  app.ctx.database.sqlite?.exec(
    `INSERT INTO conversation_members (conversation_id, user_id, joined_at) VALUES (1, ${bob.id}, '${at}')`,
  )
  t.same((await found(app, bob, 'heron')).length, 1, 'found once the index is rebuilt')
})
