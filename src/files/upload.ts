import type { FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import { AppError, badRequest } from '../errors.js'
import {
  removeStoredFiles,
  type StoredFile,
  storagePath,
  storeBytes,
  storeStream,
  tooLarge,
} from '../storage/files.js'
import { IMAGE_TYPES, makeThumbnail } from '../storage/images.js'
import { cleanFileName } from './names.js'

// One upload per request: a multipart body with the file in the field `file`, and optional text
// fields (`content`, a caption). The file streams to disk as it arrives; nothing holds it in memory.

export const FILE_FIELD = 'file'
/** Besides the file: how many text fields, and how long each may be. */
export const MAX_FIELDS = 8
export const MAX_FIELD_BYTES = 16 * 1024
/** A declared body this much over the file limit is refused before a byte of it is read. */
const MULTIPART_OVERHEAD = MAX_FIELDS * MAX_FIELD_BYTES + 64 * 1024

export interface Upload extends StoredFile {
  /** The client's name, cleaned: metadata only. */
  name: string
  fields: Record<string, string>
  /** An image that decoded: its displayed size and its thumbnail, stored already. */
  image?: { width: number; height: number; thumbnailName: string }
}

/** Every name the upload holds on disk. */
export const uploadNames = (upload: Upload): string[] =>
  upload.image ? [upload.storageName, upload.image.thumbnailName] : [upload.storageName]

/**
 * The thumbnail of an image upload, stored (durably, as the file) before the upload answers. An
 * image that does not decode is kept as a plain file, without one.
 */
async function thumbnailOf(uploadDir: string, stored: StoredFile): Promise<Upload['image']> {
  if (!IMAGE_TYPES.has(stored.contentType)) return undefined
  const thumbnail = await makeThumbnail(storagePath(uploadDir, stored.storageName)).catch(() => undefined)
  if (!thumbnail) return undefined
  const thumbnailName = await storeBytes(uploadDir, thumbnail.webp)
  return { width: thumbnail.width, height: thumbnail.height, thumbnailName }
}

/** @fastify/multipart's limits for the upload routes. */
export function multipartLimits(maxUploadBytes: number) {
  return {
    fileSize: maxUploadBytes,
    // A second file reaches the handler (and gets a clear 400); a third never gets parsed.
    files: 2,
    fields: MAX_FIELDS,
    fieldSize: MAX_FIELD_BYTES,
    fieldNameSize: 100,
    parts: MAX_FIELDS + 2,
    headerPairs: 20,
  }
}

/**
 * Browsers (and fetch) escape a file name in multipart as the HTML standard says: `"` as %22 and
 * line breaks as %0A/%0D. The quote is undone; line breaks would be stripped as controls anyway.
 */
function multipartFileName(raw: string | undefined): string {
  return (raw ?? '').replace(/%22/g, '"').replace(/%0[AD]/g, '')
}

const noFile = () =>
  badRequest(
    `No file: send it as a multipart file part named "${FILE_FIELD}" (curl -F file=@path)`,
    'NO_FILE',
  )

/** What the parser or the stream said, as the contract's error; a disk failure stays a 500. */
function uploadError(error: unknown, maxBytes: number): unknown {
  if (error instanceof AppError) return error
  const failure = error as NodeJS.ErrnoException & { statusCode?: number }
  switch (failure?.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return tooLarge(maxBytes)
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new AppError(
        413,
        'PAYLOAD_TOO_LARGE',
        `Too many form fields: at most ${MAX_FIELDS} besides the file`,
      )
    case 'FST_FILES_LIMIT':
      return badRequest('Send one file per upload')
  }
  if (failure?.syscall) return error // the disk, not the client
  return badRequest('The multipart body is malformed or ended early')
}

/** Stops reading what is left of a refused body, so the connection can answer and move on. */
function discardRest(request: FastifyRequest): void {
  request.raw.unpipe()
  request.raw.resume()
}

/**
 * Reads the multipart body of `request`: the file to disk (see storeStream), the text fields to
 * memory (small, limited), and an image's thumbnail (see thumbnailOf). On any failure nothing stays on disk and the rest of the body is discarded.
 */
export async function receiveUpload(
  ctx: AppContext,
  request: FastifyRequest,
  options: { thumbnail: boolean } = { thumbnail: true },
): Promise<Upload> {
  const maxBytes = ctx.config.maxUploadBytes
  let stored: StoredFile | undefined
  let name = 'file'
  const fields: Record<string, string> = {}
  try {
    if (!request.isMultipart()) {
      throw badRequest(`Send the file as multipart/form-data, in the field "${FILE_FIELD}"`, 'NO_FILE')
    }
    const declared = Number(request.headers['content-length'])
    if (Number.isFinite(declared) && declared > maxBytes + MULTIPART_OVERHEAD) throw tooLarge(maxBytes)

    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (stored) {
          part.file.resume()
          throw badRequest('Send one file per upload')
        }
        if (part.fieldname !== FILE_FIELD) {
          part.file.resume()
          throw badRequest(`Unexpected file field "${part.fieldname}": send the file in "${FILE_FIELD}"`)
        }
        const file = part.file
        // The parser gives up on a body that ends mid-part by destroying the part's stream.
        if (file.destroyed) throw badRequest('The multipart body ended before the file did')
        stored = await storeStream(ctx.config.uploadDir, file, maxBytes, () => file.truncated)
        name = cleanFileName(multipartFileName(part.filename))
        continue
      }
      if (part.fieldnameTruncated || part.valueTruncated) {
        throw badRequest(`The field "${part.fieldname.slice(0, 100)}" is too long`)
      }
      if (typeof part.value === 'string') fields[part.fieldname] = part.value
    }
    if (!stored) throw noFile()
    const image = options.thumbnail ? await thumbnailOf(ctx.config.uploadDir, stored) : undefined
    return { ...stored, name, fields, ...(image ? { image } : {}) }
  } catch (error) {
    if (stored) await removeStoredFiles(ctx.config.uploadDir, [stored.storageName]).catch(() => {})
    discardRest(request)
    throw uploadError(error, maxBytes)
  }
}
