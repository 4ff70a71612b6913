import type { AppContext } from '../context.js'
import { deleteContactsOf } from '../db/queries/contacts.js'
import { conversationIdsOf, firstMember, leaveAllButDirect } from '../db/queries/conversation-members.js'
import { spendPasswordReset } from '../db/queries/password-resets.js'
import { projectsOwnedBy, setProjectOwner } from '../db/queries/projects.js'
import { deleteUserSessions, hashToken, plausibleToken } from '../db/queries/sessions.js'
import {
  anonymizeUser,
  findUserById,
  findUserByUsername,
  insertUser,
  setPasswordHash,
  usernameKey,
} from '../db/queries/users.js'
import type { UserRow } from '../db/types.js'
import { badRequest, conflict, forbidden, unauthorized } from '../errors.js'
import { cleanName } from '../text.js'
import { nowIso } from '../time.js'
import { hashPassword, verifyPassword } from './passwords.js'
import { admitRegistration, refuseEarly } from './registration.js'

// Account rules, shared by every route that touches them.

export interface RegisterInput {
  username: string
  password: string
  display_name?: string
  invite?: string
}

const isUniqueViolation = (error: unknown): boolean =>
  /UNIQUE constraint failed|duplicate key value/i.test(String((error as Error)?.message))

export async function register(ctx: AppContext, input: RegisterInput): Promise<UserRow> {
  const key = usernameKey(input.username)
  const mode = await refuseEarly(ctx, input.invite)
  if (await findUserByUsername(ctx.db, input.username)) throw usernameTaken()
  const passwordHash = await hashPassword(input.password, ctx.config.argon2)
  const displayName =
    input.display_name === undefined ? input.username : cleanName(input.display_name, 'display_name')
  const now = nowIso()
  try {
    return await ctx.db.transaction().execute(async (trx) => {
      await admitRegistration(trx, mode, input.invite, now)
      return insertUser(trx, {
        username: input.username,
        username_key: key,
        display_name: displayName,
        password_hash: passwordHash,
        created_at: now,
      })
    })
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
  const ok = await verifyPassword(user?.password_hash, password, ctx.config.argon2)
  if (!user || !ok) throw unauthorized('Wrong username or password', 'INVALID_CREDENTIALS')
  if (user.deactivated_at !== null) {
    throw forbidden('This account is deactivated: ask an admin', 'ACCOUNT_DEACTIVATED')
  }
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
  const passwordHash = await hashPassword(next, ctx.config.argon2)
  await setPasswordHash(ctx.db, user.id, passwordHash)
  await endSessions(ctx, user.id, 'password changed', sessionId)
}

/** Ends every session and API token of an account (but one), closing their sockets with 4001. */
async function endSessions(ctx: AppContext, userId: number, reason: string, except?: number): Promise<void> {
  const ended = await deleteUserSessions(ctx.db, userId, except)
  ctx.sessions.dropUsers([userId])
  if (ended.length > 0) ctx.hub.publish({ kind: 'close_sessions', sessionIds: ended, code: 4001, reason })
}

/** A one-time reset link sets the password; every session and token of the account ends. */
export async function resetPassword(ctx: AppContext, token: string, next: string): Promise<void> {
  const passwordHash = await hashPassword(next, ctx.config.argon2)
  const userId = await ctx.db.transaction().execute(async (trx) => {
    if (!plausibleToken(token)) return undefined
    const id = await spendPasswordReset(trx, hashToken(token), nowIso())
    const user = id === undefined ? undefined : await findUserById(trx, id)
    if (!user || user.deleted_at !== null) return undefined
    await setPasswordHash(trx, user.id, passwordHash)
    return user.id
  })
  if (userId === undefined) {
    throw badRequest(
      'This reset link is unknown, used or expired: ask an admin for a new one',
      'RESET_INVALID',
    )
  }
  await endSessions(ctx, userId, 'password reset')
}

/**
 * Deletes an account. The row stays, anonymized, so the messages it sent keep a sender shown as
 * a deleted user; its name is freed (see deletedUsernameKey), its sessions, contacts and memberships go, its sockets close.
 */
export async function deleteAccount(ctx: AppContext, userId: number): Promise<void> {
  const memberships = await conversationIdsOf(ctx.db, userId)
  await ctx.db.transaction().execute(async (trx) => {
    await anonymizeUser(trx, userId, nowIso())
    await deleteUserSessions(trx, userId)
    await deleteContactsOf(trx, userId)
    // Groups and projects lose the member; a direct conversation keeps them, shown as deleted.
    await leaveAllButDirect(trx, userId)
    // A project outlives its owner: the member who joined first takes it over.
    for (const project of await projectsOwnedBy(trx, userId)) {
      const heir = await firstMember(trx, Number(project.conversation_id))
      if (heir !== undefined) await setProjectOwner(trx, Number(project.id), heir)
    }
  })
  ctx.sessions.dropUsers([userId])
  for (const conversationId of memberships) ctx.members.changed(conversationId)
  ctx.hub.publish({ kind: 'close_users', userIds: [userId], code: 4001, reason: 'account deleted' })
}
