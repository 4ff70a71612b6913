import fc from 'fast-check'
import t from 'tap'
import { createSession } from '../src/db/queries/sessions.js'
import { buildTestApp, register } from './helpers/app.js'
import { fuzzRun, jsonish as jsonishOf, nastyValues } from './helpers/nasty.js'

// Property-based fuzzing of every HTTP route (app.inject: no sockets, fast): random and mutated
// params, query strings and bodies, with and without a session. Never a 5xx; every 4xx has the
// contract's error shape {statusCode, code, error, message} and nothing else.
//
// 3000 cases from seed 1 by default; FUZZ_RUNS (or FUZZ_HTTP_RUNS) and FUZZ_SEED (a number or
// `random`) change the run: see fuzzRun in helpers/nasty.ts.

const { runs: RUNS, seed: SEED } = fuzzRun('FUZZ_HTTP_RUNS', 3000)

/** Every route of the contract (and the few the app adds). */
const ROUTES: Array<[string, string]> = [
  ['POST', '/auth/register'],
  ['POST', '/auth/login'],
  ['POST', '/auth/logout'],
  ['GET', '/auth/check'],
  ['POST', '/auth/password'],
  ['DELETE', '/auth/user'],
  ['GET', '/users'],
  ['PATCH', '/users/me'],
  ['GET', '/users/me/contacts'],
  ['POST', '/users/me/contacts'],
  ['DELETE', '/users/me/contacts/:userId'],
  ['GET', '/users/:id'],
  ['DELETE', '/users/:id'],
  ['GET', '/users/online'],
  ['GET', '/conversations/users'],
  ['GET', '/conversations'],
  ['POST', '/conversations'],
  ['GET', '/conversations/:id'],
  ['POST', '/conversations/:id/members'],
  ['DELETE', '/conversations/:id/members/:userId'],
  ['GET', '/conversations/:id/messages'],
  ['GET', '/conversations/:id/changes'],
  ['POST', '/conversations/:id/messages'],
  ['PATCH', '/conversations/:id/messages/:messageId'],
  ['DELETE', '/conversations/:id/messages/:messageId'],
  ['POST', '/conversations/:id/read'],
  ['POST', '/conversations/:id/files'],
  ['GET', '/projects'],
  ['POST', '/projects'],
  ['GET', '/projects/:id'],
  ['DELETE', '/projects/:id'],
  ['POST', '/projects/:id/members'],
  ['DELETE', '/projects/:id/members/:userId'],
  ['GET', '/projects/:id/files'],
  ['POST', '/projects/:id/files'],
  ['DELETE', '/projects/:id/files/:fileId'],
  ['GET', '/files/:id'],
  ['HEAD', '/files/:id'],
  ['GET', '/healthz'],
  ['GET', '/metrics'],
  ['GET', '/docs'],
  ['GET', '/'],
]

/** Routes that hash a password when the body passes its schema: run less often (argon2 is slow on purpose). */
const HASHING = new Set(['/auth/register', '/auth/login', '/auth/password', '/auth/user'])

// Values that break naive code (test/helpers/nasty.ts), and bodies over the content limit.
const nasty = nastyValues(fc.string({ minLength: 4000, maxLength: 5000 }))

const jsonish = jsonishOf(nasty, ['__proto__', 'constructor'])

/** Field names the routes know, so mutations land near the schema rather than far from it. */
const FIELDS = [
  'username',
  'password',
  'display_name',
  'current_password',
  'new_password',
  'user_id',
  'member_ids',
  'title',
  'content',
  'client_id',
  'message_id',
  'name',
  'description',
  '__proto__',
  'constructor',
]

const mutatedBody = fc.dictionary(fc.constantFrom(...FIELDS), jsonish, { maxKeys: 4 })

