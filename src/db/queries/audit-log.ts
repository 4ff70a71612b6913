import type { Kysely } from 'kysely'
import type { Database } from '../types.js'

// The `audit_log` table: what admins did, newest first by id.

export async function insertAudit(
  db: Kysely<Database>,
  entry: {
    actor_id: number
    action: string
    target_user_id: number | null
    details: object
    created_at: string
  },
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({ ...entry, details: JSON.stringify(entry.details) })
    .execute()
}

/** Entries older than `before` (an id; all when undefined), one more than `limit`. */
export function listAudit(db: Kysely<Database>, before: number | undefined, limit: number) {
  let query = db
    .selectFrom('audit_log')
    .leftJoin('users as actor', 'actor.id', 'audit_log.actor_id')
    .leftJoin('users as target', 'target.id', 'audit_log.target_user_id')
    .select([
      'audit_log.id',
      'audit_log.actor_id',
      'audit_log.action',
      'audit_log.target_user_id',
      'audit_log.details',
      'audit_log.created_at',
      'actor.username as actor_username',
      'target.username as target_username',
    ])
  if (before !== undefined) query = query.where('audit_log.id', '<', before)
  return query
    .orderBy('audit_log.id', 'desc')
    .limit(limit + 1)
    .execute()
}
