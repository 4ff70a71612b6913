import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import t from 'tap'
import { pgMessageStore } from '../src/conversations/message-store/pg-batches.js'
import type { AppendInput, AppendResult } from '../src/conversations/message-store/types.js'
import { sendMessage } from '../src/conversations/messages.js'
import { AppError } from '../src/errors.js'
import { buildTestApp, createConversation, MANY_WRITES, register } from './helpers/app.js'
import { createTestSchema, postgresSkipReason } from './helpers/postgres.js'
import { missingService } from './helpers/services.js'

// PostgreSQL's message store writes a batch as set operations (src/db/queries/message-batches.ts):
// what one batch must still get right message by message, and the order of ids and change
// numbers when two app instances write the same conversations at once.

const skip = missingService(await postgresSkipReason())

/** An app on a fresh PostgreSQL schema (whatever PARLEY_TEST_DB says). */
async function pgApp(tap: Parameters<typeof buildTestApp>[0], url?: string): Promise<FastifyInstance> {
  if (url) return buildTestApp(tap, { ...MANY_WRITES, databaseUrl: url })
  const schema = await createTestSchema()
  const app = await buildTestApp(tap, { ...MANY_WRITES, databaseUrl: schema.url })
  tap.teardown(() => schema.drop())
  return app
}

type Outcome = AppendResult | AppError

const settle = (appends: Array<Promise<AppendResult>>): Promise<Outcome[]> =>
  Promise.all(appends.map((p) => p.catch((error: AppError) => error)))

async function history(app: FastifyInstance, conversationId: number) {
  return app.ctx.db
    .selectFrom('messages')
    .select(['id', 'change_seq', 'content', 'sender_id', 'client_id'])
    .where('conversation_id', '=', conversationId)
    .orderBy('id')
    .execute()
}

async function unreadMatchesCount(app: FastifyInstance, conversationId: number): Promise<boolean> {
  const members = await app.ctx.db
    .selectFrom('conversation_members')
    .select(['user_id', 'unread_count', 'last_read_message_id'])
    .where('conversation_id', '=', conversationId)
    .execute()
  const rows = await history(app, conversationId)
  return members.every(
    (m) =>
      Number(m.unread_count) ===
      rows.filter((r) => r.sender_id !== m.user_id && r.id > m.last_read_message_id).length,
  )
}

t.test(
  'one batch: mixed conversations, repeats, a client_id used twice, a non-member',
  { skip },
  async (t) => {
    const app = await pgApp(t)
    const [ann, bob, cat] = [await register(app), await register(app), await register(app)]
    const first = await createConversation(app, ann, [bob], 'first')
    const second = await createConversation(app, bob, [ann], 'second')
    const sizes: number[] = []
    const store = pgMessageStore(app.ctx.db, app.ctx.writes, (size) => sizes.push(size))
    const earlier = await store.append({
      conversationId: first,
      senderId: ann.id,
      content: 'x',
      clientId: 'old',
    })
    t.equal(earlier.created, true)

    const inputs: AppendInput[] = [
      { conversationId: first, senderId: ann.id, content: 'a1', clientId: 'a1' },
      { conversationId: second, senderId: bob.id, content: 'b1', clientId: null },
      { conversationId: first, senderId: bob.id, content: 'b2', clientId: 'b2' },
      { conversationId: first, senderId: ann.id, content: 'again', clientId: 'old' }, // stored before
      { conversationId: second, senderId: ann.id, content: 'a1', clientId: 'a1' }, // same client_id, other conversation
      { conversationId: first, senderId: ann.id, content: 'a1', clientId: 'a1' }, // a retry within the batch
      { conversationId: first, senderId: cat.id, content: 'not a member', clientId: 'c1' },
      { conversationId: second, senderId: ann.id, content: 'a3', clientId: null },
      { conversationId: first, senderId: ann.id, content: 'a4', clientId: 'a4' },
    ]
    sizes.length = 0
    const results = await settle(inputs.map((input) => store.append(input)))
    // One batch per conversation's lane, and the client_id repeated within it in the next.
    t.ok(sizes.length <= 3, `grouped into ${sizes.length} commits (${sizes.join(', ')})`)
    t.equal(
      sizes.reduce((a, b) => a + b, 0),
      inputs.length,
      'every append went through a commit',
    )
    const row = (i: number) => (results[i] as AppendResult).row
    const created = (i: number) => (results[i] as AppendResult).created
    t.same([1, 2, 7, 8].map(created), [true, true, true, true], 'the new messages are created')
    t.equal(created(3), false, 'a client_id stored before: not created')
    t.equal(row(3).id, earlier.row.id, '... it names the first message')
    // The two conversations are written in parallel (their lanes): whichever commits a1 first wins.
    const [won, lost] = created(0) ? [0, 4] : [4, 0]
    t.equal(created(won), true, 'a1 is created once')
    t.equal(created(lost), false, 'the same client_id in the other conversation: not created')
    t.equal(row(lost).id, row(won).id, '... it names the message created with it')
    t.equal(row(5).id, row(won).id, 'the retry too')
    t.ok(results[6] instanceof AppError && results[6].code === 'NOT_FOUND', 'a non-member: NOT_FOUND alone')

    const inFirst = await history(app, first)
    t.same(
      inFirst.map((r) => r.content),
      won === 0 ? ['x', 'a1', 'b2', 'a4'] : ['x', 'b2', 'a4'],
      'the first conversation: its messages in the order asked for, once each',
    )
    t.same(
      inFirst.map((r) => Number(r.change_seq)),
      inFirst.map((_, i) => i + 1),
      'change numbers follow ids, with no gap',
    )
    const inSecond = await history(app, second)
    t.same(
      inSecond.map((r) => r.content),
      won === 4 ? ['b1', 'a1', 'a3'] : ['b1', 'a3'],
      'the second conversation: its messages in the order asked for',
    )
    t.same(
      inSecond.map((r) => Number(r.change_seq)),
      inSecond.map((_, i) => i + 1),
      'the second conversation: its own numbers',
    )
    t.ok(await unreadMatchesCount(app, first), 'unread counts in the first conversation equal COUNT(*)')
    t.ok(await unreadMatchesCount(app, second), 'unread counts in the second conversation equal COUNT(*)')
    const conversation = await app.ctx.db
      .selectFrom('conversations')
      .select('change_seq')
      .where('id', '=', first)
      .executeTakeFirstOrThrow()
    t.equal(
      Number(conversation.change_seq),
      inFirst.length,
      "the conversation's change number is its last message's",
    )
  },
)

