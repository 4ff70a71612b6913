import { createHash, randomBytes } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { testConfig } from '../src/config.js'
import { cleanFileName, contentDisposition } from '../src/files/names.js'
import {
  type Account,
  createConversation,
  register,
  startTestServer,
  type TestContext,
} from './helpers/app.js'
import { connect } from './helpers/ws.js'

// Uploads go over a real socket (fetch + FormData) or as hand-built multipart bodies (inject), to
// a real SQLite file and a real upload directory, which each test inspects for leftovers.

// biome-ignore lint/suspicious/noExplicitAny: test payloads
type Json = Record<string, any>

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const HEX_NAME = /^[0-9a-f]{32}$/
/** A real 1x1 PNG. */
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
)

async function setup(t: TestContext, overrides: Parameters<typeof startTestServer>[1] = {}) {
  const server = await startTestServer(t, { authRateLimit: 10_000, ...overrides })
  const uploadDir = server.app.ctx.config.uploadDir
  return { ...server, uploadDir, onDisk: () => readdirSync(uploadDir).sort() }
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

async function newProject(app: FastifyInstance, owner: Account, members: Account[] = []) {
  const response = await api(app, owner, 'POST', '/projects', {
    name: 'Apollo',
    member_ids: members.map((m) => m.id),
  })
  if (response.status !== 201) throw new Error(`project: ${response.status}`)
  return response.body.project as { id: number; conversation_id: number; owner_id: number }
}

/** A real multipart upload over the socket. */
async function upload(
  http: string,
  who: Account,
  path: string,
  file: { bytes: Uint8Array; name?: string; type?: string; field?: string } | null,
  fields: Record<string, string> = {},
) {
  const form = new FormData()
  for (const [key, value] of Object.entries(fields)) form.append(key, value)
  if (file) {
    form.append(
      file.field ?? 'file',
      new Blob([new Uint8Array(file.bytes)], { type: file.type ?? '' }),
      file.name ?? 'data.bin',
    )
  }
  const response = await fetch(http + path, { method: 'POST', body: form, headers: who.auth })
  const text = await response.text()
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as Json }
}

