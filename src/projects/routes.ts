import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { authOf, requireUser } from '../auth/authenticate.js'
import { errors, NoContent } from '../common-schemas.js'
import {
  addProjectMember,
  createProject,
  deleteProject,
  listProjects,
  projectDetail,
  removeProjectMember,
} from './projects.js'
import {
  AddProjectMemberBody,
  CreateProjectBody,
  ProjectEnvelope,
  ProjectList,
  ProjectMemberParams,
  ProjectParams,
} from './schemas.js'

// The project's files live in src/files/routes.ts (they need the multipart parser).

async function routes(app: FastifyInstance): Promise<void> {
  const { ctx } = app
  const routes = app.withTypeProvider<TypeBoxTypeProvider>()
  // onRequest: a caller without a session gets 401 before any body is read.
  app.addHook('onRequest', requireUser(ctx))
  const tags = ['projects']

  routes.get(
    '/projects',
    {
      schema: { tags, summary: 'My projects, newest first', response: { 200: ProjectList, ...errors(401) } },
    },
    async (request) => ({ projects: await listProjects(ctx, authOf(request).user.id) }),
  )

  routes.post(
    '/projects',
    {
      schema: {
        tags,
        summary: 'A new project with its own `project` conversation; I am its owner',
        body: CreateProjectBody,
        response: { 201: ProjectEnvelope, ...errors(400, 401) },
      },
    },
    async (request, reply) => {
      const detail = await createProject(ctx, authOf(request).user.id, request.body)
      return reply.status(201).send(detail)
    },
  )

  routes.get(
    '/projects/:id',
    {
      schema: {
        tags,
        summary: 'One project and its members',
        params: ProjectParams,
        response: { 200: ProjectEnvelope, ...errors(401, 404) },
      },
    },
    async (request) => projectDetail(ctx, request.params.id, authOf(request).user.id),
  )

  routes.delete(
    '/projects/:id',
    {
      schema: {
        tags,
        summary: 'Delete a project (its owner): its files, conversation and messages go too',
        params: ProjectParams,
        response: { 204: NoContent, ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deleteProject(ctx, authOf(request).user.id, request.params.id)
      return reply.status(204).send(null)
    },
  )

  routes.post(
    '/projects/:id/members',
    {
      schema: {
        tags,
        summary: 'The owner adds a member (200 if they already were one)',
        params: ProjectParams,
        body: AddProjectMemberBody,
        response: { 200: ProjectEnvelope, 201: ProjectEnvelope, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { added, ...detail } = await addProjectMember(
        ctx,
        authOf(request).user.id,
        request.params.id,
        request.body.user_id,
      )
      return reply.status(added ? 201 : 200).send(detail)
    },
  )

  routes.delete(
    '/projects/:id/members/:userId',
    {
      schema: {
        tags,
        summary: 'The owner removes a member, or a member leaves (the owner cannot leave)',
        params: ProjectMemberParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await removeProjectMember(ctx, authOf(request).user.id, request.params.id, request.params.userId)
      return reply.status(204).send(null)
    },
  )
}

/** Encapsulated: its hooks (the session guard) apply to its own routes only. */
export const projectRoutes = fp(routes, {
  name: 'project-routes',
  dependencies: ['context'],
  encapsulate: true,
})
