import Database from 'better-sqlite3'
import { scopedWords } from '../src/conversations/message-store/sqlite-search-index.js'
const src = new Database('/work/scratch/sp/search.db', { readonly: true })
const rows = src.prepare('select id, conversation_id, content from messages where id <= 200000').all() as any[]
const variants: Record<string, [string, (r: any) => unknown[]]> = {
  both: ['body, scoped', (r) => [r.id, r.content, scopedWords(r.conversation_id, r.content)]],
  scoped: ['scoped', (r) => [r.id, scopedWords(r.conversation_id, r.content)]],
  bodyconv: ['body, conv', (r) => [r.id, r.content, `c${r.conversation_id}`]],
}
for (const [name, [cols, values]] of Object.entries(variants)) {
  const db = new Database(':memory:')
  db.exec(`create virtual table f using fts5(${cols}, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')`)
  const insert = db.prepare(`insert into f(rowid, ${cols}) values (?${', ?'.repeat(cols.split(',').length)})`)
  const chunk = db.transaction((part: any[]) => { for (const r of part) insert.run(...values(r)) })
  for (let i = 0; i < 180000; i += 2000) chunk(rows.slice(i, i + 2000))
  const c0 = process.cpuUsage()
  for (let i = 180000; i < 200000; i += 2000) chunk(rows.slice(i, i + 2000))
  const c = process.cpuUsage(c0)
  console.log(name, ((c.user + c.system) / 20000).toFixed(1), 'µs CPU/row')
}
