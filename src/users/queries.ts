import type { Kysely } from 'kysely'
import type { Database, UserRow } from '../db/types.js'
import { USER_VIEW_COLUMNS, type UserViewRow } from './view.js'

export const usernameKey = (username: string): string => username.toLowerCase()

export function findUserById(db: Kysely<Database>, id: number): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

export function findUserByUsername(db: Kysely<Database>, username: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('username_key', '=', usernameKey(username))
    .where('deleted_at', 'is', null)
    .executeTakeFirst()
}

export function findUserViews(db: Kysely<Database>, ids: number[]): Promise<UserViewRow[]> {
  if (ids.length === 0) return Promise.resolve([])
  return db.selectFrom('users').select(USER_VIEW_COLUMNS).where('id', 'in', ids).orderBy('id').execute()
}

/** Live accounts after `after` in id order, one more than `limit` to tell whether more follow. */
export function listUsers(db: Kysely<Database>, after: number, limit: number): Promise<UserViewRow[]> {
  return db
    .selectFrom('users')
    .select(USER_VIEW_COLUMNS)
    .where('deleted_at', 'is', null)
    .where('id', '>', after)
    .orderBy('id')
    .limit(limit + 1)
    .execute()
}

/** Username or display name containing `q`, case-insensitively. */
export function searchUsers(db: Kysely<Database>, q: string, limit: number): Promise<UserViewRow[]> {
  const pattern = `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
  return db
    .selectFrom('users')
    .select(USER_VIEW_COLUMNS)
    .where('deleted_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb('username_key', 'like', eb.val(pattern)),
        eb(eb.fn('lower', ['display_name']), 'like', eb.val(pattern)),
      ]),
    )
    .orderBy('username_key')
    .limit(limit)
    .execute()
}
