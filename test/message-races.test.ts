import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { sendMessage } from '../src/conversations/messages.js'
import { AppError } from '../src/errors.js'
import { type Account, buildTestApp, createConversation, register } from './helpers/app.js'

// Two write-path races: a message deleted twice at once, and a sender removed after the early
// membership check of send_message but before the message commits.
// PARLEY_TEST_DB=postgres runs them on PostgreSQL.

async function api(app: FastifyInstance, who: Account, method: string, url: string, payload?: object) {
  const response = await app.inject({ method: method as 'GET', url, headers: who.auth, payload })
  return { status: response.statusCode, body: response.body ? response.json() : undefined }
}

const changeSeq = async (app: FastifyInstance, id: number) =>
  Number(
    (
      await app.ctx.db
        .selectFrom('conversations')
        .select('change_seq')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).change_seq,
  )

t.test('two concurrent deletes of one message: one change, one message_deleted', async (t) => {
  const app = await buildTestApp(t)
  const [ann, bob] = [await register(app), await register(app)]
  const id = await createConversation(app, ann, [bob], 'Deletes')
  const sent = await api(app, ann, 'POST', `/conversations/${id}/messages`, { content: 'twice' })
  const messageId = sent.body.message.id as number
  const deletions: unknown[] = []
  const original = app.ctx.hub.publish.bind(app.ctx.hub)
  app.ctx.hub.publish = (event) => {
    if (event.kind === 'users' && event.event.type === 'message_deleted') deletions.push(event)
    return original(event)
  }
  const before = await changeSeq(app, id)
  const url = `/conversations/${id}/messages/${messageId}`
  const statuses = (await Promise.all([api(app, ann, 'DELETE', url), api(app, ann, 'DELETE', url)])).map(
    (r) => r.status,
  )
  t.same(statuses.sort(), [204, 404], 'the first deletes, the second finds it already deleted')
  t.equal(await changeSeq(app, id), before + 1, 'the change sequence moved once')
  t.equal(deletions.length, 1, 'one message_deleted published')
  const feed = await api(app, bob, 'GET', `/conversations/${id}/changes?cursor=${before}`)
  t.same(
    feed.body.messages.map((m: { id: number; deleted: boolean }) => [m.id, m.deleted]),
    [[messageId, true]],
    'the feed has the deletion once',
  )
})

/**
 * Holds the write queue (one write that waits), removes `who` from the conversation inside it,
 * and lets `send` start meanwhile; the removal commits only once `send` has passed its early
 * check and queued the message. Returns what `send` ended with.
 */
async function removeDuringSend(
  app: FastifyInstance,
  conversationId: number,
  who: Account,
  send: () => Promise<unknown>,
): Promise<unknown> {
  let release = () => {}
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let removed = () => {}
  const removedNow = new Promise<void>((resolve) => {
    removed = resolve
  })
  const held = app.ctx.writes.run(async (trx) => {
    await trx
      .deleteFrom('conversation_members')
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', who.id)
      .execute()
    removed()
    await gate
  })
  await removedNow
  // The message reaches the store (the early check passed, on the member cache): then commit the removal.
  const store = app.ctx.messages
  const append = store.append.bind(store)
  let queued = () => {}
  const appended = new Promise<void>((resolve) => {
    queued = resolve
  })
  store.append = (input) => {
    const result = append(input)
    queued()
    return result
  }
  const outcome = send().then(
    (value) => value,
    (error: unknown) => error,
  )
  await appended
  release()
  await held
  store.append = append
  app.ctx.members.changed(conversationId)
  return outcome
}

async function senderRemovedBeforeCommit(t: Test, app: FastifyInstance) {
  const [ann, bob] = [await register(app), await register(app)]
  const id = await createConversation(app, ann, [bob], 'Race')
  // Warms the member cache: the early check will say "member" without asking the database.
  t.equal((await api(app, bob, 'POST', `/conversations/${id}/messages`, { content: 'before' })).status, 201)
  const seq = await changeSeq(app, id)
  const outcome = await removeDuringSend(app, id, bob, () =>
    sendMessage(app.ctx, bob.id, id, { content: 'after removal' }),
  )
  t.ok(
    outcome instanceof AppError && outcome.code === 'NOT_FOUND',
    `refused with NOT_FOUND: ${String(outcome)}`,
  )
  const contents = await app.ctx.db
    .selectFrom('messages')
    .select('content')
    .where('conversation_id', '=', id)
    .execute()
  t.same(
    contents.map((row) => row.content),
    ['before'],
    'nothing stored',
  )
  t.equal(await changeSeq(app, id), seq, 'the change sequence did not move')
  const unread = await app.ctx.db
    .selectFrom('conversation_members')
    .select('user_id')
    .where('conversation_id', '=', id)
    .execute()
  t.same(
    unread.map((row) => Number(row.user_id)),
    [ann.id],
    'bob is out',
  )
}

t.test('a sender removed before the commit: NOT_FOUND, nothing stored (this database)', async (t) => {
  await senderRemovedBeforeCommit(t, await buildTestApp(t))
})

t.test('a sender removed before the commit: NOT_FOUND, nothing stored (in-process SQLite)', async (t) => {
  await senderRemovedBeforeCommit(t, await buildTestApp(t, { databaseUrl: 'sqlite::memory:' }))
})
