import { randomBytes } from 'node:crypto'
import { deleteAccount } from '../auth/accounts.js'
import type { AppContext } from '../context.js'
import { insertAudit } from '../db/queries/audit-log.js'
import { insertPasswordReset } from '../db/queries/password-resets.js'
import { deleteUserSessions, hashToken } from '../db/queries/sessions.js'
import { activeAdminIds, findUserById, setDeactivated, setRole } from '../db/queries/users.js'
import type { UserRow } from '../db/types.js'
import { badRequest, conflict, notFound } from '../errors.js'
import { nowIso } from '../time.js'

// What an admin does to accounts: roles, suspension, reset links, deletion. Each is written to
// the audit log in the transaction that makes it.

export const RESET_VALID_MS = 60 * 60 * 1000

async function liveTarget(ctx: AppContext, userId: number): Promise<UserRow> {
  const user = await findUserById(ctx.db, userId)
  if (!user || user.deleted_at !== null) throw notFound('User')
  return user
}

const lastAdmin = () => conflict('LAST_ADMIN', 'There must stay at least one active admin')

/** Sets a role; demoting the last active admin is refused. Open sessions see it at once. */
export async function changeRole(
  ctx: AppContext,
  actorId: number,
  userId: number,
  role: 'user' | 'admin',
): Promise<UserRow> {
  const before = await liveTarget(ctx, userId)
  const updated = await ctx.db.transaction().execute(async (trx) => {
    if (role !== 'admin') {
      const admins = await activeAdminIds(trx)
      if (admins.includes(userId) && admins.length <= 1) throw lastAdmin()
    }
    const row = await setRole(trx, userId, role)
    await insertAudit(trx, {
      actor_id: actorId,
      action: 'role_changed',
      target_user_id: userId,
      details: { from: before.role, to: role },
      created_at: nowIso(),
    })
    return row
  })
  ctx.sessions.dropUsers([userId])
  ctx.hub.publish({ kind: 'role_changed', userId, role })
  return updated
}

/**
 * Suspends an account: its sessions and tokens end (for good: reactivation starts none again) and
 * its sockets close with 4003; its messages stay. The last active admin cannot be suspended.
 */
export async function deactivate(ctx: AppContext, actorId: number, userId: number): Promise<UserRow> {
  if (actorId === userId) throw badRequest('You cannot deactivate your own account')
  await liveTarget(ctx, userId)
  const updated = await ctx.db.transaction().execute(async (trx) => {
    const admins = await activeAdminIds(trx)
    if (admins.includes(userId) && admins.length <= 1) throw lastAdmin()
    const row = await setDeactivated(trx, userId, nowIso())
    await deleteUserSessions(trx, userId)
    await insertAudit(trx, {
      actor_id: actorId,
      action: 'user_deactivated',
      target_user_id: userId,
      details: {},
      created_at: nowIso(),
    })
    return row
  })
  ctx.sessions.dropUsers([userId])
  ctx.hub.publish({ kind: 'close_users', userIds: [userId], code: 4003, reason: 'account deactivated' })
  return updated
}

export async function reactivate(ctx: AppContext, actorId: number, userId: number): Promise<UserRow> {
  await liveTarget(ctx, userId)
  return ctx.db.transaction().execute(async (trx) => {
    const row = await setDeactivated(trx, userId, null)
    await insertAudit(trx, {
      actor_id: actorId,
      action: 'user_reactivated',
      target_user_id: userId,
      details: {},
      created_at: nowIso(),
    })
    return row
  })
}

/** A one-time link, valid an hour; only its hash is stored, and it replaces earlier unused ones. */
export async function createPasswordReset(
  ctx: AppContext,
  actorId: number,
  userId: number,
): Promise<{ token: string; expires_at: string }> {
  await liveTarget(ctx, userId)
  ctx.limits.spendWrite(actorId)
  const token = randomBytes(32).toString('base64url')
  const now = Date.now()
  const expiresAt = new Date(now + RESET_VALID_MS).toISOString()
  await ctx.db.transaction().execute(async (trx) => {
    await insertPasswordReset(trx, {
      token_hash: hashToken(token),
      user_id: userId,
      created_by: actorId,
      created_at: new Date(now).toISOString(),
      expires_at: expiresAt,
    })
    await insertAudit(trx, {
      actor_id: actorId,
      action: 'password_reset_created',
      target_user_id: userId,
      details: { expires_at: expiresAt },
      created_at: nowIso(),
    })
  })
  return { token, expires_at: expiresAt }
}

/** DELETE /users/:id, recorded. */
export async function deleteByAdmin(ctx: AppContext, actorId: number, userId: number): Promise<void> {
  if (actorId === userId) throw badRequest('Delete your own account with DELETE /auth/user')
  const target = await liveTarget(ctx, userId)
  await deleteAccount(ctx, userId)
  await insertAudit(ctx.db, {
    actor_id: actorId,
    action: 'user_deleted',
    target_user_id: userId,
    details: { username: target.username },
    created_at: nowIso(),
  })
}
