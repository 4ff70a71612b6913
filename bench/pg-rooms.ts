import type { Kysely } from 'kysely'
import type { Database } from '../src/db/types.js'

// Conversations of the PostgreSQL store benches (pg-store.ts, pg-batch-cpu.ts), written straight
// into the tables: accounts without passwords, members with no history.

/** `count` accounts named `<prefix>_<k>`, made members of `conversationId`; their ids. */
export async function addMembers(
  db: Kysely<Database>,
  conversationId: number,
  prefix: string,
  count: number,
  now: string,
): Promise<number[]> {
  const members: number[] = []
  for (let k = 0; k < count; k++) {
    const name = `${prefix}_${k}`
    const user = await db
      .insertInto('users')
      .values({
        username: name,
        username_key: name,
        display_name: name,
        password_hash: 'x',
        role: 'user',
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    members.push(Number(user.id))
  }
  await db
    .insertInto('conversation_members')
    .values(members.map((user_id) => ({ conversation_id: conversationId, user_id, joined_at: now })))
    .execute()
  return members
}
