import { randomBytes } from 'node:crypto'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from '../common-schemas.js'
import { secretOrInsert } from '../db/queries/server-secrets.js'
import { badRequest } from '../errors.js'
import { EmailLinkResult, EmailTokenQuery } from './schemas.js'
import { EmailService } from './service.js'

// The `email` plugin: digests of missed messages (with SMTP_URL), and the two links the emails
// carry, which need no session: the token in the link is signed by the server.

declare module 'fastify' {
  interface FastifyInstance {
    email: EmailService
  }
}

async function email(app: FastifyInstance): Promise<void> {
  const { ctx } = app
  const secret = await secretOrInsert(ctx.db, 'email_links', randomBytes(32).toString('base64url'))
  const service = new EmailService(ctx.db, ctx.config, secret, app.log)
  app.decorate('email', service)
  app.addHook('onReady', async () => service.start())
  app.addHook('onClose', async () => service.stop())
}

async function linkRoutes(app: FastifyInstance): Promise<void> {
  const service = app.email
  const routes = app.withTypeProvider<TypeBoxTypeProvider>()
  const schema = (summary: string) => ({
    tags: ['email'],
    summary,
    querystring: EmailTokenQuery,
    response: { 200: EmailLinkResult, ...errors(400) },
  })
  routes.get(
    '/email/verify',
    { schema: schema('Confirm an email address (the emailed link)') },
    async (request) => {
      if (!(await service.verify(request.query.token)))
        throw badRequest('This link is invalid or has expired', 'LINK_INVALID')
      return { done: true, message: 'Your email address is confirmed.' }
    },
  )
  routes.get(
    '/email/unsubscribe',
    { schema: schema('Turn email notifications off (the link of each digest)') },
    async (request) => {
      if (!(await service.unsubscribe(request.query.token))) {
        throw badRequest('This link is invalid or has expired', 'LINK_INVALID')
      }
      return { done: true, message: 'You will get no more notification emails.' }
    },
  )
}

export const emailPlugin = fp(email, { name: 'email', dependencies: ['context'] })

export const emailRoutes = fp(linkRoutes, {
  name: 'email-routes',
  dependencies: ['email'],
  encapsulate: true,
})
