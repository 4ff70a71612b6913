import type { Generated, Insertable, Selectable } from 'kysely'

// Times are ISO-8601 UTC strings with milliseconds in every dialect: they sort as text,
// and they are what the API returns, so no conversion sits on the hot path.

export interface UsersTable {
  id: Generated<number>
  username: string
  /** Lower-cased username: uniqueness is case-insensitive. */
  username_key: string
  display_name: string
  password_hash: string
  role: 'user' | 'admin'
  created_at: string
  last_seen_at: string | null
  /** Set when the account is deleted; the row stays so old messages keep a sender. */
  deleted_at: string | null
}

export interface SessionsTable {
  id: Generated<number>
  /** SHA-256 (hex) of the bearer token; the token itself is never stored. */
  token_hash: string
  user_id: number
  created_at: string
  last_used_at: string
  expires_at: string
  user_agent: string | null
}

export interface ContactsTable {
  user_id: number
  contact_id: number
  created_at: string
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  contacts: ContactsTable
}

export type UserRow = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type SessionRow = Selectable<SessionsTable>
