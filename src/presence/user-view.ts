import type { UserViewRow } from '../db/queries/users.js'

export type { UserViewRow }

export interface UserView {
  id: number
  username: string
  display_name: string
  role: 'user' | 'admin'
  online: boolean
  last_seen_at: string | null
  created_at: string
  deleted: boolean
  /** The avatar's URL with its version (a new picture, a new URL); null when there is none. */
  avatar_url: string | null
  deactivated: boolean
}

/**
 * What one reader may know of presence: whose presence they may see, and who is online. Made by
 * src/presence/scope.ts, the one place that says who sees whom.
 */
export interface PresenceView {
  visible(userId: number): boolean
  online(userId: number): boolean
}

/** A user as `presence`'s reader sees them: presence they may not see reads offline, never seen. */
export function toUserView(row: UserViewRow, presence: PresenceView): UserView {
  const id = Number(row.id)
  const visible = presence.visible(id)
  return {
    id,
    username: row.username,
    display_name: row.display_name,
    role: row.role,
    online: visible && row.deleted_at === null && presence.online(id),
    last_seen_at: visible ? row.last_seen_at : null,
    created_at: row.created_at,
    deleted: row.deleted_at !== null,
    avatar_url: row.avatar_name === null ? null : `/users/${id}/avatar?v=${Number(row.avatar_version)}`,
    deactivated: row.deactivated_at !== null,
  }
}
