import type { FastifyInstance } from 'fastify'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import t, { type Test } from 'tap'
import { buildApp } from '../src/app.js'
import { testConfig } from '../src/config.js'
import { postgresPoolConfig } from '../src/db/index.js'
import type { Database } from '../src/db/types.js'
import { WriteBatcher } from '../src/db/write-batch.js'
import { type Account, register } from './helpers/app.js'
import { createTestSchema, postgresSkipReason } from './helpers/postgres.js'
import { missingService } from './helpers/services.js'
import { connect } from './helpers/ws.js'

// Two app instances (two nodes) on one PostgreSQL database: what the database alone must
// guarantee, with no bus between the nodes. test/cluster.test.ts adds Redis and real processes.

const skip = missingService(await postgresSkipReason())

interface Node {
  app: FastifyInstance
  http: string
  ws: string
}

/** Two nodes on one fresh schema, closed and dropped at teardown. */
async function twoNodes(tap: Tap): Promise<[Node, Node]> {
  const schema = await createTestSchema()
  const nodes: Node[] = []
  tap.teardown(async () => {
    for (const node of nodes) await node.app.close()
    await schema.drop()
  })
  for (let i = 0; i < 2; i++) {
    const app = await buildApp({
      config: testConfig({ databaseUrl: schema.url, uploadDir: '/tmp/parley-pg-up' }),
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const address = app.server.address()
    if (!address || typeof address === 'string') throw new Error('no port')
    nodes.push({ app, http: `http://127.0.0.1:${address.port}`, ws: `ws://127.0.0.1:${address.port}/ws` })
  }
  return [nodes[0], nodes[1]]
}

type Tap = Test

async function api(node: Node, account: Account | undefined, method: string, path: string, body?: unknown) {
  const response = await fetch(`${node.http}${path}`, {
    method,
    headers: {
      ...(account ? account.auth : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}

/**
 * Every page a reader got (`after` and the ids it returned) must hold every id of the final
 * history between `after` and its own last id: a page that skipped an id that was committed
 * later but numbered lower would make a client resuming after the page's last id miss it.
 */
function checkNoGap(tap: Tap, pages: Array<{ after: number; ids: number[] }>, all: number[]) {
  let gaps = 0
  for (const page of pages) {
    if (page.ids.length === 0) continue
    const last = page.ids[page.ids.length - 1]
    const expected = all.filter((id) => id > page.after && id <= last)
    if (expected.join() !== page.ids.join()) gaps++
  }
  tap.equal(gaps, 0, `no page of ${pages.length} skipped an id that the final history has`)
}

t.test('PostgreSQL, two nodes', { skip }, async (t) => {
  const [a, b] = await twoNodes(t)
  const senders: Account[] = []
  for (let i = 0; i < 6; i++) senders.push(await register(i % 2 === 0 ? a.app : b.app))
  const reader = await register(a.app)
  const created = await api(a, senders[0], 'POST', '/conversations', {
    member_ids: [...senders.slice(1), reader].map((s) => s.id),
    title: 'race',
  })
  t.equal(created.status, 201)
  const conversationId = created.body.conversation.id as number

  t.test('concurrent senders on both nodes: a reader resuming `after` any id never misses one', async (t) => {
    const perSender = 40
    let sending = true
    const send = async (sender: Account, index: number) => {
      const node = index % 2 === 0 ? a : b
      for (let i = 0; i < perSender; i++) {
        // Pairs at once from each sender: the nodes' group commits interleave on the conversation row.
        const results = await Promise.all(
          [0, 1].map((k) =>
            api(node, sender, 'POST', `/conversations/${conversationId}/messages`, {
              content: `m ${index}-${i}-${k}`,
            }),
          ),
        )
        for (const result of results) if (result.status !== 201) throw new Error(JSON.stringify(result))
      }
    }
    const httpPages: Array<{ after: number; ids: number[] }> = []
    const pollHttp = async () => {
      let after = 0
      let turn = 0
      while (sending) {
        const node = turn++ % 2 === 0 ? a : b
        const page = await api(
          node,
          reader,
          'GET',
          `/conversations/${conversationId}/messages?after=${after}&limit=200`,
        )
        const ids = (page.body.messages as Array<{ id: number }>).map((m) => m.id)
        httpPages.push({ after, ids })
        if (ids.length > 0) after = ids[ids.length - 1]
      }
    }
    const socketPages: Array<{ after: number; ids: number[] }> = []
    const pollSocket = async () => {
      const sockets = [await connect(a.ws, reader.token), await connect(b.ws, reader.token)]
      let after = 0
      let turn = 0
      while (sending) {
        const reply = await sockets[turn++ % 2].request({
          type: 'join',
          conversation_id: conversationId,
          after,
          limit: 200,
        })
        const ids = (reply.messages as Array<{ id: number }>).map((m) => m.id)
        socketPages.push({ after, ids })
        if (ids.length > 0) after = ids[ids.length - 1]
      }
      for (const socket of sockets) await socket.close()
    }
    const polling = [pollHttp(), pollSocket()]
    await Promise.all(senders.map(send))
    sending = false
    await Promise.all(polling)

    const history = await a.app.ctx.db
      .selectFrom('messages')
      .select(['id', 'change_seq'])
      .where('conversation_id', '=', conversationId)
      .orderBy('id')
      .execute()
    const all = history.map((row) => row.id)
    t.equal(all.length, senders.length * perSender * 2, 'every message committed once')
    t.ok(
      history.every((row, i) => i === 0 || row.change_seq > history[i - 1].change_seq),
      'ids and change numbers agree: both follow commit order',
    )
    t.ok(
      httpPages.length > 5 && socketPages.length > 5,
      `readers polled while senders sent (${httpPages.length}, ${socketPages.length})`,
    )
    checkNoGap(t, httpPages, all)
    checkNoGap(t, socketPages, all)
    const seen = [...new Set(httpPages.flatMap((page) => page.ids))].sort((x, y) => x - y)
    const tail = await api(
      b,
      reader,
      'GET',
      `/conversations/${conversationId}/messages?after=${seen.at(-1) ?? 0}&limit=200`,
    )
    const union = [...seen, ...(tail.body.messages as Array<{ id: number }>).map((m) => m.id)]
    t.same(union, all, 'resuming after the last id seen, the reader has every message exactly once')
  })

  t.test('the same client_id sent to both nodes at once makes one message', async (t) => {
    const sender = senders[0]
    for (let round = 0; round < 5; round++) {
      const clientId = `same-${round}`
      const results = await Promise.all(
        [a, b, a, b].map((node) =>
          api(node, sender, 'POST', `/conversations/${conversationId}/messages`, {
            content: 'once',
            client_id: clientId,
          }),
        ),
      )
      t.same(results.map((r) => r.status).sort(), [200, 200, 200, 201], 'one 201 and the repeats 200')
      t.equal(new Set(results.map((r) => r.body.message.id)).size, 1, 'all the same message')
    }
  })
})

t.test(
  'PostgreSQL: group commits of two nodes that lock conversations in opposite orders',
  { skip },
  async (t) => {
    const schema = await createTestSchema()
    const { config } = postgresPoolConfig(schema.url)
    const open = () => new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool(config) }) })
    const app = await buildApp({ config: testConfig({ databaseUrl: schema.url }) }) // migrates
    const one = open()
    const two = open()
    t.teardown(async () => {
      await app.close()
      await one.destroy()
      await two.destroy()
      await schema.drop()
    })
    const now = new Date().toISOString()
    const ids: number[] = []
    for (let i = 0; i < 2; i++) {
      const row = await one
        .insertInto('conversations')
        .values({ kind: 'group', title: `c${i}`, created_at: now, last_activity_at: now })
        .returning('id')
        .executeTakeFirstOrThrow()
      ids.push(row.id)
    }
    const bump = (conversationId: number) => async (trx: Kysely<Database>) => {
      await trx
        .updateTable('conversations')
        .set({ change_seq: sql`change_seq + 1` })
        .where('id', '=', conversationId)
        .execute()
      // Holding the lock a while makes the other batch reach for it.
      await new Promise((resolve) => setTimeout(resolve, 150))
      return conversationId
    }
    const seq = async () =>
      (
        await one
          .selectFrom('conversations')
          .select('change_seq')
          .where('id', 'in', ids)
          .orderBy('id')
          .execute()
      ).map((row) => row.change_seq)

    t.test(
      'unkeyed: PostgreSQL detects the deadlock, the losing write runs again, nothing is lost',
      async (t) => {
        const before = await seq()
        const first = new WriteBatcher(one)
        const second = new WriteBatcher(two)
        const results = await Promise.all([
          first.run(bump(ids[0])),
          first.run(bump(ids[1])),
          second.run(bump(ids[1])),
          second.run(bump(ids[0])),
        ])
        t.same(results, [ids[0], ids[1], ids[1], ids[0]], 'every write resolved with its own result')
        t.ok(first.stats.retries + second.stats.retries >= 1, 'a deadlock happened and was retried')
        t.same(
          await seq(),
          before.map((n) => n + 2),
          'each conversation bumped exactly twice',
        )
      },
    )

    t.test('keyed by conversation: both batches lock in the same order, no deadlock at all', async (t) => {
      const before = await seq()
      const first = new WriteBatcher(one)
      const second = new WriteBatcher(two)
      await Promise.all([
        first.run(bump(ids[1]), { key: ids[1] }),
        first.run(bump(ids[0]), { key: ids[0] }),
        second.run(bump(ids[0]), { key: ids[0] }),
        second.run(bump(ids[1]), { key: ids[1] }),
      ])
      t.equal(first.stats.retries + second.stats.retries, 0, 'no retries')
      t.equal(first.stats.batches, 1, 'one batch each')
      t.same(
        await seq(),
        before.map((n) => n + 2),
      )
    })
  },
)
