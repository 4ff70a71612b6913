import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { type Account, buildTestApp, createConversation, MANY_WRITES, register } from './helpers/app.js'

// GET /search: the filters (conversation, project, sender, dates, attachments) and paging.

async function get(app: FastifyInstance, who: Account, url: string) {
  const response = await app.inject({ method: 'GET', url, headers: who.auth })
  return { status: response.statusCode, body: response.json() }
}

async function send(app: FastifyInstance, who: Account, conversationId: number, content: string) {
  const response = await app.inject({
    method: 'POST',
    url: `/conversations/${conversationId}/messages`,
    headers: who.auth,
    payload: { content },
  })
  if (response.statusCode !== 201) throw new Error(`send failed: ${response.body}`)
  return response.json().message as { id: number; created_at: string }
}

const ids = (body: { results: Array<{ message: { id: number } }> }) => body.results.map((r) => r.message.id)

t.test('filters: conversation, project, sender, attachments', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  const direct = await createConversation(app, ann, [bob])
  const group = await createConversation(app, ann, [bob], 'Group')
  const project = await app.inject({
    method: 'POST',
    url: '/projects',
    headers: ann.auth,
    payload: { name: 'Apollo', member_ids: [bob.id] },
  })
  const { id: projectId, conversation_id: projectConversation } = project.json().project
  const inDirect = await send(app, ann, direct, 'budget review')
  const inGroup = await send(app, bob, group, 'budget numbers')
  const inProject = await send(app, ann, projectConversation, 'budget for apollo')
  const all = await get(app, ann, '/search?q=budget')
  t.same(ids(all.body), [inProject.id, inGroup.id, inDirect.id])
  t.same(ids((await get(app, ann, `/search?q=budget&conversation_id=${group}`)).body), [inGroup.id])
  t.same(ids((await get(app, ann, `/search?q=budget&project_id=${projectId}`)).body), [inProject.id])
  t.same(
    ids((await get(app, ann, `/search?q=budget&project_id=${projectId}&conversation_id=${group}`)).body),
    [],
  )
  t.same(ids((await get(app, ann, `/search?q=budget&from=${bob.id}`)).body), [inGroup.id])

  const boundary = 'searchboundary'
  const upload = await app.inject({
    method: 'POST',
    url: `/conversations/${group}/files`,
    headers: {
      ...bob.auth,
      'content-type': `multipart/form-data; boundary=${boundary}`,
    },
    payload: `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="budget.txt"\r\nContent-Type: text/plain\r\n\r\nnumbers\r\n--${boundary}--\r\n`,
  })
  t.equal(upload.statusCode, 201)
  const withFile = upload.json().message
  t.match(withFile.content, /budget/, 'the message of an upload names the file')
  t.same(
    ids((await get(app, ann, '/search?q=budget&has=file')).body),
    [withFile.id],
    'only messages with attachments',
  )
  t.same(ids((await get(app, ann, '/search?q=budget')).body).length, 4)
  t.equal((await get(app, ann, '/search?q=budget&project_id=999999')).status, 404, 'a project I cannot see')
})

t.test('dates: after inclusive, before exclusive, as dates or date-times', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  const room = await createConversation(app, ann, [bob])
  const first = await send(app, ann, room, 'timeline entry one')
  await new Promise((resolve) => setTimeout(resolve, 5))
  const second = await send(app, ann, room, 'timeline entry two')
  const at = (created: string) => encodeURIComponent(created)
  t.same(
    ids((await get(app, ann, `/search?q=timeline&after=${at(second.created_at)}`)).body),
    [second.id],
    'after is inclusive',
  )
  t.same(
    ids((await get(app, ann, `/search?q=timeline&before=${at(second.created_at)}`)).body),
    [first.id],
    'before is exclusive',
  )
  const today = first.created_at.slice(0, 10)
  const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
  t.same(
    ids((await get(app, ann, `/search?q=timeline&after=${today}`)).body),
    [second.id, first.id],
    'a date is its midnight UTC',
  )
  t.same(ids((await get(app, ann, `/search?q=timeline&before=${today}`)).body), [])
  t.same(ids((await get(app, ann, `/search?q=timeline&after=${today}&before=${tomorrow}`)).body), [
    second.id,
    first.id,
  ])
  t.same(ids((await get(app, ann, `/search?q=timeline&after=${tomorrow}`)).body), [])
  const offset = encodeURIComponent(`${today}T00:00:00+01:00`)
  t.same(
    ids((await get(app, ann, `/search?q=timeline&after=${offset}`)).body).length,
    2,
    'a date-time with an offset',
  )
})

t.test('paging by cursor: newest first, no duplicates, no gaps', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  const room = await createConversation(app, ann, [bob])
  const other = await createConversation(app, bob, [await register(app)])
  const sent: number[] = []
  for (let i = 0; i < 23; i++) {
    sent.push((await send(app, i % 2 ? bob : ann, room, `report number ${i}`)).id)
    await send(app, bob, other, `report elsewhere ${i}`)
  }
  const seen: number[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const query: string = `/search?q=report&limit=5${cursor ? `&cursor=${cursor}` : ''}`
    const page = await get(app, ann, query)
    t.equal(page.status, 200)
    t.ok(page.body.results.length <= 5)
    seen.push(...ids(page.body))
    t.equal(page.body.has_more, page.body.cursor !== null)
    cursor = page.body.cursor
    pages++
  } while (cursor)
  t.same(seen, [...sent].reverse(), 'every message once, newest first')
  t.equal(pages, 5)
  const defaults = await get(app, ann, '/search?q=report')
  t.equal(defaults.body.results.length, 20, 'limit defaults to 20')
  t.equal(defaults.body.has_more, true)
  const max = await get(app, ann, '/search?q=report&limit=100')
  t.equal(max.body.results.length, 23)
  t.equal(max.body.has_more, false)
  t.equal(max.body.cursor, null)
})
