import type { Kysely } from 'kysely'
import type { Database, PushSubscriptionRow } from '../types.js'

// The `push_subscriptions` table: one row per device (its push endpoint) and the account it
// pushes for.

type Db = Kysely<Database>

export interface NewSubscription {
  userId: number
  endpoint: string
  p256dh: string
  auth: string
}

/** Adds the device, or updates it (new keys, or another account signed in on it). */
export async function upsertSubscription(db: Db, input: NewSubscription): Promise<void> {
  await db
    .insertInto('push_subscriptions')
    .values({
      user_id: input.userId,
      endpoint: input.endpoint,
      p256dh: input.p256dh,
      auth: input.auth,
      created_at: new Date().toISOString(),
    })
    .onConflict((oc) =>
      oc.column('endpoint').doUpdateSet({ user_id: input.userId, p256dh: input.p256dh, auth: input.auth }),
    )
    .execute()
}

/** The user's own subscription with this endpoint, if any; true when one was removed. */
export async function deleteSubscription(db: Db, userId: number, endpoint: string): Promise<boolean> {
  const result = await db
    .deleteFrom('push_subscriptions')
    .where('user_id', '=', userId)
    .where('endpoint', '=', endpoint)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/** Drops a subscription the push service says is gone (its pending pushes go with it). */
export async function dropSubscription(db: Db, id: number): Promise<void> {
  await db.deleteFrom('push_subscriptions').where('id', '=', id).execute()
}

export function subscriptionsOf(db: Db, userIds: number[]): Promise<PushSubscriptionRow[]> {
  if (userIds.length === 0) return Promise.resolve([])
  return db.selectFrom('push_subscriptions').selectAll().where('user_id', 'in', userIds).execute()
}

export function subscriptionsByIds(db: Db, ids: number[]): Promise<PushSubscriptionRow[]> {
  if (ids.length === 0) return Promise.resolve([])
  return db.selectFrom('push_subscriptions').selectAll().where('id', 'in', ids).execute()
}
