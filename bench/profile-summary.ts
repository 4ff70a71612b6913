import { readFileSync } from 'node:fs'

// Top self-time entries of a V8 .cpuprofile (from `npm run bench -- --profile-server`):
//   npx tsx bench/profile-summary.ts bench/results/profiles/CPU....cpuprofile [count]

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}

const file = process.argv[2]
if (!file) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [count]')
  process.exit(1)
}
const count = Number(process.argv[3] ?? 25)
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<string, number>()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i])
  const dt = profile.timeDeltas[i] ?? 0
  if (!node) continue
  const { functionName, url, lineNumber } = node.callFrame
  const where = url
    ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')}:${lineNumber + 1}`
    : ''
  const key = `${functionName || '(anonymous)'} ${where}`.trim()
  self.set(key, (self.get(key) ?? 0) + dt)
  total += dt
}
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, count)
console.log(`total ${(total / 1000).toFixed(0)} ms sampled`)
for (const [key, micros] of rows) {
  console.log(
    `${((micros / total) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${key}`,
  )
}
