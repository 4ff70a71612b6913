import { copyFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { createSearchIndexer, scopedWords } from '../src/conversations/message-store/sqlite-search-index.js'
copyFileSync('/work/scratch/sp/search.db', '/work/scratch/sp/idx.db')
const db = new Database('/work/scratch/sp/idx.db')
db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL')
const max = db.prepare('select max(id) from messages').pluck().get() as number
const N = 20000
db.transaction(() => {
  const del = db.prepare('delete from messages_fts where rowid = ?')
  for (let id = max - N + 1; id <= max; id++) del.run(id)
  db.prepare('update search_progress set indexed_upto = ?').run(max - N)
})()
while (createSearchIndexer(db).tidy());
const ix = createSearchIndexer(db)
let c0 = process.cpuUsage(); let t0 = performance.now()
ix.catchUp()
let c = process.cpuUsage(c0)
console.log('catchUp', N, 'rows:', ((c.user + c.system) / N).toFixed(1), 'µs CPU/row', ((performance.now() - t0) * 1000 / N).toFixed(1), 'µs wall/row')
// pieces: scopedWords alone
const rows = db.prepare('select id, conversation_id, content from messages where id > ?').all(max - N) as any[]
c0 = process.cpuUsage(); for (const r of rows) scopedWords(r.conversation_id, r.content); c = process.cpuUsage(c0)
console.log('scopedWords', ((c.user + c.system) / N).toFixed(2), 'µs/row')
c0 = process.cpuUsage(); db.prepare('select id, conversation_id, content from messages where id > ?').all(max - N); c = process.cpuUsage(c0)
console.log('read rows', ((c.user + c.system) / N).toFixed(2), 'µs/row')
