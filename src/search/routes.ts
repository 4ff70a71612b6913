import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { authOf, requireUser } from '../auth/authenticate.js'
import { errors } from '../common-schemas.js'
import { FilePage, FileSearchQuery, SearchPage, SearchQuery } from './schemas.js'
import { searchFilesOf, searchMessagesOf } from './search.js'

async function routes(app: FastifyInstance): Promise<void> {
  const { ctx } = app
  const routes = app.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', requireUser(ctx))
  const tags = ['search']

  routes.get(
    '/search',
    {
      schema: {
        tags,
        summary: 'Full-text search over the messages of my conversations, newest first',
        querystring: SearchQuery,
        response: { 200: SearchPage, ...errors(400, 401, 404) },
      },
    },
    async (request) => searchMessagesOf(ctx, authOf(request).user.id, request.query),
  )

  routes.get(
    '/search/files',
    {
      schema: {
        tags,
        summary: 'Files I can see, by name, newest first',
        querystring: FileSearchQuery,
        response: { 200: FilePage, ...errors(400, 401) },
      },
    },
    async (request) => searchFilesOf(ctx, authOf(request).user.id, request.query),
  )
}

/** Encapsulated: its session guard applies to its own routes only. */
export const searchRoutes = fp(routes, {
  name: 'search-routes',
  dependencies: ['context'],
  encapsulate: true,
})
