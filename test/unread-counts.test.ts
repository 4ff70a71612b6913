import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { type Account, buildTestApp, createConversation, MANY_WRITES, register } from './helpers/app.js'

// Unread counts are stored per member (conversation_members.unread_count) and kept in step by
// every write: sends (in-process appender, writer thread, Kysely on PostgreSQL), uploads, deletes,
// mark_read and new members. Each check compares the stored counts with the COUNT(*) they replace.
// PARLEY_TEST_DB=postgres runs the same checks on PostgreSQL.

async function api(app: FastifyInstance, who: Account, method: string, url: string, payload?: object) {
  const response = await app.inject({ method: method as 'GET', url, headers: who.auth, payload })
  return { status: response.statusCode, body: response.body ? response.json() : undefined }
}

async function send(app: FastifyInstance, who: Account, conversationId: number, content: string) {
  const response = await api(app, who, 'POST', `/conversations/${conversationId}/messages`, { content })
  if (response.status !== 201) throw new Error(`send: ${response.status} ${JSON.stringify(response.body)}`)
  return response.body.message as { id: number }
}

async function upload(app: FastifyInstance, who: Account, conversationId: number, name: string) {
  const boundary = '----parley-unread-boundary'
  const payload = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
      `Content-Type: text/plain\r\n\r\nsome bytes\r\n--${boundary}--\r\n`,
  )
  const response = await app.inject({
    method: 'POST',
    url: `/conversations/${conversationId}/files`,
    payload,
    headers: { ...who.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
  })
  if (response.statusCode !== 201) throw new Error(`upload: ${response.statusCode} ${response.body}`)
  return response.json().message as { id: number }
}

/** user id -> stored unread_count, for every member. */
async function stored(app: FastifyInstance, conversationId: number): Promise<Record<number, number>> {
  const rows = await app.ctx.db
    .selectFrom('conversation_members')
    .select(['user_id', sql<number>`unread_count`.as('unread')])
    .where('conversation_id', '=', conversationId)
    .execute()
  return Object.fromEntries(rows.map((row) => [Number(row.user_id), Number(row.unread)]))
}

/** user id -> the count as it used to be computed on every read. */
async function counted(app: FastifyInstance, conversationId: number): Promise<Record<number, number>> {
  const rows = await app.ctx.db
    .selectFrom('conversation_members as me')
    .select((eb) => [
      'me.user_id',
      eb
        .selectFrom('messages')
        .select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('messages.conversation_id', '=', 'me.conversation_id')
        .whereRef('messages.id', '>', 'me.last_read_message_id')
        .whereRef('messages.sender_id', '!=', 'me.user_id')
        .where('messages.deleted_at', 'is', null)
        .as('unread'),
    ])
    .where('me.conversation_id', '=', conversationId)
    .execute()
  return Object.fromEntries(rows.map((row) => [Number(row.user_id), Number(row.unread)]))
}

/** user id -> stored unread_mentions and the mentions of live messages after their pointer. */
async function mentionCounts(app: FastifyInstance, conversationId: number) {
  const members = await app.ctx.db
    .selectFrom('conversation_members')
    .select(['user_id', 'last_read_message_id', 'unread_mentions'])
    .where('conversation_id', '=', conversationId)
    .execute()
  const messages = await app.ctx.db
    .selectFrom('messages')
    .select(['id', 'mentions'])
    .where('conversation_id', '=', conversationId)
    .where('deleted_at', 'is', null)
    .execute()
  const stored: Record<number, number> = {}
  const counted: Record<number, number> = {}
  for (const member of members) {
    const userId = Number(member.user_id)
    stored[userId] = Number(member.unread_mentions)
    counted[userId] = messages.filter(
      (m) =>
        Number(m.id) > Number(member.last_read_message_id) &&
        (JSON.parse(m.mentions ?? '[]') as number[]).includes(userId),
    ).length
  }
  return { stored, counted }
}

