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
  /** For email digests: the address, once verified by its link, unless turned off. */
  email: Generated<string | null>
  email_verified_at: Generated<string | null>
  email_off_at: Generated<string | null>
  /** Missed messages created up to this time were in a digest already. */
  email_digested_through: Generated<string | null>
  /** Set while an admin has suspended the account: no login, no sessions. */
  deactivated_at: Generated<string | null>
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
  ip: Generated<string | null>
  /** A personal API token's name; null for a login session. */
  token_name: Generated<string | null>
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
  /** Who deleted it: the sender, a project's owner or an admin (null before this was recorded). */
  deleted_by: Generated<number | null>
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

export interface VapidKeysTable {
  id: number
  /** base64url, as the browser's applicationServerKey takes it. */
  public_key: string
  private_key: string
  created_at: string
}

export interface PushSubscriptionsTable {
  id: Generated<number>
  user_id: number
  endpoint: string
  p256dh: string
  auth: string
  created_at: string
}

/** A message that may notify someone by push, written in the message's own transaction. */
export interface PushOutboxTable {
  message_id: number
  created_at: string
  /** '' when no node holds it. */
  claimed_until: Generated<string>
}

/** One push of one message to one device, until the push service accepts it. */
export interface PushDeliveriesTable {
  id: Generated<number>
  message_id: number
  subscription_id: number
  payload: string
  created_at: string
  next_attempt_at: string
  claimed_until: Generated<string>
  attempts: Generated<number>
}

export interface ServerSecretsTable {
  name: string
  value: string
}

export interface SettingsTable {
  key: string
  value: string
}

export interface InvitesTable {
  id: Generated<number>
  code: string
  code_hash: string
  created_by: number
  created_at: string
  expires_at: string | null
  max_uses: number | null
  uses: Generated<number>
}

export interface PasswordResetsTable {
  id: Generated<number>
  token_hash: string
  user_id: number
  created_by: number | null
  created_at: string
  expires_at: string
  used_at: string | null
}

export interface AuditLogTable {
  id: Generated<number>
  actor_id: number
  action: string
  target_user_id: number | null
  /** JSON text. */
  details: string
  created_at: string
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
  vapid_keys: VapidKeysTable
  push_subscriptions: PushSubscriptionsTable
  push_outbox: PushOutboxTable
  push_deliveries: PushDeliveriesTable
  server_secrets: ServerSecretsTable
  settings: SettingsTable
  invites: InvitesTable
  password_resets: PasswordResetsTable
  audit_log: AuditLogTable
}

export type UserRow = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type SessionRow = Selectable<SessionsTable>
export type ConversationRow = Selectable<ConversationsTable>
export type MessageRow = Selectable<MessagesTable>
export type FileRow = Selectable<FilesTable>
export type ProjectRow = Selectable<ProjectsTable>
export type PushSubscriptionRow = Selectable<PushSubscriptionsTable>
export type PushDeliveryRow = Selectable<PushDeliveriesTable>
export type InviteRow = Selectable<InvitesTable>
export type AuditRow = Selectable<AuditLogTable>
