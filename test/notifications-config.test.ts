import t from 'tap'
import webpush from 'web-push'
import { ConfigError, loadConfig } from '../src/config.js'

// The variables of push notifications and email digests: defaults, and bad values refused with a
// message that names the variable (and never prints a private key or a password).

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.equal(config.vapidSubject, 'mailto:admin@localhost')
  t.equal(config.vapidPublicKey, undefined)
  t.equal(config.pushAllowPrivate, false)
  t.equal(config.smtpUrl, undefined)
  t.equal(config.emailDelayMs, 10 * 60_000)
  t.equal(config.publicUrl, 'http://localhost:3000')
  t.ok(config.pushRetryBaseMs <= 5000, 'the first retry within 5 s')
  t.equal(config.pushRetryMaxMs, 5 * 60_000)
  t.equal(config.pushGiveUpMs, 24 * 3600_000)
  t.ok(config.pushRequestTimeoutMs * 2 <= 10_000, "a dead node's claims lapse within 10 s")
})

t.test('values from the environment', async (t) => {
  const keys = webpush.generateVAPIDKeys()
  const config = loadConfig({
    VAPID_PUBLIC_KEY: keys.publicKey,
    VAPID_PRIVATE_KEY: keys.privateKey,
    VAPID_SUBJECT: 'https://chat.example.com',
    PUSH_ALLOW_PRIVATE: 'true',
    SMTP_URL: 'smtps://user:secret@mail.example.com:465',
    EMAIL_DELAY_MINUTES: '2',
    PUBLIC_URL: 'https://chat.example.com/',
  })
  t.equal(config.vapidPublicKey, keys.publicKey)
  t.equal(config.vapidPrivateKey, keys.privateKey)
  t.equal(config.vapidSubject, 'https://chat.example.com')
  t.equal(config.pushAllowPrivate, true)
  t.equal(config.smtpUrl, 'smtps://user:secret@mail.example.com:465')
  t.equal(config.emailDelayMs, 120_000)
  t.equal(config.publicUrl, 'https://chat.example.com')
})

t.test('bad values name their variable', async (t) => {
  const keys = webpush.generateVAPIDKeys()
  const cases: Array<[Record<string, string>, string]> = [
    [{ VAPID_SUBJECT: 'admin@example.com' }, 'VAPID_SUBJECT'],
    [{ VAPID_PUBLIC_KEY: keys.publicKey }, 'VAPID_PRIVATE_KEY'],
    [{ VAPID_PRIVATE_KEY: keys.privateKey }, 'VAPID_PUBLIC_KEY'],
    [{ VAPID_PUBLIC_KEY: 'short', VAPID_PRIVATE_KEY: keys.privateKey }, 'VAPID_PUBLIC_KEY'],
    [{ SMTP_URL: 'http://user:hunter2@mail.example.com' }, 'SMTP_URL'],
    [{ EMAIL_DELAY_MINUTES: '0' }, 'EMAIL_DELAY_MINUTES'],
    [{ PUBLIC_URL: 'chat.example.com' }, 'PUBLIC_URL'],
  ]
  for (const [env, variable] of cases) {
    const error = (() => {
      try {
        loadConfig(env)
      } catch (e) {
        return e
      }
    })()
    t.ok(error instanceof ConfigError, variable)
    t.match(String((error as Error).message), variable)
    t.notMatch(String((error as Error).message), keys.privateKey, 'no private key printed')
    t.notMatch(String((error as Error).message), 'hunter2', 'no password printed')
  }
})
