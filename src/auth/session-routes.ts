import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { errors, IdParams, NoContent } from '../common-schemas.js'
import { createSession, deleteOwnSession, listSessions, NEVER } from '../db/queries/sessions.js'
import { notFound } from '../errors.js'
import { cleanName } from '../text.js'
import { resetPassword } from './accounts.js'
import { authOf, requireUser } from './authenticate.js'
import { CreateTokenBody, ResetBody, SessionList, TokenCreated, TokenList } from './schemas.js'

// My sessions and personal API tokens (both are rows of `sessions`; a token has a name), and the
// password reset a one-time link leads to. Ending either closes its sockets with 4001.

type SessionRow = Awaited<ReturnType<typeof listSessions>>[number]

function tokenView(row: SessionRow) {
  return {
    id: Number(row.id),
    name: row.token_name ?? '',
    created_at: row.created_at,
    // A token's row starts with last_used_at = created_at: unused yet.
    last_used_at: row.last_used_at === row.created_at ? null : row.last_used_at,
    expires_at: row.expires_at === NEVER ? null : row.expires_at,
  }
}

async function routes(app: FastifyInstance): Promise<void> {
  const { ctx } = app
  const routes = app.withTypeProvider<TypeBoxTypeProvider>()
  const guard = requireUser(ctx)
  const tags = ['auth']

  const end = async (userId: number, id: number, token: boolean, reason: string) => {
    if (!(await deleteOwnSession(ctx.db, userId, id, token))) throw notFound(token ? 'Token' : 'Session')
    ctx.sessions.dropSessions([id])
    ctx.hub.publish({ kind: 'close_sessions', sessionIds: [id], code: 4001, reason })
  }

  routes.get(
    '/auth/sessions',
    {
      onRequest: guard,
      schema: { tags, summary: 'My login sessions', response: { 200: SessionList, ...errors(401) } },
    },
    async (request) => {
      const { user, session } = authOf(request)
      const rows = await listSessions(ctx.db, user.id, false)
      return {
        sessions: rows.map((row) => ({
          id: Number(row.id),
          created_at: row.created_at,
          last_used_at: row.last_used_at,
          user_agent: row.user_agent,
          ip: row.ip,
          current: Number(row.id) === session.id,
        })),
      }
    },
  )

  routes.delete(
    '/auth/sessions/:id',
    {
      onRequest: guard,
      schema: {
        tags,
        summary: 'End one of my sessions (its sockets close with 4001)',
        params: IdParams,
        response: { 204: NoContent, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await end(authOf(request).user.id, request.params.id, false, 'session ended')
      return reply.status(204).send(null)
    },
  )

  routes.post(
    '/auth/tokens',
    {
      onRequest: guard,
      schema: {
        tags,
        summary: 'A personal API token; its secret is shown this once',
        body: CreateTokenBody,
        response: { 201: TokenCreated, ...errors(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const { user } = authOf(request)
      ctx.limits.spendWrite(user.id)
      const days = request.body.expires_in_days
      const { token: secret, session } = await createSession(ctx.db, ctx.config, user.id, {
        tokenName: cleanName(request.body.name, 'name'),
        expiresAt: days === undefined ? NEVER : new Date(Date.now() + days * 86_400_000).toISOString(),
        userAgent: request.headers['user-agent'],
        ip: request.ip,
      })
      const row = (await listSessions(ctx.db, user.id, true)).find((r) => Number(r.id) === session.id)
      if (!row) throw notFound('Token')
      return reply.status(201).send({ token: tokenView(row), secret })
    },
  )

  routes.get(
    '/auth/tokens',
    {
      onRequest: guard,
      schema: { tags, summary: 'My personal API tokens', response: { 200: TokenList, ...errors(401) } },
    },
    async (request) => ({
      tokens: (await listSessions(ctx.db, authOf(request).user.id, true)).map(tokenView),
    }),
  )

  routes.delete(
    '/auth/tokens/:id',
    {
      onRequest: guard,
      schema: {
        tags,
        summary: 'Revoke a personal API token (its sockets close with 4001)',
        params: IdParams,
        response: { 204: NoContent, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await end(authOf(request).user.id, request.params.id, true, 'token revoked')
      return reply.status(204).send(null)
    },
  )

  routes.post(
    '/auth/reset',
    {
      config: { rateLimit: { max: ctx.config.authRateLimit, timeWindow: '1 minute' } },
      schema: {
        tags,
        summary: 'Set a new password with a one-time reset link; every session ends',
        body: ResetBody,
        response: { 204: NoContent, ...errors(400, 429) },
      },
    },
    async (request, reply) => {
      await resetPassword(ctx, request.body.token, request.body.new_password)
      return reply.status(204).send(null)
    },
  )
}

/** Encapsulated: its hooks (the session guard) apply to its own routes only. */
export const sessionRoutes = fp(routes, {
  name: 'session-routes',
  dependencies: ['context'],
  encapsulate: true,
})
