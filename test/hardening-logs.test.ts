import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { testConfig } from '../src/config.js'
import { register } from './helpers/app.js'
import { upgradeStatus } from './helpers/ws.js'

// A token in the query of /ws must never reach a log line, however its key is spelled.

t.test('no spelling of the token key puts the token in the log', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-test-'))
  const lines: string[] = []
  const app = await buildApp({
    config: testConfig({
      databaseUrl: `sqlite:${join(dir, 'parley.db')}`,
      uploadDir: join(dir, 'uploads'),
      logLevel: 'trace',
    }),
    logStream: { write: (line: string) => lines.push(line) },
  })
  t.teardown(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const ann = await register(app, 'ann')
  const base = `ws://127.0.0.1:${port}/ws`
  const spellings = [
    `token=${ann.token}`,
    `%74oken=${ann.token}`,
    `%74%6F%6B%65%6E=${ann.token}`,
    `TOKEN=${ann.token}`,
    `Token=${ann.token}`,
    `x=1&token=${ann.token}`,
    `token=${ann.token}&token=${ann.token}`,
    `%zz=1&token=${ann.token}`,
    `token=${encodeURIComponent(ann.token).replace(/-/g, '%2D')}`,
  ]
  const statuses: Record<string, number> = {}
  for (const query of spellings)
    statuses[query.split('=')[0] as string] = await upgradeStatus(`${base}?${query}`).catch(() => 0)
  t.equal(statuses.token, 101, 'the token in the query logs in')
  t.equal(statuses['%74oken'], 101, 'so does a percent-encoded key')
  // Also over plain HTTP, where ?token= is not a way to log in but may still be sent.
  await app.inject({ url: `/healthz?%74oken=${ann.token}` })
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.ok(
    lines.some((line) => line.includes('/ws?')),
    'the /ws requests were logged',
  )
  const leaking = lines.filter((line) => line.includes(ann.token) || line.includes(ann.token.slice(0, 20)))
  t.same(leaking, [], 'no log line holds the token')
})
