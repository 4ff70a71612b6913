import type { AppContext } from '../context.js'
import { storedBytes } from '../db/queries/files.js'
import { quotaExceeded } from '../errors.js'

// UPLOAD_QUOTA_BYTES: an account's stored bytes are the sizes of the files it uploaded that are
// still stored (a deleted file, or one gone with its message or conversation, frees its bytes).
// Summed from the files rows (index files_uploader), so nothing can drift out of step with them.
// Checked again in the transaction that commits an upload (see conversations/message-store/).

/** Before an upload is read: refused at once if the account has no byte left. */
export async function requireQuotaLeft(ctx: AppContext, userId: number): Promise<void> {
  if ((await storedBytes(ctx.db, userId)) >= ctx.config.uploadQuotaBytes) {
    throw quotaExceeded(ctx.config.uploadQuotaBytes)
  }
}
