// One typed config object, read from the environment once and validated at start.
// A bad value stops the server with a message that names the variable.

export interface Config {
  port: number
  host: string
  /** `sqlite:<path>`, `sqlite::memory:` or `postgres://...` */
  databaseUrl: string
  uploadDir: string
  maxUploadBytes: number
  /** Extra browser origins allowed for CORS and WebSocket upgrades. */
  allowedOrigins: string[]
  /** Register and login attempts per minute per client address. */
  authRateLimit: number
  /** WebSocket frames per second per socket (bursts of twice that). */
  wsRateLimit: number
  /** Writes per second per account, HTTP and sockets together (bursts of twice that). */
  writeRateLimit: number
  /** Conversations and projects created and members added, per minute per account (bursts of 3x). */
  createRateLimit: number
  /** Uploads per minute per account (bursts of three times that). */
  uploadRateLimit: number
  /** Bytes of stored files per account. */
  uploadQuotaBytes: number
  /** Open sockets per account on one node. */
  maxSocketsPerUser: number
  /** Sessions end after this long without use... */
  sessionIdleSeconds: number
  /** ...and after this long in any case. */
  sessionMaxSeconds: number
  /** Set the cookie's `Secure` flag (the app is served over HTTPS). */
  cookieSecure: boolean
  /** Trust X-Forwarded-* from a reverse proxy (client address for rate limits). */
  trustProxy: boolean
  redisUrl: string | undefined
  natsUrl: string | undefined
  logLevel: string
  /**
   * A connection silent this long is closed, request headers must arrive within it, and so must a
   * request body (uploads get longer, by their size: see src/http-timeouts.ts).
   */
  requestTimeoutMs: number
  /** Who may register, until an admin changes it (the saved value wins then): REGISTRATION. */
  registration: RegistrationMode
  /** When set, GET /metrics needs `Authorization: Bearer <this>`; otherwise it is public. */
  metricsToken: string | undefined
  /** A typing state lapses (announced as stopped) this long after its last renewal; not from the environment. */
  typingLapseMs: number
  /** VAPID keys from the environment (both or neither); otherwise made once and kept in the database. */
  vapidPublicKey: string | undefined
  vapidPrivateKey: string | undefined
  /** The VAPID `sub` claim: a mailto: or https: URL. */
  vapidSubject: string
  /** Push endpoints on private or loopback addresses, and http:// ones, are allowed (tests, labs). */
  pushAllowPrivate: boolean
  /** Push timings, not from the environment (tests shorten them): the first retry's delay, doubled each time... */
  pushRetryBaseMs: number
  /** ...up to this... */
  pushRetryMaxMs: number
  /** ...for this long after the message, then the push is given up. */
  pushGiveUpMs: number
  /** How often a node looks for pushes due (also right after each message and at start). */
  pushPollMs: number
  /** A push service's answer is awaited this long; a node's claim on a push lasts a little longer. */
  pushRequestTimeoutMs: number
  /** Email digests are sent through this SMTP server (smtp:// or smtps://); none without it. */
  smtpUrl: string | undefined
  /** The From of the emails. */
  emailFrom: string
  /** A mention or direct message unread this long gets into an email digest (EMAIL_DELAY_MINUTES). */
  emailDelayMs: number
  /** How often a node looks for digests due; not from the environment. */
  emailPollMs: number
  /** The server's address as users reach it, for the links in emails. */
  publicUrl: string
  /** The argon2id cost of new password hashes: PRODUCTION_ARGON2, or TEST_ARGON2 in tests only. */
  argon2: Argon2Cost
}

export const REGISTRATION_MODES = ['open', 'invite', 'closed'] as const
export type RegistrationMode = (typeof REGISTRATION_MODES)[number]

function registration(env: Env): RegistrationMode {
  const raw = env.REGISTRATION
  if (raw === undefined || raw === '') return 'open'
  const mode = REGISTRATION_MODES.find((item) => item === raw)
  if (!mode) throw new ConfigError('REGISTRATION', raw, REGISTRATION_MODES.join(', '))
  return mode
}

