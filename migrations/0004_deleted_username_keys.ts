import { type Kysely, sql } from 'kysely'

// Accounts deleted before this kept `deleted-<id>` as their username_key: an ordinary name that
// nobody could register any more. Their key becomes `deleted:<id>` (see deletedUsernameKey in
// src/users/queries.ts), which no valid username can equal, so those names are free again.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`update users set username_key = 'deleted:' || cast(id as text) where deleted_at is not null`.execute(
    db,
  )
}
