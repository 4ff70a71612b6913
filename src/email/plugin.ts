import { randomBytes } from 'node:crypto'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from '../common-schemas.js'
import { secretOrInsert } from '../db/queries/server-secrets.js'
import { badRequest } from '../errors.js'
import { sendLinkPage, wantsHtml } from './link-page.js'
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

/** One emailed link: what it does, what JSON says when done, and the page a browser gets. */
interface Link {
  path: string
  summary: string
  act: (token: string) => Promise<string | undefined>
  json: string
  done: (email: string) => { title: string; message: string; hint: string }
  failedHint: string
}

const LINKS: (service: EmailService) => Link[] = (service) => [
  {
    path: '/email/verify',
    summary: 'Confirm an email address (the emailed link)',
    act: (token) => service.verify(token),
    json: 'Your email address is confirmed.',
    done: (email) => ({
      title: 'Address verified',
      message: `Your address ${email} is verified.`,
      hint: 'Parley will email you there about direct messages and mentions you leave unread.',
    }),
    failedHint: 'Save your address again under Account in Parley to get a new link.',
  },
  {
    path: '/email/unsubscribe',
    summary: 'Turn email notifications off (the link of each digest)',
    act: (token) => service.unsubscribe(token),
    json: 'You will get no more notification emails.',
    done: (email) => ({
      title: 'Email notifications off',
      message: `Email notifications are off for ${email}.`,
      hint: 'You can turn them on again under Account in Parley.',
    }),
    failedHint: 'You can turn email notifications off under Account in Parley.',
  },
]

async function linkRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>()
  for (const link of LINKS(app.email)) {
    const schema = {
      tags: ['email'],
      summary: link.summary,
      description: 'A browser (Accept: text/html) gets a page in words instead of the JSON.',
      querystring: EmailTokenQuery,
      response: { 200: EmailLinkResult, ...errors(400) },
    }
    // attachValidation: a browser with no token or an empty one gets the page too.
    routes.get(link.path, { schema, attachValidation: true }, async (request, reply) => {
      const vary = reply.getHeader('vary')
      reply.header('vary', vary ? `${vary}, Accept` : 'Accept')
      const email = request.validationError ? undefined : await link.act(request.query.token)
      if (wantsHtml(request.headers.accept)) {
        const page =
          email === undefined
            ? {
                title: 'This link no longer works',
                message: 'This link has expired or was already used.',
                hint: link.failedHint,
              }
            : link.done(email)
        return sendLinkPage(reply, { ok: email !== undefined, ...page })
      }
      if (request.validationError) throw request.validationError
      if (email === undefined) throw badRequest('This link is invalid or has expired', 'LINK_INVALID')
      return { done: true, message: link.json }
    })
  }
}

export const emailPlugin = fp(email, { name: 'email', dependencies: ['context'] })

export const emailRoutes = fp(linkRoutes, {
  name: 'email-routes',
  dependencies: ['email'],
  encapsulate: true,
})
