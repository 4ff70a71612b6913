import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { type Account, buildTestApp, createConversation, MANY_WRITES, register } from './helpers/app.js'

// GET /conversations is paged: ?limit= (default 50, max 200) and ?before=<next>, latest activity
// first, ordered by (last_activity_at, id) so paging never skips or repeats one.

async function list(app: FastifyInstance, who: Account, query = '') {
  const response = await app.inject({ method: 'GET', url: `/conversations${query}`, headers: who.auth })
  return { status: response.statusCode, body: response.json() }
}

/** Every conversation id, page by page, following `next`. */
async function allPages(app: FastifyInstance, who: Account, limit: number) {
  const ids: number[] = []
  let before: string | null = null
  for (let pages = 1; ; pages++) {
    const query: string = `?limit=${limit}${before === null ? '' : `&before=${encodeURIComponent(before)}`}`
    const page = await list(app, who, query)
    if (page.status !== 200) throw new Error(`page ${pages}: ${page.status} ${JSON.stringify(page.body)}`)
    ids.push(...page.body.conversations.map((c: { id: number }) => c.id))
    if (!page.body.has_more) {
      if (page.body.next !== null) throw new Error('the last page has a next')
      return { ids, pages }
    }
    before = page.body.next
  }
}

t.test('pages follow each other: latest activity first, nothing skipped or repeated', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  const ids: number[] = []
  for (let i = 0; i < 7; i++) ids.push(await createConversation(app, ann, [bob], `group ${i}`))
  // Activity moves two older ones to the top.
  for (const id of [ids[2], ids[0]]) {
    const sent = await app.inject({
      method: 'POST',
      url: `/conversations/${id}/messages`,
      headers: bob.auth,
      payload: { content: 'news' },
    })
    t.equal(sent.statusCode, 201)
  }
  const expected = [ids[0], ids[2], ids[6], ids[5], ids[4], ids[3], ids[1]]

  const first = await list(app, ann, '?limit=3')
  t.equal(first.status, 200)
  t.same(
    first.body.conversations.map((c: { id: number }) => c.id),
    expected.slice(0, 3),
  )
  t.equal(first.body.has_more, true)
  t.type(first.body.next, 'string', 'next is an opaque string')
  t.equal(first.body.conversations[0].unread_count, 1, 'a page carries the unread counts')

  const paged = await allPages(app, ann, 3)
  t.same(paged.ids, expected, 'all seven, once each, in order')
  t.equal(paged.pages, 3)
  const whole = await list(app, ann)
  t.same(
    whole.body.conversations.map((c: { id: number }) => c.id),
    expected,
    'without limit: one page',
  )
  t.equal(whole.body.has_more, false)
  t.equal(whole.body.next, null)

  // Every conversation with the same activity time: the id decides, and paging still holds.
  await app.ctx.db
    .updateTable('conversations')
    .set({ last_activity_at: '2026-01-01T00:00:00.000Z' })
    .where('id', 'in', ids)
    .execute()
  t.same(
    (await allPages(app, ann, 2)).ids,
    [...ids].sort((a, b) => b - a),
    'ties: by id, descending',
  )
})

t.test('the default page is 50, the largest 200; a bad before or limit is 400', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  for (let i = 0; i < 52; i++) await createConversation(app, ann, [bob], `g${i}`)
  const first = await list(app, ann)
  t.equal(first.body.conversations.length, 50, 'default limit 50')
  t.equal(first.body.has_more, true)
  const rest = await list(app, ann, `?before=${first.body.next}`)
  t.equal(rest.body.conversations.length, 2)
  t.equal(rest.body.has_more, false)
  t.equal((await list(app, ann, '?limit=200')).body.conversations.length, 52)

  const bad = [
    '?limit=0',
    '?limit=201',
    '?before=',
    '?before=not%20a%20cursor',
    `?before=${Buffer.from('["yesterday", 3]').toString('base64url')}`,
    `?before=${Buffer.from('["2026-01-01T00:00:00.000Z", -1]').toString('base64url')}`,
    `?before=${Buffer.from('{"a":1}').toString('base64url')}`,
    '?before=%7B%7D',
    '?unknown=1',
  ]
  for (const query of bad) {
    const response = await list(app, ann, query)
    t.equal(response.status, 400, `${query}: 400`)
    t.equal(response.body.code, 'BAD_REQUEST')
    t.same(Object.keys(response.body).sort(), ['code', 'error', 'message', 'statusCode'])
  }
})
