import type { FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import { findAvatar, replaceAvatar } from '../db/queries/users.js'
import type { UserRow } from '../db/types.js'
import { AppError, notFound } from '../errors.js'
import { receiveUpload } from '../files/upload.js'
import { presenceOfPeers, presencePeers } from '../presence/scope.js'
import { toUserView } from '../presence/user-view.js'
import { removeStoredFiles, storagePath, storeBytes } from '../storage/files.js'
import { IMAGE_TYPES, makeAvatar } from '../storage/images.js'

// Profile pictures: the upload is cropped to its centre square, made a 256x256 WebP without
// metadata, and stored in UPLOAD_DIR like a file; the upload itself is not kept.

const notAnImage = (why: string) => new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', why)

/** The people who see the user (as for presence) and the user's own sockets hear the new picture. */
async function announce(ctx: AppContext, user: UserRow): Promise<void> {
  const audience = await presencePeers(ctx, user.id)
  audience.add(user.id)
  ctx.hub.publish({
    kind: 'users',
    userIds: [...audience],
    event: { type: 'user', user: toUserView(user, presenceOfPeers(ctx)) },
  })
}

/** PUT /users/me/avatar: reads the multipart upload and makes it the account's avatar. */
export async function setAvatar(ctx: AppContext, userId: number, request: FastifyRequest): Promise<UserRow> {
  ctx.limits.spendUpload(userId)
  const upload = await receiveUpload(ctx, request, { thumbnail: false })
  const uploadDir = ctx.config.uploadDir
  let avatarName: string | undefined
  try {
    if (!IMAGE_TYPES.has(upload.contentType)) {
      throw notAnImage('An avatar must be a PNG, JPEG, GIF or WebP image')
    }
    const webp = await makeAvatar(storagePath(uploadDir, upload.storageName)).catch(() => {
      throw notAnImage('The image could not be read')
    })
    avatarName = await storeBytes(uploadDir, webp)
    const { user, previous } = await replaceAvatar(ctx.db, userId, avatarName)
    avatarName = undefined // the row holds it now
    if (previous) await removeStoredFiles(uploadDir, [previous]).catch(() => {})
    await announce(ctx, user)
    return user
  } finally {
    const leftovers = avatarName ? [upload.storageName, avatarName] : [upload.storageName]
    await removeStoredFiles(uploadDir, leftovers).catch(() => {})
  }
}

/** DELETE /users/me/avatar: back to initials. Harmless when there is no avatar. */
export async function removeAvatar(ctx: AppContext, userId: number): Promise<void> {
  ctx.limits.spendWrite(userId)
  const current = await findAvatar(ctx.db, userId)
  if (!current?.avatar_name) return
  const { user, previous } = await replaceAvatar(ctx.db, userId, null)
  if (previous) await removeStoredFiles(ctx.config.uploadDir, [previous]).catch(() => {})
  await announce(ctx, user)
}

/** The storage name and version of a user's avatar; NOT_FOUND when there is none. */
export async function avatarOf(ctx: AppContext, userId: number): Promise<{ name: string; version: number }> {
  const avatar = await findAvatar(ctx.db, userId)
  if (!avatar?.avatar_name) throw notFound('Avatar')
  return { name: avatar.avatar_name, version: Number(avatar.avatar_version) }
}
