import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { type Account, buildTestApp, createConversation, register } from './helpers/app.js'

async function api(app: FastifyInstance, who: Account, method: string, url: string, payload?: object) {
  const response = await app.inject({ method: method as 'GET', url, headers: who.auth, payload })
  return { status: response.statusCode, body: response.body ? response.json() : undefined }
}

t.test('direct conversations: one per pair, asked again returns the same one', async (t) => {
  const app = await buildTestApp(t)
  const [ann, bob] = [await register(app, 'ann'), await register(app, 'bob')]
  const first = await api(app, ann, 'POST', '/conversations', { member_ids: [bob.id] })
  t.equal(first.status, 201)
  t.equal(first.body.conversation.kind, 'direct')
  t.same(first.body.conversation.members.map((m: { id: number }) => m.id).sort(), [ann.id, bob.id].sort())
  t.equal(first.body.conversation.unread_count, 0)
  t.equal(first.body.conversation.last_message, null)
  const again = await api(app, bob, 'POST', '/conversations', { member_ids: [ann.id] })
  t.equal(again.status, 200)
  t.equal(again.body.conversation.id, first.body.conversation.id)
  const unknown = await api(app, ann, 'POST', '/conversations', { member_ids: [9999] })
  t.equal(unknown.status, 400)
  t.equal(unknown.body.code, 'UNKNOWN_MEMBER')
  const self = await api(app, ann, 'POST', '/conversations', { member_ids: [ann.id] })
  t.equal(self.status, 400)
  const empty = await api(app, ann, 'POST', '/conversations', { member_ids: [] })
  t.equal(empty.status, 400)
})

t.test('groups: title, members added and removed, creator rules', async (t) => {
  const app = await buildTestApp(t)
  const [ann, bob, cat, dan] = [
    await register(app, 'ann'),
    await register(app, 'bob'),
    await register(app, 'cat'),
    await register(app, 'dan'),
  ]
  const created = await api(app, ann, 'POST', '/conversations', {
    member_ids: [bob.id, cat.id],
    title: 'Team',
  })
  t.equal(created.status, 201)
  const group = created.body.conversation
  t.equal(group.kind, 'group')
  t.equal(group.title, 'Team')
  t.equal(group.members.length, 3)
  const asOutsider = await api(app, dan, 'GET', `/conversations/${group.id}`)
  t.equal(asOutsider.status, 404, 'a conversation I am not in is 404')
  t.equal(asOutsider.body.code, 'NOT_FOUND')
  const added = await api(app, bob, 'POST', `/conversations/${group.id}/members`, { user_id: dan.id })
  t.equal(added.status, 201)
  t.equal(added.body.conversation.members.length, 4)
  t.equal((await api(app, dan, 'GET', `/conversations/${group.id}`)).status, 200)
  const notCreator = await api(app, bob, 'DELETE', `/conversations/${group.id}/members/${cat.id}`)
  t.equal(notCreator.status, 403)
  t.equal((await api(app, ann, 'DELETE', `/conversations/${group.id}/members/${cat.id}`)).status, 204)
  t.equal((await api(app, cat, 'GET', `/conversations/${group.id}`)).status, 404, 'removed member loses it')
  t.equal(
    (await api(app, dan, 'DELETE', `/conversations/${group.id}/members/${dan.id}`)).status,
    204,
    'leave',
  )
  const directId = await createConversation(app, ann, [bob])
  const addToDirect = await api(app, ann, 'POST', `/conversations/${directId}/members`, {
    user_id: cat.id,
  })
  t.equal(addToDirect.status, 400)
  t.equal(addToDirect.body.code, 'NOT_A_GROUP')
})

