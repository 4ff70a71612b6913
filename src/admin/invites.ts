import { randomBytes } from 'node:crypto'
import { saveRegistrationMode } from '../auth/registration.js'
import type { RegistrationMode } from '../config.js'
import type { AppContext } from '../context.js'
import { insertAudit } from '../db/queries/audit-log.js'
import { deleteInvite, findInviteByHash, insertInvite, listInvites } from '../db/queries/invites.js'
import { hashToken } from '../db/queries/sessions.js'
import type { InviteRow } from '../db/types.js'
import { notFound } from '../errors.js'
import { nowIso } from '../time.js'

// Invitations and the registration mode. A code is 144 random bits; registration finds it by its
// SHA-256 only. The audit log names an invitation by its id, never by its code.

export interface InviteView {
  code: string
  url: string
  uses: number
  max_uses: number | null
  expires_at: string | null
  created_at: string
}

export const inviteView = (row: InviteRow, origin: string): InviteView => ({
  code: row.code,
  url: `${origin}/join/${row.code}`,
  uses: Number(row.uses),
  max_uses: row.max_uses === null ? null : Number(row.max_uses),
  expires_at: row.expires_at,
  created_at: row.created_at,
})

export async function createInvite(
  ctx: AppContext,
  actorId: number,
  options: { max_uses?: number; expires_in_seconds?: number },
): Promise<InviteRow> {
  ctx.limits.spendWrite(actorId)
  const code = randomBytes(18).toString('base64url')
  const now = Date.now()
  const expiresAt =
    options.expires_in_seconds === undefined
      ? null
      : new Date(now + options.expires_in_seconds * 1000).toISOString()
  return ctx.db.transaction().execute(async (trx) => {
    const row = await insertInvite(trx, {
      code,
      code_hash: hashToken(code),
      created_by: actorId,
      created_at: new Date(now).toISOString(),
      expires_at: expiresAt,
      max_uses: options.max_uses ?? null,
    })
    await insertAudit(trx, {
      actor_id: actorId,
      action: 'invite_created',
      target_user_id: null,
      details: { invite_id: Number(row.id), max_uses: row.max_uses, expires_at: expiresAt },
      created_at: nowIso(),
    })
    return row
  })
}

export const invites = (ctx: AppContext): Promise<InviteRow[]> => listInvites(ctx.db)

export async function removeInvite(ctx: AppContext, actorId: number, code: string): Promise<void> {
  const row = await findInviteByHash(ctx.db, hashToken(code))
  if (!row) throw notFound('Invitation')
  await ctx.db.transaction().execute(async (trx) => {
    await deleteInvite(trx, Number(row.id))
    await insertAudit(trx, {
      actor_id: actorId,
      action: 'invite_deleted',
      target_user_id: null,
      details: { invite_id: Number(row.id), uses: Number(row.uses) },
      created_at: nowIso(),
    })
  })
}

export async function setRegistration(
  ctx: AppContext,
  actorId: number,
  mode: RegistrationMode,
): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    await saveRegistrationMode(trx, mode)
    await insertAudit(trx, {
      actor_id: actorId,
      action: 'settings_changed',
      target_user_id: null,
      details: { registration: mode },
      created_at: nowIso(),
    })
  })
}
