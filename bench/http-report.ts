import type { Measured } from './http-cannon.js'
import type { HttpRun } from './http-mode.js'
import { fmt, int, rate } from './lib.js'
import { DEFAULT_SEED } from './seed.js'

// The table `npm run bench -- --mode http` prints and writes to bench/results/.

/** The issue's target for the heavy sidebar: its first page at this many requests/s on one core. */
export const HEAVY_SIDEBAR_TARGET = 1000

const ratio = (a: number | undefined, b: number | undefined) =>
  a && b && Number.isFinite(a) && Number.isFinite(b) ? `${fmt(a / b, 2)}x` : '—'

// No answer within the run (a route slower than connections / duration) has no latency to show.
const latency = (m: Measured | undefined) =>
  !m ? '—' : m.requests === 0 ? 'no answer' : `${fmt(m.p50, 1)} / ${fmt(m.p99, 1)}`
/** Server CPU time per answer, µs (NaN without answers). */
const cpuPerRequest = (m: Measured | undefined) =>
  m?.requestsPerSec ? (m.serverCpu / 100 / m.requestsPerSec) * 1e6 : Number.NaN

const failures = (m: Measured | undefined) => (m ? `${int(m.errors)} / ${int(m.non2xx)}` : '—')

export function httpMarkdown(run: HttpRun): string {
  const s = run.seed.counts
  const out = [
    `HTTP routes under autocannon (in the bench process): ${run.connections} connections, ${run.durationS} s per route ` +
      `after a warm-up; Parley on an SQLite file seeded with ${int(s.users)} accounts, ${int(s.conversations)} conversations ` +
      `and ${int(s.messages)} messages (stored unread counters: ${run.seed.storedUnread ? 'yes' : 'no'}), write and auth limits raised. ` +
      `The ceiling is Fastify answering each route with the bytes Parley answered it with. req/s counts 2xx answers; ` +
      `latency in ms; errors include timeouts. Ratio is Parley / ceiling.`,
    '',
    `Pinning: ${run.pinning}`,
    '',
    '| route | Parley req/s | ceiling req/s | ratio | Parley p50 / p99 | ceiling p50 / p99 | Parley errors / non-2xx | ceiling errors / non-2xx | answer bytes |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const r of run.routes) {
    const p = r.parley
    const c = r.ceiling
    out.push(
      `| ${r.label} | ${rate(p?.requestsPerSec)} | ${rate(c?.requestsPerSec)} | ${ratio(p?.requestsPerSec, c?.requestsPerSec)} | ` +
        `${latency(p)} | ${latency(c)} | ${failures(p)} | ${failures(c)} | ${int(r.bodyBytes)} |`,
    )
  }
  out.push(
    '',
    'What each request cost the server: its CPU over the run ÷ the answers; "per core" is the rate that cost allows a server with a core to itself (the machine is shared, so this is steadier than req/s). "Alone" is Parley\'s answer time to one request at a time (median of five), before the run.',
    '',
    '| route | Parley alone ms | Parley CPU µs / request | ceiling CPU µs / request | Parley req/s per core | ceiling req/s per core | Parley CPU % (main thread) | ceiling CPU % | bench CPU % (P / c) | others CPU % (P / c) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  )
  for (const r of run.routes) {
    const p = r.parley
    const c = r.ceiling
    out.push(
      `| ${r.label} | ${fmt(r.aloneMs, 1)} | ${int(cpuPerRequest(p))} | ${int(cpuPerRequest(c))} | ${rate(1e6 / cpuPerRequest(p))} | ${rate(1e6 / cpuPerRequest(c))} | ` +
        `${fmt(p?.serverCpu, 0)} (${fmt(p?.serverMainThreadCpu, 0)}) | ${fmt(c?.serverCpu, 0)} | ` +
        `${fmt(p?.benchCpu, 0)} / ${fmt(c?.benchCpu, 0)} | ${fmt(p?.otherCpu, 0)} / ${fmt(c?.otherCpu, 0)} |`,
    )
  }
  const notes = run.routes.filter((r) => r.note || r.status >= 300)
  if (notes.length) out.push('')
  for (const r of notes) out.push(`${r.label}: Parley answered ${r.status}${r.note ? `; ${r.note}` : ''}.`)
  const heavy = run.routes.find((r) => r.key === 'sidebar-heavy')?.parley
  if (heavy) {
    const fullSize =
      run.sizes.heavyConversations >= DEFAULT_SEED.heavyConversations &&
      run.sizes.heavyUnread >= DEFAULT_SEED.heavyUnread
    const met = heavy.requestsPerSec >= HEAVY_SIDEBAR_TARGET && heavy.errors === 0 && heavy.non2xx === 0
    out.push(
      '',
      `Target (heavy sidebar of ${int(DEFAULT_SEED.heavyConversations)} × ${int(DEFAULT_SEED.heavyUnread)}, first page, ` +
        `≥ ${int(HEAVY_SIDEBAR_TARGET)} req/s on one core): ${rate(heavy.requestsPerSec)} req/s ` +
        `(${rate(1e6 / cpuPerRequest(heavy))} per core by its CPU cost), ` +
        `${fullSize ? (met ? 'met' : 'NOT met') : 'not judged: seeded smaller'}.`,
    )
  }
  if (run.error) out.push('', `error: ${run.error.split('\n')[0]}`)
  return out.join('\n')
}
