import type { AppContext } from '../context.js'
import { contactsOf, deleteContact, insertContact } from '../db/queries/contacts.js'
import { findUserById, type UserViewRow } from '../db/queries/users.js'
import { badRequest, notFound } from '../errors.js'
import { nowIso } from '../time.js'

export function listContacts(ctx: AppContext, userId: number): Promise<UserViewRow[]> {
  return contactsOf(ctx.db, userId)
}

export async function addContact(ctx: AppContext, userId: number, contactId: number): Promise<UserViewRow> {
  if (contactId === userId) throw badRequest('You cannot add yourself as a contact')
  const contact = await findUserById(ctx.db, contactId)
  if (!contact || contact.deleted_at) throw notFound('User')
  await insertContact(ctx.db, userId, contactId, nowIso())
  return contact
}

export async function removeContact(ctx: AppContext, userId: number, contactId: number): Promise<void> {
  if (!(await deleteContact(ctx.db, userId, contactId))) throw notFound('Contact')
}
