import { execFileSync } from 'node:child_process'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import SqliteDatabase from 'better-sqlite3'
import type { FastifyInstance } from 'fastify'
import { testConfig } from '../src/config.js'
import { createSearchIndexer } from '../src/conversations/message-store/sqlite-search-index.js'
import { fmt, int } from './lib.js'

// npm run bench -- --mode search: full-text search over a seeded SQLite file, in one process
// (the app answers app.inject, so one core does all the work). The messages go straight into the
// tables through the migrated schema, then into the search index as the writer puts them there.

export const SEARCH_OPTIONS = {
  'search-messages': { type: 'string', default: '1000000' },
  'search-conversations': { type: 'string', default: '2000' },
  'search-member-of': { type: 'string', default: '50' },
  'search-queries': { type: 'string', default: '500' },
  'write-messages': { type: 'string', default: '20000' },
} as const

export const SEARCH_HELP = `  --mode search                full-text search over a seeded SQLite file, in process
    --search-messages N (1000000) --search-conversations C (2000) --search-member-of K (50)
    --search-queries Q (500 per case) --write-messages W (20000, the write-rate comparison)`

export interface SearchRun {
  sizes: { messages: number; conversations: number; memberOf: number }
  seedSeconds: number
  cases: Array<{
    name: string
    q: string
    results: number
    p50: number
    p99: number
    mean: number
    cpu: number
  }>
  mixedPerSecond: number
  /** Searches per second of this process's CPU time (user + system): the rate on one free core. */
  mixedPerCpuSecond: number
  bytesPerMessage: { total: number; index: number; withoutIndex: number }
  writes: { withIndex: number; withoutIndex: number; messages: number }
  load: string
}

// A small vocabulary with a Zipf-like spread: a few words very common, most rare.
const COMMON = `the a to and of in is it you that for on we this be have are with not at i can
  will just so do was but what if get all my your about up out now how know there one should
  think like need time would could see then also go they new work make from here good today
  release build test deploy server client page bug fix review change update merge branch issue
  design data user team call plan week next done check sure ok thanks yes no maybe later soon`
  .split(/\s+/)
  .filter(Boolean)
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ren',
  'to',
  'sa',
  'vel',
  'dor',
  'an',
  'is',
  'pre',
  'qua',
  'tum',
  'ex',
  'ol',
]

function rng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const random = rng(42)
const rare: string[] = []
for (let i = 0; i < 4000; i++) {
  const n = 2 + Math.floor(random() * 3)
  let word = ''
  for (let j = 0; j < n; j++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)]
  rare.push(word)
}

function sentence(): string {
  const length = 5 + Math.floor(random() * 16)
  const words: string[] = []
  for (let i = 0; i < length; i++) {
    const r = random()
    words.push(
      r < 0.8
        ? COMMON[Math.floor(random() ** 2 * COMMON.length)]
        : rare[Math.floor(random() ** 3 * rare.length)],
    )
  }
  return `${words.join(' ')}.`
}

const RARE_WORD = 'quokka'
const COMMON_WORD = 'meeting'
const ELSEWHERE_WORD = 'invoice'

export async function appOn(path: string, tmp: string): Promise<FastifyInstance> {
  const { buildApp } = await import('../src/app.js')
  return buildApp({
    config: testConfig({
      databaseUrl: `sqlite:${path}`,
      uploadDir: join(tmp, 'uploads'),
      authRateLimit: 1_000_000,
      writeRateLimit: 1_000_000,
      logLevel: 'warn',
    }),
  })
}

