import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { type Account, buildTestApp, createConversation, MANY_WRITES, register } from './helpers/app.js'

// GET /search/files (files I can see, by name) and GET /conversations/:id/messages?around=.

async function get(app: FastifyInstance, who: Account, url: string) {
  const response = await app.inject({ method: 'GET', url, headers: who.auth })
  return { status: response.statusCode, body: response.json() }
}

const BOUNDARY = 'filesearchboundary'
async function upload(app: FastifyInstance, who: Account, url: string, name: string) {
  const response = await app.inject({
    method: 'POST',
    url,
    headers: { ...who.auth, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    payload: `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\nbytes\r\n--${BOUNDARY}--\r\n`,
  })
  if (response.statusCode !== 201) throw new Error(`upload failed: ${response.body}`)
  return response.json()
}

const names = (body: { files: Array<{ name: string }> }) => body.files.map((file) => file.name)

t.test('files by name: only those I can see, every word, case ignored, paged', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob, cat] = [await register(app), await register(app), await register(app)]
  const project = (
    await app.inject({
      method: 'POST',
      url: '/projects',
      headers: ann.auth,
      payload: { name: 'Docs', member_ids: [bob.id] },
    })
  ).json().project
  const room = await createConversation(app, ann, [bob])
  const hidden = await createConversation(app, bob, [cat])
  await upload(app, ann, `/projects/${project.id}/files`, 'Quarterly-Report.pdf')
  await upload(app, bob, `/conversations/${room}/files`, 'report_draft.txt')
  await upload(app, cat, `/conversations/${hidden}/files`, 'secret report.txt')
  await upload(app, ann, `/conversations/${room}/files`, 'holiday 100%.png')

  const mine = await get(app, ann, '/search/files?q=REPORT')
  t.equal(mine.status, 200)
  t.same(names(mine.body), ['report_draft.txt', 'Quarterly-Report.pdf'], 'newest first, not the hidden one')
  t.same(Object.keys(mine.body.files[0]).sort(), [
    'content_type',
    'conversation_id',
    'created_at',
    'height',
    'id',
    'name',
    'project_id',
    'sha256',
    'size',
    'thumbnail_url',
    'uploaded_by',
    'width',
  ])
  t.same(names((await get(app, ann, '/search/files?q=report%20draft')).body), ['report_draft.txt'])
  t.same(
    names((await get(app, ann, '/search/files?q=100%25')).body),
    ['holiday 100%.png'],
    'a % is a character',
  )
  t.same(names((await get(app, ann, `/search/files?q=report&project_id=${project.id}`)).body), [
    'Quarterly-Report.pdf',
  ])
  t.same(names((await get(app, ann, `/search/files?q=report&conversation_id=${room}`)).body), [
    'report_draft.txt',
  ])
  const outsider = await get(app, ann, `/search/files?q=report&conversation_id=${hidden}`)
  t.equal(outsider.status, 200, 'nothing I can see: 200 and no files')
  t.same(outsider.body, { files: [], has_more: false, cursor: null })
  t.same((await get(app, cat, `/search/files?q=report&project_id=${project.id}`)).body.files, [])

  const first = await get(app, ann, '/search/files?q=report&limit=1')
  t.equal(first.body.has_more, true)
  const second = await get(app, ann, `/search/files?q=report&limit=1&cursor=${first.body.cursor}`)
  t.same(names(second.body), ['Quarterly-Report.pdf'])
  t.equal(second.body.has_more, false)
  t.equal((await get(app, ann, '/search/files')).status, 400, 'q is required')
  t.equal((await get(app, ann, '/search/files?q=%20')).status, 400)
})

t.test('around: a page centred on a message, oldest first', async (t) => {
  const app = await buildTestApp(t, MANY_WRITES)
  const [ann, bob] = [await register(app), await register(app)]
  const room = await createConversation(app, ann, [bob])
  const sent: number[] = []
  for (let i = 0; i < 12; i++) {
    const response = await app.inject({
      method: 'POST',
      url: `/conversations/${room}/messages`,
      headers: ann.auth,
      payload: { content: `line ${i}` },
    })
    sent.push(response.json().message.id)
  }
  const middle = await get(app, bob, `/conversations/${room}/messages?around=${sent[6]}&limit=4`)
  t.equal(middle.status, 200)
  t.same(
    middle.body.messages.map((m: { id: number }) => m.id),
    sent.slice(5, 9),
    'half before (the message included), half after',
  )
  t.same(Object.keys(middle.body).sort(), ['has_more_after', 'has_more_before', 'messages'])
  t.equal(middle.body.has_more_before, true)
  t.equal(middle.body.has_more_after, true)
  const start = await get(app, bob, `/conversations/${room}/messages?around=${sent[0]}&limit=4`)
  t.same(
    start.body.messages.map((m: { id: number }) => m.id),
    sent.slice(0, 3),
  )
  t.equal(start.body.has_more_before, false)
  t.equal(start.body.has_more_after, true)
  const end = await get(app, bob, `/conversations/${room}/messages?around=${sent[11]}`)
  t.same(
    end.body.messages.map((m: { id: number }) => m.id),
    sent,
    'the default limit holds them all',
  )
  t.equal(end.body.has_more_after, false)
  const plain = await get(app, bob, `/conversations/${room}/messages?limit=2`)
  t.same(
    Object.keys(plain.body).sort(),
    ['has_more', 'messages'],
    'without around: the history page as before',
  )
  const other = await createConversation(app, bob, [await register(app)])
  t.equal(
    (await get(app, bob, `/conversations/${other}/messages?around=${sent[3]}`)).status,
    404,
    'a message of another conversation',
  )
  t.equal((await get(app, bob, `/conversations/${room}/messages?around=abc`)).status, 400)
})
