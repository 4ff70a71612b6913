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
  /** The storage name of the account's avatar (a 256x256 WebP in UPLOAD_DIR), if it has one. */
  avatar_name: string | null
  /** Grows with every avatar change: part of avatar_url, so caches see a new picture. */
  avatar_version: Generated<number>
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

export interface ConversationsTable {
  id: Generated<number>
  kind: 'direct' | 'group' | 'project'
  title: string | null
  project_id: number | null
  direct_key: string | null
  created_by: number | null
  created_at: string
  last_activity_at: string
  change_seq: Generated<number>
  change_floor: Generated<number>
}

export interface ConversationMembersTable {
  conversation_id: number
  user_id: number
  joined_at: string
  last_read_message_id: Generated<number>
  /** Live messages of others after the read pointer, kept by every write (src/db/queries/unread-counts.ts). */
  unread_count: Generated<number>
  /** Mentions of this member in live messages after the read pointer, kept like unread_count. */
  unread_mentions: Generated<number>
  /** 'all' | 'mentions' | 'none'; null: the default of the conversation's kind. */
  notification_level: string | null
}

export interface MessagesTable {
  id: Generated<number>
  conversation_id: number
  sender_id: number
  /** Emptied when the message is deleted. */
  content: string
  client_id: string | null
  created_at: string
  edited_at: string | null
  deleted_at: string | null
  /** The conversation's change number of this message's latest creation, edit or deletion. */
  change_seq: number
  /** The user ids it mentions, as JSON text (`[3,17]`); null when none. */
  mentions: string | null
}

export interface ProjectsTable {
  id: Generated<number>
  name: string
  description: Generated<string>
  owner_id: number
  conversation_id: number
  created_at: string
}

export interface FilesTable {
  id: Generated<number>
  name: string
  size: number
  content_type: string
  sha256: string
  storage_name: string
  uploaded_by: number
  project_id: number | null
  conversation_id: number
  message_id: number | null
  created_at: string
  /** Images: the size as displayed (after EXIF orientation); null for other files. */
  width: number | null
  height: number | null
  /** Images: the storage name of the WebP thumbnail; null when there is none. */
  thumbnail_name: string | null
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  contacts: ContactsTable
  conversations: ConversationsTable
  conversation_members: ConversationMembersTable
  messages: MessagesTable
  projects: ProjectsTable
  files: FilesTable
}

export type UserRow = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type SessionRow = Selectable<SessionsTable>
export type ConversationRow = Selectable<ConversationsTable>
export type MessageRow = Selectable<MessagesTable>
export type FileRow = Selectable<FilesTable>
export type ProjectRow = Selectable<ProjectsTable>