/** A hand-built multipart body: raw header bytes as given (hostile names included). */
function multipartBody(
  parts: Array<{ name: string; filename?: string; type?: string; data: Buffer | string }>,
) {
  const boundary = '----parley-test-boundary-7d93'
  const chunks: Buffer[] = []
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`
    if (part.filename !== undefined) head += `; filename="${part.filename}"`
    head += '\r\n'
    if (part.type) head += `Content-Type: ${part.type}\r\n`
    chunks.push(Buffer.from(`${head}\r\n`, 'utf8'), Buffer.from(part.data), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

async function injectUpload(
  app: FastifyInstance,
  who: Account,
  url: string,
  parts: Parameters<typeof multipartBody>[0],
) {
  const { payload, contentType } = multipartBody(parts)
  const response = await app.inject({
    method: 'POST',
    url,
    payload,
    headers: { ...who.auth, 'content-type': contentType },
  })
  return { status: response.statusCode, body: response.json() as Json }
}

async function download(http: string, who: Account | null, id: number, headers: Record<string, string> = {}) {
  const response = await fetch(`${http}/files/${id}`, { headers: { ...(who ? who.auth : {}), ...headers } })
  return { response, bytes: new Uint8Array(await response.arrayBuffer()) }
}

/** A real socket of `who`, past its `ready` frame; frames are read as JSON objects. */
async function live(ws: string, who: Account) {
  const socket = await connect(ws, who.token)
  return {
    next: async (match: (frame: Json) => boolean) => (await socket.next(match)) as Json,
    close: () => socket.close(),
  }
}

t.test(
  'a random binary upload to a project: stored byte for byte, listed, downloaded, announced',
  async (t) => {
    const { app, http, ws, uploadDir, onDisk } = await setup(t)
    t.ok(existsSync(uploadDir), 'the upload dir is created at start')
    const owner = await register(app)
    const member = await register(app)
    const project = await newProject(app, owner, [member])
    const socket = await live(ws, member)
    t.teardown(socket.close)

    const bytes = new Uint8Array(randomBytes(300_000))
    bytes.set([0, 0, 0, 0], 0) // no magic number by chance
    const created = await upload(http, owner, `/projects/${project.id}/files`, {
      bytes,
      name: 'plan.bin',
      type: 'image/png', // a claim the server ignores
    })
    t.equal(created.status, 201)
    const file = created.body.file
    t.same(Object.keys(file).sort(), [
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
    t.match(file, {
      name: 'plan.bin',
      size: bytes.length,
      sha256: sha256(bytes),
      content_type: 'application/octet-stream',
      uploaded_by: owner.id,
      project_id: project.id,
      conversation_id: project.conversation_id,
    })
    t.match(created.body.message, { sender_id: owner.id, conversation_id: project.conversation_id })
    t.same(created.body.message.attachments, [file])

    // on disk: exactly one file, under a generated name, with the same bytes
    const names = onDisk()
    t.equal(names.length, 1)
    t.match(names[0], HEX_NAME)
    t.equal(sha256(readFileSync(join(uploadDir, names[0]))), sha256(bytes))

    // live to the other member, as a message carrying the file
    const announced = await socket.next((f) => f.type === 'message')
    t.equal(announced.message.id, created.body.message.id)
    t.same(announced.message.attachments, [file])
    t.match(announced.message.content, /plan\.bin/)

    // and in the history
    const history = await api(app, member, 'GET', `/conversations/${project.conversation_id}/messages`)
    t.same(history.body.messages.at(-1).attachments, [file])

    const list = await api(app, member, 'GET', `/projects/${project.id}/files`)
    t.equal(list.status, 200)
    t.same(list.body.files, [file])

    const got = await download(http, member, file.id)
    t.equal(got.response.status, 200)
    t.equal(got.bytes.length, bytes.length)
    t.ok(Buffer.from(got.bytes).equals(Buffer.from(bytes)), 'byte for byte')
    t.equal(sha256(got.bytes), file.sha256)
    const h = got.response.headers
    t.equal(h.get('content-type'), 'application/octet-stream')
    t.equal(h.get('content-length'), String(bytes.length))
    t.equal(h.get('content-disposition'), `attachment; filename="plan.bin"; filename*=UTF-8''plan.bin`)
    t.equal(h.get('x-content-type-options'), 'nosniff')
    t.equal(h.get('etag'), `"${file.sha256}"`)
    t.equal(h.get('accept-ranges'), 'bytes')
    t.match(h.get('content-security-policy'), /sandbox/)

    const head = await app.inject({ method: 'HEAD', url: `/files/${file.id}`, headers: member.auth })
    t.equal(head.statusCode, 200)
    t.equal(head.headers['content-length'], String(bytes.length))
    t.equal(head.body, '')

    // a caption is kept as the announcement's text
    const captioned = await upload(
      http,
      member,
      `/projects/${project.id}/files`,
      { bytes: new Uint8Array([9, 0, 9]), name: 'b.bin' },
      { content: 'the budget' },
    )
    t.equal(captioned.status, 201)
    t.equal(captioned.body.message.content, 'the budget')
    const blank = await upload(
      http,
      member,
      `/projects/${project.id}/files`,
      { bytes: new Uint8Array([9, 0, 9]), name: 'b.bin' },
      { content: '   ' },
    )
    t.equal(blank.status, 400)
    t.equal(onDisk().length, 2, 'a refused caption leaves no file behind')
  },
)

t.test('the content type comes from the bytes; HTML and SVG are only ever attachments', async (t) => {
  const { app, http } = await setup(t)
  const owner = await register(app)
  const project = await newProject(app, owner)
  const path = `/projects/${project.id}/files`

  const image = await upload(http, owner, path, { bytes: png, name: 'pic.txt', type: 'text/html' })
  t.equal(image.body.file.content_type, 'image/png')

  const text = await upload(http, owner, path, {
    bytes: new TextEncoder().encode('héllo, wörld\n'),
    name: 'notes',
    type: 'application/x-evil',
  })
  t.equal(text.body.file.content_type, 'text/plain')
  const gotText = await download(http, owner, text.body.file.id)
  t.equal(gotText.response.headers.get('content-type'), 'text/plain; charset=utf-8')

  const latin1 = await upload(http, owner, path, { bytes: Buffer.from([0x68, 0xe9, 0x6c]), name: 'x' })
  t.equal(latin1.body.file.content_type, 'application/octet-stream', 'not valid UTF-8: not text')

  const html = '<!doctype html><html><body><script>alert(document.cookie)</script></body></html>'
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script><rect/></svg>'
  const xmlSvg = `<?xml version="1.0"?>\n${svg}`
  for (const [name, body, claim] of [
    ['page.html', html, 'text/html'],
    ['logo.svg', svg, 'image/svg+xml'],
    ['logo2.svg', xmlSvg, 'image/svg+xml'],
  ]) {
    const created = await upload(http, owner, path, {
      bytes: new TextEncoder().encode(body),
      name,
      type: claim,
    })
    t.equal(created.status, 201, name)
    const type = created.body.file.content_type
    t.notMatch(type, /html|svg/, `${name} is not recorded as ${claim} (${type})`)
    const got = await download(http, owner, created.body.file.id)
    const headers = got.response.headers
    t.notMatch(headers.get('content-type'), /html|svg/, name)
    t.match(headers.get('content-disposition'), /^attachment;/, name)
    t.equal(headers.get('x-content-type-options'), 'nosniff', name)
    t.match(headers.get('content-security-policy'), /sandbox/, name)
    t.equal(new TextDecoder().decode(got.bytes), body, name)
  }
})

t.test('oversized uploads: 413 while streaming, and no file, row or message left', async (t) => {
  const { app, http, onDisk } = await setup(t, { maxUploadBytes: 1000 })
  const owner = await register(app)
  const project = await newProject(app, owner)
  const path = `/projects/${project.id}/files`
  const messages = async () =>
    (await api(app, owner, 'GET', `/conversations/${project.conversation_id}/messages`)).body.messages.length

  // just over the limit: the body is read, and the parser stops at 1000 bytes
  const over = await upload(http, owner, path, { bytes: randomBytes(1001), name: 'a.bin' })
  t.equal(over.status, 413)
  t.match(over.body, { statusCode: 413, code: 'PAYLOAD_TOO_LARGE', error: 'Payload Too Large' })
  t.match(over.body.message, /1000 bytes/)
  t.same(onDisk(), [], 'no partial file')

  // far over: refused from its declared length, before it is read
  const far = await upload(http, owner, path, { bytes: randomBytes(2_000_000), name: 'b.bin' })
  t.equal(far.status, 413)
  t.equal(far.body.code, 'PAYLOAD_TOO_LARGE')
  t.same(onDisk(), [])

  // the same through the other upload route, and by hand-built body
  const dm = await upload(http, owner, `/conversations/${project.conversation_id}/files`, {
    bytes: randomBytes(5000),
  })
  t.equal(dm.status, 413)
  const raw = await injectUpload(app, owner, path, [
    { name: 'file', filename: 'c.bin', data: randomBytes(1500) },
  ])
  t.equal(raw.status, 413)
  t.same(onDisk(), [])
  t.same((await api(app, owner, 'GET', path)).body.files, [], 'no row')
  t.equal(await messages(), 0, 'no announcement')

  // exactly at the limit is fine, and the server still answers on the same connections
  const exact = randomBytes(1000)
  const ok = await upload(http, owner, path, { bytes: exact, name: 'd.bin' })
  t.equal(ok.status, 201)
  t.equal(ok.body.file.size, 1000)
  t.equal(ok.body.file.sha256, sha256(exact))
  t.equal(onDisk().length, 1)
  t.equal(await messages(), 1)
})

t.test('empty uploads, no file part, wrong fields and too many parts are refused cleanly', async (t) => {
  const { app, http, onDisk } = await setup(t)
  const owner = await register(app)
  const project = await newProject(app, owner)
  const path = `/projects/${project.id}/files`

  const empty = await upload(http, owner, path, { bytes: new Uint8Array(0), name: 'empty.txt' })
  t.equal(empty.status, 400)
  t.equal(empty.body.code, 'EMPTY_FILE')
  t.match(empty.body.message, /empty/)

  const none = await upload(http, owner, path, null, { note: 'no file here' })
  t.equal(none.status, 400)
  t.equal(none.body.code, 'NO_FILE')
  t.match(none.body.message, /"file"/)

  const asText = await upload(http, owner, path, null, { file: 'just text, not a file part' })
  t.equal(asText.status, 400)
  t.equal(asText.body.code, 'NO_FILE')

  const wrongField = await upload(http, owner, path, { bytes: randomBytes(10), field: 'upload' })
  t.equal(wrongField.status, 400)
  t.match(wrongField.body.message, /"upload"/)

  const json = await api(app, owner, 'POST', path, { file: 'x' })
  t.equal(json.status, 400)
  t.match(json.body.message, /multipart/)

  const nothing = await app.inject({ method: 'POST', url: path, headers: owner.auth })
  t.equal(nothing.statusCode, 400)

  const two = await injectUpload(app, owner, path, [
    { name: 'file', filename: 'a.bin', data: randomBytes(100) },
    { name: 'file', filename: 'b.bin', data: randomBytes(100) },
  ])
  t.equal(two.status, 400)
  t.match(two.body.message, /one file/)

  const manyFields = await injectUpload(app, owner, path, [
    ...Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, data: 'x' })),
    { name: 'file', filename: 'a.bin', data: randomBytes(100) },
  ])
  t.equal(manyFields.status, 413)
  t.equal(manyFields.body.code, 'PAYLOAD_TOO_LARGE')

  const longField = await injectUpload(app, owner, path, [
    { name: 'content', data: 'x'.repeat(20_000) },
    { name: 'file', filename: 'a.bin', data: randomBytes(100) },
  ])
  t.equal(longField.status, 400)

  const truncated = await app.inject({
    method: 'POST',
    url: path,
    headers: { ...owner.auth, 'content-type': 'multipart/form-data; boundary=xyz' },
    payload: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\npartial data',
  })
  t.equal(truncated.statusCode, 400)
  t.equal(truncated.json().code, 'BAD_REQUEST')

  t.same(onDisk(), [], 'nothing left on disk by any of these')
  t.same((await api(app, owner, 'GET', path)).body.files, [])
})

t.test('hostile file names are metadata only: paths and control characters are stripped', async (t) => {
  const { app, http, uploadDir, onDisk } = await setup(t)
  const owner = await register(app)
  const project = await newProject(app, owner)
  const path = `/projects/${project.id}/files`
  const cases: Array<[string, string]> = [
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\windows\\system32\\evil.dll', 'evil.dll'],
    ['a\u0007b\u001bc\u007f.txt', 'abc.txt'],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['..', 'file'],
    ['  spaced  .pdf ', 'spaced  .pdf'],
    [`${'x'.repeat(400)}.pdf`, `${'x'.repeat(196)}.pdf`],
  ]
  for (const [sent, kept] of cases) {
    const response = await injectUpload(app, owner, path, [
      { name: 'file', filename: sent, data: randomBytes(32) },
    ])
    t.equal(response.status, 201, JSON.stringify(sent))
    t.equal(response.body.file.name, kept, JSON.stringify(sent))
  }
  // over fetch too (the client's own encoding of the name)
  const viaFetch = await upload(http, owner, path, { bytes: randomBytes(8), name: '../../etc/passwd' })
  t.equal(viaFetch.body.file.name, 'passwd')

  // nothing was written anywhere but the upload dir, always under a generated name
  const names = onDisk()
  t.equal(names.length, cases.length + 1)
  for (const name of names) t.match(name, HEX_NAME)
  t.notOk(existsSync(join(uploadDir, '..', 'etc')))

  // a name outside ASCII survives, and the download header carries it exactly (RFC 6266/8187)
  const unicode = await upload(http, owner, path, { bytes: randomBytes(8), name: 'résumé "final" 100%.pdf' })
  t.equal(unicode.body.file.name, 'résumé "final" 100%.pdf')
  const got = await download(http, owner, unicode.body.file.id)
  t.equal(
    got.response.headers.get('content-disposition'),
    `attachment; filename="r_sum_ _final_ 100_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22%20100%25.pdf`,
  )
})

