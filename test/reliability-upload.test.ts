import { readdirSync } from 'node:fs'
import { type Socket, connect as tcpConnect } from 'node:net'
import t from 'tap'
import { register, startTestServer } from './helpers/app.js'

// A client that stops mid-upload: it stalls (others are served meanwhile), or it vanishes (the
// half-written file goes, no row is left). test/files.test.ts covers the hostile names, HTML/SVG
// posing as images, too many parts and oversized parts.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function startUpload(port: number, token: string, projectId: number, declared: number, sent: number): Socket {
  const socket = tcpConnect(port, '127.0.0.1')
  const head =
    '--B\r\nContent-Disposition: form-data; name="file"; filename="half.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
  socket.write(
    `POST /projects/${projectId}/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: multipart/form-data; boundary=B\r\nContent-Length: ${declared}\r\n\r\n${head}`,
  )
  socket.write(Buffer.alloc(sent, 7))
  socket.on('error', () => {})
  return socket
}

t.test('an upload that stalls, then vanishes, leaves nothing behind and holds nobody up', async (t) => {
  const server = await startTestServer(t)
  const dir = server.app.ctx.config.uploadDir
  const owner = await register(server.app, 'up_owner')
  const project = (
    await server.app.inject({ method: 'POST', url: '/projects', headers: owner.auth, payload: { name: 'p' } })
  ).json().project
  const port = Number(new URL(server.http).port)

  const uploads = Array.from({ length: 5 }, () =>
    startUpload(port, owner.token, project.id, 4_000_000, 300_000),
  )
  await sleep(300)
  t.ok(
    readdirSync(dir).some((name) => name.endsWith('.part')),
    'the stalled uploads are being written to temp files',
  )
  // Meanwhile everyone else is served at once.
  const started = Date.now()
  const health = await fetch(`${server.http}/healthz`)
  const sent = await fetch(`${server.http}/conversations/${project.conversation_id}/messages`, {
    method: 'POST',
    headers: { ...owner.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'still here' }),
  })
  t.equal(health.status, 200)
  t.equal(sent.status, 201)
  t.ok(Date.now() - started < 2000, `others served during the stalled uploads (${Date.now() - started} ms)`)

  // The clients vanish mid-body.
  for (const socket of uploads) socket.destroy()
  let left: string[] = []
  for (let i = 0; i < 50; i++) {
    await sleep(100)
    left = readdirSync(dir)
    if (left.length === 0) break
  }
  t.same(left, [], 'no temp file and no file left on disk')
  const rows = await server.app.ctx.db.selectFrom('files').selectAll().execute()
  t.equal(rows.length, 0, 'no file row')
  const messages = await server.app.ctx.db
    .selectFrom('messages')
    .select('content')
    .where('conversation_id', '=', project.conversation_id)
    .execute()
  t.same(
    messages.map((m) => m.content),
    ['still here'],
    'no announcement for an upload that never finished',
  )

  // And a whole upload still works afterwards.
  const form = new FormData()
  form.append('file', new Blob([Buffer.from('complete')]), 'whole.txt')
  const whole = await fetch(`${server.http}/projects/${project.id}/files`, {
    method: 'POST',
    headers: owner.auth,
    body: form,
  })
  t.equal(whole.status, 201)
  t.equal(readdirSync(dir).length, 1)
})
