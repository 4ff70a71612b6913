import type { Kysely } from 'kysely'
import { REGISTRATION_MODES, type RegistrationMode } from '../config.js'
import type { AppContext } from '../context.js'
import { useInvite } from '../db/queries/invites.js'
import { hashToken } from '../db/queries/sessions.js'
import { readSetting, writeSetting } from '../db/queries/settings.js'
import { noUsersYet } from '../db/queries/users.js'
import type { Database } from '../db/types.js'
import { forbidden } from '../errors.js'

// Who may register: `open`, `invite` (a valid invitation code) or `closed`. REGISTRATION sets the
// mode until an admin changes it; the saved value wins from then on. On an empty database the
// first registration is always allowed (it makes the admin).

const KEY = 'registration'

export async function registrationMode(ctx: Pick<AppContext, 'db' | 'config'>): Promise<RegistrationMode> {
  const saved = await readSetting(ctx.db, KEY)
  return REGISTRATION_MODES.find((mode) => mode === saved) ?? ctx.config.registration
}

export async function saveRegistrationMode(db: Kysely<Database>, mode: RegistrationMode): Promise<void> {
  await writeSetting(db, KEY, mode)
}

const closed = () => forbidden('Registration is closed: ask an admin for an account', 'REGISTRATION_CLOSED')
const invalidInvite = () =>
  forbidden('This invitation is unknown, used up or expired: ask an admin for a new one', 'INVITE_INVALID')

/** Cheap refusal before any password is hashed; admitRegistration decides for good. */
export async function refuseEarly(ctx: AppContext, invite: string | undefined): Promise<RegistrationMode> {
  const mode = await registrationMode(ctx)
  if (mode === 'open' || (await noUsersYet(ctx.db))) return mode
  if (mode === 'closed') throw closed()
  if (!invite) throw invalidInvite()
  return mode
}

/**
 * Inside the transaction that inserts the account: an invitation's use is taken here, so a
 * registration that fails afterwards (a taken name) gives the use back by rolling back.
 */
export async function admitRegistration(
  trx: Kysely<Database>,
  mode: RegistrationMode,
  invite: string | undefined,
  now: string,
): Promise<void> {
  if (mode === 'open' || (await noUsersYet(trx))) return
  if (mode === 'closed') throw closed()
  if (!invite || !(await useInvite(trx, hashToken(invite), now))) throw invalidInvite()
}
