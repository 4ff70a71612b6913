import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { authOf, requireUser } from '../auth/authenticate.js'
import { registrationMode } from '../auth/registration.js'
import { errors, IdParams, NoContent, UserEnvelope } from '../common-schemas.js'
import { listAudit } from '../db/queries/audit-log.js'
import type { UserRow } from '../db/types.js'
import { forbidden } from '../errors.js'
import { presenceFor } from '../presence/scope.js'
import { toUserView } from '../presence/user-view.js'
import { createInvite, invites, inviteView, removeInvite, setRegistration } from './invites.js'
import { changeRole, createPasswordReset, deactivate, reactivate } from './people.js'
import {
  AuditPage,
  AuditQuery,
  CreateInviteBody,
  InviteEnvelope,
  InviteList,
  InviteParams,
  ResetEnvelope,
  RoleBody,
  SettingsBody,
  SettingsEnvelope,
} from './schemas.js'

/** The origin links are made with, as the admin's browser reached the server. */
const originOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`

async function routes(app: FastifyInstance): Promise<void> {
  const { ctx } = app
  const routes = app.withTypeProvider<TypeBoxTypeProvider>()
  // Session first (401), then the role (403), before a body or parameter is looked at (400).
  app.addHook('onRequest', requireUser(ctx))
  app.addHook('onRequest', async (request) => {
    if (authOf(request).user.role !== 'admin') throw forbidden('Only an admin may do this')
  })
  const view = async (request: FastifyRequest, row: UserRow) => {
    const presence = await presenceFor(ctx, authOf(request).user, [Number(row.id)])
    return { user: toUserView(row, presence) }
  }
  const actor = (request: FastifyRequest) => authOf(request).user.id
  const people = {
    tags: ['admin'],
    params: IdParams,
    response: { 200: UserEnvelope, ...errors(400, 401, 403, 404, 409) },
  }

  routes.patch(
    '/users/:id',
    { schema: { ...people, summary: "An admin sets a user's role", body: RoleBody } },
    async (request) =>
      view(request, await changeRole(ctx, actor(request), request.params.id, request.body.role)),
  )

  routes.post(
    '/users/:id/deactivate',
    { schema: { ...people, summary: 'Suspend an account: its sessions end, its sockets close 4003' } },
    async (request) => view(request, await deactivate(ctx, actor(request), request.params.id)),
  )

  routes.post(
    '/users/:id/reactivate',
    { schema: { ...people, summary: 'Let a suspended account log in again' } },
    async (request) => view(request, await reactivate(ctx, actor(request), request.params.id)),
  )

  routes.post(
    '/users/:id/password-reset',
    {
      schema: {
        tags: ['admin'],
        summary: 'A one-time password reset link, valid 1 hour',
        params: IdParams,
        response: { 201: ResetEnvelope, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const reset = await createPasswordReset(ctx, actor(request), request.params.id)
      const url = `${originOf(request)}/reset/${reset.token}`
      return reply.status(201).send({ reset: { ...reset, url } })
    },
  )

  const settingsResponse = { 200: SettingsEnvelope, ...errors(400, 401, 403) }
  routes.get(
    '/admin/settings',
    { schema: { tags: ['admin'], summary: 'Server settings', response: settingsResponse } },
    async () => ({ settings: { registration: await registrationMode(ctx) } }),
  )

  routes.patch(
    '/admin/settings',
    {
      schema: {
        tags: ['admin'],
        summary: 'Change server settings',
        body: SettingsBody,
        response: settingsResponse,
      },
    },
    async (request) => {
      await setRegistration(ctx, actor(request), request.body.registration)
      return { settings: { registration: await registrationMode(ctx) } }
    },
  )

  routes.post(
    '/invites',
    {
      // A POST without a body asks for the defaults.
      preValidation: async (request) => {
        request.body ??= {}
      },
      schema: {
        tags: ['admin'],
        summary: 'Make an invitation',
        body: CreateInviteBody,
        response: { 201: InviteEnvelope, ...errors(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const row = await createInvite(ctx, actor(request), request.body)
      return reply.status(201).send({ invite: inviteView(row, originOf(request)) })
    },
  )

  routes.get(
    '/invites',
    {
      schema: {
        tags: ['admin'],
        summary: 'Invitations, newest first',
        response: { 200: InviteList, ...errors(401, 403) },
      },
    },
    async (request) => ({ invites: (await invites(ctx)).map((row) => inviteView(row, originOf(request))) }),
  )

  routes.delete(
    '/invites/:code',
    {
      schema: {
        tags: ['admin'],
        summary: 'Withdraw an invitation',
        params: InviteParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await removeInvite(ctx, actor(request), request.params.code)
      return reply.status(204).send(null)
    },
  )

  routes.get(
    '/admin/audit',
    {
      schema: {
        tags: ['admin'],
        summary: 'What admins did, newest first, paged by cursor',
        querystring: AuditQuery,
        response: { 200: AuditPage, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50
      const rows = await listAudit(ctx.db, request.query.cursor, limit)
      const page = rows.slice(0, limit)
      const hasMore = rows.length > limit
      return {
        entries: page.map((row) => ({
          id: Number(row.id),
          actor_id: Number(row.actor_id),
          actor_username: row.actor_username ?? null,
          action: row.action,
          target_user_id: row.target_user_id === null ? null : Number(row.target_user_id),
          target_username: row.target_username ?? null,
          details: JSON.parse(row.details) as Record<string, unknown>,
          created_at: row.created_at,
        })),
        has_more: hasMore,
        next: hasMore ? Number(page[page.length - 1]?.id) : null,
      }
    },
  )
}

/** Encapsulated: its hooks (the session guard and the admin check) apply to its own routes only. */
export const adminRoutes = fp(routes, { name: 'admin-routes', dependencies: ['context'], encapsulate: true })
