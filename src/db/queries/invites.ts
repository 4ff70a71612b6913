import type { Kysely } from 'kysely'
import type { Database, InviteRow } from '../types.js'

// The `invites` table. Registration finds an invite by the SHA-256 of its code (never by the code
// itself), and takes one use in the same statement, so two registrations cannot share the last one.

export function insertInvite(
  db: Kysely<Database>,
  values: {
    code: string
    code_hash: string
    created_by: number
    created_at: string
    expires_at: string | null
    max_uses: number | null
  },
): Promise<InviteRow> {
  return db.insertInto('invites').values(values).returningAll().executeTakeFirstOrThrow()
}

export function listInvites(db: Kysely<Database>): Promise<InviteRow[]> {
  return db.selectFrom('invites').selectAll().orderBy('id', 'desc').limit(1000).execute()
}

export function findInviteByHash(db: Kysely<Database>, codeHash: string): Promise<InviteRow | undefined> {
  return db.selectFrom('invites').selectAll().where('code_hash', '=', codeHash).executeTakeFirst()
}

/** Takes one use of a live invite; undefined if it is unknown, used up or expired. */
export function useInvite(
  db: Kysely<Database>,
  codeHash: string,
  now: string,
): Promise<InviteRow | undefined> {
  return db
    .updateTable('invites')
    .set((eb) => ({ uses: eb('uses', '+', 1) }))
    .where('code_hash', '=', codeHash)
    .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .returningAll()
    .executeTakeFirst()
}

export async function deleteInvite(db: Kysely<Database>, id: number): Promise<void> {
  await db.deleteFrom('invites').where('id', '=', id).execute()
}
