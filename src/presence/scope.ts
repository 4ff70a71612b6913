import type { Kysely } from 'kysely'
import { conversationOrContactPeers } from '../db/queries/conversation-members.js'
import type { Database } from '../db/types.js'
import type { Presence } from './presence.js'
import type { PresenceView } from './user-view.js'

/** What the scope reads: the database, and who is online. */
export interface PresenceScopeDeps {
  db: Kysely<Database>
  presence: Pick<Presence, 'isOnline'>
}

// Who sees whose presence (`online`, `last_seen_at`): the users who share a conversation with
// that user, their contacts in either direction (if ann lists bob as a contact, ann and bob
// both see each other, as `presence` frames have always gone both ways), and admins. A user
// always sees their own. To anyone else a user reads `online: false, last_seen_at: null`.
// Between two users the relation is symmetric, so one query answers both "whom may X see" and
// "who sees X" (the audience of X's `presence` frames; admins are not in that audience: they
// see presence when they ask, they are not sent every change).

/** Past this many ids, the peers are read whole and intersected here, not named in the SQL. */
const MAX_LISTED_IDS = 500

/**
 * The users who share a conversation or a contact with `userId`, among `among` when given
 * (one query; `userId` itself only if it shares something with itself, so callers add it).
 */
export async function presencePeers(
  ctx: PresenceScopeDeps,
  userId: number,
  among?: number[],
): Promise<Set<number>> {
  if (among?.length === 0) return new Set()
  const listed = among !== undefined && among.length <= MAX_LISTED_IDS ? among : undefined
  const peers = await conversationOrContactPeers(ctx.db, userId, listed)
  if (among === undefined || listed !== undefined) return peers
  const wanted = new Set(among)
  return new Set([...peers].filter((id) => wanted.has(id)))
}

/**
 * Presence as `viewer` may see it, for the users `userIds` about to be shown (read once per
 * request, for all of them: no query per user; none for an admin).
 */
export async function presenceFor(
  ctx: PresenceScopeDeps,
  viewer: { id: number; role: 'user' | 'admin' },
  userIds: number[],
): Promise<PresenceView> {
  const online = (userId: number) => ctx.presence.isOnline(userId)
  if (viewer.role === 'admin') return { visible: () => true, online }
  const peers = await presencePeers(
    ctx,
    viewer.id,
    userIds.filter((id) => id !== viewer.id),
  )
  return { visible: (userId) => userId === viewer.id || peers.has(userId), online }
}

/**
 * Presence for user objects the reader may see by construction, with no query: the reader
 * themselves, the members of a conversation or project the reader is in (they share it), and
 * the reader's own contacts.
 */
export function presenceOfPeers(ctx: PresenceScopeDeps): PresenceView {
  return { visible: () => true, online: (userId) => ctx.presence.isOnline(userId) }
}
