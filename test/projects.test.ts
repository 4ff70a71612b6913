import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { type Account, register, startTestServer } from './helpers/app.js'
import { connect } from './helpers/ws.js'

// Projects: their members ARE their conversation's members, so every membership change shows in
// the conversation, in file access, and on the sockets at once.

// biome-ignore lint/suspicious/noExplicitAny: test payloads
type Json = Record<string, any>

async function setup(t: Parameters<typeof startTestServer>[0]) {
  return startTestServer(t, { authRateLimit: 10_000 })
}

async function api(app: FastifyInstance, who: Account | null, method: string, url: string, payload?: object) {
  const response = await app.inject({
    method: method as 'GET',
    url,
    headers: who ? who.auth : {},
    ...(payload ? { payload } : {}),
  })
  const isJson = String(response.headers['content-type'] ?? '').startsWith('application/json')
  return { status: response.statusCode, body: isJson ? (response.json() as Json) : ({} as Json) }
}

const PROJECT_KEYS = ['conversation_id', 'created_at', 'description', 'id', 'name', 'owner_id']
const ids = (users: Json[]) => users.map((user) => user.id)

async function live(ws: string, who: Account) {
  const socket = await connect(ws, who.token)
  return {
    next: async (match: (frame: Json) => boolean, timeoutMs?: number) =>
      (await socket.next(match, timeoutMs)) as Json,
    quiet: (match: (frame: Json) => boolean, ms?: number) => socket.quiet(match, ms),
    close: () => socket.close(),
  }
}

t.test('POST /projects: a project with its own project conversation and members', async (t) => {
  const { app, ws } = await setup(t)
  const owner = await register(app)
  const ann = await register(app)
  const outsider = await register(app)
  const annSocket = await live(ws, ann)
  t.teardown(annSocket.close)

  const created = await api(app, owner, 'POST', '/projects', {
    name: '  Apollo  ',
    description: 'Moon',
    member_ids: [ann.id, owner.id, ann.id],
  })
  t.equal(created.status, 201)
  const project = created.body.project
  t.same(Object.keys(project).sort(), PROJECT_KEYS)
  t.match(project, { name: 'Apollo', description: 'Moon', owner_id: owner.id })
  t.same(ids(created.body.members), [owner.id, ann.id])

  // its conversation: kind project, titled with the name, the same members
  const conversation = await api(app, ann, 'GET', `/conversations/${project.conversation_id}`)
  t.equal(conversation.status, 200)
  t.match(conversation.body.conversation, { kind: 'project', title: 'Apollo', project_id: project.id })
  t.same(ids(conversation.body.conversation.members), [owner.id, ann.id])
  const heard = await annSocket.next((f) => f.type === 'conversation')
  t.equal(heard.conversation.id, project.conversation_id, 'members hear of it at once')

  const mine = await api(app, ann, 'GET', '/projects')
  t.equal(mine.status, 200)
  t.same(mine.body.projects, [project])
  t.same((await api(app, outsider, 'GET', '/projects')).body.projects, [])

  const one = await api(app, ann, 'GET', `/projects/${project.id}`)
  t.equal(one.status, 200)
  t.same(one.body.project, project)
  t.same(ids(one.body.members), [owner.id, ann.id])
  t.same(Object.keys(one.body.members[0]).sort(), [
    'avatar_url',
    'created_at',
    'deactivated',
    'deleted',
    'display_name',
    'id',
    'last_seen_at',
    'online',
    'role',
    'username',
  ])

  // newest first; alone is fine too
  const solo = await api(app, owner, 'POST', '/projects', { name: 'Gemini' })
  t.equal(solo.status, 201)
  t.equal(solo.body.project.description, '')
  t.same(
    (await api(app, owner, 'GET', '/projects')).body.projects.map((p: Json) => p.name),
    ['Gemini', 'Apollo'],
  )
})

