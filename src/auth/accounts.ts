import { sql } from 'kysely'
import type { AppContext } from '../context.js'
import { deleteUserSessions } from '../db/queries/sessions.js'
import { deletedUsernameKey, findUserByUsername, usernameKey } from '../db/queries/users.js'
import type { UserRow } from '../db/types.js'
import { conflict, unauthorized } from '../errors.js'
import { cleanName } from '../text.js'
import { nowIso } from '../time.js'
import { hashPassword, verifyPassword } from './passwords.js'

// Account rules, shared by every route that touches them.

export interface RegisterInput {
  username: string
  password: string
  display_name?: string
}

const isUniqueViolation = (error: unknown): boolean =>
  /UNIQUE constraint failed|duplicate key value/i.test(String((error as Error)?.message))

export async function register(ctx: AppContext, input: RegisterInput): Promise<UserRow> {
  const key = usernameKey(input.username)
  if (await findUserByUsername(ctx.db, input.username)) throw usernameTaken()
  const passwordHash = await hashPassword(input.password)
  const displayName =
    input.display_name === undefined ? input.username : cleanName(input.display_name, 'display_name')
  const now = nowIso()
  try {
    // The first account on an empty database is the admin; decided inside the insert itself.
    const row = await ctx.db
      .insertInto('users')
      .values({
        username: input.username,
        username_key: key,
        display_name: displayName,
        password_hash: passwordHash,
        role: sql<'user' | 'admin'>`case when exists (select 1 from users) then 'user' else 'admin' end`,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    return row
  } catch (error) {
    if (isUniqueViolation(error)) throw usernameTaken()
    throw error
  }
}

const usernameTaken = () => conflict('USERNAME_TAKEN', 'That username is taken')

/** The user for these credentials; an unknown name and a wrong password fail alike, in the same time. */
export async function checkCredentials(
  ctx: AppContext,
  username: string,
  password: string,
): Promise<UserRow> {
  const user = await findUserByUsername(ctx.db, username)
  const ok = await verifyPassword(user?.password_hash, password)
  if (!user || !ok) throw unauthorized('Wrong username or password', 'INVALID_CREDENTIALS')
  return user
}

export async function checkPassword(user: UserRow, password: string): Promise<void> {
  if (!(await verifyPassword(user.password_hash, password))) {
    throw unauthorized('Wrong password', 'INVALID_CREDENTIALS')
  }
}

/** Changes the password and ends every other session of the account. */
export async function changePassword(
  ctx: AppContext,
  user: UserRow,
  sessionId: number,
  current: string,
  next: string,
): Promise<void> {
  await checkPassword(user, current)
  const passwordHash = await hashPassword(next)
  await ctx.db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', user.id).execute()
  const ended = await deleteUserSessions(ctx.db, user.id, sessionId)
  ctx.sessions.dropUsers([user.id])
  if (ended.length > 0) {
    ctx.hub.publish({ kind: 'close_sessions', sessionIds: ended, code: 4001, reason: 'password changed' })
  }
}

/**
 * Deletes an account. The row stays, anonymized, so the messages it sent keep a sender shown as
 * a deleted user; its name is freed (see deletedUsernameKey), its sessions, contacts and memberships go, its sockets close.
 */
export async function deleteAccount(ctx: AppContext, userId: number): Promise<void> {
  const memberships = await ctx.db
    .selectFrom('conversation_members')
    .select('conversation_id')
    .where('user_id', '=', userId)
    .execute()
  await ctx.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('users')
      .set({
        // Shown as before; only the key is unique, and its tombstone value cannot be registered.
        username: `deleted-${userId}`,
        username_key: deletedUsernameKey(userId),
        display_name: 'Deleted user',
        password_hash: '',
        deleted_at: nowIso(),
      })
      .where('id', '=', userId)
      .execute()
    await trx.deleteFrom('sessions').where('user_id', '=', userId).execute()
    await trx
      .deleteFrom('contacts')
      .where((eb) => eb.or([eb('user_id', '=', userId), eb('contact_id', '=', userId)]))
      .execute()
    // Groups and projects lose the member; a direct conversation keeps them, shown as deleted.
    await trx
      .deleteFrom('conversation_members')
      .where('user_id', '=', userId)
      .where('conversation_id', 'in', (eb) =>
        eb.selectFrom('conversations').select('id').where('kind', '!=', 'direct'),
      )
      .execute()
    // A project outlives its owner: the member who joined first takes it over.
    const owned = await trx
      .selectFrom('projects')
      .select(['id', 'conversation_id'])
      .where('owner_id', '=', userId)
      .execute()
    for (const project of owned) {
      const heir = await trx
        .selectFrom('conversation_members')
        .select('user_id')
        .where('conversation_id', '=', project.conversation_id)
        .orderBy('joined_at')
        .orderBy('user_id')
        .executeTakeFirst()
      if (heir)
        await trx
          .updateTable('projects')
          .set({ owner_id: heir.user_id })
          .where('id', '=', project.id)
          .execute()
    }
  })
  ctx.sessions.dropUsers([userId])
  for (const row of memberships) ctx.members.changed(Number(row.conversation_id))
  ctx.hub.publish({ kind: 'close_users', userIds: [userId], code: 4001, reason: 'account deleted' })
}
