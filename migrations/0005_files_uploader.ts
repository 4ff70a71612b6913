import type { Kysely } from 'kysely'

// An account's stored bytes (UPLOAD_QUOTA_BYTES) are summed at each upload, by uploader: this
// index answers it alone (it holds the sizes).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('files_uploader').on('files').columns(['uploaded_by', 'size']).execute()
}