/** Raw body text: JSON, JSON with prototype keys, deep nesting, truncated JSON, junk. */
const rawBody = fc.oneof(
  jsonish.map((value) => JSON.stringify(value) ?? 'null'),
  mutatedBody.map((value) => JSON.stringify(value)),
  fc.constantFrom(
    '{"__proto__":{"polluted":true},"content":"x"}',
    '{"constructor":{"prototype":{"polluted":true}},"content":"x"}',
    '{"content":"x","content":"y"}',
    '{"username":',
    '',
    'null',
    '[]',
    '"text"',
    '\ufeff{}',
  ),
  fc.integer({ min: 1, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 1, max: 5_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.integer({ min: 0, max: 60_000 }).map((n) => `{"content":"${'y'.repeat(n)}"}`),
)

const multipartBody = fc
  .record({
    name: fc.constantFrom('file', 'files', 'content', '', '"', '__proto__'),
    filename: fc.oneof(
      fc.constantFrom(
        'a.png',
        '../../../etc/passwd',
        'x\r\nContent-Type: text/html',
        '\u0000.txt',
        'a'.repeat(500),
        '',
      ),
      fc.string({ maxLength: 30 }),
    ),
    contentType: fc.constantFrom('image/png', 'text/html', 'image/svg+xml', 'application/octet-stream'),
    data: fc.oneof(
      fc.constantFrom('<svg onload=alert(1)>', '<html><script>alert(1)</script>', '\x89PNG\r\n\x1a\n'),
      fc.string({ maxLength: 200 }),
    ),
    parts: fc.integer({ min: 0, max: 14 }),
    cut: fc.boolean(),
  })
  .map(({ name, filename, contentType, data, parts, cut }) => {
    let body = ''
    for (let i = 0; i < parts; i++)
      body += `--B\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nv${i}\r\n`
    body += `--B\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: ${contentType}\r\n\r\n${data}`
    return cut ? body : `${body}\r\n--B--\r\n`
  })

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=B',
  'multipart/form-data',
  'application/octet-stream',
  'application/json; charset=latin1',
  'garbage/;;;',
]

const queryString = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'after',
        'before',
        'limit',
        'cursor',
        'q',
        'token',
        '__proto__',
        'constructor',
        'x',
        'limit[]',
      ),
      fc.oneof(
        nasty.map((v) => String(v)),
        fc.string({ maxLength: 20 }),
      ),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&'))

