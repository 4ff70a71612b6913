import type { Kysely } from 'kysely'
import { cascade, withId } from '../src/db/schema-helpers.js'

// Notifications. Web Push: the server's VAPID key pair, each device's subscription, and the
// durable outbox of pushes (see src/push/): one row per message that may notify someone, written
// in the message's own transaction, then one row per message and device until the push service
// accepts it. Email digests (src/email/): an account's address, whether it is verified and
// wanted, and up to when its missed messages were emailed; the secret that signs the links.

export async function up(db: Kysely<unknown>): Promise<void> {
  // One row (id 1): two nodes starting at once both insert-if-absent, then both read the winner.
  await db.schema
    .createTable('vapid_keys')
    .addColumn('id', 'integer', (col) => col.primaryKey())
    .addColumn('public_key', 'text', (col) => col.notNull())
    .addColumn('private_key', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .execute()

  await withId(db, db.schema.createTable('push_subscriptions'))
    .addColumn('user_id', 'bigint', cascade('users'))
    // One subscription per device: the same endpoint subscribed again updates its row.
    .addColumn('endpoint', 'text', (col) => col.notNull().unique())
    .addColumn('p256dh', 'text', (col) => col.notNull())
    .addColumn('auth', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .execute()
  await db.schema.createIndex('push_subscriptions_user').on('push_subscriptions').column('user_id').execute()

  // A message whose conversation has a subscribed member besides its sender; claimed_until ''
  // when free (ISO times sort after it).
  await db.schema
    .createTable('push_outbox')
    .addColumn('message_id', 'bigint', (col) =>
      col.primaryKey().references('messages.id').onDelete('cascade'),
    )
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('claimed_until', 'text', (col) => col.notNull().defaultTo(''))
    .execute()

  await withId(db, db.schema.createTable('push_deliveries'))
    .addColumn('message_id', 'bigint', cascade('messages'))
    .addColumn('subscription_id', 'bigint', cascade('push_subscriptions'))
    // The encrypted payload's JSON, made once when the delivery is queued.
    .addColumn('payload', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('next_attempt_at', 'text', (col) => col.notNull())
    .addColumn('claimed_until', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .execute()
  // At most one push per message per device.
  await db.schema
    .createIndex('push_deliveries_once')
    .on('push_deliveries')
    .columns(['message_id', 'subscription_id'])
    .unique()
    .execute()
  await db.schema.createIndex('push_deliveries_due').on('push_deliveries').column('next_attempt_at').execute()
  await db.schema
    .createIndex('push_deliveries_subscription')
    .on('push_deliveries')
    .column('subscription_id')
    .execute()

  await db.schema.alterTable('users').addColumn('email', 'text').execute()
  await db.schema.alterTable('users').addColumn('email_verified_at', 'text').execute()
  // Set when the account used the unsubscribe link of a digest: no more digests.
  await db.schema.alterTable('users').addColumn('email_off_at', 'text').execute()
  // Missed messages created up to this time were in a digest already.
  await db.schema.alterTable('users').addColumn('email_digested_through', 'text').execute()

  // Named server secrets, made once (insert-if-absent, as the VAPID keys).
  await db.schema
    .createTable('server_secrets')
    .addColumn('name', 'text', (col) => col.primaryKey())
    .addColumn('value', 'text', (col) => col.notNull())
    .execute()
}
