import { open } from 'node:fs/promises'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import type { FileRow } from '../db/types.js'
import { AppError, notFound } from '../errors.js'
import { noneMatch } from '../storage/etags.js'
import { storagePath } from '../storage/files.js'
import { contentDisposition } from './names.js'

// GET /files/:id: the bytes as a download, never as a page of ours. Content-Disposition: attachment,
// nosniff, and a sandboxing CSP in case a browser renders it anyway; Range and ETag for resuming.

export { noneMatch }

export type ByteRange = { start: number; end: number }

/**
 * One `bytes=` range of a `size`-byte file: a range, `unsatisfiable`, or undefined to send the
 * whole file (no header, one we do not parse, or several ranges, which a server may ignore).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match) return undefined
  const [, first, last] = match
  if (first === '' && last === '') return undefined
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  if (last !== '' && Number(last) < start) return undefined
  if (start >= size) return 'unsatisfiable'
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) }
}

/** The Content-Type a file is served with: the recorded type; text gets its charset. */
function servedType(file: FileRow): string {
  return file.content_type === 'text/plain' ? 'text/plain; charset=utf-8' : file.content_type
}

export async function sendFile(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  file: FileRow,
): Promise<FastifyReply> {
  const size = Number(file.size)
  const etag = `"${file.sha256}"`
  // Access can be withdrawn at any time: a cache must ask again (a cheap 304) before reuse.
  reply.header('cache-control', 'private, no-cache')
  reply.header('etag', etag)
  reply.header('x-content-type-options', 'nosniff')
  if (noneMatch(request.headers['if-none-match'], etag)) return reply.status(304).send()

  let range = parseRange(request.headers.range, size)
  const ifRange = request.headers['if-range']
  if (range !== undefined && typeof ifRange === 'string' && ifRange.trim() !== etag) range = undefined
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${size}`)
    throw new AppError(416, 'RANGE_NOT_SATISFIABLE', `The file has ${size} bytes`)
  }

  const handle = await open(storagePath(ctx.config.uploadDir, file.storage_name), 'r').catch((error) => {
    request.log.error({ err: error, file_id: Number(file.id) }, 'stored file is missing')
    throw notFound('File')
  })
  const start = range?.start ?? 0
  const end = range?.end ?? size - 1
  reply
    .header('content-type', servedType(file))
    .header('content-length', String(end - start + 1))
    .header('content-disposition', contentDisposition(file.name))
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('accept-ranges', 'bytes')
  if (range) reply.status(206).header('content-range', `bytes ${start}-${end}/${size}`)
  if (request.method === 'HEAD') {
    await handle.close()
    return reply.send()
  }
  return reply.send(handle.createReadStream({ start, end, autoClose: true }))
}
