import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { authOf, requireUser } from '../auth/authenticate.js'
import { errors, NoContent } from '../common-schemas.js'
import { deleteSubscription, upsertSubscription } from '../db/queries/push-subscriptions.js'
import { badRequest } from '../errors.js'
import { endpointProblem } from './address-guard.js'
import { PushKey, SubscribeBody, SubscriptionEnvelope, UnsubscribeBody } from './schemas.js'

// The `push-routes` plugin: the VAPID key, and this device's subscription.

const decodedLength = (value: string) => Buffer.from(value, 'base64url').length

async function routes(app: FastifyInstance): Promise<void> {
  const { ctx } = app
  const routes = app.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', requireUser(ctx))
  const tags = ['push']

  routes.get(
    '/push/key',
    {
      schema: { tags, summary: "The server's VAPID public key", response: { 200: PushKey, ...errors(401) } },
    },
    async () => ({ public_key: app.push.publicKey }),
  )

  routes.post(
    '/push/subscriptions',
    {
      schema: {
        tags,
        summary: 'Push notifications to this device (its PushSubscription)',
        body: SubscribeBody,
        response: { 201: SubscriptionEnvelope, ...errors(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const { user } = authOf(request)
      const { endpoint, keys } = request.body
      const p256dh = Buffer.from(keys.p256dh, 'base64url')
      if (p256dh.length !== 65 || p256dh[0] !== 4) throw badRequest('keys.p256dh must be a P-256 public key')
      if (decodedLength(keys.auth) !== 16) throw badRequest('keys.auth must be 16 bytes')
      ctx.limits.spendWrite(user.id)
      const problem = await endpointProblem(endpoint, ctx.config.pushAllowPrivate)
      if (problem) throw badRequest(problem)
      await upsertSubscription(ctx.db, { userId: user.id, endpoint, p256dh: keys.p256dh, auth: keys.auth })
      return reply.status(201).send({ subscription: { endpoint } })
    },
  )

  routes.delete(
    '/push/subscriptions',
    {
      schema: {
        tags,
        summary: 'Stop pushing to this device',
        body: UnsubscribeBody,
        response: { 204: NoContent, ...errors(400, 401) },
      },
    },
    async (request, reply) => {
      // Idempotent: an endpoint that is not (or no longer) mine is simply not there.
      await deleteSubscription(ctx.db, authOf(request).user.id, request.body.endpoint)
      return reply.status(204).send(null)
    },
  )
}

export const pushRoutes = fp(routes, {
  name: 'push-routes',
  dependencies: ['context', 'push'],
  encapsulate: true,
})
