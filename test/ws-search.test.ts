import t from 'tap'
import { type Account, createConversation, MANY_WRITES, register, startTestServer } from './helpers/app.js'
import { connect, type Frame, type TestSocket } from './helpers/ws.js'

// The socket's `search` frame, over real sockets: the same answers as GET /search (one domain
// function behind both), paging by cursor, membership, the same error codes as HTTP as `error`
// frames that leave the socket open, and the socket's frame budget.

type Server = Awaited<ReturnType<typeof startTestServer>>

async function send(server: Server, who: Account, conversationId: number, content: string) {
  const response = await server.app.inject({
    method: 'POST',
    url: `/conversations/${conversationId}/messages`,
    headers: who.auth,
    payload: { content },
  })
  if (response.statusCode !== 201) throw new Error(`send failed: ${response.body}`)
  return response.json().message.id as number
}

/** GET /search with these parameters, as `who`. */
async function httpSearch(server: Server, who: Account, query: Record<string, string | number>) {
  const params = new URLSearchParams(Object.entries(query).map(([key, value]) => [key, String(value)]))
  const response = await server.app.inject({ url: `/search?${params}`, headers: who.auth })
  return { status: response.statusCode, body: response.json() }
}

/** The page a `search_results` frame carries, without the frame's own members. */
function pageOf(frame: Frame) {
  const { type: _type, ref: _ref, q: _q, ...page } = frame
  return page
}

const ids = (frame: Frame) => (frame.results as Array<{ message: { id: number } }>).map((r) => r.message.id)

t.test('search answers search_results with its ref and q: the same page as GET /search', async (t) => {
  const server = await startTestServer(t, MANY_WRITES)
  const [ann, bob] = [await register(server.app), await register(server.app)]
  const direct = await createConversation(server.app, ann, [bob])
  const group = await createConversation(server.app, ann, [bob], 'Launch')
  const plan = await send(server, ann, direct, 'The launch plan for Café Crème, see the **draft**')
  const launch = await send(server, bob, group, 'launch moved to Friday')
  await send(server, bob, group, 'nothing to see here')
  const socket = await connect(server.ws, ann.token)

  const reply = await socket.request({ type: 'search', q: 'launch' })
  t.equal(reply.type, 'search_results')
  t.match(reply.ref, /^r\d+$/, 'the ref is echoed')
  t.equal(reply.q, 'launch', 'the query is echoed')
  t.same(ids(reply), [launch, plan], 'newest first')
  t.same(reply.has_more, false)
  t.equal(reply.cursor, null)
  const [first] = reply.results as Array<{ snippet: string; highlights: number[][]; conversation_id: number }>
  t.equal(first.conversation_id, group)
  t.same(first.highlights, [[0, 6]], 'highlights in the snippet')

  const queries: Array<Record<string, string | number>> = [
    { q: 'launch' },
    { q: 'cafe creme' },
    { q: 'draft' },
    { q: 'laun', conversation_id: group },
    { q: 'launch', from: bob.id },
    { q: 'launch', after: '2000-01-01', before: '2999-01-01' },
    { q: 'launch', limit: 1 },
    { q: '"launch plan"' },
    { q: 'absent' },
    { q: '!!!' },
  ]
  for (const query of queries) {
    const http = await httpSearch(server, ann, query)
    t.equal(http.status, 200)
    const frame = await socket.request({ type: 'search', ...query })
    t.equal(frame.type, 'search_results')
    t.same(pageOf(frame), http.body, `the same page as GET /search: ${JSON.stringify(query)}`)
  }
  t.equal(socket.closeCode, undefined)
  await socket.close()
})

