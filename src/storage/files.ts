import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileTypeFromFile } from 'file-type'
import type { Kysely } from 'kysely'
import { knownStorageNames } from '../db/queries/files.js'
import type { Database } from '../db/types.js'
import { AppError, badRequest } from '../errors.js'

// Bytes on disk under UPLOAD_DIR. A stored file's name is generated here (32 hex digits) and is the
// only name ever used on disk; the client's name is metadata. An upload is written to `<name>.part`,
// fsynced, inspected and only then renamed, so a reader never sees half a file.

const STORAGE_NAME = /^[0-9a-f]{32}$/
const PART_SUFFIX = '.part'

export const tooLarge = (maxBytes: number) =>
  new AppError(413, 'PAYLOAD_TOO_LARGE', `The file is larger than the limit of ${maxBytes} bytes`)

export interface StoredFile {
  storageName: string
  size: number
  sha256: string
  contentType: string
}

export function storagePath(uploadDir: string, storageName: string): string {
  if (!STORAGE_NAME.test(storageName)) throw new Error(`Not a storage name: ${storageName}`)
  return join(uploadDir, storageName)
}

export async function ensureUploadDir(uploadDir: string): Promise<void> {
  await mkdir(uploadDir, { recursive: true, mode: 0o750 })
}

/** Removes stored files; one already gone is no error. */
export async function removeStoredFiles(uploadDir: string, storageNames: string[]): Promise<void> {
  await Promise.all(
    storageNames.map((name) =>
      unlink(storagePath(uploadDir, name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error
      }),
    ),
  )
}

/** Counts, hashes and checks whether the bytes are UTF-8 text without NULs, as they pass. */
class Inspector extends Transform {
  size = 0
  private readonly hash = createHash('sha256')
  private readonly decoder = new TextDecoder('utf-8', { fatal: true })
  private text = true

  constructor(private readonly maxBytes: number) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length
    // The parser stops at the limit; this is the second lock on the same door.
    if (this.size > this.maxBytes) {
      callback(tooLarge(this.maxBytes))
      return
    }
    this.hash.update(chunk)
    if (this.text) {
      if (chunk.includes(0)) this.text = false
      else {
        try {
          this.decoder.decode(chunk, { stream: true })
        } catch {
          this.text = false
        }
      }
    }
    callback(null, chunk)
  }

  digest(): string {
    return this.hash.digest('hex')
  }

  isText(): boolean {
    if (!this.text) return false
    try {
      this.decoder.decode() // a multi-byte sequence cut off at the end is not text
      return true
    } catch {
      return false
    }
  }
}

/**
 * The content type from the bytes, never from the client: what file-type recognizes, else
 * text/plain for UTF-8 text without NULs, else application/octet-stream.
 */
async function sniff(path: string, isText: boolean): Promise<string> {
  const detected = await fileTypeFromFile(path).catch(() => undefined)
  if (detected) return detected.mime
  return isText ? 'text/plain' : 'application/octet-stream'
}

export async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename durable; some platforms cannot open a directory, which is no failure.
  const handle = await open(dir, 'r').catch(() => undefined)
  if (!handle) return
  try {
    await handle.sync()
  } catch {
    // not supported here
  } finally {
    await handle.close()
  }
}

/**
 * Streams `source` to a new file under `uploadDir`: temp name, fsync, rename. Nothing is left on
 * disk if it fails, is empty, or is over `maxBytes` (`isTruncated` reports the parser's own limit).
 */
export async function storeStream(
  uploadDir: string,
  source: Readable,
  maxBytes: number,
  isTruncated: () => boolean,
): Promise<StoredFile> {
  const storageName = randomBytes(16).toString('hex')
  const finalPath = storagePath(uploadDir, storageName)
  const tempPath = finalPath + PART_SUFFIX
  let renamed = false
  try {
    const inspector = new Inspector(maxBytes)
    // `flush`: fsync before the file is closed, so the bytes are on disk before the rename.
    await pipeline(source, inspector, createWriteStream(tempPath, { flags: 'wx', mode: 0o640, flush: true }))
    if (isTruncated()) throw tooLarge(maxBytes)
    if (inspector.size === 0) throw badRequest('The file is empty', 'EMPTY_FILE')
    const contentType = await sniff(tempPath, inspector.isText())
    await rename(tempPath, finalPath)
    renamed = true
    await syncDirectory(uploadDir)
    return { storageName, size: inspector.size, sha256: inspector.digest(), contentType }
  } catch (error) {
    await unlink(renamed ? finalPath : tempPath).catch(() => {})
    throw error
  }
}

/**
 * Writes `bytes` (made here, not received: a thumbnail, an avatar) as a new stored file, as durably
 * as storeStream: temp name, fsync, rename, directory fsync. Returns its storage name.
 */
export async function storeBytes(uploadDir: string, bytes: Uint8Array): Promise<string> {
  const storageName = randomBytes(16).toString('hex')
  const finalPath = storagePath(uploadDir, storageName)
  const tempPath = finalPath + PART_SUFFIX
  let renamed = false
  try {
    const handle = await open(tempPath, 'wx', 0o640)
    try {
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tempPath, finalPath)
    renamed = true
    await syncDirectory(uploadDir)
    return storageName
  } catch (error) {
    await unlink(renamed ? finalPath : tempPath).catch(() => {})
    throw error
  }
}

/**
 * After a crash between the rename and the commit, a file may be on disk that no row names; a
 * `.part` may be left by a crash mid-upload. Both are removed at start once older than `minAgeMs`
 * (another node sharing the directory may be uploading right now).
 */
export async function sweepOrphans(
  db: Kysely<Database>,
  uploadDir: string,
  minAgeMs = 15 * 60 * 1000,
): Promise<string[]> {
  const entries = await readdir(uploadDir)
  const now = Date.now()
  const candidates: string[] = []
  for (const entry of entries) {
    const base = entry.endsWith(PART_SUFFIX) ? entry.slice(0, -PART_SUFFIX.length) : entry
    if (!STORAGE_NAME.test(base)) continue
    const info = await stat(join(uploadDir, entry)).catch(() => undefined)
    if (info?.isFile() && now - info.mtimeMs >= minAgeMs) candidates.push(entry)
  }
  const removed: string[] = []
  for (let i = 0; i < candidates.length; i += 500) {
    const batch = candidates.slice(i, i + 500)
    const complete = batch.filter((entry) => !entry.endsWith(PART_SUFFIX))
    const known = await knownStorageNames(db, complete)
    for (const entry of batch) {
      if (known.has(entry)) continue
      await unlink(join(uploadDir, entry)).catch(() => {})
      removed.push(entry)
    }
  }
  return removed
}
