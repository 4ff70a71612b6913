import { readFileSync } from 'node:fs'

// Top self-time (and inclusive-time) entries of a V8 .cpuprofile (from `npm run bench -- --profile-server`):
//   npx tsx bench/profile-summary.ts <file.cpuprofile> [count] [--last S] [--drop-last S] [--inclusive]
// --last S keeps only the last S seconds of the profile (the measured step, not the setup before it);
// --drop-last S then leaves out the final S seconds (a later step: history mode runs three cases).

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(name)
  if (i === -1) return undefined
  const [, value] = args.splice(i, 2)
  return value
}
const inclusive = args.includes('--inclusive')
if (inclusive) args.splice(args.indexOf('--inclusive'), 1)
const lastSeconds = Number(flag('--last') ?? Number.POSITIVE_INFINITY)
const dropLastSeconds = Number(flag('--drop-last') ?? 0)
const [file, countArg] = args
if (!file) {
  console.error(
    'usage: tsx bench/profile-summary.ts <file.cpuprofile> [count] [--last S] [--drop-last S] [--inclusive]',
  )
  process.exit(1)
}
const count = Number(countArg ?? 25)
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

const keyOf = (node: Node) => {
  const { functionName, url, lineNumber } = node.callFrame
  const where = url
    ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')}:${lineNumber + 1}`
    : ''
  return `${functionName || '(anonymous)'} ${where}`.trim()
}

const times: number[] = []
let clock = 0
for (const dt of profile.timeDeltas) {
  clock += dt
  times.push(clock)
}
const from = clock - lastSeconds * 1e6
const to = clock - dropLastSeconds * 1e6

const totals = new Map<string, number>()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  if (times[i] < from || times[i] > to) continue
  const dt = profile.timeDeltas[i] ?? 0
  let node = byId.get(profile.samples[i])
  if (!node) continue
  total += dt
  const seen = new Set<string>()
  while (node) {
    const key = keyOf(node)
    if (!seen.has(key)) {
      seen.add(key)
      totals.set(key, (totals.get(key) ?? 0) + dt)
    }
    if (!inclusive) break
    const up = parent.get(node.id)
    node = up === undefined ? undefined : byId.get(up)
  }
}
const rows = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, count)
console.log(`total ${(total / 1000).toFixed(0)} ms sampled (${inclusive ? 'inclusive' : 'self'} time)`)
for (const [key, micros] of rows) {
  console.log(
    `${((micros / total) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${key}`,
  )
}
