import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import type { AccountsFile } from '../bench/messages.js'
import { buildTestApp } from './helpers/app.js'

// `npm run bench:setup` writes the benchmark's accounts into a server's database, so any load
// generator can connect to `npm start` with their tokens (no registration through the rate limit).

const root = fileURLToPath(new URL('..', import.meta.url))
const run = promisify(execFile)

function setup(dir: string, ...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'bench/setup.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: `sqlite:${join(dir, 'parley.db')}` },
  })
}

t.test('bench:setup: accounts with working tokens, in rooms of the asked size', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-setup-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'accounts.json')
  const { stdout } = await setup(dir, '--users', '7', '--room-size', '3', '--out', out)
  t.match(stdout, /registered 7 accounts/)
  const file = JSON.parse(readFileSync(out, 'utf8')) as AccountsFile
  t.equal(file.users.length, 7)
  t.same(
    file.rooms.map((room) => room.member_ids),
    [file.users.slice(0, 3).map((u) => u.id), file.users.slice(3, 6).map((u) => u.id)],
    'two whole rooms of three, in the order of the users; the seventh has no room',
  )

  // The server that opens the same database knows these sessions and conversations.
  const app = await buildTestApp(t, { databaseUrl: `sqlite:${join(dir, 'parley.db')}` })
  for (const user of file.users) {
    const check = await app.inject({
      url: '/auth/check',
      headers: { authorization: `Bearer ${user.token}` },
    })
    t.equal(check.statusCode, 200, `${user.username}'s token is a live session`)
    t.equal(check.json().user.id, user.id)
  }
  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: file.users[6].username, password: file.password },
  })
  t.equal(login.statusCode, 200, 'the password in the file logs in')
  for (const room of file.rooms) {
    const member = file.users.find((u) => u.id === room.member_ids[2])
    const response = await app.inject({
      url: `/conversations/${room.conversation_id}`,
      headers: { authorization: `Bearer ${member?.token}` },
    })
    t.equal(response.statusCode, 200)
    t.same(
      response
        .json()
        .conversation.members.map((m: { id: number }) => m.id)
        .sort((a: number, b: number) => a - b),
      [...room.member_ids].sort((a, b) => a - b),
      'the conversation holds exactly the room',
    )
  }
})

t.test('bench:setup refuses a bad argument with a message and no stack', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-setup-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const failed = await setup(dir, '--users', '1').then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  )
  t.equal(failed?.code, 1)
  t.match(failed?.stderr, /--users must be an integer of at least 2/)
  t.notMatch(failed?.stderr, /\n\s+at /)
})
