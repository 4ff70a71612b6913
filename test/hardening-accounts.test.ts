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