t.test('paging by cursor: every match once, newest first; cursors work across HTTP and socket', async (t) => {
  const server = await startTestServer(t, MANY_WRITES)
  const [ann, bob, cat] = [await register(server.app), await register(server.app), await register(server.app)]
  const room = await createConversation(server.app, ann, [bob])
  const theirs = await createConversation(server.app, bob, [cat])
  const sent: number[] = []
  for (let i = 0; i < 12; i++) {
    sent.push(await send(server, i % 2 ? bob : ann, room, `report number ${i}`))
    await send(server, bob, theirs, `report elsewhere ${i}`)
  }
  const socket = await connect(server.ws, ann.token)
  const seen: number[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const frame: Frame = await socket.request({
      type: 'search',
      q: 'report',
      limit: 5,
      ...(cursor === null ? {} : { cursor }),
    })
    t.equal(frame.type, 'search_results')
    t.ok(ids(frame).length <= 5)
    t.equal(frame.has_more, frame.cursor !== null, 'has_more exactly when there is a next cursor')
    if (frame.cursor !== null) {
      const http = await httpSearch(server, ann, { q: 'report', limit: 5, cursor: frame.cursor as string })
      const next = await socket.request({ type: 'search', q: 'report', limit: 5, cursor: frame.cursor })
      t.same(pageOf(next), http.body, 'a socket cursor pages HTTP the same')
    }
    seen.push(...ids(frame))
    cursor = frame.cursor as string | null
    pages++
  } while (cursor !== null)
  t.same(seen, [...sent].reverse(), 'every message of mine once, newest first, none of theirs')
  t.equal(pages, 3)
  const defaults = await socket.request({ type: 'search', q: 'report' })
  t.equal(ids(defaults).length, 12, 'limit defaults to 20')
  t.equal(defaults.has_more, false)
  await socket.close()
})

t.test('membership now: leaving takes the results away, the conversation is then NOT_FOUND', async (t) => {
  const server = await startTestServer(t, MANY_WRITES)
  const [ann, bob, cat] = [await register(server.app), await register(server.app), await register(server.app)]
  const group = await createConversation(server.app, ann, [bob, cat], 'Secrets')
  const secret = await send(server, ann, group, 'the secret word is pineapple')
  const socket = await connect(server.ws, cat.token)
  t.same(ids(await socket.request({ type: 'search', q: 'pineapple' })), [secret], 'a member finds it')
  const leave = await server.app.inject({
    method: 'DELETE',
    url: `/conversations/${group}/members/${cat.id}`,
    headers: cat.auth,
  })
  t.equal(leave.statusCode, 204)
  const after = await socket.request({ type: 'search', q: 'pineapple' })
  t.equal(after.type, 'search_results')
  t.same(after.results, [], 'a conversation I left gives nothing')
  const scoped = await socket.request({ type: 'search', q: 'pineapple', conversation_id: group })
  t.match(scoped, { type: 'error', code: 'NOT_FOUND', message: 'Conversation not found' })
  const http = await httpSearch(server, cat, { q: 'pineapple', conversation_id: group })
  t.same([http.status, http.body.code, http.body.message], [404, 'NOT_FOUND', scoped.message], 'as HTTP says')
  t.equal(socket.closeCode, undefined, 'the socket stays open')
  await socket.close()
})