t.test('name cleaning and Content-Disposition, directly', async (t) => {
  t.equal(cleanFileName(undefined), 'file')
  t.equal(cleanFileName(''), 'file')
  t.equal(cleanFileName('a/b/../'), 'file')
  t.equal(cleanFileName('x\u0000y'), 'xy')
  t.equal(cleanFileName('\u200bzero\ufeffwidth'), 'zerowidth')
  t.equal(cleanFileName('bad\ud800surrogate'), 'bad\ufffdsurrogate')
  t.equal(Array.from(cleanFileName('😀'.repeat(300))).length, 200)
  t.equal(
    contentDisposition("it's (1)*.txt"),
    `attachment; filename="it's (1)*.txt"; filename*=UTF-8''it%27s%20%281%29%2A.txt`,
  )
})

t.test('Range, ETag and If-None-Match', async (t) => {
  const { app, http } = await setup(t)
  const owner = await register(app)
  const project = await newProject(app, owner)
  const bytes = randomBytes(1000)
  const created = await upload(http, owner, `/projects/${project.id}/files`, { bytes, name: 'r.bin' })
  const id = created.body.file.id
  const etag = `"${created.body.file.sha256}"`

  const first = await download(http, owner, id, { range: 'bytes=0-9' })
  t.equal(first.response.status, 206)
  t.equal(first.response.headers.get('content-range'), 'bytes 0-9/1000')
  t.equal(first.response.headers.get('content-length'), '10')
  t.ok(Buffer.from(first.bytes).equals(bytes.subarray(0, 10)))

  const middle = await download(http, owner, id, { range: 'bytes=500-599' })
  t.equal(middle.response.status, 206)
  t.ok(Buffer.from(middle.bytes).equals(bytes.subarray(500, 600)))

  const open = await download(http, owner, id, { range: 'bytes=990-' })
  t.equal(open.response.headers.get('content-range'), 'bytes 990-999/1000')
  t.ok(Buffer.from(open.bytes).equals(bytes.subarray(990)))

  const suffix = await download(http, owner, id, { range: 'bytes=-5' })
  t.equal(suffix.response.status, 206)
  t.ok(Buffer.from(suffix.bytes).equals(bytes.subarray(995)))

  const clamped = await download(http, owner, id, { range: 'bytes=900-5000' })
  t.equal(clamped.response.headers.get('content-range'), 'bytes 900-999/1000')

  for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
    const bad = await download(http, owner, id, { range })
    t.equal(bad.response.status, 416, range)
    t.equal(bad.response.headers.get('content-range'), 'bytes */1000', range)
    t.equal(JSON.parse(new TextDecoder().decode(bad.bytes)).code, 'RANGE_NOT_SATISFIABLE', range)
  }

  for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=9-2']) {
    const whole = await download(http, owner, id, { range })
    t.equal(whole.response.status, 200, `${range} is ignored`)
    t.equal(whole.bytes.length, 1000, range)
  }

  const stale = await download(http, owner, id, { range: 'bytes=0-9', 'if-range': '"other"' })
  t.equal(stale.response.status, 200, 'If-Range that does not match: the whole file')
  const fresh = await download(http, owner, id, { range: 'bytes=0-9', 'if-range': etag })
  t.equal(fresh.response.status, 206)

  for (const tag of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
    const cached = await download(http, owner, id, { 'if-none-match': tag })
    t.equal(cached.response.status, 304, tag)
    t.equal(cached.bytes.length, 0, tag)
    t.equal(cached.response.headers.get('etag'), etag, tag)
  }
  const changed = await download(http, owner, id, { 'if-none-match': '"something-else"' })
  t.equal(changed.response.status, 200)
  t.equal(changed.bytes.length, 1000)
})