/** Registers accounts, closes the app, then writes conversations and messages directly. */
export async function seed(path: string, tmp: string, sizes: SearchRun['sizes']) {
  const app = await appOn(path, tmp)
  const accounts: Array<{ id: number; token: string }> = []
  for (let i = 0; i < 20; i++) {
    const response = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { username: `searcher${i}`, password: 'correct horse battery' },
    })
    accounts.push({ id: response.json().user.id, token: response.json().token })
  }
  await app.close()
  const sqlite = new SqliteDatabase(path)
  sqlite.pragma('synchronous = OFF')
  sqlite.pragma('cache_size = -262144')
  const now = Date.now()
  const addConversation = sqlite.prepare(
    "insert into conversations (kind, title, created_at, last_activity_at) values ('group', ?, ?, ?)",
  )
  const addMember = sqlite.prepare(
    'insert into conversation_members (conversation_id, user_id, joined_at) values (?, ?, ?)',
  )
  const addMessage = sqlite.prepare(
    'insert into messages (conversation_id, sender_id, content, created_at, change_seq) values (?, ?, ?, ?, ?)',
  )
  const searcher = accounts[0]
  const conversations: number[] = []
  const mine = new Set<number>()
  const stride = Math.floor(sizes.conversations / sizes.memberOf)
  sqlite.transaction(() => {
    for (let c = 0; c < sizes.conversations; c++) {
      const at = new Date(now - 86_400_000).toISOString()
      const id = Number(addConversation.run(`room ${c}`, at, at).lastInsertRowid)
      conversations.push(id)
      const members = new Set([accounts[1 + (c % 19)].id, accounts[1 + ((c * 7) % 19)].id])
      if (c % stride === 0 && mine.size < sizes.memberOf) {
        members.add(searcher.id)
        mine.add(id)
      }
      for (const user of members) addMember.run(id, user, at)
    }
  })()
  const rareAt = new Set<number>()
  while (rareAt.size < 10) rareAt.add(Math.floor(random() * sizes.messages))
  const mineList = [...mine]
  const seq = new Map<number, number>()
  const batch = 10_000
  for (let start = 0; start < sizes.messages; start += batch) {
    sqlite.transaction(() => {
      for (let i = start; i < Math.min(sizes.messages, start + batch); i++) {
        const rareHere = rareAt.has(i)
        const conversation = rareHere
          ? mineList[Math.floor(random() * mineList.length)]
          : conversations[Math.floor(random() * conversations.length)]
        let text = sentence()
        if (random() < 0.2) text = `${COMMON_WORD} ${text}`
        if (!mine.has(conversation) && random() < 0.2) text = `${text} ${ELSEWHERE_WORD}`
        if (rareHere) text = `${text} ${RARE_WORD}`
        const next = (seq.get(conversation) ?? 0) + 1
        seq.set(conversation, next)
        const at = new Date(now - 86_400_000 + Math.floor((i / sizes.messages) * 86_000_000)).toISOString()
        addMessage.run(conversation, accounts[1 + (i % 19)].id, text, at, next)
      }
    })()
  }
  const setSeq = sqlite.prepare('update conversations set change_seq = ? where id = ?')
  sqlite.transaction(() => {
    for (const [id, value] of seq) setSeq.run(value, id)
  })()
  // The search index, as the writer builds it after commits (in larger chunks here), then merged
  // as an idle writer merges it.
  const searchIndex = createSearchIndexer(sqlite)
  while (searchIndex.step(50_000) > 0);
  while (searchIndex.tidy());
  sqlite.pragma('wal_checkpoint(TRUNCATE)')
  sqlite.close()
  return searcher
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** Bytes of the database file and of the search tables in it (dbstat). */
function sizes(path: string): { total: number; index: number } {
  const sqlite = new SqliteDatabase(path, { readonly: true })
  const rows = sqlite
    .prepare(
      "select name, sum(pgsize) as bytes from dbstat where name like 'messages_fts%' or name like 'messages_cjk%' group by name",
    )
    .all() as Array<{ bytes: number }>
  sqlite.close()
  return { total: statSync(path).size, index: rows.reduce((sum, row) => sum + row.bytes, 0) }
}

/** Messages appended per second through the app's message store, `concurrency` at a time. */
async function writeRate(tmp: string, name: string, messages: number, dropIndex: boolean): Promise<number> {
  const path = join(tmp, `${name}.db`)
  const app = await appOn(path, tmp)
  const register = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username: 'writer', password: 'correct horse battery' },
  })
  const user = register.json().user.id
  const other = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username: 'reader', password: 'correct horse battery' },
  })
  const created = await app.inject({
    method: 'POST',
    url: '/conversations',
    headers: { authorization: `Bearer ${register.json().token}` },
    payload: { member_ids: [other.json().user.id], title: 'writes' },
  })
  const conversationId = created.json().conversation.id
  if (dropIndex) {
    // Nothing is ever indexed: the indexer finds every id below its mark, no trigger fires.
    const sqlite = new SqliteDatabase(path)
    sqlite.exec('update search_progress set indexed_upto = 9007199254740991')
    for (const trigger of ['messages_search_update', 'messages_search_delete'])
      sqlite.exec(`drop trigger ${trigger}`)
    sqlite.close()
  }
  const started = performance.now()
  let next = 0
  const worker = async () => {
    while (next < messages) {
      next++
      await app.messages.append({ conversationId, senderId: user, content: sentence(), clientId: null })
    }
  }
  await Promise.all(Array.from({ length: 64 }, worker))
  // With the index: until every message can be found.
  await app.messages.searchable()
  const seconds = (performance.now() - started) / 1000
  await app.close()
  return messages / seconds
}

