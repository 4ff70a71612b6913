import { type Kysely, sql } from 'kysely'
import type { Database } from '../types.js'

// The email columns of the `users` table (email digests, src/email/): the address and its
// verification, the unsubscribe, and how far the digests went.

type Db = Kysely<Database>

/** A new address: unverified until its link is followed; digests wanted again. */
export async function setEmail(db: Db, userId: number, email: string | null): Promise<void> {
  await db
    .updateTable('users')
    .set({ email, email_verified_at: null, email_off_at: null })
    .where('id', '=', userId)
    .execute()
}

/** True when the account still has this address (an older link for another one does nothing). */
export async function markEmailVerified(
  db: Db,
  userId: number,
  email: string,
  now: string,
): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ email_verified_at: now })
    .where('id', '=', userId)
    .where('email', '=', email)
    .where('deleted_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

export async function turnEmailOff(db: Db, userId: number, now: string): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ email_off_at: now })
    .where('id', '=', userId)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** Digests on again (a new address does this too), or off, as the unsubscribe link does. */
export async function setEmailOn(db: Db, userId: number, on: boolean, now: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ email_off_at: on ? null : now })
    .where('id', '=', userId)
    .execute()
}

export function emailState(db: Db, userId: number) {
  return db
    .selectFrom('users')
    .select(['email', 'email_verified_at', 'email_off_at', 'email_digested_through'])
    .where('id', '=', userId)
    .executeTakeFirst()
}

/**
 * What a digest tells of: messages to the account it has not read, in a direct conversation or
 * mentioning it (`@username`, `@all`, `@here`, as resolved at send time), created after `after`.
 */
function missed(db: Db, after: string) {
  return db
    .selectFrom('conversation_members as cm')
    .innerJoin('messages as m', (join) =>
      join
        .onRef('m.conversation_id', '=', 'cm.conversation_id')
        .onRef('m.id', '>', 'cm.last_read_message_id'),
    )
    .innerJoin('conversations as c', 'c.id', 'm.conversation_id')
    .whereRef('m.sender_id', '<>', 'cm.user_id')
    .where('m.deleted_at', 'is', null)
    .where('m.created_at', '>', after)
    .where((eb) =>
      eb.or([
        eb('c.kind', '=', 'direct'),
        // Stored mentions are JSON ids without spaces (`[3,17]`): ",3,17," holds ",<id>,".
        eb(
          sql`',' || substr(m.mentions, 2, length(m.mentions) - 2) || ','`,
          'like',
          sql`'%,' || cm.user_id || ',%'`,
        ),
      ]),
    )
}

/** Accounts with a verified address, digests on, and a missed message older than `dueBefore`. */
export async function digestCandidates(db: Db, dueBefore: string) {
  return db
    .selectFrom('users')
    .select(['id', 'email', 'email_digested_through'])
    .where('email_verified_at', 'is not', null)
    .where('email_off_at', 'is', null)
    .where('deleted_at', 'is', null)
    .where(({ exists }) =>
      exists(
        missed(db, '')
          .select('m.id')
          .where('cm.user_id', '=', sql<number>`users.id`)
          .where('m.created_at', '<=', dueBefore)
          .whereRef('m.created_at', '>', sql`coalesce(users.email_digested_through, '')`),
      ),
    )
    .limit(100)
    .execute()
}

/** Takes the account's next digest for this node: true if `previous` was still the mark. */
export async function claimDigest(db: Db, userId: number, previous: string | null, now: string) {
  const result = await db
    .updateTable('users')
    .set({ email_digested_through: now })
    .where('id', '=', userId)
    .where(sql`coalesce(email_digested_through, '')`, '=', previous ?? '')
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** Puts the mark back after a digest that could not be sent (unless another moved it since). */
export async function releaseDigest(db: Db, userId: number, claimed: string, previous: string | null) {
  await db
    .updateTable('users')
    .set({ email_digested_through: previous })
    .where('id', '=', userId)
    .where('email_digested_through', '=', claimed)
    .execute()
}

/** The messages of one digest, oldest first, with their conversation and sender. */
export function missedMessages(db: Db, userId: number, after: string, upTo: string, limit: number) {
  return missed(db, after)
    .innerJoin('users as s', 's.id', 'm.sender_id')
    .select([
      'm.id',
      'm.conversation_id',
      'm.content',
      'm.created_at',
      'c.kind',
      'c.title',
      's.display_name as sender_name',
    ])
    .where('cm.user_id', '=', userId)
    .where('m.created_at', '<=', upTo)
    .orderBy('m.id')
    .limit(limit)
    .execute()
}