t.test('non-members get 404 on every file route; anonymous callers 401', async (t) => {
  const { app, http, onDisk } = await setup(t)
  const owner = await register(app)
  const outsider = await register(app)
  const project = await newProject(app, owner)
  const created = await upload(http, owner, `/projects/${project.id}/files`, { bytes: randomBytes(50) })
  const fileId = created.body.file.id

  const routes: Array<[string, string]> = [
    ['GET', `/projects/${project.id}/files`],
    ['DELETE', `/projects/${project.id}/files/${fileId}`],
    ['GET', `/files/${fileId}`],
  ]
  for (const [method, url] of routes) {
    const response = await api(app, outsider, method, url)
    t.equal(response.status, 404, `${method} ${url}`)
    t.equal(response.body.code, 'NOT_FOUND', `${method} ${url}`)
    t.equal((await api(app, null, method, url)).status, 401, `anonymous ${method} ${url}`)
  }
  const missing = await api(app, owner, 'GET', '/files/999999')
  t.equal(missing.status, 404, 'the same answer as for a file that does not exist')

  const toProject = await upload(http, outsider, `/projects/${project.id}/files`, { bytes: randomBytes(50) })
  t.equal(toProject.status, 404)
  const toConversation = await upload(http, outsider, `/conversations/${project.conversation_id}/files`, {
    bytes: randomBytes(50),
  })
  t.equal(toConversation.status, 404)
  const toNowhere = await upload(http, owner, '/projects/424242/files', { bytes: randomBytes(50) })
  t.equal(toNowhere.status, 404)
  t.equal(onDisk().length, 1, 'refused uploads store nothing')
  t.equal((await api(app, owner, 'GET', `/files/${fileId}`)).status, 200, 'the member still can')
})

