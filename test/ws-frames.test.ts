import t from 'tap'
import { createConversation, register, startTestServer, type TestContext } from './helpers/app.js'
import { connect, type Frame, type TestSocket } from './helpers/ws.js'

// What the frames the server sends carry and in which order: cursors on live changes, refs on
// errors, typing that lapses, the creator's own sockets told of a new conversation, ack first.

async function setup(t: TestContext, overrides = {}) {
  const server = await startTestServer(t, overrides)
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const id = await createConversation(server.app, ann, [bob])
  return { server, ann, bob, id }
}

const LIVE_CHANGES = new Set(['message', 'message_updated', 'message_deleted'])

/** What a change frame or a message of a `recent_messages` reply says happened, comparable. */
function changeOf(frame: Frame): string {
  if (frame.type === 'message_deleted') return `deleted ${frame.message_id}`
  const message = frame.message as { id: number; content: string }
  return `${message.id} ${message.content}`
}

function replayOf(reply: Frame): string[] {
  return (reply.messages as Array<{ id: number; content: string | null; deleted: boolean }>).map((m) =>
    m.deleted ? `deleted ${m.id}` : `${m.id} ${m.content}`,
  )
}

async function liveChanges(socket: TestSocket, count: number): Promise<Frame[]> {
  const frames: Frame[] = []
  for (let i = 0; i < count; i++) frames.push(await socket.next((f) => LIVE_CHANGES.has(f.type)))
  return frames
}

t.test(
  'live message, message_updated and message_deleted frames carry the cursor to resume from',
  async (t) => {
    const { server, ann, bob, id } = await setup(t)
    const annSocket = await connect(server.ws, ann.token)
    const bobSocket = await connect(server.ws, bob.token)
    const first = await annSocket.request({ type: 'send_message', conversation_id: id, content: 'one' })
    const firstId = (first.message as { id: number }).id
    const second = await annSocket.request({ type: 'send_message', conversation_id: id, content: 'two' })
    const secondId = (second.message as { id: number }).id
    await annSocket.request({
      type: 'edit_message',
      conversation_id: id,
      message_id: firstId,
      content: 'uno',
    })
    await annSocket.request({ type: 'delete_message', conversation_id: id, message_id: secondId })
    await annSocket.request({ type: 'send_message', conversation_id: id, content: 'three' })
    const frames = await liveChanges(bobSocket, 5)
    const cursors = frames.map((f) => f.cursor)
    t.ok(
      cursors.every((c) => Number.isInteger(c)),
      `every change frame has a cursor: ${JSON.stringify(cursors)}`,
    )
    t.same(
      cursors,
      [...(cursors as number[])].sort((a, b) => a - b),
      'cursors grow with the changes',
    )

    const resumer = await connect(server.ws, bob.token)
    const fromLast = await resumer.request({ type: 'join', conversation_id: id, cursor: frames[4].cursor })
    t.same(fromLast.messages, [], 'resuming from the last cursor seen repeats nothing')
    t.equal(fromLast.cursor, frames[4].cursor)
    const fromSecond = await resumer.request({ type: 'join', conversation_id: id, cursor: frames[1].cursor })
    t.same(
      replayOf(fromSecond),
      frames.slice(2).map(changeOf),
      'from an earlier cursor: exactly the later changes',
    )
    const fromFirst = await resumer.request({ type: 'join', conversation_id: id, cursor: frames[0].cursor })
    t.same(
      replayOf(fromFirst),
      [`${firstId} uno`, `deleted ${secondId}`, frames[4] && changeOf(frames[4])],
      'each later change once, in its latest state',
    )
    for (const socket of [annSocket, bobSocket, resumer]) await socket.close()
  },
)

t.test('RATE_LIMITED carries the ref of the frame it refuses', async (t) => {
  const { server, ann } = await setup(t, { wsRateLimit: 5 })
  const socket = await connect(server.ws, ann.token)
  // The burst allowance (10) is served, the next few are refused, one by one, with their refs.
  for (let i = 0; i < 14; i++) socket.send({ type: 'ping', ref: `p${i}` })
  const refused = await socket.next((f) => f.type === 'error' && f.code === 'RATE_LIMITED')
  t.match(refused.ref, /^p\d+$/, 'the refused frame is named')
  const answered = new Set(socket.frames.filter((f) => f.ref !== undefined).map((f) => f.ref))
  t.ok(answered.size >= 11, 'served and refused frames alike are answered by ref')
  await socket.close()
})

t.test('a frame over 64 KiB closes with 1009 and a reason', async (t) => {
  const { server, ann, id } = await setup(t)
  const socket = await connect(server.ws, ann.token)
  const reason = new Promise<string>((resolve) =>
    socket.socket.once('close', (_code, r) => resolve(r.toString())),
  )
  socket.send(JSON.stringify({ type: 'send_message', conversation_id: id, content: 'x'.repeat(70 * 1024) }))
  t.equal(await socket.whenClosed(), 1009)
  t.match(await reason, /64 KiB/)
})

