import type { Kysely } from 'kysely'
import { cascade, withId } from '../src/db/schema-helpers.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await withId(db, db.schema.createTable('conversations'))
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('title', 'text')
    .addColumn('project_id', 'bigint')
    // "<smaller user id>:<larger user id>" for a direct conversation, so there is only one per pair.
    .addColumn('direct_key', 'text', (col) => col.unique())
    .addColumn('created_by', 'bigint')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('last_activity_at', 'text', (col) => col.notNull())
    // Every creation, edit and deletion of a message takes the next number; a cursor is one of them.
    .addColumn('change_seq', 'bigint', (col) => col.notNull().defaultTo(0))
    // Changes at or below this were purged: an older cursor is expired.
    .addColumn('change_floor', 'bigint', (col) => col.notNull().defaultTo(0))
    .execute()

  await db.schema
    .createTable('conversation_members')
    .addColumn('conversation_id', 'bigint', cascade('conversations'))
    .addColumn('user_id', 'bigint', cascade('users'))
    .addColumn('joined_at', 'text', (col) => col.notNull())
    .addColumn('last_read_message_id', 'bigint', (col) => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('conversation_members_pk', ['conversation_id', 'user_id'])
    .execute()
  await db.schema
    .createIndex('conversation_members_user')
    .on('conversation_members')
    .column('user_id')
    .execute()

  await withId(db, db.schema.createTable('messages'))
    .addColumn('conversation_id', 'bigint', cascade('conversations'))
    .addColumn('sender_id', 'bigint', (col) => col.notNull().references('users.id'))
    .addColumn('content', 'text', (col) => col.notNull())
    .addColumn('client_id', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('edited_at', 'text')
    .addColumn('deleted_at', 'text')
    .addColumn('change_seq', 'bigint', (col) => col.notNull())
    .execute()
  await db.schema
    .createIndex('messages_conversation')
    .on('messages')
    .columns(['conversation_id', 'id'])
    .execute()
  await db.schema
    .createIndex('messages_changes')
    .on('messages')
    .columns(['conversation_id', 'change_seq'])
    .execute()
  // A client_id is unique per sender: a retry finds the first message instead of making a second.
  await db.schema
    .createIndex('messages_client_id')
    .on('messages')
    .columns(['sender_id', 'client_id'])
    .unique()
    .execute()

  await withId(db, db.schema.createTable('projects'))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('description', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('owner_id', 'bigint', (col) => col.notNull().references('users.id'))
    .addColumn('conversation_id', 'bigint', cascade('conversations'))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .execute()

  await withId(db, db.schema.createTable('files'))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('size', 'bigint', (col) => col.notNull())
    .addColumn('content_type', 'text', (col) => col.notNull())
    .addColumn('sha256', 'text', (col) => col.notNull())
    // The name on disk under UPLOAD_DIR: generated, never the client's.
    .addColumn('storage_name', 'text', (col) => col.notNull().unique())
    .addColumn('uploaded_by', 'bigint', (col) => col.notNull().references('users.id'))
    .addColumn('project_id', 'bigint', (col) => col.references('projects.id').onDelete('cascade'))
    .addColumn('conversation_id', 'bigint', cascade('conversations'))
    .addColumn('message_id', 'bigint', (col) => col.references('messages.id').onDelete('set null'))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .execute()
  await db.schema.createIndex('files_message').on('files').column('message_id').execute()
  await db.schema.createIndex('files_project').on('files').column('project_id').execute()
}
