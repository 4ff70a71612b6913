import t from 'tap'
import { createConversation, register, startTestServer } from './helpers/app.js'
import { connect } from './helpers/ws.js'

const metric = (text: string, name: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return line ? Number(line.split(' ').pop()) : Number.NaN
}

t.test('GET /metrics counts sockets, messages, deliveries, commits and HTTP latency', async (t) => {
  const server = await startTestServer(t)
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const id = await createConversation(server.app, ann, [bob])
  const annSocket = await connect(server.ws, ann.token)
  const bobSocket = await connect(server.ws, bob.token)
  await annSocket.request({ type: 'send_message', conversation_id: id, content: 'one' })
  await annSocket.request({ type: 'send_message', conversation_id: id, content: 'two' })
  await bobSocket.next((f) => f.type === 'message' && (f.message as { content: string }).content === 'two')

  const text = await (await fetch(`${server.http}/metrics`)).text()
  t.equal(metric(text, 'parley_open_sockets'), 2)
  t.equal(metric(text, 'parley_messages_in_total'), 2)
  t.ok(metric(text, 'parley_frames_out_total') >= 4, 'each message went to both sockets')
  t.ok(metric(text, 'parley_commit_batch_size_count') >= 2, 'commits observed')
  t.equal(metric(text, 'parley_fanout_seconds_count'), 2)
  if (server.app.ctx.database.sqlitePath) {
    // One message at a time on an SQLite file: committed on the main connection, not in the thread.
    t.equal(
      metric(text, 'parley_message_commits_total{thread="main"}'),
      2,
      'light load commits on the main thread',
    )
  }
  t.match(text, /parley_http_request_seconds_count\{method="POST",route="\/conversations",status="201"\} 1/)
  t.match(text, /nodejs_eventloop_lag_seconds/)
  await annSocket.close()
  await bobSocket.close()
  await new Promise((resolve) => setTimeout(resolve, 50))
  const after = await (await fetch(`${server.http}/metrics`)).text()
  t.equal(metric(after, 'parley_open_sockets'), 0)
})

t.test('a message created by an upload counts in parley_messages_in_total', async (t) => {
  const server = await startTestServer(t)
  const ann = await register(server.app, 'ann')
  const bob = await register(server.app, 'bob')
  const id = await createConversation(server.app, ann, [bob])
  const project = await server.app.inject({
    method: 'POST',
    url: '/projects',
    headers: ann.auth,
    payload: { name: 'p' },
  })
  const messagesIn = async () =>
    metric(await (await fetch(`${server.http}/metrics`)).text(), 'parley_messages_in_total')
  const before = await messagesIn()
  for (const path of [`/conversations/${id}/files`, `/projects/${project.json().project.id}/files`]) {
    const form = new FormData()
    form.append('file', new Blob(['hello']), 'a.txt')
    const response = await fetch(server.http + path, { method: 'POST', body: form, headers: ann.auth })
    t.equal(response.status, 201)
  }
  t.equal((await messagesIn()) - before, 2, 'one message per upload, to a conversation and to a project')
})

t.test('with METRICS_TOKEN set, /metrics needs it as a Bearer token', async (t) => {
  const secret = 'metrics-secret-0123456789'
  const server = await startTestServer(t, { metricsToken: secret })
  const get = (authorization?: string) =>
    fetch(`${server.http}/metrics`, authorization ? { headers: { authorization } } : {})
  const without = await get()
  t.equal(without.status, 401)
  t.equal((await without.json()).code, 'UNAUTHORIZED')
  for (const wrong of [
    `Bearer ${secret}x`,
    `Bearer ${secret.slice(0, -1)}`,
    'Bearer ',
    secret,
    `Basic ${secret}`,
  ]) {
    t.equal((await get(wrong)).status, 401, `refused: ${wrong}`)
  }
  // A session token is not the metrics token.
  const ann = await register(server.app, 'ann')
  t.equal((await get(`Bearer ${ann.token}`)).status, 401)
  const right = await get(`Bearer ${secret}`)
  t.equal(right.status, 200)
  t.match(await right.text(), /parley_open_sockets/)
})

t.test('without METRICS_TOKEN, /metrics is public', async (t) => {
  const server = await startTestServer(t)
  t.equal((await fetch(`${server.http}/metrics`)).status, 200)
})
