import type { Kysely } from 'kysely'
import type { Database } from '../types.js'

// The `password_resets` table: one-time links an admin makes. Only the SHA-256 of a link's token
// is stored; a reset is spent by the statement that finds it, so it works once.

export async function insertPasswordReset(
  db: Kysely<Database>,
  values: { token_hash: string; user_id: number; created_by: number; created_at: string; expires_at: string },
): Promise<void> {
  // A new link replaces the user's earlier unused ones.
  await db
    .deleteFrom('password_resets')
    .where('user_id', '=', values.user_id)
    .where('used_at', 'is', null)
    .execute()
  await db.insertInto('password_resets').values(values).execute()
}

/** Spends a live reset; its user id, or undefined if it is unknown, used or expired. */
export async function spendPasswordReset(
  db: Kysely<Database>,
  tokenHash: string,
  now: string,
): Promise<number | undefined> {
  const row = await db
    .updateTable('password_resets')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('user_id')
    .executeTakeFirst()
  return row && Number(row.user_id)
}