t.test('POST /projects: invalid input is 400', async (t) => {
  const { app } = await setup(t)
  const owner = await register(app)
  for (const body of [
    {},
    { name: '' },
    { name: '   ' },
    { name: 'x'.repeat(101) },
    { name: 'ok', description: 'x'.repeat(2001) },
    { name: 'ok', member_ids: ['a'] },
    { name: 'ok', extra: 1 },
    { name: 5 },
  ]) {
    const response = await api(app, owner, 'POST', '/projects', body)
    t.equal(response.status, 400, JSON.stringify(body).slice(0, 60))
    t.equal(response.body.code, 'BAD_REQUEST')
  }
  const unknown = await api(app, owner, 'POST', '/projects', { name: 'ok', member_ids: [424242] })
  t.equal(unknown.status, 400)
  t.equal(unknown.body.code, 'UNKNOWN_MEMBER')
  t.same((await api(app, owner, 'GET', '/projects')).body.projects, [], 'nothing was created')
  t.equal((await api(app, null, 'POST', '/projects', { name: 'ok' })).status, 401)
  t.equal((await api(app, null, 'GET', '/projects')).status, 401)
})

t.test('members: the owner adds and removes; a member leaves; the owner cannot leave', async (t) => {
  const { app, ws } = await setup(t)
  const owner = await register(app)
  const ann = await register(app)
  const ben = await register(app)
  const cid = await register(app)
  const outsider = await register(app)
  const project = (await api(app, owner, 'POST', '/projects', { name: 'Apollo', member_ids: [ann.id] })).body
    .project
  const base = `/projects/${project.id}`

  // add: owner only; 201, then 200 for someone already in
  const benSocket = await live(ws, ben)
  t.teardown(benSocket.close)
  const added = await api(app, owner, 'POST', `${base}/members`, { user_id: ben.id })
  t.equal(added.status, 201)
  t.same(ids(added.body.members), [owner.id, ann.id, ben.id])
  const heard = await benSocket.next((f) => f.type === 'conversation')
  t.equal(heard.conversation.id, project.conversation_id, 'the new member hears of the conversation')
  t.equal((await api(app, owner, 'POST', `${base}/members`, { user_id: ben.id })).status, 200)
  const byMember = await api(app, ann, 'POST', `${base}/members`, { user_id: cid.id })
  t.equal(byMember.status, 403)
  t.equal(byMember.body.code, 'FORBIDDEN')
  t.equal((await api(app, outsider, 'POST', `${base}/members`, { user_id: outsider.id })).status, 404)
  t.equal((await api(app, owner, 'POST', `${base}/members`, { user_id: 424242 })).status, 404)
  t.equal((await api(app, owner, 'POST', `${base}/members`, { user_id: 'x' })).status, 400)
  const conversation = await api(app, ben, 'GET', `/conversations/${project.conversation_id}`)
  t.same(ids(conversation.body.conversation.members), [owner.id, ann.id, ben.id], 'the conversation follows')

  // the project conversation's membership is only changed through the project
  const sideDoor = await api(app, owner, 'POST', `/conversations/${project.conversation_id}/members`, {
    user_id: cid.id,
  })
  t.equal(sideDoor.status, 400)

  // remove: a member may not remove another; the owner may; a member may leave
  t.equal((await api(app, ann, 'DELETE', `${base}/members/${ben.id}`)).status, 403)
  t.equal((await api(app, ann, 'DELETE', `${base}/members/${owner.id}`)).status, 403)
  t.equal((await api(app, outsider, 'DELETE', `${base}/members/${ben.id}`)).status, 404)
  t.equal((await api(app, owner, 'DELETE', `${base}/members/${cid.id}`)).status, 404, 'not a member')
  t.equal((await api(app, owner, 'DELETE', `${base}/members/${ben.id}`)).status, 204)
  t.equal((await api(app, ben, 'GET', base)).status, 404, 'removed: the project is gone for them')
  t.equal((await api(app, ben, 'GET', `/conversations/${project.conversation_id}`)).status, 404)
  t.notOk(
    (await api(app, ben, 'GET', '/conversations')).body.conversations.some(
      (c: Json) => c.id === project.conversation_id,
    ),
  )
  t.same((await api(app, ben, 'GET', '/projects')).body.projects, [])

  t.equal((await api(app, ann, 'DELETE', `${base}/members/${ann.id}`)).status, 204, 'a member leaves')
  t.equal((await api(app, ann, 'GET', base)).status, 404)

  const ownerLeaves = await api(app, owner, 'DELETE', `${base}/members/${owner.id}`)
  t.equal(ownerLeaves.status, 400)
  t.equal(ownerLeaves.body.code, 'OWNER_CANNOT_LEAVE')
  t.match(ownerLeaves.body.message, /delete/)
  const left = await api(app, owner, 'GET', base)
  t.same(ids(left.body.members), [owner.id])
})

