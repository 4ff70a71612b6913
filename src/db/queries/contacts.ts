import type { Kysely } from 'kysely'
import type { Database } from '../types.js'
import { USER_VIEW_COLUMNS, type UserViewRow } from './users.js'

// The `contacts` table: the users someone listed, one direction per row.

type Db = Kysely<Database>

export function contactsOf(db: Db, userId: number): Promise<UserViewRow[]> {
  return db
    .selectFrom('contacts')
    .innerJoin('users', 'users.id', 'contacts.contact_id')
    .select(USER_VIEW_COLUMNS.map((column) => `users.${column}` as const))
    .where('contacts.user_id', '=', userId)
    .orderBy('users.username_key')
    .execute()
}

/** Adding a contact twice is adding it once. */
export async function insertContact(
  db: Db,
  userId: number,
  contactId: number,
  createdAt: string,
): Promise<void> {
  await db
    .insertInto('contacts')
    .values({ user_id: userId, contact_id: contactId, created_at: createdAt })
    .onConflict((oc) => oc.columns(['user_id', 'contact_id']).doNothing())
    .execute()
}

/** Whether there was such a contact. */
export async function deleteContact(db: Db, userId: number, contactId: number): Promise<boolean> {
  const result = await db
    .deleteFrom('contacts')
    .where('user_id', '=', userId)
    .where('contact_id', '=', contactId)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/** Every contact row naming the user, in either direction (the account is deleted). */
export async function deleteContactsOf(db: Db, userId: number): Promise<void> {
  await db
    .deleteFrom('contacts')
    .where((eb) => eb.or([eb('user_id', '=', userId), eb('contact_id', '=', userId)]))
    .execute()
}
