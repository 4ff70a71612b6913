import type { AppContext } from '../context.js'
import { findUserById, USER_VIEW_COLUMNS, type UserViewRow } from '../db/queries/users.js'
import { badRequest, notFound } from '../errors.js'
import { nowIso } from '../time.js'

export function listContacts(ctx: AppContext, userId: number): Promise<UserViewRow[]> {
  return ctx.db
    .selectFrom('contacts')
    .innerJoin('users', 'users.id', 'contacts.contact_id')
    .select(USER_VIEW_COLUMNS.map((column) => `users.${column}` as const))
    .where('contacts.user_id', '=', userId)
    .orderBy('users.username_key')
    .execute()
}

export async function addContact(ctx: AppContext, userId: number, contactId: number): Promise<UserViewRow> {
  if (contactId === userId) throw badRequest('You cannot add yourself as a contact')
  const contact = await findUserById(ctx.db, contactId)
  if (!contact || contact.deleted_at) throw notFound('User')
  await ctx.db
    .insertInto('contacts')
    .values({ user_id: userId, contact_id: contactId, created_at: nowIso() })
    .onConflict((oc) => oc.columns(['user_id', 'contact_id']).doNothing())
    .execute()
  return contact
}

export async function removeContact(ctx: AppContext, userId: number, contactId: number): Promise<void> {
  const result = await ctx.db
    .deleteFrom('contacts')
    .where('user_id', '=', userId)
    .where('contact_id', '=', contactId)
    .executeTakeFirst()
  if (Number(result.numDeletedRows) === 0) throw notFound('Contact')
}
