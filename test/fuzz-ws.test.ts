import fc from 'fast-check'
import t from 'tap'
import { createConversation, register, startTestServer } from './helpers/app.js'
import { fuzzRun, jsonish as jsonishOf, nastyValues } from './helpers/nasty.js'
import { connect, type Frame } from './helpers/ws.js'

// Property-based fuzzing of the WebSocket protocol over a real socket: random and mutated frames
// (wrong types, huge numbers, deep nesting, invalid UTF-8, prototype keys, long strings under
// 64 KiB, binary frames). The socket stays open, every error is a client-error code (never
// INTERNAL_ERROR), and the server keeps answering.
//
// 4000 frames from seed 1 by default; FUZZ_RUNS (or FUZZ_WS_RUNS) and FUZZ_SEED (a number or
// `random`) change the run: see fuzzRun in helpers/nasty.ts.

const { runs: RUNS, seed: SEED } = fuzzRun('FUZZ_WS_RUNS', 4000)
const MAX_FRAME = 64 * 1024
const TYPES = [
  'join',
  'leave',
  'send_message',
  'edit_message',
  'delete_message',
  'typing',
  'mark_read',
  'get_presence',
  'search',
  'ping',
]
const FIELDS = [
  'type',
  'ref',
  'conversation_id',
  'message_id',
  'content',
  'client_id',
  'after',
  'cursor',
  'limit',
  'is_typing',
  'user_ids',
  'q',
  'project_id',
  'from',
  'before',
  'has',
  '__proto__',
  'constructor',
  'prototype',
]
/** What a bad frame may be answered with: a client error, never a server one. */
const CLIENT_CODES = new Set(['BAD_REQUEST', 'NOT_FOUND', 'FORBIDDEN', 'CURSOR_EXPIRED'])

// Values that break naive code (test/helpers/nasty.ts), frames near and over the size limits.
const nasty = nastyValues(
  fc.integer({ min: 3990, max: 60_000 }).map((n) => 'z'.repeat(n)),
  fc.array(fc.integer({ min: -2, max: 5 }), { maxLength: 600 }),
)

const jsonish = jsonishOf(nasty, ['__proto__', 'constructor', ...FIELDS], 10)

const SHAPES: Record<string, string[]> = {
  join: ['conversation_id'],
  leave: ['conversation_id'],
  send_message: ['conversation_id', 'content'],
  edit_message: ['conversation_id', 'message_id', 'content'],
  delete_message: ['conversation_id', 'message_id'],
  typing: ['conversation_id', 'is_typing'],
  mark_read: ['conversation_id', 'message_id'],
  get_presence: ['user_ids'],
  search: ['q'],
  ping: [],
}

/** A valid-looking frame of a known type with some fields replaced, added or dropped. */
const mutated = fc
  .record({
    type: fc.oneof(
      { arbitrary: fc.constantFrom(...TYPES), weight: 6 },
      { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
      { arbitrary: nasty, weight: 1 },
    ),
    // Often none: then the frame is valid or only misses a field, and reaches its handler.
    fields: fc.oneof(
      fc.constant({}),
      fc.dictionary(fc.constantFrom(...FIELDS.filter((f) => f !== 'type')), jsonish, { maxKeys: 3 }),
    ),
    base: fc.record({
      conversation_id: fc.integer({ min: 1, max: 4 }),
      message_id: fc.integer({ min: 1, max: 12 }),
      content: fc.string({ minLength: 1, maxLength: 50 }),
      is_typing: fc.boolean(),
      user_ids: fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 5 }),
      q: fc.oneof(fc.constantFrom('m1', 'm', '"m2"', ' '), fc.string({ maxLength: 20 })),
    }),
    drop: fc.oneof(
      fc.constant([]),
      fc.subarray(['conversation_id', 'message_id', 'content', 'is_typing', 'user_ids', 'q']),
    ),
  })
  .map(({ type, fields, base, drop }) => {
    // The fields this type takes, filled with plausible values; then some dropped, some mutated.
    const frame: Record<string, unknown> = { type }
    for (const key of Object.hasOwn(SHAPES, String(type)) ? SHAPES[String(type)] : Object.keys(base)) {
      if (!(drop as string[]).includes(key)) frame[key] = base[key as keyof typeof base]
    }
    for (const [key, value] of Object.entries(fields)) {
      // Own properties even for __proto__, as JSON.parse would make them.
      Object.defineProperty(frame, key, { value, enumerable: true, configurable: true, writable: true })
    }
    return JSON.stringify(frame)
  })

/** What goes on the wire: text (valid or not as UTF-8) or binary. */
type Wire = { data: string | Buffer; binary: boolean }

