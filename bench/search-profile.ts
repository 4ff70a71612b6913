import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { appOn, seed } from './search.js'

// A search loop to profile (not part of `npm run bench`):
//   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/search-profile.ts DIR [messages] [seconds]
// Seeds DIR/search.db once (kept for the next run), then asks the bench's queries in turn.

const [dir = '/tmp/search-profile', messagesArg = '50000', secondsArg = '10'] = process.argv.slice(2)
mkdirSync(dir, { recursive: true })
const path = join(dir, 'search.db')
const tokenFile = join(dir, 'token.txt')
const fs = await import('node:fs')
if (!existsSync(path)) {
  const searcher = await seed(path, dir, { messages: Number(messagesArg), conversations: 2000, memberOf: 50 })
  fs.writeFileSync(tokenFile, searcher.token)
}
const token = fs.readFileSync(tokenFile, 'utf8')
const app = await appOn(path, dir)
const headers = { authorization: `Bearer ${token}` }
const queries = ['quokka', 'meeting', 'invoice', 'meeting rev', '"meeting the"']
for (const q of queries) {
  const started = process.cpuUsage()
  for (let i = 0; i < 200; i++) {
    const r = await app.inject({ method: 'GET', url: `/search?q=${encodeURIComponent(q)}`, headers })
    if (r.statusCode !== 200) throw new Error(r.body)
  }
  const used = process.cpuUsage(started)
  console.log(`${q}: ${((used.user + used.system) / 1000 / 200).toFixed(2)} ms CPU per search`)
}
const until = performance.now() + Number(secondsArg) * 1000
let done = 0
const cpu = process.cpuUsage()
while (performance.now() < until) {
  await app.inject({ method: 'GET', url: `/search?q=${encodeURIComponent(queries[done++ % 5])}`, headers })
}
const used = process.cpuUsage(cpu)
console.log(`mixed: ${(done / ((used.user + used.system) / 1e6)).toFixed(0)} per CPU second`)
await app.close()
