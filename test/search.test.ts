import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { type Account, buildTestApp, createConversation, MANY_WRITES, register } from './helpers/app.js'

// GET /search: words, prefixes, phrases, scripts, membership, edits and deletes, snippets.
// Filters and paging are in search-filters.test.ts, files and `around` in search-files.test.ts.

async function get(app: FastifyInstance, who: Account, url: string) {
  const response = await app.inject({ method: 'GET', url, headers: who.auth })
  return { status: response.statusCode, body: response.json() }
}

async function send(
  app: FastifyInstance,
  who: Account,
  conversationId: number,
  content: string,
): Promise<number> {
  const response = await app.inject({
    method: 'POST',
    url: `/conversations/${conversationId}/messages`,
    headers: who.auth,
    payload: { content },
  })
  if (response.statusCode !== 201) throw new Error(`send failed: ${response.body}`)
  return response.json().message.id
}

/** The ids of the messages `who` finds with `q`. */
async function found(app: FastifyInstance, who: Account, q: string): Promise<number[]> {
  const response = await get(app, who, `/search?q=${encodeURIComponent(q)}`)
  if (response.status !== 200)
    throw new Error(`search failed: ${response.status} ${JSON.stringify(response.body)}`)
  return response.body.results.map((result: { message: { id: number } }) => result.message.id)
}

t.test('words: all must match, case and accents ignored, the last one also as a prefix', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  const room = await createConversation(app, ann, [bob])
  const cafe = await send(app, ann, room, 'Meet at the Café Crème tomorrow')
  const plan = await send(app, bob, room, 'The plan for tomorrow: deploy the release')
  const planning = await send(app, bob, room, 'planning session moved')
  t.same(await found(app, ann, 'cafe creme'), [cafe], 'accents and case folded')
  t.same(await found(app, ann, 'CAFÉ'), [cafe])
  t.same(await found(app, ann, 'tomorrow'), [plan, cafe], 'newest first')
  t.same(await found(app, ann, 'tomorrow deploy'), [plan], 'every word must match')
  t.same(await found(app, ann, 'plan'), [planning, plan], 'the last word is also a prefix')
  t.same(await found(app, ann, 'plan tomorrow'), [plan], 'a word before the last is whole')
  t.same(await found(app, ann, 'relea'), [plan])
  t.same(await found(app, ann, 'the pla'), [plan], 'a word, then a prefix of a few words')
  t.same(await found(app, ann, 'session pl'), [planning])
  t.same(await found(app, ann, 'the planx'), [], 'a prefix no word starts')
  t.same(await found(app, ann, 'PLANN'), [planning], 'a prefix in capitals')
  t.same(await found(app, ann, 'nothing-like-this'), [])
  t.same(await found(app, ann, '!!!'), [], 'no letters: nothing to find')
})

t.test('a prefix finds the words written just before it, not only those indexed earlier', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  const room = await createConversation(app, ann, [bob])
  const hello = await send(app, ann, room, 'hello')
  t.same(await found(app, ann, 'hel'), [hello], 'the first search after a write')
  const helpdesk = await send(app, bob, room, 'ask the helpdesk')
  t.same(await found(app, ann, 'hel'), [helpdesk, hello], 'a word new since the last search')
  t.same(await found(app, ann, 'helpd'), [helpdesk])
})

t.test('"quoted phrases" match words next to each other, in order', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  const room = await createConversation(app, ann, [bob])
  const inOrder = await send(app, ann, room, 'the quick brown fox')
  await send(app, ann, room, 'brown and quick')
  t.same(await found(app, ann, '"quick brown"'), [inOrder])
  t.same(await found(app, ann, '"brown quick"'), [])
  t.same(await found(app, ann, 'fox "QUICK brown"'), [inOrder])
  t.same(await found(app, ann, '"quick bro'), [], 'an unclosed phrase is a phrase of whole words')
})

t.test('other scripts: Cyrillic, Greek, and CJK by substring of 3+ characters', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  const room = await createConversation(app, ann, [bob])
  const russian = await send(app, ann, room, 'Привет, МИР! Встреча завтра')
  const greek = await send(app, ann, room, 'Καλημέρα κόσμε')
  const chinese = await send(app, bob, room, '我们明天在东京都庁见面吧')
  const japanese = await send(app, bob, room, '東京都庁に行きました ok')
  t.same(await found(app, ann, 'мир'), [russian], 'Cyrillic, case folded')
  t.same(await found(app, ann, 'встреч'), [russian], 'Cyrillic prefix')
  t.same(await found(app, ann, 'ΚΑΛΗΜΈΡΑ'), [greek], 'Greek, case folded')
  t.same(await found(app, ann, 'κόσμε'), [greek])
  t.same(await found(app, ann, '东京都'), [chinese], 'a substring of a run')
  t.same(await found(app, ann, '在东京都庁见'), [chinese], 'inside the run')
  t.same(await found(app, ann, '都庁'), [], 'two characters are not a substring match')
  t.same(await found(app, ann, '京都庁'), [japanese, chinese], 'both runs hold it')
  t.same(await found(app, ann, '行きました ok'), [japanese], 'with a word')
  t.same(await found(app, ann, '行きました nope'), [])
})