async function scenario(t: Test, app: FastifyInstance) {
  const [ann, bob, cat, dan] = [
    await register(app),
    await register(app),
    await register(app),
    await register(app),
  ]
  const id = await createConversation(app, ann, [bob, cat], 'Counts')
  const check = async (what: string, expected?: Record<number, number>) => {
    const now = await stored(app, id)
    t.same(now, await counted(app, id), `${what}: stored counts equal COUNT(*)`)
    if (expected) t.same(now, expected, `${what}: the expected counts`)
    const view = await api(app, bob, 'GET', `/conversations/${id}`)
    t.equal(view.body.conversation.unread_count, now[bob.id], `${what}: GET /conversations/:id shows it`)
    t.equal(view.body.conversation.unread_mentions, 0, `${what}: unread_mentions is there, 0`)
  }

  await check('a new conversation', { [ann.id]: 0, [bob.id]: 0, [cat.id]: 0 })
  const sent = await Promise.all([
    send(app, ann, id, 'a1'),
    send(app, ann, id, 'a2'),
    send(app, bob, id, 'b1'),
    send(app, ann, id, 'a3'),
    send(app, cat, id, 'c1'),
    send(app, bob, id, 'b2'),
  ])
  await check('sends by three members in one batch', { [ann.id]: 3, [bob.id]: 4, [cat.id]: 5 })

  t.equal((await api(app, ann, 'DELETE', `/conversations/${id}/messages/${sent[0].id}`)).status, 204)
  await check('a delete', { [ann.id]: 3, [bob.id]: 3, [cat.id]: 4 })
  t.equal((await api(app, ann, 'DELETE', `/conversations/${id}/messages/${sent[0].id}`)).status, 404)
  await check('the same delete again', { [ann.id]: 3, [bob.id]: 3, [cat.id]: 4 })

  const middle = await send(app, ann, id, 'a4')
  const last = await send(app, cat, id, 'c2')
  await check('two more', { [ann.id]: 4, [bob.id]: 5, [cat.id]: 5 })
  t.equal((await api(app, bob, 'POST', `/conversations/${id}/read`, { message_id: middle.id })).status, 204)
  await check('bob reads to the middle', { [ann.id]: 4, [bob.id]: 1, [cat.id]: 5 })
  t.equal((await api(app, cat, 'POST', `/conversations/${id}/read`, { message_id: last.id })).status, 204)
  await check('cat reads to the end', { [ann.id]: 4, [bob.id]: 1, [cat.id]: 0 })
  t.equal((await api(app, bob, 'POST', `/conversations/${id}/read`, { message_id: sent[2].id })).status, 204)
  await check('a read pointer never moves back', { [ann.id]: 4, [bob.id]: 1, [cat.id]: 0 })
  // A message bob and cat already read is deleted: their counts do not move.
  t.equal((await api(app, ann, 'DELETE', `/conversations/${id}/messages/${sent[1].id}`)).status, 204)
  await check('a delete behind the read pointers', { [ann.id]: 4, [bob.id]: 1, [cat.id]: 0 })

  t.equal((await api(app, ann, 'POST', `/conversations/${id}/members`, { user_id: dan.id })).status, 201)
  await check('dan added', { [ann.id]: 4, [bob.id]: 1, [cat.id]: 0, [dan.id]: 6 })

  await upload(app, dan, id, 'notes.txt')
  await check('dan uploads a file', { [ann.id]: 5, [bob.id]: 2, [cat.id]: 1, [dan.id]: 6 })

  // A burst larger than the main connection takes (LOCAL_BATCH_MAX): on a file, the writer thread.
  await Promise.all(
    Array.from({ length: 40 }, (_, i) => send(app, [ann, bob, cat, dan][i % 4], id, `burst ${i}`)),
  )
  await check('a burst of 40 from four senders', { [ann.id]: 35, [bob.id]: 32, [cat.id]: 31, [dan.id]: 36 })
  const list = await api(app, cat, 'GET', '/conversations')
  t.equal(list.body.conversations[0].unread_count, 31, 'GET /conversations shows it')
  t.equal(list.body.conversations[0].unread_mentions, 0)
}