t.test('a removed member loses the project at once: HTTP 404 and no more live messages', async (t) => {
  const { app, ws, http } = await setup(t)
  const owner = await register(app)
  const ann = await register(app)
  const ben = await register(app)
  const project = (
    await api(app, owner, 'POST', '/projects', { name: 'Apollo', member_ids: [ann.id, ben.id] })
  ).body.project
  const cid = project.conversation_id
  const annSocket = await live(ws, ann)
  const benSocket = await live(ws, ben)
  t.teardown(annSocket.close)
  t.teardown(benSocket.close)

  // before: both hear messages and uploads
  await api(app, owner, 'POST', `/conversations/${cid}/messages`, { content: 'hello all' })
  t.equal((await annSocket.next((f) => f.type === 'message')).message.content, 'hello all')
  t.equal((await benSocket.next((f) => f.type === 'message')).message.content, 'hello all')
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array([1, 0, 2, 0, 3])]), 'plan.bin')
  const uploaded = await fetch(`${http}/projects/${project.id}/files`, {
    method: 'POST',
    body: form,
    headers: owner.auth,
  })
  t.equal(uploaded.status, 201)
  const { file } = (await uploaded.json()) as Json
  const announcement = await benSocket.next((f) => f.type === 'message' && f.message.attachments.length === 1)
  t.equal(announcement.message.attachments[0].id, file.id, 'the upload is announced live')
  t.equal((await api(app, ben, 'GET', `/files/${file.id}`)).status, 200)

  // ben is removed
  t.equal((await api(app, owner, 'DELETE', `/projects/${project.id}/members/${ben.id}`)).status, 204)
  const removed = await benSocket.next((f) => f.type === 'member_removed')
  t.match(removed, { conversation_id: cid, user_id: ben.id })

  // at once, on every route
  for (const [method, url] of [
    ['GET', `/projects/${project.id}`],
    ['GET', `/projects/${project.id}/files`],
    ['GET', `/files/${file.id}`],
    ['GET', `/conversations/${cid}`],
    ['GET', `/conversations/${cid}/messages`],
  ]) {
    t.equal((await api(app, ben, method, url)).status, 404, `${method} ${url}`)
  }
  const post = await api(app, ben, 'POST', `/conversations/${cid}/messages`, { content: 'still here?' })
  t.equal(post.status, 404)

  // and on the socket: ann hears the next message, ben does not
  await api(app, owner, 'POST', `/conversations/${cid}/messages`, { content: 'after ben' })
  const after = await annSocket.next((f) => f.type === 'message' && f.message.content === 'after ben')
  t.equal(after.message.sender_id, owner.id, 'the remaining member hears it')
  t.same(
    await benSocket.quiet((f) => f.type === 'message' || f.type === 'message_updated', 400),
    [],
    'no message reaches the removed member',
  )
})

