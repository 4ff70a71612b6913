import { type Insertable, type Kysely, sql, type Transaction } from 'kysely'
import type { Database, FileRow, FilesTable } from '../types.js'

// The `files` table: one row per stored upload (the bytes are in UPLOAD_DIR under `storage_name`).

type Db = Kysely<Database>

export function insertFile(trx: Transaction<Database>, values: Insertable<FilesTable>): Promise<FileRow> {
  return trx.insertInto('files').values(values).returningAll().executeTakeFirstOrThrow()
}

/** The files attached to these messages, in upload order. */
export function filesOfMessages(db: Db, messageIds: number[]): Promise<FileRow[]> {
  return db.selectFrom('files').selectAll().where('message_id', 'in', messageIds).orderBy('id').execute()
}

export function findProjectFile(db: Db, projectId: number, fileId: number): Promise<FileRow | undefined> {
  return db
    .selectFrom('files')
    .selectAll()
    .where('id', '=', fileId)
    .where('project_id', '=', projectId)
    .executeTakeFirst()
}

/** A project's files, newest first. */
export function filesOfProject(db: Db, projectId: number): Promise<FileRow[]> {
  return db
    .selectFrom('files')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('id', 'desc')
    .execute()
}

/** The file if `userId` is a member of its conversation. */
export function findFileOfMember(db: Db, fileId: number, userId: number): Promise<FileRow | undefined> {
  return db
    .selectFrom('files')
    .innerJoin('conversation_members', 'conversation_members.conversation_id', 'files.conversation_id')
    .selectAll('files')
    .where('files.id', '=', fileId)
    .where('conversation_members.user_id', '=', userId)
    .executeTakeFirst()
}

/** The names on disk of deleted rows: each file's bytes and its thumbnail, if it has one. */
function namesOnDisk(rows: Array<{ storage_name: string; thumbnail_name: string | null }>): string[] {
  return rows.flatMap((row) =>
    row.thumbnail_name ? [row.storage_name, row.thumbnail_name] : [row.storage_name],
  )
}

/** The storage names (bytes and thumbnail) of the deleted row; undefined if it was gone already. */
export async function deleteFile(db: Db, fileId: number): Promise<string[] | undefined> {
  const row = await db
    .deleteFrom('files')
    .where('id', '=', fileId)
    .returning(['storage_name', 'thumbnail_name'])
    .executeTakeFirst()
  return row ? namesOnDisk([row]) : undefined
}

/**
 * A message is deleted: a project's files outlive it (detached), files sent into a conversation
 * go with it. Returns the storage names to remove.
 */
export async function deleteFilesOfMessage(trx: Transaction<Database>, messageId: number): Promise<string[]> {
  await trx
    .updateTable('files')
    .set({ message_id: null })
    .where('message_id', '=', messageId)
    .where('project_id', 'is not', null)
    .execute()
  const rows = await trx
    .deleteFrom('files')
    .where('message_id', '=', messageId)
    .returning(['storage_name', 'thumbnail_name'])
    .execute()
  return namesOnDisk(rows)
}

/** A project's files and its conversation's, for deleting the project. Returns the storage names. */
export async function deleteFilesOfProject(
  trx: Transaction<Database>,
  projectId: number,
  conversationId: number,
): Promise<string[]> {
  const rows = await trx
    .deleteFrom('files')
    .where((eb) => eb.or([eb('project_id', '=', projectId), eb('conversation_id', '=', conversationId)]))
    .returning(['storage_name', 'thumbnail_name'])
    .execute()
  return namesOnDisk(rows)
}

/** Bytes of the files `userId` uploaded that are still stored. */
export async function storedBytes(db: Db, userId: number): Promise<number> {
  const row = await db
    .selectFrom('files')
    .select(sql<string | number>`coalesce(sum(size), 0)`.as('bytes'))
    .where('uploaded_by', '=', userId)
    .executeTakeFirstOrThrow()
  return Number(row.bytes)
}

/** Which of these storage names a row still holds: a file's bytes, its thumbnail, or an avatar. */
export async function knownStorageNames(db: Db, names: string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set()
  const [files, thumbnails, avatars] = await Promise.all([
    db.selectFrom('files').select('storage_name as name').where('storage_name', 'in', names).execute(),
    db.selectFrom('files').select('thumbnail_name as name').where('thumbnail_name', 'in', names).execute(),
    db.selectFrom('users').select('avatar_name as name').where('avatar_name', 'in', names).execute(),
  ])
  return new Set([...files, ...thumbnails, ...avatars].flatMap((row) => (row.name ? [row.name] : [])))
}