t.test('messages: send, idempotent client_id, validation, history paging', async (t) => {
  const app = await buildTestApp(t)
  const [ann, bob, eve] = [await register(app, 'ann'), await register(app, 'bob'), await register(app, 'eve')]
  const id = await createConversation(app, ann, [bob])
  const sent = await api(app, ann, 'POST', `/conversations/${id}/messages`, {
    content: 'hi',
    client_id: 'k1',
  })
  t.equal(sent.status, 201)
  t.match(sent.body.message, {
    conversation_id: id,
    sender_id: ann.id,
    content: 'hi',
    client_id: 'k1',
    deleted: false,
  })
  t.same(sent.body.message.attachments, [])
  const repeat = await api(app, ann, 'POST', `/conversations/${id}/messages`, {
    content: 'hi',
    client_id: 'k1',
  })
  t.equal(repeat.status, 200)
  t.same(repeat.body.message, sent.body.message, 'the first message, not a second')
  for (const bad of [
    { content: '' },
    { content: '   ' },
    { content: 'x'.repeat(4001) },
    {},
    { content: 5 },
  ]) {
    const response = await api(app, ann, 'POST', `/conversations/${id}/messages`, bad)
    t.equal(response.status, 400, JSON.stringify(bad).slice(0, 40))
    t.equal(response.body.code, 'BAD_REQUEST')
  }
  t.equal(
    (await api(app, ann, 'POST', `/conversations/${id}/messages`, { content: 'x'.repeat(4000) })).status,
    201,
  )
  const outsider = await api(app, eve, 'POST', `/conversations/${id}/messages`, { content: 'let me in' })
  t.equal(outsider.status, 404)
  for (let i = 0; i < 8; i++)
    await api(app, bob, 'POST', `/conversations/${id}/messages`, { content: `m${i}` })
  const latest = await api(app, ann, 'GET', `/conversations/${id}/messages?limit=4`)
  t.same(
    latest.body.messages.map((m: { content: string }) => m.content),
    ['m4', 'm5', 'm6', 'm7'],
  )
  t.equal(latest.body.has_more, true)
  const older = await api(
    app,
    ann,
    'GET',
    `/conversations/${id}/messages?limit=4&before=${latest.body.messages[0].id}`,
  )
  t.same(
    older.body.messages.map((m: { content: string }) => m.content),
    ['x'.repeat(4000), 'm0', 'm1', 'm2', 'm3'].slice(1),
  )
  t.equal(older.body.has_more, true)
  const after = await api(app, ann, 'GET', `/conversations/${id}/messages?after=${older.body.messages[3].id}`)
  t.same(
    after.body.messages.map((m: { content: string }) => m.content),
    ['m4', 'm5', 'm6', 'm7'],
  )
  t.equal(after.body.has_more, false)
  const ids = (await api(app, ann, 'GET', `/conversations/${id}/messages?limit=200`)).body.messages.map(
    (m: { id: number }) => m.id,
  )
  t.same(
    ids,
    [...ids].sort((a: number, b: number) => a - b),
    'ids grow',
  )
  t.equal((await api(app, ann, 'GET', `/conversations/${id}/messages?limit=201`)).status, 400)
  t.equal((await api(app, eve, 'GET', `/conversations/${id}/messages`)).status, 404)
})

t.test('edit and delete: sender only; deleted content is gone from history and the feed', async (t) => {
  const app = await buildTestApp(t)
  const [ann, bob] = [await register(app, 'ann'), await register(app, 'bob')]
  const id = await createConversation(app, ann, [bob])
  const m1 = (await api(app, ann, 'POST', `/conversations/${id}/messages`, { content: 'secret' })).body
    .message
  const m2 = (await api(app, ann, 'POST', `/conversations/${id}/messages`, { content: 'typo' })).body.message
  const start = (await api(app, ann, 'GET', `/conversations/${id}/changes`)).body.cursor
  t.equal(
    (await api(app, bob, 'PATCH', `/conversations/${id}/messages/${m2.id}`, { content: 'no' })).status,
    403,
  )
  const edited = await api(app, ann, 'PATCH', `/conversations/${id}/messages/${m2.id}`, { content: 'fixed' })
  t.equal(edited.status, 200)
  t.equal(edited.body.message.content, 'fixed')
  t.match(edited.body.message.edited_at, /Z$/)
  t.equal((await api(app, bob, 'DELETE', `/conversations/${id}/messages/${m1.id}`)).status, 403)
  t.equal((await api(app, ann, 'DELETE', `/conversations/${id}/messages/${m1.id}`)).status, 204)
  t.equal(
    (await api(app, ann, 'DELETE', `/conversations/${id}/messages/${m1.id}`)).status,
    404,
    'already gone',
  )
  t.equal(
    (await api(app, ann, 'PATCH', `/conversations/${id}/messages/${m1.id}`, { content: 'x' })).status,
    404,
  )
  const history = (await api(app, bob, 'GET', `/conversations/${id}/messages`)).body.messages
  t.same(
    history.map((m: { id: number; content: string }) => [m.id, m.content]),
    [[m2.id, 'fixed']],
  )
  const feed = (await api(app, bob, 'GET', `/conversations/${id}/changes?cursor=${start}`)).body
  t.same(
    feed.messages.map((m: { id: number; content: string | null; deleted: boolean }) => [
      m.id,
      m.content,
      m.deleted,
    ]),
    [
      [m2.id, 'fixed', false],
      [m1.id, null, true],
    ],
    'each change once, latest state, deleted without content',
  )
  t.equal(feed.has_more, false)
  const row = await app.ctx.db
    .selectFrom('messages')
    .select('content')
    .where('id', '=', m1.id)
    .executeTakeFirstOrThrow()
  t.equal(row.content, '', 'the text is gone from the database too')
  const caughtUp = (await api(app, bob, 'GET', `/conversations/${id}/changes?cursor=${feed.cursor}`)).body
  t.same(caughtUp.messages, [])
  const future = await api(app, bob, 'GET', `/conversations/${id}/changes?cursor=${feed.cursor + 100}`)
  t.equal(future.status, 410)
  t.equal(future.body.code, 'CURSOR_EXPIRED')
})

