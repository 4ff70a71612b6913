import type { UserRow } from '../db/types.js'

export interface UserView {
  id: number
  username: string
  display_name: string
  role: 'user' | 'admin'
  online: boolean
  last_seen_at: string | null
  created_at: string
  deleted: boolean
}

export type UserViewRow = Pick<
  UserRow,
  'id' | 'username' | 'display_name' | 'role' | 'last_seen_at' | 'created_at' | 'deleted_at'
>

export const USER_VIEW_COLUMNS = [
  'id',
  'username',
  'display_name',
  'role',
  'last_seen_at',
  'created_at',
  'deleted_at',
] as const

export function toUserView(row: UserViewRow, isOnline: (userId: number) => boolean): UserView {
  return {
    id: Number(row.id),
    username: row.username,
    display_name: row.display_name,
    role: row.role,
    online: row.deleted_at === null && isOnline(Number(row.id)),
    last_seen_at: row.last_seen_at,
    created_at: row.created_at,
    deleted: row.deleted_at !== null,
  }
}
