import type { Kysely } from 'kysely'
import { isPostgres } from '../schema-helpers.js'
import type { Database, PushDeliveryRow } from '../types.js'

// The `push_deliveries` table: one push of one message to one device, kept until the push
// service accepts it (or refuses it for good, or a day passes). At most one per message and
// device (a unique index): a node that redoes an outbox row adds nothing twice.

type Db = Kysely<Database>

export interface NewDelivery {
  messageId: number
  subscriptionId: number
  payload: string
  now: string
}

export async function insertDeliveries(db: Db, deliveries: NewDelivery[]): Promise<void> {
  if (deliveries.length === 0) return
  await db
    .insertInto('push_deliveries')
    .values(
      deliveries.map((d) => ({
        message_id: d.messageId,
        subscription_id: d.subscriptionId,
        payload: d.payload,
        created_at: d.now,
        next_attempt_at: d.now,
      })),
    )
    .onConflict((oc) => oc.columns(['message_id', 'subscription_id']).doNothing())
    .execute()
}

/** Whether any delivery is due and free (a read: see anyFreeOutbox). */
export async function anyDue(db: Db, now: string): Promise<boolean> {
  const row = await db
    .selectFrom('push_deliveries')
    .select('id')
    .where('next_attempt_at', '<=', now)
    .where('claimed_until', '<', now)
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}

/** Claims up to `limit` due and free deliveries until `until` (see claimOutbox). */
export function claimDue(db: Db, now: string, until: string, limit: number): Promise<PushDeliveryRow[]> {
  return db
    .updateTable('push_deliveries')
    .set({ claimed_until: until })
    .where('id', 'in', (qb) => {
      const due = qb
        .selectFrom('push_deliveries')
        .select('id')
        .where('next_attempt_at', '<=', now)
        .where('claimed_until', '<', now)
        .orderBy('next_attempt_at')
        .limit(limit)
      return isPostgres(db) ? due.forUpdate().skipLocked() : due
    })
    .where('claimed_until', '<', now)
    .returningAll()
    .execute()
}

export async function deleteDelivery(db: Db, id: number): Promise<void> {
  await db.deleteFrom('push_deliveries').where('id', '=', id).execute()
}

/** Tried again at `at`, free for any node then. */
export async function rescheduleDelivery(db: Db, id: number, at: string, attempts: number): Promise<void> {
  await db
    .updateTable('push_deliveries')
    .set({ next_attempt_at: at, attempts, claimed_until: '' })
    .where('id', '=', id)
    .execute()
}

/** When the next pending delivery no node holds is due, if any. */
export async function nextDueAt(db: Db, now: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('push_deliveries')
    .select((eb) => eb.fn.min('next_attempt_at').as('at'))
    .where('claimed_until', '<', now)
    .executeTakeFirst()
  return row?.at ?? undefined
}

export async function pendingDeliveries(db: Db): Promise<number> {
  const row = await db
    .selectFrom('push_deliveries')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