t.test('changes feed pages without a gap', async (t) => {
  const app = await buildTestApp(t)
  const [ann, bob] = [await register(app, 'ann'), await register(app, 'bob')]
  const id = await createConversation(app, ann, [bob])
  for (let i = 0; i < 25; i++)
    await api(app, ann, 'POST', `/conversations/${id}/messages`, { content: `n${i}` })
  const seen: string[] = []
  let cursor = 0
  for (let page = 0; page < 10; page++) {
    const body = (await api(app, bob, 'GET', `/conversations/${id}/changes?cursor=${cursor}&limit=10`)).body
    seen.push(...body.messages.map((m: { content: string }) => m.content))
    cursor = body.cursor
    if (!body.has_more) break
  }
  t.same(
    seen,
    Array.from({ length: 25 }, (_, i) => `n${i}`),
  )
})

t.test('read pointer and unread counts; list ordered by activity', async (t) => {
  const app = await buildTestApp(t)
  const [ann, bob, cat] = [await register(app, 'ann'), await register(app, 'bob'), await register(app, 'cat')]
  const withBob = await createConversation(app, ann, [bob])
  const withCat = await createConversation(app, ann, [cat])
  const messages = []
  for (let i = 0; i < 3; i++) {
    messages.push(
      (await api(app, bob, 'POST', `/conversations/${withBob}/messages`, { content: `b${i}` })).body.message,
    )
  }
  let list = (await api(app, ann, 'GET', '/conversations')).body.conversations
  t.same(
    list.map((c: { id: number }) => c.id),
    [withBob, withCat],
    'latest activity first',
  )
  t.equal(list[0].unread_count, 3)
  t.equal(list[0].last_message.content, 'b2')
  t.equal(
    (await api(app, bob, 'GET', '/conversations')).body.conversations[0].unread_count,
    0,
    'own messages',
  )
  t.equal(
    (await api(app, ann, 'POST', `/conversations/${withBob}/read`, { message_id: messages[1].id })).status,
    204,
  )
  list = (await api(app, ann, 'GET', '/conversations')).body.conversations
  t.equal(list[0].unread_count, 1)
  t.equal(list[0].last_read_message_id, messages[1].id)
  t.same(
    list[0].read_pointers.sort((a: { user_id: number }, b: { user_id: number }) => a.user_id - b.user_id),
    [
      { user_id: ann.id, message_id: messages[1].id },
      { user_id: bob.id, message_id: 0 },
    ],
    "every member's read pointer",
  )
  await api(app, ann, 'POST', `/conversations/${withBob}/read`, { message_id: messages[0].id })
  t.equal(
    (await api(app, ann, 'GET', `/conversations/${withBob}`)).body.conversation.unread_count,
    1,
    'the pointer never moves back',
  )
  const foreign = await api(app, ann, 'POST', `/conversations/${withCat}/read`, {
    message_id: messages[2].id,
  })
  t.equal(foreign.status, 404, 'a message of another conversation')
  await api(app, cat, 'POST', `/conversations/${withCat}/messages`, { content: 'c' })
  list = (await api(app, ann, 'GET', '/conversations')).body.conversations
  t.same(
    list.map((c: { id: number }) => c.id),
    [withCat, withBob],
  )
})