t.test('a batch is one statement and one round trip, with no transaction around it', { skip }, async (t) => {
  const app = await pgApp(t)
  const [ann, bob] = [await register(app), await register(app)]
  const id = await createConversation(app, ann, [bob], 'round trips')
  const store = pgMessageStore(app.ctx.db, app.ctx.writes)
  await store.append({ conversationId: id, senderId: ann.id, content: 'warm', clientId: 'w' })
  const sent: string[] = []
  const query = pg.Client.prototype.query
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string }
    sent.push(typeof config === 'string' ? config : String(config?.text))
    return (query as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof query
  t.teardown(() => {
    pg.Client.prototype.query = query
  })
  const results = await settle(
    ['one', 'two', 'three', 'four'].map((content, i) =>
      store.append({ conversationId: id, senderId: i % 2 ? bob.id : ann.id, content, clientId: null }),
    ),
  )
  pg.Client.prototype.query = query
  t.same(
    results.map((r) => (r as AppendResult).created),
    [true, true, true, true],
  )
  t.equal(
    sent.length,
    1,
    `one statement for the batch (${sent.map((q) => q.trim().split(/\s/)[0]).join(', ')})`,
  )
  t.notOk(/^\s*begin/i.test(sent[0] ?? ''), 'not a BEGIN')
  t.same(
    (await history(app, id)).map((r) => [r.content, Number(r.change_seq)]),
    [
      ['warm', 1],
      ['one', 2],
      ['two', 3],
      ['three', 4],
      ['four', 5],
    ],
  )
  t.ok(await unreadMatchesCount(app, id), 'unread counts equal COUNT(*)')
  const stored = await app.ctx.db
    .selectFrom('messages')
    .selectAll()
    .where('conversation_id', '=', id)
    .where('content', '!=', 'warm')
    .orderBy('id')
    .execute()
  t.strictSame(
    results.map((r) => ({ ...(r as AppendResult).row })),
    stored.map((row) => ({ ...row })),
    'each append returns its row as stored, every column',
  )
})