export interface Argon2Cost {
  /** KiB of memory. */
  memoryCost: number
  /** Passes. */
  timeCost: number
  /** Lanes. */
  parallelism: number
}

/** OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane. Every real server uses this. */
export const PRODUCTION_ARGON2: Argon2Cost = Object.freeze({ memoryCost: 19456, timeCost: 2, parallelism: 1 })

/**
 * The cheapest cost argon2 allows (8 KiB, 1 pass), for test accounts only: testConfig() sets it,
 * and so does PARLEY_TEST_FAST_HASH=1, which the tests set for the servers they spawn. Never for a
 * real server: its hashes would be cheap to crack.
 */
export const TEST_ARGON2: Argon2Cost = Object.freeze({ memoryCost: 8, timeCost: 1, parallelism: 1 })

export class ConfigError extends Error {
  constructor(variable: string, value: string, expected: string) {
    super(`Invalid ${variable}=${JSON.stringify(value)}: expected ${expected}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, raw, `an integer from ${min} to ${max}`)
  }
  return value
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false
  throw new ConfigError(name, raw, 'true or false')
}

function databaseUrl(env: Env): string {
  const raw = env.DATABASE_URL
  if (raw === undefined || raw === '') return 'sqlite:./data/parley.db'
  if (/^sqlite:.+/.test(raw) || /^postgres(ql)?:\/\/.+/.test(raw)) return raw
  throw new ConfigError('DATABASE_URL', raw, 'sqlite:<path>, sqlite::memory: or postgres://...')
}

function origins(env: Env): string[] {
  const raw = env.ALLOWED_ORIGINS
  if (raw === undefined || raw.trim() === '') return []
  return raw.split(',').map((item) => {
    const origin = item.trim()
    try {
      const url = new URL(origin)
      if (url.origin !== origin.replace(/\/$/, '')) throw new Error('not an origin')
      return url.origin
    } catch {
      throw new ConfigError(
        'ALLOWED_ORIGINS',
        raw,
        'a comma list of origins such as https://chat.example.com',
      )
    }
  })
}

function busUrl(env: Env, name: string, schemes: string[]): string | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  if (schemes.some((scheme) => raw.startsWith(`${scheme}://`))) return raw
  throw new ConfigError(name, raw, `a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`)
}

function vapidSubject(env: Env): string {
  const raw = env.VAPID_SUBJECT
  if (raw === undefined || raw === '') return 'mailto:admin@localhost'
  if (/^mailto:.+/.test(raw) || /^https:\/\/.+/.test(raw)) return raw
  throw new ConfigError('VAPID_SUBJECT', raw, 'a mailto: address or an https:// URL')
}

/** Both VAPID keys or neither, each base64url of the right length (65-byte public, 32-byte private). */
function vapidKeys(env: Env): { vapidPublicKey: string | undefined; vapidPrivateKey: string | undefined } {
  const publicKey = env.VAPID_PUBLIC_KEY || undefined
  const privateKey = env.VAPID_PRIVATE_KEY || undefined
  if (!publicKey && !privateKey) return { vapidPublicKey: undefined, vapidPrivateKey: undefined }
  const bytes = (value: string | undefined) =>
    value && /^[A-Za-z0-9_-]+$/.test(value) ? Buffer.from(value, 'base64url').length : 0
  if (bytes(publicKey) !== 65) {
    throw new ConfigError(
      'VAPID_PUBLIC_KEY',
      publicKey ?? '',
      'a base64url P-256 public key (65 bytes), set with VAPID_PRIVATE_KEY',
    )
  }
  if (bytes(privateKey) !== 32) {
    throw new ConfigError(
      'VAPID_PRIVATE_KEY',
      privateKey ? '(hidden)' : '',
      'a base64url P-256 private key (32 bytes), set with VAPID_PUBLIC_KEY',
    )
  }
  return { vapidPublicKey: publicKey, vapidPrivateKey: privateKey }
}

function url(env: Env, name: string, fallback: string | undefined, schemes: string[]): string | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  try {
    if (schemes.includes(new URL(raw).protocol)) return raw.replace(/\/$/, '')
  } catch {}
  throw new ConfigError(
    name,
    raw.replace(/\/\/[^@/]*@/, '//(hidden)@'),
    `a URL starting with ${schemes.join(' or ')}//`,
  )
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export function loadConfig(env: Env = process.env): Config {
  const host = env.HOST || '127.0.0.1'
  const logLevel = env.LOG_LEVEL || 'info'
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', logLevel, LOG_LEVELS.join(', '))
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host,
    databaseUrl: databaseUrl(env),
    uploadDir: env.UPLOAD_DIR || './uploads',
    maxUploadBytes: integer(env, 'MAX_UPLOAD_BYTES', 26214400, 1, 2 ** 40),
    allowedOrigins: origins(env),
    authRateLimit: integer(env, 'AUTH_RATE_LIMIT', 30, 1, 1_000_000),
    wsRateLimit: integer(env, 'WS_RATE_LIMIT', 50, 1, 1_000_000),
    writeRateLimit: integer(env, 'WRITE_RATE_LIMIT', 100, 1, 1_000_000),
    createRateLimit: integer(env, 'CREATE_RATE_LIMIT', 10, 1, 1_000_000),
    uploadRateLimit: integer(env, 'UPLOAD_RATE_LIMIT', 10, 1, 1_000_000),
    uploadQuotaBytes: integer(env, 'UPLOAD_QUOTA_BYTES', 1073741824, 1, 2 ** 50),
    maxSocketsPerUser: integer(env, 'MAX_SOCKETS_PER_USER', 50, 1, 1_000_000),
    sessionIdleSeconds: integer(env, 'SESSION_IDLE_SECONDS', 14 * 24 * 3600, 60, 10 * 365 * 24 * 3600),
    sessionMaxSeconds: integer(env, 'SESSION_MAX_SECONDS', 90 * 24 * 3600, 60, 10 * 365 * 24 * 3600),
    cookieSecure: boolean(env, 'COOKIE_SECURE', false),
    trustProxy: boolean(env, 'TRUST_PROXY', false),
    redisUrl: busUrl(env, 'REDIS_URL', ['redis', 'rediss']),
    natsUrl: busUrl(env, 'NATS_URL', ['nats']),
    logLevel,
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 30_000, 1000, 3_600_000),
    metricsToken: env.METRICS_TOKEN || undefined,
    ...vapidKeys(env),
    vapidSubject: vapidSubject(env),
    pushAllowPrivate: boolean(env, 'PUSH_ALLOW_PRIVATE', false),
    // The contract's timings: first retry within 5 s, at most 5 minutes apart, for 24 hours.
    pushRetryBaseMs: 2000,
    pushRetryMaxMs: 5 * 60_000,
    pushGiveUpMs: 24 * 3600_000,
    pushPollMs: 5000,
    pushRequestTimeoutMs: 4000,
    smtpUrl: url(env, 'SMTP_URL', undefined, ['smtp:', 'smtps:']),
    emailFrom: env.EMAIL_FROM || 'Parley <parley@localhost>',
    emailDelayMs: integer(env, 'EMAIL_DELAY_MINUTES', 10, 1, 7 * 24 * 60) * 60_000,
    emailPollMs: 30_000,
    publicUrl: url(env, 'PUBLIC_URL', `http://localhost:${env.PORT || 3000}`, ['http:', 'https:']) as string,
    registration: registration(env),
    argon2: boolean(env, 'PARLEY_TEST_FAST_HASH', false) ? TEST_ARGON2 : PRODUCTION_ARGON2,
    // The protocol's 6 s: tests shorten it through testConfig.
    typingLapseMs: 6000,
  }
}

/**
 * Config for tests: defaults overridden by `overrides`, no environment read, and test accounts
 * hashed at the cheap TEST_ARGON2 cost (pass `argon2: PRODUCTION_ARGON2` to test the real one).
 */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({}), logLevel: 'silent', argon2: TEST_ARGON2, ...overrides }
}
