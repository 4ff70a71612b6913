import type { AppContext } from '../context.js'
import { deleteContactsOf } from '../db/queries/contacts.js'
import { conversationIdsOf, firstMember, leaveAllButDirect } from '../db/queries/conversation-members.js'
import { projectsOwnedBy, setProjectOwner } from '../db/queries/projects.js'
import { deleteUserSessions } from '../db/queries/sessions.js'
import {
  anonymizeUser,
  findUserByUsername,
  insertUser,
  setPasswordHash,
  usernameKey,
} from '../db/queries/users.js'
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
  const passwordHash = await hashPassword(input.password, ctx.config.argon2)
  const displayName =
    input.display_name === undefined ? input.username : cleanName(input.display_name, 'display_name')
  const now = nowIso()
  try {
    return await insertUser(ctx.db, {
      username: input.username,
      username_key: key,
      display_name: displayName,
      password_hash: passwordHash,
      created_at: now,
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
