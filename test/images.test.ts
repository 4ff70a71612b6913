import { readdirSync } from 'node:fs'
import sharp from 'sharp'
import t from 'tap'
import { sweepOrphans } from '../src/storage/files.js'
import {
  type Account,
  createConversation,
  register,
  startTestServer,
  type TestContext,
} from './helpers/app.js'

// Image files: their displayed size and a WebP thumbnail made at upload (upright, at most 480 px
// on the long side, no metadata), shown to the members of the file's conversation only.

// biome-ignore lint/suspicious/noExplicitAny: test payloads
type Json = Record<string, any>

async function setup(t: TestContext) {
  const server = await startTestServer(t, { authRateLimit: 10_000 })
  const uploadDir = server.app.ctx.config.uploadDir
  const alice = await register(server.app)
  const bob = await register(server.app)
  const eve = await register(server.app)
  const conversation = await createConversation(server.app, alice, [bob])
  return { ...server, uploadDir, alice, bob, eve, conversation, onDisk: () => readdirSync(uploadDir).sort() }
}

async function send(http: string, who: Account, conversation: number, bytes: Uint8Array, name: string) {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(bytes)]), name)
  const response = await fetch(`${http}/conversations/${conversation}/files`, {
    method: 'POST',
    body: form,
    headers: who.auth,
  })
  return { status: response.status, body: (await response.json()) as Json }
}

async function get(http: string, who: Account | null, path: string) {
  const response = await fetch(http + path, { headers: who ? who.auth : {} })
  return {
    status: response.status,
    headers: response.headers,
    bytes: Buffer.from(await response.arrayBuffer()),
  }
}