t.test('user search finds people by username or display name, not myself', async (t) => {
  const app = await buildTestApp(t)
  const ann = await register(app, 'ann')
  await register(app, 'annabel')
  await register(app, 'bob')
  await app.inject({ method: 'PATCH', url: '/users/me', headers: ann.auth, payload: { display_name: 'Ann' } })
  const found = await api(app, ann, 'GET', '/conversations/users?q=ANN')
  t.same(
    found.body.users.map((u: { username: string }) => u.username),
    ['annabel'],
  )
  const pct = await api(app, ann, 'GET', '/conversations/users?q=%25')
  t.same(pct.body.users, [], 'LIKE wildcards are literal')
})

t.test('deleting an account keeps its messages, shown as from a deleted user', async (t) => {
  const app = await buildTestApp(t)
  const [ann, bob] = [await register(app, 'ann'), await register(app, 'bob')]
  const id = await createConversation(app, ann, [bob])
  await api(app, bob, 'POST', `/conversations/${id}/messages`, { content: 'bye' })
  await api(app, bob, 'DELETE', '/auth/user', { password: 'correct horse battery' })
  const history = (await api(app, ann, 'GET', `/conversations/${id}/messages`)).body.messages
  t.equal(history[0].content, 'bye')
  t.equal(history[0].sender_id, bob.id)
  const conversation = (await api(app, ann, 'GET', `/conversations/${id}`)).body.conversation
  const shown = conversation.members.find((m: { id: number }) => m.id === bob.id)
  t.equal(shown.deleted, true)
  t.equal(shown.display_name, 'Deleted user')
})

// Each store: the writer thread (SQLite file) or PostgreSQL (PARLEY_TEST_DB=postgres), and SQLite in memory (inline).
for (const [store, overrides] of [
  ['the configured database', {}],
  ['SQLite in memory', { databaseUrl: 'sqlite::memory:' }],
] as const) {
  t.test(
    `client_id reused in another conversation or with other content: 409, nothing stored (${store})`,
    async (t) => {
      const app = await buildTestApp(t, overrides)
      const [ann, bob, cat] = [
        await register(app, 'ann'),
        await register(app, 'bob'),
        await register(app, 'cat'),
      ]
      const first = await createConversation(app, ann, [bob])
      const other = await createConversation(app, ann, [cat])
      const sent = await api(app, ann, 'POST', `/conversations/${first}/messages`, {
        content: 'hi',
        client_id: 'k1',
      })
      t.equal(sent.status, 201)
      const sameAgain = await api(app, ann, 'POST', `/conversations/${first}/messages`, {
        content: 'hi',
        client_id: 'k1',
      })
      t.equal(sameAgain.status, 200, 'a true repeat still answers the first message')
      t.same(sameAgain.body.message, sent.body.message)
      const otherContent = await api(app, ann, 'POST', `/conversations/${first}/messages`, {
        content: 'hi again',
        client_id: 'k1',
      })
      t.equal(otherContent.status, 409, 'other content')
      t.equal(otherContent.body.code, 'CLIENT_ID_REUSED')
      const otherConversation = await api(app, ann, 'POST', `/conversations/${other}/messages`, {
        content: 'hi',
        client_id: 'k1',
      })
      t.equal(otherConversation.status, 409, 'another conversation')
      t.equal(otherConversation.body.code, 'CLIENT_ID_REUSED')
      const bobsOwn = await api(app, bob, 'POST', `/conversations/${first}/messages`, {
        content: 'yo',
        client_id: 'k1',
      })
      t.equal(bobsOwn.status, 201, "another sender's client_id is his own")
      const stored = await app.ctx.db.selectFrom('messages').select(['conversation_id', 'content']).execute()
      t.same(
        stored.map((row) => [Number(row.conversation_id), row.content]),
        [
          [first, 'hi'],
          [first, 'yo'],
        ],
        'nothing stored for the refused sends',
      )
      const unread = await api(app, cat, 'GET', `/conversations/${other}`)
      t.equal(unread.body.conversation.unread_count, 0, 'nothing counted unread either')
    },
  )
}
