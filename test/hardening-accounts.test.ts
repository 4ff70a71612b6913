import type { Kysely } from 'kysely'
import t from 'tap'
import { up as freeOldTombstones } from '../migrations/0004_deleted_username_keys.js'
import { buildTestApp, register } from './helpers/app.js'

// Account hardening: deletion never depends on a name being free.

const PASSWORD = 'correct horse battery'

t.test('self-deletion succeeds when someone registered the old tombstone name first', async (t) => {
  const app = await buildTestApp(t)
  await register(app, 'admin0')
  const victim = await register(app, 'victim')
  // The name the account was once renamed to on deletion, taken in advance.
  const squatter = await register(app, `deleted-${victim.id}`)
  const deleted = await app.inject({
    method: 'DELETE',
    url: '/auth/user',
    headers: victim.auth,
    payload: { password: PASSWORD },
  })
  t.equal(deleted.statusCode, 204, deleted.body)
  const shown = await app.inject({ url: `/users/${victim.id}`, headers: squatter.auth })
  t.equal(shown.json().user.deleted, true)
  t.equal(shown.json().user.display_name, 'Deleted user')
  // The squatter's account still works under its name, and the original name is free again.
  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username: `deleted-${victim.id}`, password: PASSWORD },
  })
  t.equal(login.statusCode, 200)
  t.equal(login.json().user.id, squatter.id)
  const again = await register(app, 'victim')
  t.not(again.id, victim.id, 'the original name can be registered again')
})

t.test('an admin deletes an account whatever names exist; deleted-<id> names stay usable', async (t) => {
  const app = await buildTestApp(t)
  const admin = await register(app, 'boss')
  const target = await register(app, 'target')
  await register(app, `deleted-${target.id}`)
  // Case does not matter to names: the next id's tombstone name, in capitals.
  await register(app, `DELETED-${target.id + 2}`)
  const first = await app.inject({ method: 'DELETE', url: `/users/${target.id}`, headers: admin.auth })
  t.equal(first.statusCode, 204, first.body)
  // A second deletion next to the first: tombstones never collide with each other either.
  const other = await register(app, 'other')
  const second = await app.inject({ method: 'DELETE', url: `/users/${other.id}`, headers: admin.auth })
  t.equal(second.statusCode, 204, second.body)
  // After the deletions, a deleted-<id> name of a deleted account can still be registered.
  const late = await register(app, `deleted-${other.id}`)
  t.ok(late.id > other.id)
  t.equal((await register(app, 'target')).username, 'target')
})

t.test('migration 0004 frees the names held by accounts deleted the old way', async (t) => {
  const app = await buildTestApp(t)
  const gone = await register(app, 'gone')
  const oldName = `deleted-${gone.id}`
  // An account deleted before the fix: renamed to an ordinary name that held its key.
  await app.ctx.db
    .updateTable('users')
    .set({ username: oldName, username_key: oldName, deleted_at: new Date().toISOString() })
    .where('id', '=', gone.id)
    .execute()
  await t.rejects(register(app, oldName), 'held before the migration')
  await freeOldTombstones(app.ctx.db as unknown as Kysely<unknown>)
  t.equal((await register(app, oldName)).username, oldName)
})

// Names people read: invisible and direction-changing characters are removed, and a name that is
// nothing but them is refused.
const BLANK_ONCE_CLEANED = ['\u200b', '\u202e', ' \u200b\u200d ', '\u2066\u2069', '\ufeff', '\u200e\u200f']

type Reply = { statusCode: number; json(): { code?: string; [key: string]: unknown } }

t.test('names and titles made only of invisible characters are 400; marks in them are removed', async (t) => {
  const app = await buildTestApp(t)
  const ann = await register(app, 'ann')
  const bob = await register(app, 'bob')
  const cat = await register(app, 'cat')
  const attempts: Array<[string, (text: string) => Promise<Reply>]> = [
    [
      'register display_name',
      (text) =>
        app.inject({
          method: 'POST',
          url: '/auth/register',
          payload: {
            username: `u${Math.random().toString(36).slice(2, 10)}`,
            password: PASSWORD,
            display_name: text,
          },
        }),
    ],
    [
      'PATCH /users/me',
      (text) =>
        app.inject({ method: 'PATCH', url: '/users/me', headers: ann.auth, payload: { display_name: text } }),
    ],
    [
      'conversation title',
      (text) =>
        app.inject({
          method: 'POST',
          url: '/conversations',
          headers: ann.auth,
          payload: { member_ids: [bob.id, cat.id], title: text },
        }),
    ],
    [
      'project name',
      (text) => app.inject({ method: 'POST', url: '/projects', headers: ann.auth, payload: { name: text } }),
    ],
  ]
  for (const [what, attempt] of attempts) {
    for (const text of BLANK_ONCE_CLEANED) {
      const response = await attempt(text)
      t.equal(response.statusCode, 400, `${what} ${JSON.stringify(text)}`)
      t.equal(response.json().code, 'BAD_REQUEST')
    }
  }
  const [registered, renamed, group, project] = await Promise.all(
    attempts.map(([, attempt]) => attempt('admin\u202E \u200bteam\u2069')),
  )
  t.match(registered?.json(), { user: { display_name: 'admin team' } })
  t.match(renamed?.json(), { user: { display_name: 'admin team' } })
  t.match(group?.json(), { conversation: { title: 'admin team' } })
  t.match(project?.json(), { project: { name: 'admin team' } })
  const described = await app.inject({
    method: 'POST',
    url: '/projects',
    headers: ann.auth,
    payload: { name: 'Plans', description: 'line one\n\u202eline two\u200b' },
  })
  t.equal(described.json().project.description, 'line one\nline two', 'descriptions keep line breaks')
})