/** A 1200x800 JPEG stored turned (EXIF orientation 6: shown 800x1200), with a GPS position. */
function cameraPhoto(): Promise<Buffer> {
  return sharp({ create: { width: 1200, height: 800, channels: 3, background: '#c33' } })
    .jpeg()
    .withExif({
      IFD0: { Copyright: 'Parley test' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 3230/100' },
    })
    .withMetadata({ orientation: 6 })
    .toBuffer()
}

/** The EXIF block holds a GPS IFD pointer (tag 0x8825, little-endian as sharp writes it). */
const hasGps = (exif: Buffer | undefined) => Boolean(exif?.includes(Buffer.from([0x25, 0x88])))

t.test('a camera photo: displayed size, an upright WebP thumbnail without any metadata', async (t) => {
  const s = await setup(t)
  const photo = await cameraPhoto()
  const original = await sharp(photo).metadata()
  t.equal(original.orientation, 6, 'the test photo carries orientation 6')
  t.ok(hasGps(original.exif), 'and a GPS position')

  const sent = await send(s.http, s.alice, s.conversation, photo, 'camera.jpg')
  t.equal(sent.status, 201)
  const file = sent.body.file
  t.equal(file.content_type, 'image/jpeg')
  t.same([file.width, file.height], [800, 1200], 'the size as displayed, after orientation')
  t.equal(file.thumbnail_url, `/files/${file.id}/thumbnail`)
  t.same(sent.body.message.attachments[0], file, 'the attachment carries it too')
  t.equal(s.onDisk().length, 2, 'the file and its thumbnail are on disk when the upload answers')

  const thumbnail = await get(s.http, s.bob, file.thumbnail_url)
  t.equal(thumbnail.status, 200)
  t.equal(thumbnail.headers.get('content-type'), 'image/webp')
  t.equal(thumbnail.headers.get('x-content-type-options'), 'nosniff')
  const meta = await sharp(thumbnail.bytes).metadata()
  t.equal(meta.format, 'webp')
  t.same([meta.width, meta.height], [320, 480], 'upright, 480 px on the long side')
  t.equal(meta.exif, undefined, 'no EXIF, so no GPS position')
  t.equal(meta.orientation, undefined, 'no orientation tag: the pixels are turned instead')
  t.equal(meta.icc, undefined)
  t.equal(meta.xmp, undefined)
  t.notOk(hasGps(thumbnail.bytes), 'no GPS tag anywhere in the bytes')

  const again = await fetch(s.http + file.thumbnail_url, {
    headers: { ...s.bob.auth, 'if-none-match': thumbnail.headers.get('etag') ?? '' },
  })
  t.equal(again.status, 304, 'revalidated by ETag')

  const history = await get(s.http, s.bob, `/conversations/${s.conversation}/messages`)
  const listed = JSON.parse(history.bytes.toString()).messages.at(-1).attachments[0]
  t.same([listed.width, listed.height, listed.thumbnail_url], [800, 1200, file.thumbnail_url], 'in history')
})

t.test('the thumbnail goes to the same people as the file', async (t) => {
  const s = await setup(t)
  const png = await sharp({ create: { width: 64, height: 32, channels: 4, background: '#0000' } })
    .png()
    .toBuffer()
  const { body } = await send(s.http, s.alice, s.conversation, png, 'small.png')
  t.same([body.file.width, body.file.height], [64, 32])
  const small = await get(s.http, s.alice, body.file.thumbnail_url)
  const meta = await sharp(small.bytes).metadata()
  t.same([meta.width, meta.height], [64, 32], 'a small image is never enlarged')

  t.equal((await get(s.http, s.eve, body.file.thumbnail_url)).status, 404, 'a stranger: 404')
  t.equal((await get(s.http, null, body.file.thumbnail_url)).status, 401, 'no session: 401')
  t.equal((await get(s.http, s.alice, '/files/999999/thumbnail')).status, 404, 'no such file: 404')
})

t.test('other files have no thumbnail; an image that does not decode is kept as a plain file', async (t) => {
  const s = await setup(t)
  const text = await send(s.http, s.alice, s.conversation, Buffer.from('just words\n'), 'notes.txt')
  t.equal(text.status, 201)
  t.same([text.body.file.width, text.body.file.height, text.body.file.thumbnail_url], [null, null, null])
  t.equal((await get(s.http, s.alice, `/files/${text.body.file.id}/thumbnail`)).status, 404)

  const png = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#fff' } })
    .png()
    .toBuffer()
  const broken = Buffer.concat([png.subarray(0, 40), Buffer.alloc(200, 7)])
  const sent = await send(s.http, s.alice, s.conversation, broken, 'broken.png')
  t.equal(sent.status, 201, 'the upload still succeeds')
  t.equal(sent.body.file.content_type, 'image/png', 'recognized by its signature')
  t.same([sent.body.file.width, sent.body.file.thumbnail_url], [null, null], 'but it has no thumbnail')
  t.equal(s.onDisk().length, 2, 'two files, no thumbnails')
})

t.test('thumbnails live and die with their file; the orphan sweep keeps them', async (t) => {
  const s = await setup(t)
  const project = await s.app.inject({
    method: 'POST',
    url: '/projects',
    headers: s.alice.auth,
    payload: { name: 'Photos', member_ids: [s.bob.id] },
  })
  const projectId = project.json().project.id
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(await cameraPhoto())]), 'camera.jpg')
  const uploaded = await fetch(`${s.http}/projects/${projectId}/files`, {
    method: 'POST',
    body: form,
    headers: s.alice.auth,
  })
  const file = ((await uploaded.json()) as Json).file
  const listed = await s.app.inject({ url: `/projects/${projectId}/files`, headers: s.bob.auth })
  t.equal(listed.json().files[0].thumbnail_url, file.thumbnail_url, 'project file lists carry it')
  t.equal(s.onDisk().length, 2)

  t.same(await sweepOrphans(s.app.ctx.db, s.uploadDir, 0), [], 'a thumbnail a row names is no orphan')
  t.equal(s.onDisk().length, 2)

  const removed = await s.app.inject({
    method: 'DELETE',
    url: `/projects/${projectId}/files/${file.id}`,
    headers: s.alice.auth,
  })
  t.equal(removed.statusCode, 204)
  t.same(s.onDisk(), [], 'the file and its thumbnail are gone')
})