t.test('a typing state that lapses on the server is announced as is_typing: false', async (t) => {
  const { server, ann, bob, id } = await setup(t, { typingLapseMs: 300 })
  const annSocket = await connect(server.ws, ann.token)
  const bobSocket = await connect(server.ws, bob.token)
  await annSocket.request({ type: 'join', conversation_id: id })
  await bobSocket.request({ type: 'join', conversation_id: id })
  annSocket.send({ type: 'typing', conversation_id: id, is_typing: true })
  t.match(await bobSocket.next('typing'), { conversation_id: id, user_id: ann.id, is_typing: true })
  // Ann's client vanishes mid-word: no "stopped typing" ever comes from it.
  t.match(
    await bobSocket.next('typing'),
    { conversation_id: id, user_id: ann.id, is_typing: false },
    'the lapse is announced',
  )
  t.same(annSocket.ofType('typing'), [], "not to the typer's own socket")
  // Stopped in time by the client: announced once, and no lapse after it.
  annSocket.send({ type: 'typing', conversation_id: id, is_typing: true })
  await bobSocket.next((f) => f.type === 'typing' && f.is_typing === true)
  annSocket.send({ type: 'typing', conversation_id: id, is_typing: false })
  await bobSocket.next((f) => f.type === 'typing' && f.is_typing === false)
  t.same(await bobSocket.quiet((f) => f.type === 'typing', 600), [], 'nothing more')
  await annSocket.close()
  await bobSocket.close()
})

t.test(
  "a new group, direct conversation or project is sent to every member's sockets, the creator's too",
  async (t) => {
    const { server, ann, bob } = await setup(t)
    const cat = await register(server.app, 'cat')
    const annTabs = [await connect(server.ws, ann.token), await connect(server.ws, ann.token)]
    const bobTab = await connect(server.ws, bob.token)
    const everyone = [...annTabs, bobTab]
    const post = async (path: string, body: object) => {
      const response = await fetch(server.http + path, {
        method: 'POST',
        headers: { ...ann.auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      t.equal(response.status, 201, path)
      return response.json()
    }
    const group = await post('/conversations', { member_ids: [bob.id], title: 'Team' })
    for (const socket of everyone) {
      const heard = await socket.next('conversation')
      t.match(heard.conversation, { id: group.conversation.id, kind: 'group', title: 'Team' })
    }
    const project = await post('/projects', { name: 'Launch', member_ids: [bob.id] })
    for (const socket of everyone) {
      const heard = await socket.next('conversation')
      t.match(heard.conversation, { id: project.project.conversation_id, kind: 'project' })
    }
    const catTab = await connect(server.ws, cat.token)
    const direct = await post('/conversations', { member_ids: [cat.id] })
    for (const socket of [...annTabs, catTab]) {
      const heard = await socket.next('conversation')
      t.match(heard.conversation, { id: direct.conversation.id, kind: 'direct' })
    }
    for (const socket of [...everyone, catTab]) await socket.close()
  },
)

t.test('socket error messages are for people', async (t) => {
  const { server, ann, id } = await setup(t)
  const socket = await connect(server.ws, ann.token)
  const errorFor = async (raw: string) => {
    const reply = socket.next('error')
    socket.send(raw)
    return (await reply).message as string
  }
  const blank = await errorFor(JSON.stringify({ type: 'send_message', conversation_id: id, content: ' \n ' }))
  t.equal(blank, 'content must not be blank')
  t.equal(
    await errorFor(JSON.stringify({ type: 'send_message', conversation_id: id, content: 'x'.repeat(4001) })),
    'content must be at most 4000 characters',
  )
  t.equal(
    await errorFor(JSON.stringify({ type: 'join', conversation_id: 'one' })),
    'conversation_id must be an integer',
  )
  const unknown = await errorFor(JSON.stringify({ type: 'launch_rockets' }))
  t.match(unknown, /unknown type "launch_rockets"/)
  t.match(
    unknown,
    /join, leave, send_message, edit_message, delete_message, typing, mark_read, get_presence, set_notifications, search, ping/,
  )
  t.equal(await errorFor('{"type": "ping",\n  oops}'), 'Malformed JSON at line 2, column 3 (position 19)')
  t.match(
    await errorFor('{"type": "ping"'),
    /^Malformed JSON at line 1, column 16 \(position 15\): it ends too early/,
  )
  await socket.close()
})

t.test("the actor's socket gets its ack before the broadcast frame, for every action", async (t) => {
  const { server, ann, bob, id } = await setup(t)
  const annSocket = await connect(server.ws, ann.token)
  const bobSocket = await connect(server.ws, bob.token)
  const orderAfter = async (socket: TestSocket, frame: object, broadcast: string) => {
    const ref = `o${Math.random()}`
    const start = socket.frames.length
    socket.send({ ...frame, ref })
    await socket.next((f) => f.ref === ref)
    await socket.next(broadcast)
    return socket.frames
      .slice(start)
      .filter((f) => f.ref === ref || f.type === broadcast)
      .map((f) => (f.ref === ref ? f.type : broadcast))
  }
  t.same(
    await orderAfter(annSocket, { type: 'send_message', conversation_id: id, content: 'a' }, 'message'),
    ['ack', 'message'],
  )
  const messageId = (annSocket.ofType('ack').slice(-1)[0].message as { id: number }).id
  const edit = { type: 'edit_message', conversation_id: id, message_id: messageId, content: 'b' }
  t.same(await orderAfter(annSocket, edit, 'message_updated'), ['ack', 'message_updated'], 'edit')
  const read = { type: 'mark_read', conversation_id: id, message_id: messageId }
  t.same(await orderAfter(bobSocket, read, 'read'), ['ack', 'read'], 'mark_read')
  const remove = { type: 'delete_message', conversation_id: id, message_id: messageId }
  t.same(await orderAfter(annSocket, remove, 'message_deleted'), ['ack', 'message_deleted'], 'delete')
  await annSocket.close()
  await bobSocket.close()
})
