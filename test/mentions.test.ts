import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { type Account, createConversation, MANY_WRITES, register, startTestServer } from './helpers/app.js'
import { connect } from './helpers/ws.js'

// Mentions: resolved when a message is sent (HTTP, socket, upload caption) or edited into the
// message's `mentions`, shown wherever a message is, counted per member in unread_mentions.
// PARLEY_TEST_DB=postgres runs the same on PostgreSQL.

async function api(app: FastifyInstance, who: Account, method: string, url: string, payload?: object) {
  const response = await app.inject({ method: method as 'GET', url, headers: who.auth, payload })
  return { status: response.statusCode, body: response.body ? response.json() : undefined }
}

async function send(app: FastifyInstance, who: Account, id: number, content: string) {
  const response = await api(app, who, 'POST', `/conversations/${id}/messages`, { content })
  if (response.status !== 201) throw new Error(`send: ${response.status} ${JSON.stringify(response.body)}`)
  return response.body.message as { id: number; mentions: number[] }
}

const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b)

async function unreadMentions(app: FastifyInstance, who: Account, id: number): Promise<number> {
  return (await api(app, who, 'GET', `/conversations/${id}`)).body.conversation.unread_mentions
}

t.test('who a message mentions', async (t) => {
  const { app, ws } = await startTestServer(t, MANY_WRITES)
  const [ann, bob, cat, dan] = await Promise.all([register(app), register(app), register(app), register(app)])
  const group = await createConversation(app, ann, [bob, cat], 'Team')
  const mentions = async (content: string, who = ann, id = group) =>
    (await send(app, who, id, content)).mentions

  t.same(await mentions(`hi @${bob.username}`), [bob.id], '@username mentions that member')
  t.same(await mentions(`hi @${bob.username.toUpperCase()}!`), [bob.id], 'case does not matter')
  t.same(await mentions(`thanks @${cat.username}.`), [cat.id], 'a sentence may end after the name')
  t.same(await mentions(`@${dan.username} and @nobody_here`), [], 'a name that is not a member: nobody')
  t.same(await mentions(`me, @${ann.username}`), [], 'the sender never mentions themselves')
  t.same(await mentions(`mail ann@${bob.username}.org`), [], 'an @ inside a word is not a mention')
  t.same(await mentions('no mention at all'), [])
  t.same(
    sorted(await mentions(`@${bob.username} @${cat.username} @${bob.username}`)),
    sorted([bob.id, cat.id]),
    'each once',
  )
  t.same(sorted(await mentions('@all: standup')), sorted([bob.id, cat.id]), '@all: every other member')
  t.same(sorted(await mentions('@ALL', bob)), sorted([ann.id, cat.id]), '@all from another member')
  t.same(await mentions('@here anyone?'), [], '@here: nobody else is online')
  const catSocket = await connect(ws, cat.token)
  t.same(await mentions('@here anyone?'), [cat.id], '@here: the members online now')
  await catSocket.close()

  const direct = await createConversation(app, ann, [bob])
  t.same(await mentions('@all', ann, direct), [], '@all means nothing in a direct conversation')
  t.same(await mentions(`@${bob.username}`, ann, direct), [bob.id], '@username there does')

  // Over the socket, and in an upload's caption.
  const annSocket = await connect(ws, ann.token)
  const ack = await annSocket.request({
    type: 'send_message',
    conversation_id: group,
    content: `@${cat.username} see this`,
  })
  t.same((ack.message as { mentions: number[] }).mentions, [cat.id], 'send_message resolves them too')
  await annSocket.close()
  const boundary = '----parley-mentions'
  const upload = await app.inject({
    method: 'POST',
    url: `/conversations/${group}/files`,
    headers: { ...ann.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload: Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="content"\r\n\r\nfor @${bob.username}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n` +
        `Content-Type: text/plain\r\n\r\nbytes\r\n--${boundary}--\r\n`,
    ),
  })
  t.equal(upload.statusCode, 201)
  t.same(upload.json().message.mentions, [bob.id], 'an upload caption mentions too')
})

t.test('mentions in history, the change feed, frames; edits re-resolve them', async (t) => {
  const { app, ws } = await startTestServer(t, MANY_WRITES)
  const [ann, bob, cat] = await Promise.all([register(app), register(app), register(app)])
  const id = await createConversation(app, ann, [bob, cat], 'Team')
  const bobSocket = await connect(ws, bob.token)
  const joined = await bobSocket.request({ type: 'join', conversation_id: id })
  const sent = await send(app, ann, id, `@${bob.username} hello`)
  const frame = await bobSocket.next('message')
  t.same((frame.message as { mentions: number[] }).mentions, [bob.id], 'in the message frame')

  const history = await api(app, bob, 'GET', `/conversations/${id}/messages`)
  t.same(history.body.messages[0].mentions, [bob.id], 'in history')
  const replay = await bobSocket.request({ type: 'join', conversation_id: id, cursor: joined.cursor })
  t.same(
    (replay.messages as Array<{ mentions: number[] }>)[0].mentions,
    [bob.id],
    'in the change feed replay',
  )
  t.equal(await unreadMentions(app, bob, id), 1, 'counted for bob')

  // The edit names cat instead: bob's count goes, cat's comes, the frames say so.
  const edited = await api(app, ann, 'PATCH', `/conversations/${id}/messages/${sent.id}`, {
    content: `@${cat.username} hello`,
  })
  t.same(edited.body.message.mentions, [cat.id], 'an edit re-resolves')
  const updated = await bobSocket.next('message_updated')
  t.same((updated.message as { mentions: number[] }).mentions, [cat.id], 'in message_updated')
  t.equal(await unreadMentions(app, bob, id), 0, 'no longer mentions bob')
  t.equal(await unreadMentions(app, cat, id), 1, 'now mentions cat')
  const changes = await api(app, cat, 'GET', `/conversations/${id}/changes?cursor=0`)
  t.same(changes.body.messages[0].mentions, [cat.id], 'the change feed has the latest mentions')

  await api(app, ann, 'DELETE', `/conversations/${id}/messages/${sent.id}`)
  t.equal(await unreadMentions(app, cat, id), 0, 'a deleted message mentions nobody any more')
  const tombstone = await api(app, cat, 'GET', `/conversations/${id}/changes?cursor=0`)
  t.same(tombstone.body.messages[0].mentions, [], 'a tombstone shows none')
  await bobSocket.close()
})

t.test('unread_mentions: counted with the message, cleared by the read pointer', async (t) => {
  const { app } = await startTestServer(t, MANY_WRITES)
  const [ann, bob, cat] = await Promise.all([register(app), register(app), register(app)])
  const id = await createConversation(app, ann, [bob, cat], 'Team')
  const first = await send(app, ann, id, `@${bob.username} one`)
  await send(app, cat, id, 'not for bob')
  const third = await send(app, cat, id, `@all, and @${bob.username} again`)
  t.equal(await unreadMentions(app, bob, id), 2, 'two messages mention bob')
  t.equal(await unreadMentions(app, ann, id), 1, '@all reached ann')
  t.equal(await unreadMentions(app, cat, id), 0, 'not the sender')
  const list = await api(app, bob, 'GET', '/conversations')
  t.equal(list.body.conversations[0].unread_mentions, 2, 'GET /conversations shows it')

  t.equal((await api(app, bob, 'POST', `/conversations/${id}/read`, { message_id: first.id })).status, 204)
  t.equal(await unreadMentions(app, bob, id), 1, 'read past the first')
  t.equal((await api(app, bob, 'POST', `/conversations/${id}/read`, { message_id: third.id })).status, 204)
  t.equal(await unreadMentions(app, bob, id), 0, 'read to the end')

  // A member added later counts the mentions of them already there (a rejoin).
  const dan = await register(app)
  await send(app, ann, id, `@${dan.username} is not here yet`)
  await api(app, ann, 'POST', `/conversations/${id}/members`, { user_id: dan.id })
  t.equal(await unreadMentions(app, dan, id), 0, 'not a member when named: not mentioned')
  await send(app, ann, id, `welcome @${dan.username}`)
  t.equal(await unreadMentions(app, dan, id), 1)
})
