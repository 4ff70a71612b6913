import { type ExpressionBuilder, type Kysely, sql } from 'kysely'
import { isPostgres } from '../schema-helpers.js'
import type { Database, UserRow } from '../types.js'

/** The columns a user is shown from (see src/presence/user-view.ts). */
export type UserViewRow = Pick<
  UserRow,
  | 'id'
  | 'username'
  | 'display_name'
  | 'role'
  | 'last_seen_at'
  | 'created_at'
  | 'deleted_at'
  | 'avatar_name'
  | 'avatar_version'
  | 'deactivated_at'
>

export const USER_VIEW_COLUMNS = [
  'id',
  'username',
  'display_name',
  'role',
  'last_seen_at',
  'created_at',
  'deleted_at',
  'avatar_name',
  'avatar_version',
  'deactivated_at',
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

/**
 * Live accounts after `after` in id order, one more than `limit` to tell whether more follow;
 * with `q`, only those whose username or display name contains it.
 */
export function listUsers(
  db: Kysely<Database>,
  after: number,
  limit: number,
  q?: string,
): Promise<UserViewRow[]> {
  let query = db
    .selectFrom('users')
    .select(USER_VIEW_COLUMNS)
    .where('deleted_at', 'is', null)
    .where('id', '>', after)
  if (q) query = query.where((eb) => nameContains(eb, q))
  return query
    .orderBy('id')
    .limit(limit + 1)
    .execute()
}

function nameContains(eb: ExpressionBuilder<Database, 'users'>, q: string) {
  const pattern = `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
  // ESCAPE names the backslash in both dialects (SQLite has no default escape character).
  return eb.or([
    sql<boolean>`${eb.ref('username_key')} like ${pattern} escape '\\'`,
    sql<boolean>`lower(${eb.ref('display_name')}) like ${pattern} escape '\\'`,
  ])
}

/** Username or display name containing `q`, case-insensitively. */
export function searchUsers(db: Kysely<Database>, q: string, limit: number): Promise<UserViewRow[]> {
  return db
    .selectFrom('users')
    .select(USER_VIEW_COLUMNS)
    .where('deleted_at', 'is', null)
    .where((eb) => nameContains(eb, q))
    .orderBy('username_key')
    .limit(limit)
    .execute()
}

export function insertUser(
  db: Kysely<Database>,
  values: {
    username: string
    username_key: string
    display_name: string
    password_hash: string
    created_at: string
  },
): Promise<UserRow> {
  // The first account on an empty database is the admin; decided inside the insert itself.
  return db
    .insertInto('users')
    .values({
      ...values,
      role: sql<'user' | 'admin'>`case when exists (select 1 from users) then 'user' else 'admin' end`,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function setPasswordHash(
  db: Kysely<Database>,
  userId: number,
  passwordHash: string,
): Promise<void> {
  await db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute()
}

export function setDisplayName(db: Kysely<Database>, userId: number, displayName: string): Promise<UserRow> {
  return db
    .updateTable('users')
    .set({ display_name: displayName })
    .where('id', '=', userId)
    .returningAll()
    .executeTakeFirstOrThrow()
}

/**
 * Sets (or, with null, removes) the account's avatar and bumps its version, in one transaction.
 * Returns the updated row and the storage name of the avatar it replaced, to remove from disk.
 */
export async function replaceAvatar(
  db: Kysely<Database>,
  userId: number,
  avatarName: string | null,
): Promise<{ user: UserRow; previous: string | null }> {
  return db.transaction().execute(async (trx) => {
    await lockUser(trx, userId)
    const before = await trx
      .selectFrom('users')
      .select('avatar_name')
      .where('id', '=', userId)
      .executeTakeFirstOrThrow()
    const user = await trx
      .updateTable('users')
      .set((eb) => ({ avatar_name: avatarName, avatar_version: eb('avatar_version', '+', 1) }))
      .where('id', '=', userId)
      .returningAll()
      .executeTakeFirstOrThrow()
    return { user, previous: before.avatar_name }
  })
}

/** The storage name and version of a live account's avatar, if it has one. */
export function findAvatar(
  db: Kysely<Database>,
  userId: number,
): Promise<{ avatar_name: string | null; avatar_version: number } | undefined> {
  return db
    .selectFrom('users')
    .select(['avatar_name', 'avatar_version'])
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst()
}

export async function setLastSeen(
  db: Kysely<Database>,
  userIds: number[],
  lastSeenAt: string,
): Promise<void> {
  await db.updateTable('users').set({ last_seen_at: lastSeenAt }).where('id', 'in', userIds).execute()
}

/**
 * A deleted account's row stays, anonymized, so the messages it sent keep a sender; shown as
 * before, only the key is unique, and its tombstone value cannot be registered.
 */
export async function anonymizeUser(db: Kysely<Database>, userId: number, deletedAt: string): Promise<void> {
  await db
    .updateTable('users')
    .set({
      username: `deleted-${userId}`,
      username_key: deletedUsernameKey(userId),
      display_name: 'Deleted user',
      password_hash: '',
      deleted_at: deletedAt,
      // The picture goes with the account (its bytes are swept from UPLOAD_DIR at the next start).
      avatar_name: null,
    })
    .where('id', '=', userId)
    .execute()
}

/** Locks the account's row until the transaction ends (PostgreSQL; SQLite writes one at a time). */
export async function lockUser(trx: Kysely<Database>, userId: number): Promise<void> {
  if (isPostgres(trx))
    await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute()
}

/** One cheap read of the users table: the database answers (the health check). */
export async function pingUsers(db: Kysely<Database>): Promise<void> {
  await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll().as('n'))
    .limit(1)
    .execute()
}

/**
 * The live accounts among a conversation's members whose username_key is one of `keys` (the
 * `@name`s of a message, lower-cased): a name that is not a member's finds nobody.
 */
export async function membersNamed(
  db: Kysely<Database>,
  conversationId: number,
  keys: string[],
): Promise<number[]> {
  if (keys.length === 0) return []
  const rows = await db
    .selectFrom('users')
    .innerJoin('conversation_members', 'conversation_members.user_id', 'users.id')
    .select('users.id')
    .where('conversation_members.conversation_id', '=', conversationId)
    .where('users.username_key', 'in', keys)
    .where('users.deleted_at', 'is', null)
    .execute()
  return rows.map((row) => Number(row.id))
}

/** Admins who can act: not deleted, not deactivated. */
export async function activeAdminIds(db: Kysely<Database>): Promise<number[]> {
  let query = db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .where('deleted_at', 'is', null)
    .where('deactivated_at', 'is', null)
  // Two admins demoting each other at once: the second waits for the first, then counts.
  if (isPostgres(db)) query = query.forUpdate()
  return (await query.execute()).map((row) => Number(row.id))
}

export function setRole(db: Kysely<Database>, userId: number, role: 'user' | 'admin'): Promise<UserRow> {
  return db
    .updateTable('users')
    .set({ role })
    .where('id', '=', userId)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export function setDeactivated(
  db: Kysely<Database>,
  userId: number,
  deactivatedAt: string | null,
): Promise<UserRow> {
  return db
    .updateTable('users')
    .set({ deactivated_at: deactivatedAt })
    .where('id', '=', userId)
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** Whether the database has no account yet (the first registration makes the admin). */
export async function noUsersYet(db: Kysely<Database>): Promise<boolean> {
  return (await db.selectFrom('users').select('id').limit(1).executeTakeFirst()) === undefined
}
