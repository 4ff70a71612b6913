import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { ConfigError, loadConfig, PRODUCTION_ARGON2, testConfig } from '../src/config.js'
import { parseNatsUrl } from '../src/hub/nats.js'
import { parseRedisUrl } from '../src/hub/redis.js'
import { freePort } from './helpers/server-process.js'

const root = fileURLToPath(new URL('..', import.meta.url))

t.test('defaults match the contract', async (t) => {
  const config = loadConfig({})
  t.equal(config.port, 3000)
  t.equal(config.host, '127.0.0.1')
  t.match(config.databaseUrl, /^sqlite:(\.\/)?data\/[^/]+$/, 'an SQLite file under ./data/')
  t.equal(config.uploadDir, './uploads')
  t.equal(config.maxUploadBytes, 26214400)
  t.same(config.allowedOrigins, [])
  t.equal(config.authRateLimit, 30)
  t.equal(config.wsRateLimit, 50)
  t.equal(config.sessionIdleSeconds, 14 * 24 * 3600)
  t.equal(config.sessionMaxSeconds, 90 * 24 * 3600)
  t.equal(config.cookieSecure, false)
  t.equal(config.trustProxy, false)
  t.equal(config.redisUrl, undefined)
  t.equal(config.natsUrl, undefined)
  t.equal(config.logLevel, 'info')
  t.same(
    config.argon2,
    { memoryCost: 19456, timeCost: 2, parallelism: 1 },
    "passwords at OWASP's argon2id minimum",
  )
  t.same(loadConfig({ PORT: '', HOST: '', DATABASE_URL: '' }), config, 'empty values mean the default')
})

t.test('values from the environment are read and normalized', async (t) => {
  const config = loadConfig({
    PORT: '0',
    HOST: '0.0.0.0',
    DATABASE_URL: 'sqlite::memory:',
    UPLOAD_DIR: '/var/parley/uploads',
    MAX_UPLOAD_BYTES: '1024',
    ALLOWED_ORIGINS: 'https://chat.example.com, http://localhost:5173/',
    AUTH_RATE_LIMIT: '5',
    WS_RATE_LIMIT: '7',
    SESSION_IDLE_SECONDS: '3600',
    SESSION_MAX_SECONDS: '7200',
    COOKIE_SECURE: 'true',
    TRUST_PROXY: 'yes',
    REDIS_URL: 'redis://localhost:6379',
    LOG_LEVEL: 'warn',
  })
  t.equal(config.port, 0, 'PORT=0 (any free port) is allowed')
  t.equal(config.host, '0.0.0.0')
  t.equal(config.databaseUrl, 'sqlite::memory:')
  t.equal(config.uploadDir, '/var/parley/uploads')
  t.equal(config.maxUploadBytes, 1024)
  t.same(config.allowedOrigins, ['https://chat.example.com', 'http://localhost:5173'])
  t.equal(config.authRateLimit, 5)
  t.equal(config.wsRateLimit, 7)
  t.equal(config.sessionIdleSeconds, 3600)
  t.equal(config.sessionMaxSeconds, 7200)
  t.equal(config.cookieSecure, true)
  t.equal(config.trustProxy, true)
  t.equal(config.redisUrl, 'redis://localhost:6379')
  t.equal(config.logLevel, 'warn')
  t.equal(loadConfig({ DATABASE_URL: 'postgres://u:p@db/parley' }).databaseUrl, 'postgres://u:p@db/parley')
  t.equal(loadConfig({ NATS_URL: 'nats://bus:4222' }).natsUrl, 'nats://bus:4222')
  t.equal(loadConfig({ COOKIE_SECURE: '0' }).cookieSecure, false)
})

t.test('a bad value throws a ConfigError naming the variable', async (t) => {
  const cases: Record<string, string>[] = [
    { PORT: 'abc' },
    { PORT: '70000' },
    { PORT: '-1' },
    { PORT: '3000.5' },
    { DATABASE_URL: 'mysql://x' },
    { DATABASE_URL: 'sqlite:' },
    { ALLOWED_ORIGINS: 'notaurl' },
    { ALLOWED_ORIGINS: 'https://ok.example,https://bad.example/path' },
    { COOKIE_SECURE: 'maybe' },
    { TRUST_PROXY: 'sometimes' },
    { REDIS_URL: 'http://x' },
    { NATS_URL: 'redis://x' },
    { MAX_UPLOAD_BYTES: '0' },
    { AUTH_RATE_LIMIT: 'lots' },
    { WS_RATE_LIMIT: '0' },
    { SESSION_IDLE_SECONDS: '1' },
    { SESSION_MAX_SECONDS: 'forever' },
    { LOG_LEVEL: 'loud' },
  ]
  for (const env of cases) {
    const [name, value] = Object.entries(env)[0]
    let caught: unknown
    try {
      loadConfig(env)
    } catch (error) {
      caught = error
    }
    t.type(caught, ConfigError, `${name}=${value} throws a ConfigError`)
    t.match((caught as Error | undefined)?.message, name, 'naming the variable')
    t.match((caught as Error | undefined)?.message, JSON.stringify(value), 'and the value')
  }
})

