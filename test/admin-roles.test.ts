import t from 'tap'
import { type Account, createConversation, register, startTestServer } from './helpers/app.js'
import { connect } from './helpers/ws.js'

// Roles and deactivation (PATCH /users/:id, POST /users/:id/deactivate|reactivate) and admin
// moderation of messages.

const PASSWORD = 'correct horse battery'

t.test('PATCH /users/:id sets a role; LAST_ADMIN; a role change applies at once', async (t) => {
  const { app, ws } = await startTestServer(t)
  const admin = await register(app, 'ro_admin')
  const ann = await register(app, 'ro_ann')
  const patch = (who: Account, id: number, body: unknown) =>
    app.inject({ method: 'PATCH', url: `/users/${id}`, headers: who.auth, payload: body as object })

  // Ann's session is cached as a user's: a promotion must reach it at once.
  t.equal((await app.inject({ url: '/users', headers: ann.auth })).statusCode, 403)
  const socket = await connect(ws, ann.token)
  t.equal((await patch(ann, ann.id, { role: 'admin' })).statusCode, 403, 'a non-admin may not')
  const promoted = await patch(admin, ann.id, { role: 'admin' })
  t.equal(promoted.statusCode, 200)
  t.equal(promoted.json().user.role, 'admin')
  t.equal(promoted.json().user.deactivated, false)
  t.equal(
    (await app.inject({ url: '/users', headers: ann.auth })).statusCode,
    200,
    'the cached session sees it',
  )
  const connection = [...app.realtime.connections.all()].find((c) => c.userId === ann.id)
  t.equal(connection?.role, 'admin', 'the open socket holds the new role')

  t.equal((await patch(admin, ann.id, { role: 'owner' })).statusCode, 400, 'an unknown role is 400')
  t.equal((await patch(admin, ann.id, { role: 'admin', x: 1 })).statusCode, 400)
  t.equal((await patch(admin, 999_999, { role: 'user' })).statusCode, 404)

  // Two admins: one may demote the other, then the last one cannot be demoted.
  t.equal((await patch(ann, admin.id, { role: 'user' })).statusCode, 200)
  t.equal((await app.inject({ url: '/users', headers: admin.auth })).statusCode, 403, 'demoted at once')
  const last = await patch(ann, ann.id, { role: 'user' })
  t.equal(last.statusCode, 409)
  t.equal(last.json().code, 'LAST_ADMIN')
  t.equal((await patch(ann, ann.id, { role: 'admin' })).statusCode, 200, 'setting the same role is fine')
  await socket.close()
})

t.test(
  'deactivation: sessions end, sockets close 4003, login 403, messages stay; reactivation',
  async (t) => {
    const { app, ws } = await startTestServer(t)
    const admin = await register(app, 'de_admin')
    const bob = await register(app, 'de_bob')
    const conversation = await createConversation(app, admin, [bob])
    const sent = await app.inject({
      method: 'POST',
      url: `/conversations/${conversation}/messages`,
      headers: bob.auth,
      payload: { content: 'still here' },
    })
    t.equal(sent.statusCode, 201)
    const token = await app.inject({
      method: 'POST',
      url: '/auth/tokens',
      headers: bob.auth,
      payload: { name: 'script' },
    })
    const secret = token.json().secret as string
    const socket = await connect(ws, bob.token)
    const tokenSocket = await connect(ws, secret)

    t.equal(
      (await app.inject({ method: 'POST', url: `/users/${bob.id}/deactivate`, headers: bob.auth }))
        .statusCode,
      403,
    )
    const done = await app.inject({ method: 'POST', url: `/users/${bob.id}/deactivate`, headers: admin.auth })
    t.equal(done.statusCode, 200)
    t.equal(done.json().user.deactivated, true)
    t.equal(await socket.whenClosed(), 4003, 'the session socket closes with 4003')
    t.equal(await tokenSocket.whenClosed(), 4003, 'the token socket too')
    t.equal(
      (await app.inject({ url: '/auth/check', headers: bob.auth })).statusCode,
      401,
      'the session ended',
    )
    t.equal(
      (await app.inject({ url: '/auth/check', headers: { authorization: `Bearer ${secret}` } })).statusCode,
      401,
    )
    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'de_bob', password: PASSWORD },
    })
    t.equal(login.statusCode, 403)
    t.equal(login.json().code, 'ACCOUNT_DEACTIVATED')
    const wrong = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'de_bob', password: 'nope nope' },
    })
    t.equal(wrong.statusCode, 401, 'a wrong password still says only that')
    const shown = await app.inject({ url: `/users/${bob.id}`, headers: admin.auth })
    t.equal(shown.json().user.deactivated, true, 'shown as deactivated')
    const history = await app.inject({ url: `/conversations/${conversation}/messages`, headers: admin.auth })
    t.equal(history.json().messages[0].content, 'still here', 'messages stay')

    const self = await app.inject({
      method: 'POST',
      url: `/users/${admin.id}/deactivate`,
      headers: admin.auth,
    })
    t.equal(self.statusCode, 400, 'not oneself')
    t.equal(
      (await app.inject({ method: 'POST', url: '/users/999999/deactivate', headers: admin.auth })).statusCode,
      404,
    )

    const back = await app.inject({ method: 'POST', url: `/users/${bob.id}/reactivate`, headers: admin.auth })
    t.equal(back.statusCode, 200)
    t.equal(back.json().user.deactivated, false)
    t.equal(
      (await app.inject({ url: '/auth/check', headers: bob.auth })).statusCode,
      401,
      'ended sessions stay ended',
    )
    t.equal(
      (await app.inject({ url: '/auth/check', headers: { authorization: `Bearer ${secret}` } })).statusCode,
      401,
    )
    const again = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'de_bob', password: PASSWORD },
    })
    t.equal(again.statusCode, 200, 'logs in again')
  },
)