t.test('only the conversations I am a member of now', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob, cat] = [await register(app), await register(app), await register(app)]
  const group = await createConversation(app, ann, [bob], 'Team')
  const secret = await send(app, ann, group, 'the secret word is pineapple')
  const other = await createConversation(app, bob, [cat])
  await send(app, bob, other, 'pineapple for cat only')
  t.same(await found(app, cat, 'pineapple').then((ids) => ids.length), 1, 'only her own conversation')
  t.same(await found(app, ann, 'pineapple'), [secret])
  const add = await app.inject({
    method: 'POST',
    url: `/conversations/${group}/members`,
    headers: ann.auth,
    payload: { user_id: cat.id },
  })
  t.equal(add.statusCode, 201)
  t.ok((await found(app, cat, 'secret')).includes(secret), 'joining brings the history')
  const leave = await app.inject({
    method: 'DELETE',
    url: `/conversations/${group}/members/${cat.id}`,
    headers: cat.auth,
  })
  t.equal(leave.statusCode, 204)
  t.same(await found(app, cat, 'secret'), [], 'leaving takes it away')
  const outsider = await get(app, cat, `/search?q=secret&conversation_id=${group}`)
  t.equal(outsider.status, 404, 'a conversation I am not in is 404')
  t.equal(outsider.body.code, 'NOT_FOUND')
})

t.test('edits are searchable at once; deleted messages are never found', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  const room = await createConversation(app, ann, [bob])
  const id = await send(app, ann, room, 'original wording')
  const edit = await app.inject({
    method: 'PATCH',
    url: `/conversations/${room}/messages/${id}`,
    headers: ann.auth,
    payload: { content: 'revised wording' },
  })
  t.equal(edit.statusCode, 200)
  t.same(await found(app, bob, 'original'), [], 'the old text is gone')
  t.same(await found(app, bob, 'revised'), [id])
  const result = await get(app, bob, '/search?q=revised')
  t.equal(result.body.results[0].message.content, 'revised wording')
  t.ok(result.body.results[0].message.edited_at)
  const removed = await app.inject({
    method: 'DELETE',
    url: `/conversations/${room}/messages/${id}`,
    headers: ann.auth,
  })
  t.equal(removed.statusCode, 204)
  t.same(await found(app, bob, 'wording'), [], 'deleted')
})

t.test('snippet and highlights in UTF-16 code units', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  const room = await createConversation(app, ann, [bob])
  await send(app, ann, room, '🎉🎉 Party at Zoë’s place, bring zoe-approved snacks')
  const result = (await get(app, bob, '/search?q=zoe')).body.results[0]
  t.equal(result.snippet, '🎉🎉 Party at Zoë’s place, bring zoe-approved snacks')
  t.equal(result.conversation_id, room)
  const marked = result.highlights.map(([start, end]: [number, number]) => result.snippet.slice(start, end))
  t.same(marked, ['Zoë', 'zoe'], 'each highlight is a match, counted in UTF-16 units after the emoji')
  t.same(result.highlights[0], [14, 17], 'two emoji are four code units')

  const long = `${'filler words here. '.repeat(30)}🙂 the needle is here ${'and more text after. '.repeat(30)}`
  await send(app, ann, room, long)
  const far = (await get(app, bob, '/search?q=needle')).body.results[0]
  t.ok(far.snippet.length <= 202, 'a long message is cut around the match')
  t.ok(far.snippet.startsWith('…'))
  t.equal(far.snippet.slice(far.highlights[0][0], far.highlights[0][1]), 'needle')

  const phrase = (await get(app, bob, '/search?q=%22party%20at%22')).body.results[0]
  t.same(
    phrase.highlights.map(([start, end]: [number, number]) => phrase.snippet.slice(start, end)),
    ['Party at'],
  )
})

t.test('the snippet is the text a reader sees: Markdown marks dropped, HTML kept as text', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  const room = await createConversation(app, ann, [bob])
  const id = await send(
    app,
    ann,
    room,
    'The **rocket** launch: see [the plan](https://example.com/p) `<b>go</b>`',
  )
  const result = (await get(app, bob, '/search?q=rocket')).body.results[0]
  t.equal(result.message.id, id)
  t.equal(result.snippet, 'The rocket launch: see the plan <b>go</b>')
  t.same(
    result.highlights.map(([start, end]: [number, number]) => result.snippet.slice(start, end)),
    ['rocket'],
  )
  t.match(result.message.content, /\*\*rocket\*\*/, 'the message itself keeps its source')
})

t.test('bad input: blank or missing q is 400, limits checked', async (t) => {
  const app = await buildTestApp(t)
  const ann = await register(app)
  for (const url of [
    '/search',
    '/search?q=',
    '/search?q=%20%20',
    '/search?q=a&limit=101',
    '/search?q=a&limit=0',
  ]) {
    const response = await get(app, ann, url)
    t.equal(response.status, 400, url)
    t.equal(response.body.code, 'BAD_REQUEST', url)
  }
  t.equal(
    (await get(app, ann, '/search?q=a&cursor=bm90LWEtY3Vyc29y')).status,
    400,
    'a cursor not from the server',
  )
  t.equal((await get(app, ann, '/search?q=a&after=yesterday')).status, 400)
  t.equal((await get(app, ann, '/search?q=a&has=image')).status, 400)
  const anonymous = await app.inject({ method: 'GET', url: '/search?q=a' })
  t.equal(anonymous.statusCode, 401)
})