t.test('the per-account limits: defaults, values, and bad values refused', async (t) => {
  const config = loadConfig({})
  t.equal(config.writeRateLimit, 100, 'WRITE_RATE_LIMIT: writes per second per account')
  t.equal(config.createRateLimit, 10, 'CREATE_RATE_LIMIT: creations and member adds per minute')
  t.equal(config.uploadRateLimit, 10, 'UPLOAD_RATE_LIMIT: uploads per minute')
  t.equal(config.uploadQuotaBytes, 1073741824, 'UPLOAD_QUOTA_BYTES: 1 GiB')
  t.equal(config.maxSocketsPerUser, 50, 'MAX_SOCKETS_PER_USER')
  const set = loadConfig({
    WRITE_RATE_LIMIT: '5',
    CREATE_RATE_LIMIT: '2',
    UPLOAD_RATE_LIMIT: '3',
    UPLOAD_QUOTA_BYTES: '4096',
    MAX_SOCKETS_PER_USER: '7',
  })
  t.same(
    [
      set.writeRateLimit,
      set.createRateLimit,
      set.uploadRateLimit,
      set.uploadQuotaBytes,
      set.maxSocketsPerUser,
    ],
    [5, 2, 3, 4096, 7],
  )
  for (const env of [
    { WRITE_RATE_LIMIT: '0' },
    { WRITE_RATE_LIMIT: 'fast' },
    { CREATE_RATE_LIMIT: '1.5' },
    { UPLOAD_RATE_LIMIT: '-1' },
    { UPLOAD_QUOTA_BYTES: '0' },
    { UPLOAD_QUOTA_BYTES: '1GB' },
    { MAX_SOCKETS_PER_USER: '0' },
  ]) {
    const [name, value] = Object.entries(env)[0]
    t.throws(() => loadConfig(env), { name: 'ConfigError', message: new RegExp(`${name}="${value}"`) }, name)
  }
})

t.test('the bus URLs: our parameters, the rest for the client, errors naming the variable', async (t) => {
  t.same(parseRedisUrl('redis://:pw@cache:6380/2?prefix=chat&heartbeat_ms=1000'), {
    url: 'redis://:pw@cache:6380/2',
    prefix: 'chat',
    heartbeatMs: 1000,
  })
  t.same(parseNatsUrl('nats://127.0.0.1:4222'), {
    servers: ['127.0.0.1:4222'],
    prefix: 'parley',
    heartbeatMs: undefined,
  })
  t.same(parseNatsUrl('nats://parley:p%40ss@bus?prefix=chat.prod&heartbeat_ms=50'), {
    servers: ['bus:4222'],
    user: 'parley',
    pass: 'p@ss',
    prefix: 'chat.prod',
    heartbeatMs: 50,
  })
  t.match(
    parseNatsUrl('nats://s3cret@bus:4333'),
    { servers: ['bus:4333'], token: 's3cret' },
    'a lone name is a token',
  )
  t.same(
    parseNatsUrl('nats://parley:pw@n1:4333,n2,nats://10.0.0.3:4223?prefix=chat'),
    {
      servers: ['n1:4333', 'n2:4222', '10.0.0.3:4223'],
      user: 'parley',
      pass: 'pw',
      prefix: 'chat',
      heartbeatMs: undefined,
    },
    'a cluster: servers listed once, credentials and parameters written once',
  )
  const refused: Array<[(url: string) => unknown, string, RegExp]> = [
    [
      parseRedisUrl,
      'redis://h?heartbeat_ms=10',
      /^REDIS_URL: heartbeat_ms must be an integer from 50 to 600000$/,
    ],
    [parseRedisUrl, 'redis://h?prefix=a%20b', /^REDIS_URL: prefix must be/],
    [
      parseNatsUrl,
      'nats://h?heartbeat_ms=10',
      /^NATS_URL: heartbeat_ms must be an integer from 50 to 600000$/,
    ],
    [parseNatsUrl, 'nats://h?heartbeat_ms=soon', /^NATS_URL: heartbeat_ms/],
    [parseNatsUrl, 'nats://h?prefix=a*b', /^NATS_URL: prefix must be/],
    [parseNatsUrl, 'nats://h?prefix=.chat', /^NATS_URL: prefix may not begin or end with a dot/],
    [parseNatsUrl, 'nats://h?prefix=a..b', /^NATS_URL: prefix may not/],
    [parseNatsUrl, 'nats://h?heartbeat=100', /^NATS_URL: unknown parameter heartbeat/],
    [parseNatsUrl, 'nats://a:4222,u:secret@b:4222', /^NATS_URL: "\[redacted\]@b:4222" is not a server/],
    [parseNatsUrl, 'nats://a:4222,,b', /^NATS_URL: "" is not a server/],
    [parseNatsUrl, 'nats://a:4222,b:port', /^NATS_URL: "b:port" is not a server/],
  ]
  for (const [parse, url, message] of refused) t.throws(() => parse(url), message, url)
})

