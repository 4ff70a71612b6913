import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { historyAt } from '../src/conversations/messages.js'
import {
  type Account,
  buildTestApp,
  buildTwoNodes,
  createConversation,
  register,
  startTestServer,
} from './helpers/app.js'
import { connect } from './helpers/ws.js'

// History pages are kept as the JSON sent, each for one change number of its conversation: every
// change to what the page shows must be seen at once, and only members ever get a page.

// biome-ignore lint/suspicious/noExplicitAny: test payloads
type Json = Record<string, any>

async function api(app: FastifyInstance, who: Account, method: string, url: string, payload?: object) {
  const response = await app.inject({ method: method as 'GET', url, headers: who.auth, payload })
  return { status: response.statusCode, body: (response.body ? response.json() : {}) as Json }
}

async function page(app: FastifyInstance, who: Account, conversationId: number, query = '') {
  const response = await app.inject({
    url: `/conversations/${conversationId}/messages${query}`,
    headers: who.auth,
  })
  return { status: response.statusCode, type: response.headers['content-type'], text: response.body }
}

const contents = (text: string) => (JSON.parse(text).messages as Json[]).map((m) => m.content)

/** A hand-built multipart upload of one small text file. */
async function uploadFile(app: FastifyInstance, who: Account, projectId: number) {
  const boundary = '----parley-history-cache'
  const payload =
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="notes.txt"\r\n` +
    `Content-Type: text/plain\r\n\r\nsome notes\r\n--${boundary}--\r\n`
  const response = await app.inject({
    method: 'POST',
    url: `/projects/${projectId}/files`,
    payload,
    headers: { ...who.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
  })
  if (response.statusCode !== 201) throw new Error(`upload: ${response.statusCode} ${response.body}`)
  return response.json().file as Json
}

t.test('a kept page follows every change at once: sent, edited, deleted, attachment removed', async (t) => {
  const app = await buildTestApp(t)
  const [owner, member] = [await register(app, 'owner'), await register(app, 'member')]
  const project = (await api(app, owner, 'POST', '/projects', { name: 'Apollo', member_ids: [member.id] }))
    .body.project
  const conversationId = project.conversation_id
  const ids: number[] = []
  for (const content of ['one', 'two', 'three']) {
    ids.push(
      (await api(app, owner, 'POST', `/conversations/${conversationId}/messages`, { content })).body.message
        .id,
    )
  }

  const first = await page(app, member, conversationId)
  t.equal(first.status, 200)
  t.equal(first.type, 'application/json; charset=utf-8')
  t.same(contents(first.text), ['one', 'two', 'three'])
  const again = await page(app, owner, conversationId)
  t.same(again, first, 'the same bytes and type, for every member')

  await api(app, member, 'POST', `/conversations/${conversationId}/messages`, { content: 'four' })
  t.same(contents((await page(app, owner, conversationId)).text), ['one', 'two', 'three', 'four'], 'sent')

  await api(app, owner, 'PATCH', `/conversations/${conversationId}/messages/${ids[1]}`, { content: 'TWO' })
  const edited = JSON.parse((await page(app, owner, conversationId)).text).messages[1]
  t.equal(edited.content, 'TWO', 'edited')
  t.type(edited.edited_at, 'string')

  t.equal(
    (await api(app, owner, 'DELETE', `/conversations/${conversationId}/messages/${ids[2]}`)).status,
    204,
  )
  t.same(contents((await page(app, owner, conversationId)).text), ['one', 'TWO', 'four'], 'deleted')

  const file = await uploadFile(app, owner, project.id)
  const before = `?before=${Number.MAX_SAFE_INTEGER}&limit=2`
  const withFile = JSON.parse((await page(app, member, conversationId, before)).text)
  t.equal(withFile.messages[1].attachments[0].id, file.id, 'the attachment is there')
  t.equal((await api(app, owner, 'DELETE', `/projects/${project.id}/files/${file.id}`)).status, 204)
  const without = JSON.parse((await page(app, member, conversationId, before)).text)
  t.same(without.messages[1].attachments, [], 'attachment removed')
  t.equal(without.has_more, true)

  const older = JSON.parse((await page(app, member, conversationId, `?before=${ids[1]}`)).text)
  t.same(
    older,
    { messages: [JSON.parse(first.text).messages[0]], has_more: false },
    'other pages are their own',
  )
  const caughtUp = JSON.parse((await page(app, member, conversationId, `?after=${ids[0]}&limit=1`)).text)
  t.same(
    caughtUp.messages.map((m: Json) => m.content),
    ['TWO'],
  )
  t.equal(caughtUp.has_more, true)
})

t.test('a kept page goes only to members: not to outsiders, not to one who left', async (t) => {
  const app = await buildTestApp(t)
  const [ann, bob, eve] = [await register(app, 'ann'), await register(app, 'bob'), await register(app, 'eve')]
  const groupId = await createConversation(app, ann, [bob], 'g')
  await api(app, ann, 'POST', `/conversations/${groupId}/messages`, { content: 'secret' })
  t.equal((await page(app, ann, groupId)).status, 200)
  t.equal((await page(app, bob, groupId)).status, 200)
  const outsider = await page(app, eve, groupId)
  t.equal(outsider.status, 404)
  t.notMatch(outsider.text, /secret/)
  t.equal((await api(app, bob, 'DELETE', `/conversations/${groupId}/members/${bob.id}`)).status, 204)
  t.equal((await page(app, bob, groupId)).status, 404, 'left')

  const otherId = await createConversation(app, ann, [eve], 'h')
  t.same(contents((await page(app, ann, otherId)).text), [], 'another conversation, another page')
})

t.test('two nodes: a change made on one is in the history the other serves at once', async (t) => {
  const [a, b] = await buildTwoNodes(t)
  const [ann, bob] = [await register(a, 'ann'), await register(a, 'bob')]
  const directId = await createConversation(a, ann, [bob])
  const sent = await api(a, ann, 'POST', `/conversations/${directId}/messages`, { content: 'hello' })
  t.same(contents((await page(b, bob, directId)).text), ['hello'])
  t.same(contents((await page(b, bob, directId)).text), ['hello'])
  await api(a, ann, 'PATCH', `/conversations/${directId}/messages/${sent.body.message.id}`, {
    content: 'hi',
  })
  t.same(contents((await page(b, bob, directId)).text), ['hi'], 'edited on the other node')
  await api(a, ann, 'POST', `/conversations/${directId}/messages`, { content: 'again' })
  t.same(contents((await page(b, bob, directId)).text), ['hi', 'again'], 'sent on the other node')
})

t.test('historyAt: a page is exact for a change number only when nothing changed meanwhile', async (t) => {
  const app = await buildTestApp(t)
  const [ann, bob] = [await register(app, 'ann'), await register(app, 'bob')]
  const directId = await createConversation(app, ann, [bob])
  await api(app, ann, 'POST', `/conversations/${directId}/messages`, { content: 'hello' })
  const row = await app.ctx.db
    .selectFrom('conversations')
    .select('change_seq')
    .where('id', '=', directId)
    .executeTakeFirstOrThrow()
  const seq = Number(row.change_seq)
  const now = await historyAt(app.ctx.db, directId, {}, seq)
  t.equal(now.version, seq)
  t.same(
    now.page.messages.map((m) => m.content),
    ['hello'],
  )
  t.equal((await historyAt(app.ctx.db, directId, {}, seq - 1)).version, undefined, 'changed since')
})

t.test('WebSocket join: the latest page comes from the same cache, and follows every change', async (t) => {
  const server = await startTestServer(t)
  const { app } = server
  const [ann, bob, eve] = [await register(app, 'ann'), await register(app, 'bob'), await register(app, 'eve')]
  const groupId = await createConversation(app, ann, [bob], 'g')
  const send = async (content: string) =>
    (await api(app, ann, 'POST', `/conversations/${groupId}/messages`, { content })).body.message as Json
  const first = await send('one')
  await send('two')
  const pages = async () => {
    const text = await (await fetch(`${server.http}/metrics`)).text()
    const count = (result: string) =>
      Number(
        new RegExp(`^parley_history_pages_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0,
      )
    return { hit: count('hit'), miss: count('miss') }
  }
  const [annSocket, bobSocket, eveSocket] = await Promise.all(
    [ann, bob, eve].map((who) => connect(server.ws, who.token)),
  )
  t.teardown(() => Promise.all([annSocket.close(), bobSocket.close(), eveSocket.close()]))
  const join = (socket: typeof annSocket, extra: object = {}) =>
    socket.request({ type: 'join', conversation_id: groupId, ...extra })
  const messagesOf = (frame: Json) => (frame.messages as Json[]).map((m) => m.content)

  const before = await pages()
  const annPage = await join(annSocket)
  const bobPage = await join(bobSocket)
  t.same(messagesOf(annPage), ['one', 'two'])
  t.same({ ...bobPage, ref: annPage.ref }, annPage, 'the second member gets the same page')
  t.equal(bobPage.cursor, annPage.cursor)
  t.same(
    await pages(),
    { hit: before.hit + 1, miss: before.miss + 1 },
    'read once, then served from the cache',
  )

  // Without a ref the reply has none; with one it carries it (the cached bytes get the frame's own).
  bobSocket.send({ type: 'join', conversation_id: groupId })
  const unreferenced = await bobSocket.next((f) => f.type === 'recent_messages' && f.ref === undefined)
  t.notOk('ref' in unreferenced)
  t.same(messagesOf(unreferenced), ['one', 'two'])

  // Every change shows at once: a new message, an edit, a deletion.
  await send('three')
  t.same(messagesOf(await join(annSocket)), ['one', 'two', 'three'], 'a new message')
  await api(app, ann, 'PATCH', `/conversations/${groupId}/messages/${first.id}`, { content: 'one, edited' })
  t.same(messagesOf(await join(bobSocket)), ['one, edited', 'two', 'three'], 'an edit')
  await api(app, ann, 'DELETE', `/conversations/${groupId}/messages/${first.id}`)
  const afterDelete = await join(annSocket)
  t.same(messagesOf(afterDelete), ['two', 'three'], 'a deletion')
  t.ok((afterDelete.cursor as number) > (annPage.cursor as number), 'the cursor moved on')

  // Other pages of the same conversation are their own entries; a non-member gets none of them.
  t.same(messagesOf(await join(bobSocket, { after: first.id })), ['two', 'three'])
  t.same(messagesOf(await join(bobSocket, { limit: 1 })), ['three'])
  t.same(messagesOf(await join(annSocket, { limit: 1 })), ['three'])
  t.match(await join(eveSocket), { type: 'error', code: 'NOT_FOUND' }, 'a non-member is refused')
  t.match(await join(eveSocket, { limit: 1 }), { type: 'error', code: 'NOT_FOUND' })
})