t.test(
  'deleting a project file: uploader or owner; row and bytes go; the announcement loses it',
  async (t) => {
    const { app, http, ws, onDisk } = await setup(t)
    const owner = await register(app)
    const alice = await register(app)
    const bob = await register(app)
    const project = await newProject(app, owner, [alice, bob])
    const path = `/projects/${project.id}/files`
    const byAlice = await upload(http, alice, path, { bytes: randomBytes(64), name: 'a.bin' })
    const byBob = await upload(http, bob, path, { bytes: randomBytes(64), name: 'b.bin' })
    t.equal(onDisk().length, 2)

    const forbidden = await api(app, bob, 'DELETE', `${path}/${byAlice.body.file.id}`)
    t.equal(forbidden.status, 403)
    t.equal(forbidden.body.code, 'FORBIDDEN')

    const socket = await live(ws, bob)
    t.teardown(socket.close)
    t.equal((await api(app, alice, 'DELETE', `${path}/${byAlice.body.file.id}`)).status, 204, 'the uploader')
    t.equal(onDisk().length, 1, 'the bytes are gone')
    t.equal((await api(app, alice, 'GET', `/files/${byAlice.body.file.id}`)).status, 404)
    t.equal((await api(app, alice, 'DELETE', `${path}/${byAlice.body.file.id}`)).status, 404, 'only once')
    const updated = await socket.next((f) => f.type === 'message_updated')
    t.equal(updated.message.id, byAlice.body.message.id)
    t.same(updated.message.attachments, [])
    t.notOk(updated.message.deleted, 'the announcement itself stays')

    // the change feed replays it too
    const feed = await api(app, bob, 'GET', `/conversations/${project.conversation_id}/changes?cursor=0`)
    const replayed = feed.body.messages.find((m: Json) => m.id === byAlice.body.message.id)
    t.same(replayed.attachments, [])

    t.equal((await api(app, owner, 'DELETE', `${path}/${byBob.body.file.id}`)).status, 204, 'the owner')
    t.same(onDisk(), [])
    t.same((await api(app, owner, 'GET', path)).body.files, [])
    // a file id of another project is not found through this one
    const other = await newProject(app, owner)
    const elsewhere = await upload(http, owner, `/projects/${other.id}/files`, { bytes: randomBytes(8) })
    t.equal((await api(app, owner, 'DELETE', `${path}/${elsewhere.body.file.id}`)).status, 404)
  },
)