const wire: fc.Arbitrary<Wire> = fc.oneof(
  mutated.map((data) => ({ data, binary: false })),
  mutated.map((data) => ({ data, binary: false })),
  jsonish.map((value) => ({ data: JSON.stringify(value) ?? 'null', binary: false })),
  fc
    .constantFrom(
      '{"type":"join","conversation_id":1,"__proto__":{"polluted":true}}',
      '{"type":"send_message","conversation_id":1,"content":"x","constructor":{"prototype":{"polluted":true}}}',
      '{"type":"ping","type":"join"}',
      '{"type":"join","conversation_id":1e400}',
      '{"type":"join","conversation_id":-0}',
      '{"type":"get_presence","user_ids":[1e308]}',
      '{"type":"send_message","conversation_id":1,"content":"\\ud800"}',
      '{"type":"send_message","conversation_id":1,"content":"\\u0000"}',
      '',
      ' ',
      'null',
      '{"type":',
    )
    .map((data) => ({ data, binary: false })),
  // Deep nesting, as a whole frame and inside a field.
  fc.integer({ min: 1, max: 30_000 }).map((n) => ({ data: '['.repeat(n) + ']'.repeat(n), binary: false })),
  fc.integer({ min: 1, max: 6_000 }).map((n) => ({
    data: `{"type":"join","conversation_id":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`,
    binary: false,
  })),
  // Invalid UTF-8: random bytes, and a valid frame with a broken sequence in its content.
  fc
    .uint8Array({ minLength: 1, maxLength: 300 })
    .map((bytes) => ({ data: Buffer.from(bytes), binary: false })),
  fc
    .constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82])
    .map((bad) => ({
      data: Buffer.concat([
        Buffer.from('{"type":"send_message","conversation_id":1,"content":"a'),
        Buffer.from(bad),
        Buffer.from('"}'),
      ]),
      binary: false,
    })),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ data: Buffer.from(bytes), binary: true })),
  mutated.map((data) => ({ data: Buffer.from(data), binary: true })),
)

t.test(`${RUNS} random frames: the socket stays open and every error is a client error`, async (t) => {
  const server = await startTestServer(t, { wsRateLimit: 1_000_000 })
  const ann = await register(server.app, 'wsfuzzann')
  const bob = await register(server.app, 'wsfuzzbob')
  for (const name of ['wsfuzz3', 'wsfuzz4']) await register(server.app, name)
  const inject = (url: string, payload: object) =>
    server.app.inject({ method: 'POST', url, headers: ann.auth, payload })
  await createConversation(server.app, ann, [bob])
  await createConversation(server.app, ann, [bob, 3], 'g')
  await createConversation(server.app, bob, [4])
  for (let i = 0; i < 6; i++) await inject('/conversations/1/messages', { content: `m${i}` })

  const socket = await connect(server.ws, ann.token)
  const watcher = await connect(server.ws, bob.token)
  const bad: Frame[] = []
  const counts = new Map<string, number>()
  socket.socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Frame
    if (frame.type !== 'error') return
    counts.set(String(frame.code), (counts.get(String(frame.code)) ?? 0) + 1)
    if (!CLIENT_CODES.has(String(frame.code)) || typeof frame.message !== 'string') bad.push(frame)
  })

  // Invalid UTF-8 in a text frame is malformed input like any other: BAD_REQUEST, the socket stays.
  const malformed = socket.next('error')
  socket.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
  t.match(await malformed, { code: 'BAD_REQUEST', message: /UTF-8/ }, 'invalid UTF-8 text: BAD_REQUEST')

  let runs = 0
  let probe = 0
  await fc
    .assert(
      fc.asyncProperty(wire, async ({ data, binary }) => {
        fc.pre(Buffer.byteLength(data) <= MAX_FRAME)
        runs++
        socket.socket.send(data, { binary })
        // A ping behind it: its pong proves the frame was handled and the socket is still open.
        const ref = `probe-${++probe}`
        const waiting = socket.next((f) => f.ref === ref, 10_000).catch(() => undefined)
        socket.send({ type: 'ping', ref })
        const pong = await waiting
        if (pong?.type !== 'pong' || socket.closeCode !== undefined) return false
        // Keep the recorder small: frames are checked as they arrive.
        if (socket.frames.length > 1000) socket.frames.length = 0
        return bad.length === 0
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    )
    .catch((error) => t.fail(String(error.message).slice(0, 3000)))

  t.equal(socket.closeCode, undefined, 'the socket is still open')
  t.same(bad.slice(0, 5), [], 'no INTERNAL_ERROR or other server-side error code')
  t.equal(({} as { polluted?: unknown }).polluted, undefined, 'no prototype pollution')
  t.equal((await socket.request({ type: 'ping' })).type, 'pong', 'still answering')
  t.equal((await watcher.request({ type: 'ping' })).type, 'pong', 'other sockets too')
  t.equal((await server.app.inject({ url: '/healthz' })).statusCode, 200)
  t.comment(
    `WebSocket frames fuzzed: ${runs} (seed ${SEED}); error codes ${JSON.stringify(Object.fromEntries(counts))}`,
  )
  await socket.close()
  await watcher.close()
})
