import type { Kysely } from 'kysely'
import type { AppContext } from '../context.js'
import { storedBytes } from '../db/queries/files.js'
import { lockUser } from '../db/queries/users.js'
import type { Database } from '../db/types.js'
import { AppError } from '../errors.js'

// UPLOAD_QUOTA_BYTES: an account's stored bytes are the sizes of the files it uploaded that are
// still stored (a deleted file, or one gone with its message or conversation, frees its bytes).
// Summed from the files rows (index files_uploader), so nothing can drift out of step with them.

export const quotaExceeded = (quota: number) =>
  new AppError(
    413,
    'QUOTA_EXCEEDED',
    `This account's files would take more than its quota of ${quota} bytes: delete some first`,
  )

/** Before an upload is read: refused at once if the account has no byte left. */
export async function requireQuotaLeft(ctx: AppContext, userId: number): Promise<void> {
  if ((await storedBytes(ctx.db, userId)) >= ctx.config.uploadQuotaBytes) {
    throw quotaExceeded(ctx.config.uploadQuotaBytes)
  }
}

/**
 * In the transaction that inserts the file row: refuses `adding` bytes that would take the account
 * over its quota. Two uploads of one account must not both pass: SQLite runs one write
 * transaction at a time; on PostgreSQL the account's row is locked first, so the second waits for
 * the first to commit and then counts its bytes.
 */
export async function requireQuotaFor(
  trx: Kysely<Database>,
  userId: number,
  adding: number,
  quota: number,
): Promise<void> {
  await lockUser(trx, userId)
  if ((await storedBytes(trx, userId)) + adding > quota) throw quotaExceeded(quota)
}