t.test(
  'bad input: the error codes of GET /search as error frames with the ref; the socket stays open',
  async (t) => {
    const server = await startTestServer(t, MANY_WRITES)
    const [ann, bob, eve] = [
      await register(server.app),
      await register(server.app),
      await register(server.app),
    ]
    const mine = await createConversation(server.app, ann, [bob])
    const notMine = await createConversation(server.app, bob, [eve])
    await send(server, ann, mine, 'hello there')
    const socket = await connect(server.ws, ann.token)
    const status = { BAD_REQUEST: 400, NOT_FOUND: 404 } as Record<string, number>
    const cases: Array<[string, Record<string, string | number>, string]> = [
      ['blank q', { q: '   ' }, 'BAD_REQUEST'],
      ['empty q', { q: '' }, 'BAD_REQUEST'],
      ['a cursor the server never gave', { q: 'hello', cursor: 'bm90LWEtY3Vyc29y' }, 'BAD_REQUEST'],
      ['limit 0', { q: 'hello', limit: 0 }, 'BAD_REQUEST'],
      ['limit 101', { q: 'hello', limit: 101 }, 'BAD_REQUEST'],
      ['a conversation I am not in', { q: 'hello', conversation_id: notMine }, 'NOT_FOUND'],
      ['a conversation that does not exist', { q: 'hello', conversation_id: 999_999 }, 'NOT_FOUND'],
      ['a project I cannot see', { q: 'hello', project_id: 999_999 }, 'NOT_FOUND'],
      ['a date that is not one', { q: 'hello', after: 'yesterday' }, 'BAD_REQUEST'],
      ['has other than file', { q: 'hello', has: 'image' }, 'BAD_REQUEST'],
      ['q over 500 characters', { q: 'a'.repeat(501) }, 'BAD_REQUEST'],
    ]
    for (const [name, query, code] of cases) {
      const frame = await socket.request({ type: 'search', ...query })
      t.equal(frame.type, 'error', `${name}: an error frame (it came back with the ref)`)
      t.equal(frame.code, code, `${name}: ${code}`)
      t.type(frame.message, 'string')
      const http = await httpSearch(server, ann, query)
      t.equal(http.status, status[code], `${name}: HTTP answers ${status[code]}`)
      t.equal(http.body.code, code, `${name}: the same code over HTTP`)
    }
    const blank = await socket.request({ type: 'search', q: ' ' })
    t.equal(blank.message, 'q must not be blank', 'the domain rule, in its words')
    const cursor = await socket.request({ type: 'search', q: 'hello', cursor: 'bm90LWEtY3Vyc29y' })
    t.equal(cursor.message, 'cursor is not one this server gave')
    const missing = await socket.request({ type: 'search' })
    t.match(missing, { type: 'error', code: 'BAD_REQUEST', message: 'q is required' })
    const unknown = await socket.request({ type: 'search', q: 'hello', sort: 'oldest' })
    t.match(unknown, { type: 'error', code: 'BAD_REQUEST', message: 'unknown field sort' })
    const wrongType = await socket.request({ type: 'search', q: 'hello', limit: '5' })
    t.match(wrongType, { type: 'error', code: 'BAD_REQUEST', message: /limit/ })

    t.equal(socket.closeCode, undefined, 'bad frames do not close the socket')
    t.equal((await socket.request({ type: 'ping' })).type, 'pong')
    const good = await socket.request({ type: 'search', q: 'hello' })
    t.equal(good.type, 'search_results', 'and searches still work')
    t.equal((good.results as unknown[]).length, 1)
    await socket.close()
  },
)

/** Sends frames back to back (no waiting between them), each with its own ref; their replies. */
async function burst(socket: TestSocket, frames: object[]): Promise<Frame[]> {
  const replies = frames.map((_, i) => socket.next((f) => f.ref === `b${i}`))
  for (const [i, frame] of frames.entries()) socket.send({ ...frame, ref: `b${i}` })
  return Promise.all(replies)
}

t.test('search frames spend the socket frame budget like any other frame', async (t) => {
  // A token a second, bursts of two: the third frame sent at once is refused.
  const server = await startTestServer(t, { ...MANY_WRITES, wsRateLimit: 1 })
  const [ann, bob] = [await register(server.app), await register(server.app)]
  await send(server, ann, await createConversation(server.app, ann, [bob]), 'budget talk')
  const search = { type: 'search', q: 'budget' }

  const first = await connect(server.ws, ann.token)
  const spent = await burst(first, [search, search, { type: 'ping' }])
  t.same(
    spent.map((f) => f.type),
    ['search_results', 'search_results', 'error'],
  )
  t.equal(spent[2].code, 'RATE_LIMITED', 'two searches spent the budget a ping then lacks')

  const second = await connect(server.ws, ann.token)
  const refused = await burst(second, [{ type: 'ping' }, { type: 'ping' }, search])
  t.same(
    refused.map((f) => f.type),
    ['pong', 'pong', 'error'],
  )
  t.match(refused[2], { code: 'RATE_LIMITED', ref: 'b2' }, 'a search past the budget is refused with its ref')
  t.equal(first.closeCode, undefined, 'one refused frame does not close a socket')
  t.equal(second.closeCode, undefined)
  await first.close()
  await second.close()
})
