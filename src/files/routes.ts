import multipart from '@fastify/multipart'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { authOf, requireUser } from '../auth/authenticate.js'
import { errors, IdParams, NoContent } from '../common-schemas.js'
import { FileObject, Message } from '../conversations/schemas.js'
import { notFound } from '../errors.js'
import { ensureUploadDir, sweepOrphans } from '../storage/files.js'
import { sendImage } from '../storage/send-image.js'
import { sendFile } from './download.js'
import {
  addFile,
  admitConversationUpload,
  admitProjectUpload,
  deleteProjectFile,
  fileForDownload,
  listProjectFiles,
} from './files.js'
import { multipartLimits, receiveUpload } from './upload.js'

const FileEnvelope = Type.Object({ file: Type.Ref(FileObject), message: Type.Ref(Message) })
const MessageEnvelope = Type.Object({ message: Type.Ref(Message), file: Type.Ref(FileObject) })
const FileList = Type.Object({ files: Type.Array(Type.Ref(FileObject)) })
const ProjectFileParams = Type.Object({ id: IdParams.properties.id, fileId: IdParams.properties.id })

const multipartBody = {
  description: 'multipart/form-data: the file in the field `file`; optional text field `content` (a caption)',
}

async function routes(app: FastifyInstance): Promise<void> {
  const { ctx } = app
  await ensureUploadDir(ctx.config.uploadDir)
  // Housekeeping in the background: start-up does not wait on a large directory.
  const sweeping = sweepOrphans(ctx.db, ctx.config.uploadDir).then(
    (swept) => {
      if (swept.length > 0)
        app.log.info({ count: swept.length }, 'removed leftover files from the upload dir')
    },
    (error) => app.log.warn({ err: error }, 'could not sweep the upload dir'),
  )
  app.addHook('onClose', async () => {
    await sweeping
  })

  // Scoped to these routes: the rest of the API never parses multipart.
  await app.register(multipart, {
    limits: multipartLimits(ctx.config.maxUploadBytes),
    throwFileSizeLimit: false,
  })
  const routes = app.withTypeProvider<TypeBoxTypeProvider>()
  // onRequest: a caller without a session gets 401 before any body is read.
  app.addHook('onRequest', requireUser(ctx))
  const tags = ['files']

  routes.post(
    '/projects/:id/files',
    {
      config: { upload: true },
      schema: {
        tags,
        summary: 'Upload a file to a project; it is announced as a message in the project conversation',
        description: multipartBody.description,
        params: IdParams,
        response: { 201: FileEnvelope, ...errors(400, 401, 404, 413, 429) },
      },
    },
    async (request, reply) => {
      const me = authOf(request).user.id
      // Not a member, or over a budget: the body is not read, only discarded.
      const target = await admitProjectUpload(ctx, me, request.params.id).catch((error) => {
        request.raw.resume()
        throw error
      })
      const upload = await receiveUpload(ctx, request)
      const result = await addFile(ctx, me, target, upload)
      return reply.status(201).send(result)
    },
  )

  routes.get(
    '/projects/:id/files',
    {
      config: { upload: true },
      schema: {
        tags,
        summary: "The project's files, newest first",
        params: IdParams,
        response: { 200: FileList, ...errors(401, 404) },
      },
    },
    async (request) => ({ files: await listProjectFiles(ctx, authOf(request).user.id, request.params.id) }),
  )

  routes.delete(
    '/projects/:id/files/:fileId',
    {
      schema: {
        tags,
        summary: "Delete a project's file (its uploader or the project's owner): the row and the bytes",
        params: ProjectFileParams,
        response: { 204: NoContent, ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deleteProjectFile(ctx, authOf(request).user.id, request.params.id, request.params.fileId)
      return reply.status(204).send(null)
    },
  )

  routes.post(
    '/conversations/:id/files',
    {
      config: { upload: true },
      schema: {
        tags,
        summary: 'Send a file into a conversation: a message carrying it as an attachment',
        description: multipartBody.description,
        params: IdParams,
        response: { 201: MessageEnvelope, ...errors(400, 401, 404, 413, 429) },
      },
    },
    async (request, reply) => {
      const me = authOf(request).user.id
      const target = await admitConversationUpload(ctx, me, request.params.id).catch((error) => {
        request.raw.resume()
        throw error
      })
      const upload = await receiveUpload(ctx, request)
      const result = await addFile(ctx, me, target, upload)
      return reply.status(201).send(result)
    },
  )

  // HEAD is declared, not derived: Fastify's derived HEAD would read the whole file to discard it.
  routes.route({
    method: ['GET', 'HEAD'],
    url: '/files/:id',
    schema: {
      tags,
      summary: "A file's bytes, to the members of its conversation (Range and If-None-Match supported)",
      params: IdParams,
      response: { ...errors(401, 404, 416) },
    },
    handler: async (request, reply) => {
      const file = await fileForDownload(ctx, request.params.id, authOf(request).user.id)
      return sendFile(ctx, request, reply, file)
    },
  })

  routes.route({
    method: ['GET', 'HEAD'],
    url: '/files/:id/thumbnail',
    schema: {
      tags,
      summary:
        "An image file's thumbnail: a WebP of at most 480 px on the long side, upright, without metadata (to the members of its conversation)",
      params: IdParams,
      response: { ...errors(401, 404) },
    },
    handler: async (request, reply) => {
      const file = await fileForDownload(ctx, request.params.id, authOf(request).user.id)
      if (file.thumbnail_name === null) throw notFound('Thumbnail')
      return sendImage(request, reply, {
        uploadDir: ctx.config.uploadDir,
        storageName: file.thumbnail_name,
        etag: `${file.sha256}-thumbnail`,
        what: 'Thumbnail',
        // As the file: access can end at any time, so a cache asks again (a cheap 304).
        cacheControl: 'private, no-cache',
      })
    },
  })
}

/** Encapsulated: its hooks (the session guard) apply to its own routes only. */
export const fileRoutes = fp(routes, { name: 'file-routes', dependencies: ['context'], encapsulate: true })
