import multipart from '@fastify/multipart'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { authOf } from '../auth/authenticate.js'
import { errors, IdParams, NoContent, UserEnvelope } from '../common-schemas.js'
import { multipartLimits } from '../files/upload.js'
import { presenceOfPeers } from '../presence/scope.js'
import { toUserView } from '../presence/user-view.js'
import { sendImage } from '../storage/send-image.js'
import { avatarOf, removeAvatar, setAvatar } from './avatars.js'

// The avatar routes, registered inside the user routes (their session guard applies); multipart
// is parsed here only.

const AvatarQuery = Type.Object({
  v: Type.Optional(Type.String({ maxLength: 20, description: 'The version in avatar_url; any value works' })),
})

export async function avatarRoutes(app: FastifyInstance): Promise<void> {
  const { ctx } = app
  await app.register(multipart, {
    limits: multipartLimits(ctx.config.maxUploadBytes),
    throwFileSizeLimit: false,
  })
  const routes = app.withTypeProvider<TypeBoxTypeProvider>()
  const tags = ['users']

  routes.put(
    '/users/me/avatar',
    {
      config: { upload: true },
      schema: {
        tags,
        summary: 'Set my avatar: an image (PNG, JPEG, GIF, WebP), cropped to a 256x256 square at its centre',
        description: 'multipart/form-data: the image in the field `file`',
        response: { 200: UserEnvelope, ...errors(400, 401, 413, 415, 429) },
      },
    },
    async (request) => {
      const user = await setAvatar(ctx, authOf(request).user.id, request)
      return { user: toUserView(user, presenceOfPeers(ctx)) }
    },
  )

  routes.delete(
    '/users/me/avatar',
    {
      schema: {
        tags,
        summary: 'Remove my avatar (initials are shown again)',
        response: { 204: NoContent, ...errors(401, 429) },
      },
    },
    async (request, reply) => {
      await removeAvatar(ctx, authOf(request).user.id)
      return reply.status(204).send(null)
    },
  )

  routes.route({
    method: ['GET', 'HEAD'],
    url: '/users/:id/avatar',
    schema: {
      tags,
      summary: "A user's avatar, a 256x256 WebP (any signed-in user may fetch it)",
      params: IdParams,
      querystring: AvatarQuery,
      response: { ...errors(401, 404) },
    },
    handler: async (request, reply) => {
      const avatar = await avatarOf(ctx, request.params.id)
      // The URL in avatar_url changes with the picture, so a cache may keep what it has a while.
      const current = request.query.v === String(avatar.version)
      return sendImage(request, reply, {
        uploadDir: ctx.config.uploadDir,
        storageName: avatar.name,
        etag: `avatar-${request.params.id}-${avatar.version}`,
        what: 'Avatar',
        cacheControl: current ? 'private, max-age=86400' : 'private, no-cache',
      })
    },
  })
}
