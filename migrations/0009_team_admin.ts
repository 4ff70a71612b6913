import type { Kysely } from 'kysely'
import { cascade, withId } from '../src/db/schema-helpers.js'

// Team administration: deactivated accounts, who deleted a message (moderation), where a session
// came from, personal API tokens (session rows with a name), the saved settings, invitations,
// one-time password resets and the audit log.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('deactivated_at', 'text').execute()
  await db.schema.alterTable('messages').addColumn('deleted_by', 'bigint').execute()
  await db.schema.alterTable('sessions').addColumn('ip', 'text').execute()
  // Set on a personal API token: it never ends from idleness, and is not listed as a session.
  await db.schema.alterTable('sessions').addColumn('token_name', 'text').execute()

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (col) => col.primaryKey())
    .addColumn('value', 'text', (col) => col.notNull())
    .execute()

  await withId(db, db.schema.createTable('invites'))
    // Shown to admins (GET /invites); registration looks an invite up by the hash only.
    .addColumn('code', 'text', (col) => col.notNull())
    .addColumn('code_hash', 'text', (col) => col.notNull().unique())
    .addColumn('created_by', 'bigint', cascade('users'))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('max_uses', 'integer')
    .addColumn('uses', 'integer', (col) => col.notNull().defaultTo(0))
    .execute()

  await withId(db, db.schema.createTable('password_resets'))
    .addColumn('token_hash', 'text', (col) => col.notNull().unique())
    .addColumn('user_id', 'bigint', cascade('users'))
    .addColumn('created_by', 'bigint')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'text', (col) => col.notNull())
    .addColumn('used_at', 'text')
    .execute()
  await db.schema.createIndex('password_resets_user').on('password_resets').column('user_id').execute()

  await withId(db, db.schema.createTable('audit_log'))
    .addColumn('actor_id', 'bigint', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('target_user_id', 'bigint')
    .addColumn('details', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .execute()
}