t.test(
  'CLIENT_ID_REUSED inside one batch (other text), and from another conversation',
  { skip },
  async (t) => {
    const app = await pgApp(t)
    const [ann, bob] = [await register(app), await register(app)]
    const first = await createConversation(app, ann, [bob], 'first')
    const second = await createConversation(app, ann, [bob], 'second')
    // The membership checks answer from the cache: the three reach the store in the order sent.
    for (const id of [first, second]) await app.ctx.members.has(id, ann.id)
    const send = (id: number, content: string) =>
      sendMessage(app.ctx, ann.id, id, { content, client_id: 'k' }).catch((e: unknown) => e)
    const outcomes: unknown[] = await Promise.all([
      send(first, 'hello'),
      send(first, 'hello'),
      send(first, 'other text'),
    ])
    // Another conversation writes in another lane (in parallel): it comes after, so the first one wins.
    outcomes.push(await send(second, 'hello'))
    const sent = outcomes[0] as { created: boolean; message: { id: number } }
    t.equal(sent.created, true, 'the first is created')
    t.match(
      outcomes[1],
      { created: false, message: { id: sent.message.id } },
      'the same send again: the first',
    )
    t.match(outcomes[2], { statusCode: 409, code: 'CLIENT_ID_REUSED' }, 'other text: 409')
    t.match(outcomes[3], { statusCode: 409, code: 'CLIENT_ID_REUSED' }, 'other conversation: 409')
    t.equal((await history(app, second)).length, 0, 'nothing stored in the other conversation')
  },
)

t.test('a message the database refuses fails alone; the rest of its batch commits', { skip }, async (t) => {
  const app = await pgApp(t)
  const [ann, bob] = [await register(app), await register(app)]
  const id = await createConversation(app, ann, [bob], 'bad')
  const store = pgMessageStore(app.ctx.db, app.ctx.writes)
  // U+0000 never reaches the store through the API (refused at the edge); PostgreSQL refuses it.
  const results = await settle(
    ['one', 'bad\u0000text', 'three'].map((content, i) =>
      store.append({ conversationId: id, senderId: i % 2 ? bob.id : ann.id, content, clientId: `z${i}` }),
    ),
  )
  t.equal((results[0] as AppendResult).created, true)
  t.notOk(results[1] instanceof AppError, 'the bad one fails with the database error')
  t.ok(results[1] instanceof Error, String(results[1]))
  t.equal((results[2] as AppendResult).created, true)
  const rows = await history(app, id)
  t.same(
    rows.map((r) => [r.content, Number(r.change_seq)]),
    [
      ['one', 1],
      ['three', 2],
    ],
    'the others committed, numbered without a gap',
  )
  t.ok(await unreadMatchesCount(app, id), 'unread counts equal COUNT(*)')
})

t.test('two app instances batching into the same conversations at once', { skip }, async (t) => {
  const schema = await createTestSchema()
  t.teardown(() => schema.drop())
  const one = await pgApp(t, schema.url)
  const two = await pgApp(t, schema.url)
  const people = []
  for (let i = 0; i < 4; i++) people.push(await register(one))
  const rooms: number[] = []
  for (let i = 0; i < 6; i++)
    rooms.push(
      await createConversation(
        one,
        people[0],
        people.slice(1).map((p) => p),
        `room ${i}`,
      ),
    )
  const rounds = 30
  const sends: Array<Promise<Outcome>> = []
  const send = (app: FastifyInstance, input: AppendInput) =>
    sends.push(app.ctx.messages.append(input).catch((e: AppError) => e))
  for (let round = 0; round < rounds; round++) {
    for (const [r, room] of rooms.entries()) {
      const sender = people[(round + r) % people.length]
      const input = {
        conversationId: room,
        senderId: sender.id,
        content: `m${round}`,
        clientId: `${round}-${r}`,
      }
      // The same send through both instances at once (one message, whichever wins), and one more.
      send(one, input)
      send(two, { ...input })
      send(round % 2 ? one : two, { ...input, content: 'solo', clientId: `${round}-${r}-solo` })
    }
    if (round % 5 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  const outcomes = await Promise.all(sends)
  t.notOk(
    outcomes.some((o) => o instanceof Error),
    'every append resolved',
  )
  for (const room of rooms) {
    const rows = await history(one, room)
    t.ok(
      rows.every((r, i) => i === 0 || Number(r.change_seq) === Number(rows[i - 1].change_seq) + 1),
      `room ${room}: ids and change numbers in the same order, without a gap`,
    )
    t.equal(
      new Set(rows.map((r) => `${r.sender_id}:${r.client_id}`)).size,
      rows.length,
      'each client_id once',
    )
    t.ok(await unreadMatchesCount(one, room), `room ${room}: unread counts equal COUNT(*)`)
  }
  const total = (await Promise.all(rooms.map((room) => history(one, room)))).flat().length
  t.equal(total, rounds * rooms.length * 2, 'one message per client_id')
})