t.test('POST /conversations/:id/files: a message with the attachment, in any conversation', async (t) => {
  const { app, http, ws, onDisk } = await setup(t)
  const ann = await register(app)
  const ben = await register(app)
  const outsider = await register(app)
  const conversationId = await createConversation(app, ann, [ben])
  const socket = await live(ws, ben)
  t.teardown(socket.close)

  const sent = await upload(http, ann, `/conversations/${conversationId}/files`, {
    bytes: png,
    name: 'cat.png',
  })
  t.equal(sent.status, 201)
  const message = sent.body.message
  t.match(message, { conversation_id: conversationId, sender_id: ann.id, content: 'cat.png', deleted: false })
  t.equal(message.attachments.length, 1)
  t.match(message.attachments[0], {
    name: 'cat.png',
    content_type: 'image/png',
    size: png.length,
    sha256: sha256(png),
    project_id: null,
    conversation_id: conversationId,
  })
  const heard = await socket.next((f) => f.type === 'message')
  t.same(heard.message, message)

  const got = await download(http, ben, message.attachments[0].id)
  t.equal(got.response.status, 200)
  t.equal(got.response.headers.get('content-type'), 'image/png')
  t.ok(Buffer.from(got.bytes).equals(png))
  t.equal((await download(http, outsider, message.attachments[0].id)).response.status, 404)

  const captioned = await upload(
    http,
    ben,
    `/conversations/${conversationId}/files`,
    { bytes: randomBytes(10) },
    { content: 'look at this' },
  )
  t.equal(captioned.body.message.content, 'look at this')

  // deleting the message takes a conversation file (row, bytes and thumbnail) with it
  t.equal(onDisk().length, 3, 'the image, its thumbnail and the captioned file')
  const deleted = await api(app, ann, 'DELETE', `/conversations/${conversationId}/messages/${message.id}`)
  t.equal(deleted.status, 204)
  t.equal(onDisk().length, 1)
  t.equal((await download(http, ann, message.attachments[0].id)).response.status, 404)

  // in a project's conversation, the file becomes one of the project's files
  const project = await newProject(app, ann, [ben])
  const inProject = await upload(http, ben, `/conversations/${project.conversation_id}/files`, {
    bytes: randomBytes(10),
    name: 'spec.bin',
  })
  t.equal(inProject.body.message.attachments[0].project_id, project.id)
  const files = await api(app, ann, 'GET', `/projects/${project.id}/files`)
  t.same(
    files.body.files.map((f: Json) => f.name),
    ['spec.bin'],
  )
})