t.test('unread counts on this database (an SQLite file with its writer thread, or PostgreSQL)', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  await scenario(t, app)
  if (app.ctx.database.sqlitePath) {
    const commits = await app.ctx.metrics.messageCommits.get()
    const writer = commits.values.find((v) => v.labels.thread === 'writer')
    t.ok(writer && writer.value > 0, 'the writer thread committed some of them')
  }
})

t.test('unread counts with the in-process SQLite appender', async (t) => {
  await scenario(t, await buildTestApp(t, { ...MANY_WRITES, databaseUrl: 'sqlite::memory:' }))
})

t.test('property: after random operations the stored counts equal COUNT(*)', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const people = await Promise.all(Array.from({ length: 5 }, () => register(app)))
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('send' as const),
      who: fc.nat(4),
      n: fc.integer({ min: 1, max: 6 }),
      // Whom the text names: a person (member or not) by username, or @all.
      mention: fc.option(fc.nat(5)),
    }),
    fc.record({ kind: fc.constant('edit' as const), pick: fc.nat(), mention: fc.option(fc.nat(5)) }),
    fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('read' as const), who: fc.nat(4), pick: fc.nat() }),
    fc.record({ kind: fc.constant('add' as const), who: fc.nat(4) }),
    fc.record({ kind: fc.constant('remove' as const), who: fc.integer({ min: 1, max: 4 }) }),
  )
  let runs = 0
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
      const [owner, first] = people
      const id = await createConversation(app, owner, [first], `run ${++runs}`)
      const members = new Set([0, 1])
      const messages: Array<{ id: number; sender: number }> = []
      const text = (mention: number | null, i: number) =>
        mention === null
          ? `m${i}`
          : `m${i} @${mention === 5 ? 'all' : people[mention].username.toUpperCase()}`
      for (const step of ops) {
        const member = (i: number) => [...members][i % members.size]
        if (step.kind === 'send') {
          const who = member(step.who)
          const batch = await Promise.all(
            Array.from({ length: step.n }, (_, i) => send(app, people[who], id, text(step.mention, i))),
          )
          for (const message of batch) messages.push({ id: message.id, sender: who })
        } else if (step.kind === 'edit' && messages.length > 0) {
          const target = messages[step.pick % messages.length]
          await api(app, people[target.sender], 'PATCH', `/conversations/${id}/messages/${target.id}`, {
            content: text(step.mention, 9),
          })
        } else if (step.kind === 'delete' && messages.length > 0) {
          const target = messages[step.pick % messages.length]
          await api(app, people[target.sender], 'DELETE', `/conversations/${id}/messages/${target.id}`)
        } else if (step.kind === 'read' && messages.length > 0) {
          const who = member(step.who)
          const target = messages[step.pick % messages.length]
          await api(app, people[who], 'POST', `/conversations/${id}/read`, { message_id: target.id })
        } else if (step.kind === 'add' && !members.has(step.who)) {
          await api(app, owner, 'POST', `/conversations/${id}/members`, { user_id: people[step.who].id })
          members.add(step.who)
        } else if (step.kind === 'remove' && members.has(step.who) && members.size > 2) {
          await api(app, owner, 'DELETE', `/conversations/${id}/members/${people[step.who].id}`)
          members.delete(step.who)
        }
      }
      const [now, expected] = [await stored(app, id), await counted(app, id)]
      if (JSON.stringify(now) !== JSON.stringify(expected)) {
        throw new Error(`stored ${JSON.stringify(now)} != counted ${JSON.stringify(expected)}`)
      }
      const mentions = await mentionCounts(app, id)
      if (JSON.stringify(mentions.stored) !== JSON.stringify(mentions.counted)) {
        throw new Error(`unread_mentions ${JSON.stringify(mentions)}`)
      }
    }),
    { numRuns: 25, seed: 1414 },
  )
  t.pass('25 random runs: stored counts (unread_mentions too) equal what the messages say')
})
