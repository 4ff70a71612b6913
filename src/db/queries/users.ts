import { type Kysely, sql } from 'kysely'
import type { Database, UserRow } from '../types.js'

/** The columns a user is shown from (see src/presence/user-view.ts). */
export type UserViewRow = Pick<
  UserRow,
  'id' | 'username' | 'display_name' | 'role' | 'last_seen_at' | 'created_at' | 'deleted_at'
>

export const USER_VIEW_COLUMNS = [
  'id',
  'username',
  'display_name',
  'role',
  'last_seen_at',
  'created_at',
  'deleted_at',
] as const

export const usernameKey = (username: string): string => username.toLowerCase()

/**
 * The username_key of a deleted account. The colon is a character no username may contain, so
 * a deleted account never holds a name anyone can register, and deleting never waits on a name.
 */
export const deletedUsernameKey = (userId: number): string => `deleted:${userId}`

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
      // ESCAPE names the backslash in both dialects (SQLite has no default escape character).
      eb.or([
        sql<boolean>`${eb.ref('username_key')} like ${pattern} escape '\\'`,
        sql<boolean>`lower(${eb.ref('display_name')}) like ${pattern} escape '\\'`,
      ]),
    )
    .orderBy('username_key')
    .limit(limit)
    .execute()
}
