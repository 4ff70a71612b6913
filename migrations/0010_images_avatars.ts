import type { Kysely } from 'kysely'

// Images and avatars. An image file keeps its displayed size and the storage name of its WebP
// thumbnail (made at upload, in UPLOAD_DIR like the file); an account keeps the storage name of
// its avatar and a version that grows with each change, so an avatar URL changes with the picture.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('files').addColumn('width', 'integer').execute()
  await db.schema.alterTable('files').addColumn('height', 'integer').execute()
  await db.schema.alterTable('files').addColumn('thumbnail_name', 'text').execute()
  await db.schema.alterTable('users').addColumn('avatar_name', 'text').execute()
  await db.schema
    .alterTable('users')
    .addColumn('avatar_version', 'integer', (col) => col.notNull().defaultTo(0))
    .execute()
}
