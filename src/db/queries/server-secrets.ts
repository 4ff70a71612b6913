import type { Kysely } from 'kysely'
import type { Database } from '../types.js'

// The `server_secrets` table: named secrets made once by whichever node starts first.

/** The stored secret, or `candidate` stored as it (insert-if-absent then read, as vapid-keys.ts). */
export async function secretOrInsert(db: Kysely<Database>, name: string, candidate: string): Promise<string> {
  await db
    .insertInto('server_secrets')
    .values({ name, value: candidate })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute()
  const row = await db
    .selectFrom('server_secrets')
    .select('value')
    .where('name', '=', name)
    .executeTakeFirstOrThrow()
  return row.value
}
