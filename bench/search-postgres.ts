import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { testConfig } from '../src/config.js'

// The search bench's queries on PostgreSQL (not part of `npm run bench`):
//   npx tsx bench/search-postgres.ts postgres://postgres@127.0.0.1:5432/test [messages] [queries]
// A schema of its own (dropped after): accounts through the register route, then 2,000
// conversations (the searcher in 50) and the messages written by PostgreSQL itself
// (generate_series over a small vocabulary, 5-20 words each), with the bench's three words:
// `quokka` in 10 of the searcher's messages, `meeting` starting 20% of all, `invoice` ending 20% of
// the others'. Then GET /search through app.inject in this process, as `--mode search` does.

const [url = 'postgres://postgres@127.0.0.1:5432/test', messagesArg = '1000000', queriesArg = '200'] =
  process.argv.slice(2)
const messages = Number(messagesArg)
const schema = `bench_search_${Date.now()}`
const admin = new pg.Client({ connectionString: url })
await admin.connect()
await admin.query(`create schema ${schema}`)
const dir = mkdtempSync(join(tmpdir(), 'parley-search-pg-'))
const databaseUrl = `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`
const config = testConfig({
  databaseUrl,
  uploadDir: join(dir, 'uploads'),
  authRateLimit: 1_000_000,
  writeRateLimit: 1_000_000,
  logLevel: 'warn',
})
try {
  const app = await buildApp({ config })
  const accounts: Array<{ id: number; token: string }> = []
  for (let i = 0; i < 20; i++) {
    const r = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { username: `searcher${i}`, password: 'correct horse battery' },
    })
    accounts.push({ id: r.json().user.id, token: r.json().token })
  }
  const started = performance.now()
  const ids = accounts.map((a) => a.id)
  await admin.query(`set search_path to ${schema}`)
  await admin.query(
    `insert into conversations (kind, title, created_at, last_activity_at)
     select 'group', 'room ' || c, now()::text, now()::text from generate_series(0, 1999) c`,
  )
  // Two members per conversation among searcher1-19; the searcher in every 40th (50 of them).
  await admin.query(
    `insert into conversation_members (conversation_id, user_id, joined_at)
     select distinct c.id, u, now()::text from conversations c,
       lateral (values (($1::bigint[])[2 + (c.id % 19)]), (($1::bigint[])[2 + ((c.id * 7) % 19)])) v(u)
     union select c.id, ($1::bigint[])[1], now()::text from conversations c where c.id % 40 = 0`,
    [ids],
  )
  const vocabulary = `the a to and of in is it you that for on we this be have are with not at can will just
    so do was but what if get all my your about up out now how know there one should think like need
    time would could see then also go they new work make from here good today release build test deploy
    server client page bug fix review change update merge branch issue design data user team call plan
    week next done check sure ok thanks yes no maybe later soon revert revision kalo miren tosa`
    .split(/\s+/)
    .filter(Boolean)
  await admin.query(
    `insert into messages (conversation_id, sender_id, content, created_at, change_seq)
     select 1 + (g % 2000), ($2::bigint[])[2 + (g % 19)],
       case when (g / 2000) % 5 = 0 then 'meeting ' else '' end ||
       (select string_agg(($1::text[])[1 + floor(random() * array_length($1::text[], 1))::int], ' ')
          from generate_series(1, 5 + (g % 16) + 0 * g)) ||
       case when (1 + (g % 2000)) % 40 <> 0 and (g / 2000) % 5 = 1 then ' invoice' else '' end,
       now()::text, g
     from generate_series(1, $3::int) g`,
    [vocabulary, ids, messages],
  )
  await admin.query(
    `update messages set content = content || ' quokka'
     where id in (select id from messages where conversation_id % 40 = 0 order by id limit 10)`,
  )
  await admin.query('analyze')
  console.log(`seeded ${messages} messages in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const headers = { authorization: `Bearer ${accounts[0].token}` }
  const ask = async (q: string) => {
    const r = await app.inject({ method: 'GET', url: `/search?q=${encodeURIComponent(q)}`, headers })
    if (r.statusCode !== 200) throw new Error(`${q}: ${r.statusCode} ${r.body}`)
    return r.json().results.length as number
  }
  const queries = Number(queriesArg)
  console.log(
    '| query | results | p50 ms | p99 ms | node CPU ms per search |\n| --- | ---: | ---: | ---: | ---: |',
  )
  for (const q of ['quokka', 'meeting', 'invoice', 'meeting rev', '"meeting the"']) {
    const results = await ask(q)
    for (let i = 0; i < 10; i++) await ask(q)
    const times: number[] = []
    const cpu = process.cpuUsage()
    for (let i = 0; i < queries; i++) {
      const t0 = performance.now()
      await ask(q)
      times.push(performance.now() - t0)
    }
    const used = process.cpuUsage(cpu)
    times.sort((a, b) => a - b)
    const at = (p: number) =>
      times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))].toFixed(2)
    console.log(
      `| \`${q}\` | ${results} | ${at(50)} | ${at(99)} | ${((used.user + used.system) / 1000 / queries).toFixed(2)} |`,
    )
  }
  await app.close()
} finally {
  await admin.query(`drop schema ${schema} cascade`)
  await admin.end()
  rmSync(dir, { recursive: true, force: true })
}