t.test('DELETE /projects/:id: the owner deletes it with its conversation and messages', async (t) => {
  const { app, ws } = await setup(t)
  const owner = await register(app)
  const ann = await register(app)
  const outsider = await register(app)
  const project = (await api(app, owner, 'POST', '/projects', { name: 'Apollo', member_ids: [ann.id] })).body
    .project
  const cid = project.conversation_id
  const sent = await api(app, ann, 'POST', `/conversations/${cid}/messages`, { content: 'hi' })
  t.equal(sent.status, 201)
  const annSocket = await live(ws, ann)
  t.teardown(annSocket.close)

  t.equal((await api(app, ann, 'DELETE', `/projects/${project.id}`)).status, 403, 'a member may not')
  t.equal((await api(app, outsider, 'DELETE', `/projects/${project.id}`)).status, 404)
  t.equal((await api(app, owner, 'DELETE', `/projects/${project.id}`)).status, 204)
  const gone = await annSocket.next((f) => f.type === 'conversation_deleted')
  t.match(gone, { conversation_id: cid, project_id: project.id })

  for (const who of [owner, ann]) {
    t.equal((await api(app, who, 'GET', `/projects/${project.id}`)).status, 404)
    t.equal((await api(app, who, 'GET', `/conversations/${cid}`)).status, 404)
    t.same((await api(app, who, 'GET', '/projects')).body.projects, [])
  }
  t.equal((await api(app, owner, 'DELETE', `/projects/${project.id}`)).status, 404, 'only once')
  const rows = await app.ctx.db
    .selectFrom('messages')
    .select('id')
    .where('conversation_id', '=', cid)
    .execute()
  t.same(rows, [], 'its messages are gone')
  const members = await app.ctx.db
    .selectFrom('conversation_members')
    .select('user_id')
    .where('conversation_id', '=', cid)
    .execute()
  t.same(members, [])
  // sending to it now fails like any unknown conversation
  const late = await api(app, ann, 'POST', `/conversations/${cid}/messages`, { content: 'anyone?' })
  t.equal(late.status, 404)
})

t.test('non-members get 404 on every project route', async (t) => {
  const { app } = await setup(t)
  const owner = await register(app)
  const outsider = await register(app)
  const project = (await api(app, owner, 'POST', '/projects', { name: 'Apollo' })).body.project
  for (const [method, url, payload] of [
    ['GET', `/projects/${project.id}`],
    ['DELETE', `/projects/${project.id}`],
    ['POST', `/projects/${project.id}/members`, { user_id: outsider.id }],
    ['DELETE', `/projects/${project.id}/members/${owner.id}`],
    ['DELETE', `/projects/${project.id}/members/${outsider.id}`],
    ['GET', `/projects/${project.id}/files`],
    ['GET', `/conversations/${project.conversation_id}`],
  ] as Array<[string, string, object?]>) {
    const response = await api(app, outsider, method, url, payload)
    t.equal(response.status, 404, `${method} ${url}`)
    t.match(response.body, { statusCode: 404, code: 'NOT_FOUND', error: 'Not Found' }, `${method} ${url}`)
    const missing = await api(
      app,
      owner,
      method,
      url.replace(`/projects/${project.id}`, '/projects/999999'),
      payload,
    )
    if (url.startsWith('/projects'))
      t.equal(missing.status, 404, `the same as a missing project: ${url} ${JSON.stringify(missing.body)}`)
  }
  t.equal((await api(app, owner, 'GET', `/projects/${project.id}`)).status, 200, 'nothing changed')
})

t.test('an owner who deletes their account hands the project to the member who joined first', async (t) => {
  const { app } = await setup(t)
  const [owner, bob, cat] = [await register(app), await register(app), await register(app)]
  const created = await api(app, owner, 'POST', '/projects', {
    name: 'Handover',
    member_ids: [bob.id, cat.id],
  })
  t.equal(created.status, 201)
  const id = created.body.project.id
  const deleted = await api(app, owner, 'DELETE', '/auth/user', { password: 'correct horse battery' })
  t.equal(deleted.status, 204)
  const seen = await api(app, bob, 'GET', `/projects/${id}`)
  t.equal(seen.body.project.owner_id, bob.id, 'the first remaining member owns it now')
  t.notOk(ids(seen.body.members).includes(owner.id), 'the deleted owner is no longer a member')
  const dan = await register(app)
  const added = await api(app, bob, 'POST', `/projects/${id}/members`, { user_id: dan.id })
  t.equal(added.status, 201, 'and can manage its members')
  t.equal((await api(app, cat, 'POST', `/projects/${id}/members`, { user_id: dan.id })).status, 403)
})
