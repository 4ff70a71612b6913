import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { deleteByAdmin } from '../admin/people.js'
import { authOf, requireUser } from '../auth/authenticate.js'
import { errors, IdParams, NoContent, UserEnvelope, UserList } from '../common-schemas.js'
import { findUserById, findUserViews, listUsers, setDisplayName } from '../db/queries/users.js'
import { forbidden, notFound } from '../errors.js'
import { presenceFor, presenceOfPeers } from '../presence/scope.js'
import { toUserView, type UserViewRow } from '../presence/user-view.js'
import { cleanName } from '../text.js'
import { avatarRoutes } from './avatar-routes.js'
import { addContact, listContacts, removeContact } from './contacts.js'
import {
  AddContactBody,
  ContactParams,
  EmailSettings,
  EmailSettingsBody,
  ListUsersQuery,
  UpdateMeBody,
  UserPage,
} from './schemas.js'

async function routes(app: FastifyInstance): Promise<void> {
  const { ctx } = app
  const routes = app.withTypeProvider<TypeBoxTypeProvider>()
  // onRequest: a caller without a session gets 401 before any body or parameter is looked at
  app.addHook('onRequest', requireUser(ctx))
  /** The caller's own profile, or their contacts: presence they always see. */
  const peerView = (row: UserViewRow) => toUserView(row, presenceOfPeers(ctx))
  /** Any users, as the caller may see them (one query for all of them). */
  const viewsFor = async (request: FastifyRequest, rows: UserViewRow[]) => {
    const ids = rows.map((row) => Number(row.id))
    const presence = await presenceFor(ctx, authOf(request).user, ids)
    return rows.map((row) => toUserView(row, presence))
  }
  const tags = ['users']
  // A child context: the session guard above applies, multipart is parsed there only.
  await app.register(avatarRoutes)

  routes.get(
    '/users',
    {
      schema: {
        tags,
        summary: 'Every account, for admins, paged by id',
        querystring: ListUsersQuery,
        response: { 200: UserPage, ...errors(401, 403) },
      },
    },
    async (request) => {
      if (authOf(request).user.role !== 'admin') throw forbidden('Only an admin may list every account')
      const limit = request.query.limit ?? 50
      const rows = await listUsers(ctx.db, request.query.after ?? 0, limit, request.query.q)
      return { users: await viewsFor(request, rows.slice(0, limit)), has_more: rows.length > limit }
    },
  )

  routes.get(
    '/users/online',
    { schema: { tags, summary: 'Users online now', response: { 200: UserList, ...errors(401) } } },
    async (request) => {
      // Only the online users the caller may see are listed; the rest read offline to them.
      const online = ctx.presence.onlineUserIds()
      const presence = await presenceFor(ctx, authOf(request).user, online)
      const rows = await findUserViews(
        ctx.db,
        online.filter((id) => presence.visible(id)),
      )
      return { users: rows.map((row) => toUserView(row, presence)) }
    },
  )

  routes.patch(
    '/users/me',
    {
      schema: {
        tags,
        summary: 'Edit my profile',
        body: UpdateMeBody,
        response: { 200: UserEnvelope, ...errors(400, 401) },
      },
    },
    async (request) => {
      const { user } = authOf(request)
      const { display_name: displayName, email } = request.body
      if (email !== undefined) await app.email.change(user.id, email)
      const updated =
        displayName === undefined
          ? await findUserById(ctx.db, user.id)
          : await setDisplayName(ctx.db, user.id, cleanName(displayName, 'display_name'))
      if (!updated) throw notFound('User')
      return { user: peerView(updated) }
    },
  )

  routes.get(
    '/users/me/email',
    {
      schema: {
        tags,
        summary: 'My email address for digests: verified or not, digests on or off',
        response: { 200: EmailSettings, ...errors(401) },
      },
    },
    async (request) => app.email.settings(authOf(request).user.id),
  )

  routes.patch(
    '/users/me/email',
    {
      schema: {
        tags,
        summary: 'Turn my email digests on or off',
        body: EmailSettingsBody,
        response: { 200: EmailSettings, ...errors(400, 401) },
      },
    },
    async (request) => app.email.setNotifications(authOf(request).user.id, request.body.notifications),
  )

  routes.get(
    '/users/me/contacts',
    { schema: { tags, summary: 'My contacts', response: { 200: UserList, ...errors(401) } } },
    async (request) => ({ users: (await listContacts(ctx, authOf(request).user.id)).map(peerView) }),
  )

  routes.post(
    '/users/me/contacts',
    {
      schema: {
        tags,
        summary: 'Add a contact',
        body: AddContactBody,
        response: { 201: UserEnvelope, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const contact = await addContact(ctx, authOf(request).user.id, request.body.user_id)
      return reply.status(201).send({ user: peerView(contact) })
    },
  )

  routes.delete(
    '/users/me/contacts/:userId',
    {
      schema: {
        tags,
        summary: 'Remove a contact',
        params: ContactParams,
        response: { 204: NoContent, ...errors(401, 404) },
      },
    },
    async (request, reply) => {
      await removeContact(ctx, authOf(request).user.id, request.params.userId)
      return reply.status(204).send(null)
    },
  )

  routes.get(
    '/users/:id',
    {
      schema: {
        tags,
        summary: 'One user',
        params: IdParams,
        response: { 200: UserEnvelope, ...errors(401, 404) },
      },
    },
    async (request) => {
      const user = await findUserById(ctx.db, request.params.id)
      if (!user) throw notFound('User')
      const [view] = await viewsFor(request, [user])
      return { user: view }
    },
  )

  routes.delete(
    '/users/:id',
    {
      schema: {
        tags,
        summary: 'An admin deletes another account',
        params: IdParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { user } = authOf(request)
      if (user.role !== 'admin') throw forbidden('Only an admin may delete another account')
      await deleteByAdmin(ctx, user.id, request.params.id)
      return reply.status(204).send(null)
    },
  )
}

/** Encapsulated: its hooks (the session guard) apply to its own routes only. */
export const userRoutes = fp(routes, {
  name: 'user-routes',
  dependencies: ['context', 'email'],
  encapsulate: true,
})
