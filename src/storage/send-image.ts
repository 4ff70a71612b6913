import { open } from 'node:fs/promises'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { notFound } from '../errors.js'
import { noneMatch } from './etags.js'
import { storagePath } from './files.js'

// A WebP made by the server (a thumbnail, an avatar), sent as an image: it is ours, made by
// libvips from pixels, so it is shown inline; nosniff and a sandboxing CSP all the same.

export async function sendImage(
  request: FastifyRequest,
  reply: FastifyReply,
  image: { uploadDir: string; storageName: string; etag: string; what: string; cacheControl: string },
): Promise<FastifyReply> {
  const etag = `"${image.etag}"`
  reply.header('cache-control', image.cacheControl)
  reply.header('etag', etag)
  reply.header('x-content-type-options', 'nosniff')
  if (noneMatch(request.headers['if-none-match'], etag)) return reply.status(304).send()
  const handle = await open(storagePath(image.uploadDir, image.storageName), 'r').catch((error) => {
    request.log.error({ err: error }, `stored ${image.what} is missing`)
    throw notFound(image.what)
  })
  const { size } = await handle.stat()
  reply
    .header('content-type', 'image/webp')
    .header('content-length', String(size))
    .header('content-security-policy', "default-src 'none'; sandbox")
  if (request.method === 'HEAD') {
    await handle.close()
    return reply.send()
  }
  return reply.send(handle.createReadStream({ autoClose: true }))
}