/** encodeURIComponent, except that a lone surrogate (which it refuses) is sent as raw %-bytes. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value)
  } catch {
    return [...Buffer.from(value)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')
  }
}

const paramValue = fc.oneof(
  fc.integer({ min: 1, max: 12 }).map(String),
  nasty.map((v) => encode(String(v))),
  fc.constantFrom('%2e%2e%2f', '..', '%ff', '%', '1;DROP TABLE users', '9'.repeat(400)),
)

interface Case {
  route: number
  params: string[]
  query: string
  body: { kind: 'none' } | { kind: 'raw'; type: string | undefined; payload: string | Buffer }
  auth: 'none' | 'user' | 'admin' | 'bogus' | 'foreign-cookie' | 'cookie'
}

// Schema-valid bodies with odd values, so requests get past validation into the handlers.
const anId = fc.oneof(
  fc.integer({ min: 1, max: 8 }),
  fc.constantFrom(2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, Number.MAX_SAFE_INTEGER),
)
const text = (min: number, max: number) =>
  fc.oneof(
    fc.string({ minLength: min, maxLength: max }),
    fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.min(max, 50) }),
    fc.constantFrom(
      '__proto__',
      'constructor',
      '\u0000x',
      'a\u202eb',
      '<script>x</script>',
      "'; DROP TABLE x; --",
    ),
  )
const VALID: Record<string, fc.Arbitrary<object>> = {
  '/users/me': fc.record({ display_name: text(1, 64) }),
  '/users/me/contacts': fc.record({ user_id: anId }),
  '/conversations': fc.record(
    { member_ids: fc.array(anId, { minLength: 1, maxLength: 5 }), title: text(1, 100) },
    { requiredKeys: ['member_ids'] },
  ),
  '/conversations/:id/members': fc.record({ user_id: anId }),
  '/conversations/:id/messages': fc.record(
    { content: text(1, 4000), client_id: text(1, 64) },
    { requiredKeys: ['content'] },
  ),
  '/conversations/:id/messages/:messageId': fc.record({ content: text(1, 4000) }),
  '/conversations/:id/read': fc.record({ message_id: fc.oneof(fc.nat(20), anId) }),
  '/projects': fc.record(
    { name: text(1, 100), description: text(0, 2000), member_ids: fc.array(anId, { maxLength: 5 }) },
    { requiredKeys: ['name'] },
  ),
  '/projects/:id/members': fc.record({ user_id: anId }),
}

const caseArbitrary: fc.Arbitrary<Case> = fc.integer({ min: 0, max: ROUTES.length - 1 }).chain((route) => {
  const valid = VALID[ROUTES[route][1]]
  const bodies: Array<fc.Arbitrary<Case['body']>> = [
    fc.constant({ kind: 'none' as const }),
    fc.record({
      kind: fc.constant('raw' as const),
      type: fc.option(fc.constantFrom(...CONTENT_TYPES), { nil: undefined }),
      payload: fc.oneof(rawBody, multipartBody),
    }),
  ]
  if (valid) {
    const json = valid.map((body) => ({
      kind: 'raw' as const,
      type: 'application/json',
      payload: JSON.stringify(body),
    }))
    bodies.push(json, json)
  }
  return fc.record({
    route: fc.constant(route),
    params: fc.array(paramValue, { minLength: 3, maxLength: 3 }),
    query: fc.oneof(fc.constant(''), queryString),
    body: fc.oneof(...bodies),
    auth: fc.constantFrom('none', 'user', 'user', 'admin', 'admin', 'bogus', 'foreign-cookie', 'cookie'),
  })
})

t.test(`${RUNS} random requests over every route: never a 5xx, always the error shape`, async (t) => {
  const app = await buildTestApp(t, { authRateLimit: 1_000_000 })
  const admin = await register(app, 'fuzzadmin')
  const user = await register(app, 'fuzzuser')
  for (const name of ['fuzz3', 'fuzz4', 'fuzz5']) await register(app, name)
  // Something to find: a group, a direct conversation, a project, messages, a file.
  const group = await app.inject({
    method: 'POST',
    url: '/conversations',
    headers: admin.auth,
    payload: { member_ids: [user.id, 3], title: 'g' },
  })
  t.equal(group.statusCode, 201)
  await app.inject({
    method: 'POST',
    url: '/projects',
    headers: admin.auth,
    payload: { name: 'p', member_ids: [user.id] },
  })
  for (let i = 0; i < 5; i++) {
    await app.inject({
      method: 'POST',
      url: '/conversations/1/messages',
      headers: user.auth,
      payload: { content: `m${i}` },
    })
  }
  const boundary = 'XyZ'
  await app.inject({
    method: 'POST',
    url: '/projects/1/files',
    headers: { ...admin.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload: `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--${boundary}--\r\n`,
  })

  const statuses = new Map<number, number>()
  const failures: string[] = []
  let runs = 0
  await fc
    .assert(
      fc.asyncProperty(caseArbitrary, async (c) => {
        const [method, template] = ROUTES[c.route]
        // Password-hashing routes get a schema-valid body rarely; everything else runs at full rate.
        if (HASHING.has(template) && c.body.kind === 'raw' && runs % 10 !== 0) {
          fc.pre(!/"(password|current_password)"\s*:\s*"[^"]{8,}/.test(String(c.body.payload)))
        }
        runs++
        let i = 0
        const url = template.replace(/:\w+/g, () => c.params[i++]) + (c.query ? `?${c.query}` : '')
        const headers: Record<string, string> = {}
        const cookies: Record<string, string> = {}
        if (c.auth === 'user' || c.auth === 'admin' || c.auth === 'cookie' || c.auth === 'foreign-cookie') {
          // A fresh session each time, so a fuzzed logout ends only its own.
          const who = c.auth === 'admin' ? admin : user
          const { token } = await createSession(app.ctx.db, app.ctx.config, who.id, 'fuzz')
          if (c.auth === 'user' || c.auth === 'admin') headers.authorization = `Bearer ${token}`
          else cookies.sid = token
          if (c.auth === 'foreign-cookie') headers.origin = 'https://evil.example'
        }
        if (c.auth === 'bogus') headers.authorization = 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
        let payload: string | Buffer | undefined
        if (c.body.kind === 'raw') {
          payload = c.body.payload
          if (c.body.type) headers['content-type'] = c.body.type
        }
        const response = await app.inject({
          method: method as 'GET',
          url,
          headers,
          cookies,
          payload,
        })
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
        const where = `${method} ${url.slice(0, 120)} [${c.auth}] -> ${response.statusCode} ${response.body.slice(0, 200)}`
        if (response.statusCode >= 500) {
          failures.push(where)
          return false
        }
        if (response.statusCode >= 400 && method !== 'HEAD') {
          let body: Record<string, unknown>
          try {
            body = response.json()
          } catch {
            failures.push(`not JSON: ${where}`)
            return false
          }
          const keys = Object.keys(body).sort().join(',')
          const ok =
            keys === 'code,error,message,statusCode' &&
            body.statusCode === response.statusCode &&
            typeof body.code === 'string' &&
            /^[A-Z][A-Z_]*$/.test(body.code) &&
            typeof body.error === 'string' &&
            typeof body.message === 'string' &&
            !/SQLITE|at .*\.ts:\d+|node_modules/.test(body.message)
          if (!ok) {
            failures.push(`bad error shape: ${where}`)
            return false
          }
        }
        return true
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true, verbose: 1 },
    )
    .catch((error) => {
      t.fail(`${error.message.slice(0, 3000)}\n${failures.slice(0, 5).join('\n')}`)
    })
  t.same(failures.slice(0, 5), [], 'never a 5xx; every 4xx in the contract shape')
  t.equal(({} as { polluted?: unknown }).polluted, undefined, 'no prototype pollution')
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'still healthy')
  t.comment(
    `HTTP cases fuzzed: ${runs} (seed ${SEED}); statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
  )
})
