import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { errors, NoContent, UserEnvelope } from '../common-schemas.js'
import { createSession, deleteSession } from '../db/queries/sessions.js'
import { presenceOfPeers } from '../presence/scope.js'
import { toUserView } from '../presence/user-view.js'
import { changePassword, checkCredentials, checkPassword, deleteAccount, register } from './accounts.js'
import { authOf, requireLoginSession, requireUser, SESSION_COOKIE } from './authenticate.js'
import { AuthResponse, ChangePasswordBody, DeleteAccountBody, LoginBody, RegisterBody } from './schemas.js'

async function routes(app: FastifyInstance): Promise<void> {
  const { ctx } = app
  const routes = app.withTypeProvider<TypeBoxTypeProvider>()
  const guard = requireUser(ctx)
  // These show the profile or check the password: never a cached copy of the user.
  const freshGuard = requireUser(ctx, { fresh: true })
  const rateLimit = { max: ctx.config.authRateLimit, timeWindow: '1 minute' }
  // Only ever the caller's own account: presence they always see.
  const view = (row: Parameters<typeof toUserView>[0]) => toUserView(row, presenceOfPeers(ctx))

  async function startSession(reply: FastifyReply, userId: number, request: FastifyRequest) {
    const { token } = await createSession(ctx.db, ctx.config, userId, {
      userAgent: request.headers['user-agent'],
      ip: request.ip,
    })
    reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      secure: ctx.config.cookieSecure,
      maxAge: ctx.config.sessionMaxSeconds,
    })
    return token
  }

  routes.post(
    '/auth/register',
    {
      config: { rateLimit },
      schema: {
        tags: ['auth'],
        summary: 'Create an account and log in',
        body: RegisterBody,
        response: { 201: AuthResponse, ...errors(400, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const user = await register(ctx, request.body)
      const token = await startSession(reply, user.id, request)
      return reply.status(201).send({ user: view(user), token })
    },
  )

  routes.post(
    '/auth/login',
    {
      config: { rateLimit },
      schema: {
        tags: ['auth'],
        summary: 'Log in: a new session',
        body: LoginBody,
        response: { 200: AuthResponse, ...errors(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const user = await checkCredentials(ctx, request.body.username, request.body.password)
      const token = await startSession(reply, user.id, request)
      return { user: view(user), token }
    },
  )

  routes.post(
    '/auth/logout',
    {
      onRequest: guard,
      schema: { tags: ['auth'], summary: 'End this session', response: { 204: NoContent, ...errors(401) } },
    },
    async (request, reply) => {
      const { session } = authOf(request)
      await deleteSession(ctx.db, session.id)
      ctx.sessions.dropSessions([session.id])
      ctx.hub.publish({ kind: 'close_sessions', sessionIds: [session.id], code: 4001, reason: 'logged out' })
      reply.clearCookie(SESSION_COOKIE, { path: '/' })
      return reply.status(204).send(null)
    },
  )

  routes.get(
    '/auth/check',
    {
      onRequest: freshGuard,
      schema: { tags: ['auth'], summary: 'Who am I', response: { 200: UserEnvelope, ...errors(401) } },
    },
    async (request) => ({ user: view(authOf(request).user) }),
  )

  routes.post(
    '/auth/password',
    {
      onRequest: freshGuard,
      config: { rateLimit },
      schema: {
        tags: ['auth'],
        summary: 'Change password; every other session ends',
        body: ChangePasswordBody,
        response: { 204: NoContent, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { user, session } = authOf(request)
      requireLoginSession(authOf(request))
      await changePassword(ctx, user, session.id, request.body.current_password, request.body.new_password)
      return reply.status(204).send(null)
    },
  )

  routes.delete(
    '/auth/user',
    {
      onRequest: freshGuard,
      config: { rateLimit },
      schema: {
        tags: ['auth'],
        summary: 'Delete my account',
        body: DeleteAccountBody,
        response: { 204: NoContent, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { user } = authOf(request)
      requireLoginSession(authOf(request))
      await checkPassword(user, request.body.password)
      await deleteAccount(ctx, user.id)
      reply.clearCookie(SESSION_COOKIE, { path: '/' })
      return reply.status(204).send(null)
    },
  )
}

/** Encapsulated: its hooks (the session guard) apply to its own routes only. */
export const authRoutes = fp(routes, { name: 'auth-routes', dependencies: ['context'], encapsulate: true })