t.test('testConfig reads no environment', async (t) => {
  const saved = process.env.PORT
  process.env.PORT = 'abc'
  t.teardown(() => {
    if (saved === undefined) delete process.env.PORT
    else process.env.PORT = saved
  })
  t.equal(testConfig().port, 3000)
  t.equal(testConfig({ port: 1234 }).port, 1234)
  t.throws(() => loadConfig(), ConfigError, 'while loadConfig() does')
})

t.test('the cheap argon2 cost is for tests only: testConfig() and PARLEY_TEST_FAST_HASH=1', async (t) => {
  const cheap = { memoryCost: 8, timeCost: 1, parallelism: 1 }
  t.same(testConfig().argon2, cheap, 'test accounts are cheap to hash')
  t.same(
    testConfig({ argon2: PRODUCTION_ARGON2 }).argon2,
    PRODUCTION_ARGON2,
    'unless a test asks for the real cost',
  )
  t.same(loadConfig({ PARLEY_TEST_FAST_HASH: '1' }).argon2, cheap, 'the switch for spawned test servers')
  for (const value of ['0', 'false', '']) {
    t.same(
      loadConfig({ PARLEY_TEST_FAST_HASH: value }).argon2,
      PRODUCTION_ARGON2,
      `PARLEY_TEST_FAST_HASH=${value}`,
    )
  }
  t.throws(() => loadConfig({ PARLEY_TEST_FAST_HASH: 'fast' }), ConfigError, 'and nothing else')
})

function runServer(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not exit: ${stdout} ${stderr}`))
    }, 20_000)
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

t.test('the real server refuses a bad PORT: non-zero exit, a message naming PORT, no stack', async (t) => {
  const result = await runServer({ PORT: 'abc' })
  t.not(result.code, 0)
  t.not(result.code, null)
  const output = result.stdout + result.stderr
  t.match(output, /PORT/)
  t.match(output, /"abc"/)
  t.notMatch(output, /\n\s+at /, 'no stack trace')
  t.notMatch(output, /\.ts:\d+/, 'no source positions')
})

t.test('the real server refuses a bad DATABASE_URL the same way', async (t) => {
  const result = await runServer({ DATABASE_URL: 'mysql://x' })
  t.not(result.code, 0)
  t.match(result.stdout + result.stderr, /DATABASE_URL/)
  t.notMatch(result.stdout + result.stderr, /\n\s+at /)
})

t.test('the real server refuses a bad NATS_URL parameter, naming NATS_URL, no stack', async (t) => {
  const result = await runServer({
    DATABASE_URL: 'sqlite::memory:',
    NATS_URL: 'nats://127.0.0.1:4222?heartbeat_ms=5',
  })
  t.not(result.code, 0)
  const output = result.stdout + result.stderr
  t.match(output, /NATS_URL: heartbeat_ms must be an integer from 50 to 600000/)
  t.notMatch(output, /\n\s+at /)
})

t.test('NATS_URL alone selects NATS: a node whose NATS does not answer refuses to start', async (t) => {
  const port = await freePort()
  const result = await runServer({ DATABASE_URL: 'sqlite::memory:', NATS_URL: `nats://127.0.0.1:${port}` })
  t.not(result.code, 0)
  const output = result.stdout + result.stderr
  t.match(output, `NATS did not answer at nats://127.0.0.1:${port}`)
  t.notMatch(output, /not supported/)
  t.notMatch(output, /\n\s+at /)
})