t.test('a deactivated admin does not count: the other one is the last admin', async (t) => {
  const { app } = await startTestServer(t)
  const first = await register(app, 'la_first')
  const second = await register(app, 'la_second')
  const promote = await app.inject({
    method: 'PATCH',
    url: `/users/${second.id}`,
    headers: first.auth,
    payload: { role: 'admin' },
  })
  t.equal(promote.statusCode, 200)
  const off = await app.inject({ method: 'POST', url: `/users/${first.id}/deactivate`, headers: second.auth })
  t.equal(off.statusCode, 200, 'one of two admins may be deactivated')
  // The deactivated admin no longer counts: the other is the last one.
  const demote = await app.inject({
    method: 'PATCH',
    url: `/users/${second.id}`,
    headers: second.auth,
    payload: { role: 'user' },
  })
  t.equal(demote.statusCode, 409)
  t.equal(demote.json().code, 'LAST_ADMIN')
})

t.test(
  'an admin deletes any message of a conversation they are in; recorded as deleted by them',
  async (t) => {
    const { app, ws } = await startTestServer(t)
    const admin = await register(app, 'mo_admin')
    const ann = await register(app, 'mo_ann')
    const bob = await register(app, 'mo_bob')
    const group = await createConversation(app, ann, [admin, bob], 'moderated')
    const post = async (who: Account, content: string, conversation = group) =>
      (
        await app.inject({
          method: 'POST',
          url: `/conversations/${conversation}/messages`,
          headers: who.auth,
          payload: { content },
        })
      ).json().message.id as number
    const first = await post(bob, 'rude')
    const second = await post(ann, 'also rude')
    const socket = await connect(ws, ann.token)

    const byUser = await app.inject({
      method: 'DELETE',
      url: `/conversations/${group}/messages/${first}`,
      headers: ann.auth,
    })
    t.equal(byUser.statusCode, 403, 'a member may not delete another member’s message')
    const byAdmin = await app.inject({
      method: 'DELETE',
      url: `/conversations/${group}/messages/${first}`,
      headers: admin.auth,
    })
    t.equal(byAdmin.statusCode, 204)
    const frame = await socket.next('message_deleted')
    t.equal(frame.deleted_by, admin.id, 'the frame says who deleted it')
    const changes = await app.inject({ url: `/conversations/${group}/changes?cursor=0`, headers: ann.auth })
    const tomb = changes.json().messages.find((m: { id: number }) => m.id === first)
    t.match(tomb, { deleted: true, content: null, deleted_by: admin.id })

    // Over the socket too.
    const adminSocket = await connect(ws, admin.token)
    const ack = await adminSocket.request({
      type: 'delete_message',
      conversation_id: group,
      message_id: second,
    })
    t.equal(ack.type, 'ack')
    const audit = await app.inject({ url: '/admin/audit', headers: admin.auth })
    const moderated = audit.json().entries.filter((e: { action: string }) => e.action === 'message_deleted')
    t.equal(moderated.length, 2, 'each moderation is in the audit log')
    t.match(moderated[1], { actor_id: admin.id, target_user_id: bob.id, details: { message_id: first } })

    // Not a member: still 404.
    const other = await createConversation(app, ann, [bob], 'private')
    const hidden = await post(bob, 'x', other)
    t.equal(
      (
        await app.inject({
          method: 'DELETE',
          url: `/conversations/${other}/messages/${hidden}`,
          headers: admin.auth,
        })
      ).statusCode,
      404,
    )
    await socket.close()
    await adminSocket.close()
  },
)