export async function runSearchMode(
  flags: Record<string, string | boolean | undefined>,
  tmp: string,
  log: (line: string) => void,
): Promise<SearchRun> {
  const sizesAsked = {
    messages: Number(flags['search-messages']),
    conversations: Number(flags['search-conversations']),
    memberOf: Number(flags['search-member-of']),
  }
  const path = join(tmp, 'search.db')
  const seedStart = performance.now()
  log(`seeding ${int(sizesAsked.messages)} messages in ${sizesAsked.conversations} conversations...`)
  const searcher = await seed(path, tmp, sizesAsked)
  const seedSeconds = (performance.now() - seedStart) / 1000
  log(`seeded in ${fmt(seedSeconds)} s`)
  const app = await appOn(path, tmp)
  const headers = { authorization: `Bearer ${searcher.token}` }
  const ask = async (q: string) => {
    const response = await app.inject({ method: 'GET', url: `/search?q=${encodeURIComponent(q)}`, headers })
    if (response.statusCode !== 200) throw new Error(`search ${q}: ${response.statusCode} ${response.body}`)
    return response.json().results.length as number
  }
  const queries = Number(flags['search-queries'])
  const cases: SearchRun['cases'] = []
  const named: Array<[string, string]> = [
    ['rare word (10 visible matches)', RARE_WORD],
    ['common word (20% of all messages), first page', COMMON_WORD],
    ['word common elsewhere, absent from my conversations', ELSEWHERE_WORD],
    ['two words, the last a prefix', `${COMMON_WORD} rev`],
    ['phrase', `"${COMMON_WORD} the"`],
  ]
  for (const [name, q] of named) {
    const results = await ask(q)
    for (let i = 0; i < 20; i++) await ask(q)
    const times: number[] = []
    const cpuStart = process.cpuUsage()
    for (let i = 0; i < queries; i++) {
      const start = performance.now()
      await ask(q)
      times.push(performance.now() - start)
    }
    const used = process.cpuUsage(cpuStart)
    const cpu = (used.user + used.system) / 1000 / queries
    times.sort((a, b) => a - b)
    const mean = times.reduce((a, b) => a + b, 0) / times.length
    cases.push({ name, q, results, p50: percentile(times, 50), p99: percentile(times, 99), mean, cpu })
    log(
      `${name}: ${results} results, p50 ${fmt(percentile(times, 50))} ms, p99 ${fmt(percentile(times, 99))} ms`,
    )
  }
  const mix = named.map(([, q]) => q)
  let done = 0
  const mixStart = performance.now()
  const mixCpu = process.cpuUsage()
  while (performance.now() - mixStart < 5000) await ask(mix[done++ % mix.length])
  const mixedPerSecond = done / ((performance.now() - mixStart) / 1000)
  const mixUsed = process.cpuUsage(mixCpu)
  const mixedPerCpuSecond = done / ((mixUsed.user + mixUsed.system) / 1e6)
  log(`mixed: ${fmt(mixedPerSecond)} searches/s (${fmt(mixedPerCpuSecond)} per CPU second)`)
  await app.close()
  const size = sizes(path)
  const writes = Number(flags['write-messages'])
  const withIndex = await writeRate(tmp, 'writes-indexed', writes, false)
  const withoutIndex = await writeRate(tmp, 'writes-plain', writes, true)
  log(`writes: ${fmt(withIndex)} msg/s with the index, ${fmt(withoutIndex)} without`)
  return {
    sizes: sizesAsked,
    seedSeconds,
    cases,
    mixedPerSecond,
    mixedPerCpuSecond,
    bytesPerMessage: {
      total: size.total / sizesAsked.messages,
      index: size.index / sizesAsked.messages,
      withoutIndex: (size.total - size.index) / sizesAsked.messages,
    },
    writes: { withIndex, withoutIndex, messages: writes },
    load: execFileSync('uptime').toString().trim(),
  }
}

export function searchMarkdown(run: SearchRun): string {
  const lines = [
    `Search over ${int(run.sizes.messages)} messages in ${run.sizes.conversations} conversations, the searcher a member of ${run.sizes.memberOf}; in process, one core (seeded in ${fmt(run.seedSeconds)} s). Load: ${run.load}`,
    '',
    '| query | q | results | p50 ms | p99 ms | mean ms | CPU ms per search |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...run.cases.map(
      (c) =>
        `| ${c.name} | \`${c.q}\` | ${c.results} | ${fmt(c.p50, 2)} | ${fmt(c.p99, 2)} | ${fmt(c.mean, 2)} | ${fmt(c.cpu, 2)} |`,
    ),
    '',
    `Mixed searches (the queries above in turn): ${fmt(run.mixedPerSecond)} /s (${fmt(run.mixedPerCpuSecond)} per CPU second).`,
    `Database: ${fmt(run.bytesPerMessage.total)} bytes per message with the index, ${fmt(run.bytesPerMessage.withoutIndex)} without (the index ${fmt(run.bytesPerMessage.index)}).`,
    `Message writes through the message store (${int(run.writes.messages)}, 64 at a time): ${fmt(run.writes.withIndex)} msg/s with the index, ${fmt(run.writes.withoutIndex)} without (${fmt((run.writes.withIndex / run.writes.withoutIndex) * 100)}%).`,
  ]
  return lines.join('\n')
}
