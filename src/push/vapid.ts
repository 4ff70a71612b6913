import type { Kysely } from 'kysely'
import webpush from 'web-push'
import type { Config } from '../config.js'
import { vapidKeysOrInsert } from '../db/queries/vapid-keys.js'
import type { Database } from '../db/types.js'
import type { VapidDetails } from './sender.js'

/**
 * The server's VAPID identity: VAPID_PUBLIC_KEY/VAPID_PRIVATE_KEY when set, otherwise the pair in
 * the database, made by the first node that started (the others read the same one).
 */
export async function loadVapid(db: Kysely<Database>, config: Config): Promise<VapidDetails> {
  const subject = config.vapidSubject
  if (config.vapidPublicKey && config.vapidPrivateKey) {
    return { subject, publicKey: config.vapidPublicKey, privateKey: config.vapidPrivateKey }
  }
  const stored = await vapidKeysOrInsert(db, webpush.generateVAPIDKeys())
  return { subject, ...stored }
}
