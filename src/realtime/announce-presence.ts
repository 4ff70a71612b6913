import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'
import { findUserById, setLastSeen } from '../db/queries/users.js'
import { presencePeers } from '../presence/scope.js'
import { nowIso } from '../time.js'

// What the audience of a user's presence hears, and when: `presence` frames, from this node's
// sockets opening and closing and from the other nodes (see Presence for the counting).

/** Who hears this user's presence changes: everyone sharing a conversation, and contacts. */
async function presenceAudience(ctx: AppContext, userId: number): Promise<number[]> {
  const peers = await presencePeers(ctx, userId)
  peers.delete(userId)
  return [...peers]
}

/**
 * Tells the user's audience they are online or offline; returns whether it did. A state that
 * stopped being true while the audience was read (a reload: offline, then online again at once)
 * is not announced: the announcement of the newer state is on its way or already out.
 */
export async function publishPresence(
  ctx: AppContext,
  userId: number,
  online: boolean,
  lastSeenAt: string | null,
): Promise<boolean> {
  const audience = await presenceAudience(ctx, userId)
  if (ctx.presence.isOnline(userId) !== online) return false
  ctx.hub.publish({
    kind: 'users',
    userIds: audience,
    event: { type: 'presence', user_id: userId, online, last_seen_at: lastSeenAt },
  })
  return true
}

/**
 * The user went offline now: their last_seen_at, then their audience hears it, unless they came
 * back while that was written (publishPresence checks again after its awaits).
 */
export async function wentOffline(ctx: AppContext, userIds: number[]): Promise<void> {
  const lastSeen = nowIso()
  await setLastSeen(ctx.db, userIds, lastSeen)
  for (const userId of userIds) {
    if (await publishPresence(ctx, userId, false, lastSeen)) ctx.presence.announcedOffline(userId)
  }
}

/** Multi-node: the presence changes that other nodes cause. */
export function watchClusterPresence(ctx: AppContext, log: FastifyInstance['log']): void {
  // A node died or stopped: its users who are on no other node are offline.
  ctx.presence.onNodeLost = (userIds) => {
    wentOffline(ctx, userIds).catch((error) => log.warn({ err: error }, 'could not announce users offline'))
  }
  // Another node announced offline a user who has a socket here: announce them online again.
  ctx.presence.onContradicted = (userId) => {
    findUserById(ctx.db, userId)
      .then((user) => user && publishPresence(ctx, userId, true, user.last_seen_at))
      .catch((error) => log.warn({ err: error }, 'could not announce a user online'))
  }
}
