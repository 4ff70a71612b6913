import type { Kysely } from 'kysely'
import type { Database } from '../types.js'

// The `vapid_keys` table: the one VAPID key pair of the server (row id 1).

export interface VapidKeyPair {
  publicKey: string
  privateKey: string
}

/**
 * The stored pair, or `candidate` stored as it when there is none yet. Insert-if-absent then read:
 * of two nodes starting at once, both end with the pair that won the insert.
 */
export async function vapidKeysOrInsert(
  db: Kysely<Database>,
  candidate: VapidKeyPair,
): Promise<VapidKeyPair> {
  await db
    .insertInto('vapid_keys')
    .values({
      id: 1,
      public_key: candidate.publicKey,
      private_key: candidate.privateKey,
      created_at: new Date().toISOString(),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
  const row = await db
    .selectFrom('vapid_keys')
    .select(['public_key', 'private_key'])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow()
  return { publicKey: row.public_key, privateKey: row.private_key }
}