t.test(
  'a removed member loses downloads at once; deleting the project removes its files from disk',
  async (t) => {
    const { app, http, onDisk } = await setup(t)
    const owner = await register(app)
    const member = await register(app)
    const project = await newProject(app, owner, [member])
    const created = await upload(http, owner, `/projects/${project.id}/files`, { bytes: randomBytes(100) })
    await upload(http, member, `/conversations/${project.conversation_id}/files`, { bytes: randomBytes(100) })
    const fileId = created.body.file.id
    t.equal((await download(http, member, fileId)).response.status, 200)

    t.equal((await api(app, owner, 'DELETE', `/projects/${project.id}/members/${member.id}`)).status, 204)
    t.equal((await download(http, member, fileId)).response.status, 404)
    t.equal((await api(app, member, 'GET', `/projects/${project.id}/files`)).status, 404)

    t.equal(onDisk().length, 2)
    t.equal((await api(app, owner, 'DELETE', `/projects/${project.id}`)).status, 204)
    t.same(onDisk(), [], 'every file of the project is gone from disk')
    t.equal((await download(http, owner, fileId)).response.status, 404)
  },
)

t.test('at start: the upload dir is made, and leftovers no row names are swept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-sweep-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const uploadDir = join(dir, 'uploads')
  mkdirSync(uploadDir)
  const old = new Date(Date.now() - 24 * 3600 * 1000)
  const orphan = 'a'.repeat(32)
  const part = `${'b'.repeat(32)}.part`
  const recent = 'c'.repeat(32)
  for (const name of [orphan, part, recent, 'README']) writeFileSync(join(uploadDir, name), 'x')
  for (const name of [orphan, part, 'README']) utimesSync(join(uploadDir, name), old, old)
  const app = await buildApp({
    config: testConfig({ databaseUrl: `sqlite:${join(dir, 'db.sqlite')}`, uploadDir }),
  })
  t.teardown(() => app.close())
  const expected = ['README', recent].sort()
  for (let i = 0; i < 100 && readdirSync(uploadDir).length > expected.length; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20)) // the sweep runs in the background
  }
  t.same(readdirSync(uploadDir).sort(), expected, 'old orphans swept; recent and foreign kept')
})
