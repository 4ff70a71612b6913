import { Type } from '@sinclair/typebox'
import { Timestamp } from '../common-schemas.js'

export const RoleBody = Type.Object(
  { role: Type.Union([Type.Literal('user'), Type.Literal('admin')]) },
  { additionalProperties: false },
)

export const Registration = Type.Union([Type.Literal('open'), Type.Literal('invite'), Type.Literal('closed')])

export const Settings = Type.Object({ registration: Registration })
export const SettingsEnvelope = Type.Object({ settings: Settings })
export const SettingsBody = Type.Object({ registration: Registration }, { additionalProperties: false })

export const Invite = Type.Object({
  code: Type.String(),
  url: Type.String({ description: '<origin>/join/<code>: the web page opens registration with it' }),
  uses: Type.Integer(),
  max_uses: Type.Union([Type.Integer(), Type.Null()], { description: 'null: no limit' }),
  expires_at: Type.Union([Timestamp, Type.Null()], { description: 'null: never' }),
  created_at: Timestamp,
})
export const InviteEnvelope = Type.Object({ invite: Invite })
export const InviteList = Type.Object({ invites: Type.Array(Invite) })
export const CreateInviteBody = Type.Object(
  {
    max_uses: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    expires_in_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 366 * 86_400 })),
  },
  { additionalProperties: false },
)
export const InviteParams = Type.Object({
  code: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }),
})

export const ResetEnvelope = Type.Object({
  reset: Type.Object({
    token: Type.String({ description: 'One-time; for POST /auth/reset' }),
    url: Type.String({ description: '<origin>/reset/<token>: the web page asks for the new password' }),
    expires_at: Timestamp,
  }),
})

export const AuditEntry = Type.Object({
  id: Type.Integer(),
  actor_id: Type.Integer(),
  actor_username: Type.Union([Type.String(), Type.Null()]),
  action: Type.String({
    description:
      'role_changed, user_deactivated, user_reactivated, user_deleted, password_reset_created, ' +
      'invite_created, invite_deleted, settings_changed, message_deleted',
  }),
  target_user_id: Type.Union([Type.Integer(), Type.Null()]),
  target_username: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
  created_at: Timestamp,
})
export const AuditQuery = Type.Object(
  {
    cursor: Type.Optional(Type.Integer({ minimum: 1, description: 'next of the previous page' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
)
export const AuditPage = Type.Object({
  entries: Type.Array(AuditEntry),
  has_more: Type.Boolean(),
  next: Type.Union([Type.Integer(), Type.Null()], { description: 'cursor of the next (older) page' }),
})
