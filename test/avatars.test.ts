import { readdirSync } from 'node:fs'
import sharp from 'sharp'
import t from 'tap'
import {
  type Account,
  createConversation,
  register,
  startTestServer,
  type TestContext,
} from './helpers/app.js'
import { connect } from './helpers/ws.js'

// Avatars: PUT /users/me/avatar crops an image to its centre square, a 256x256 WebP without
// metadata; any signed-in user fetches it; avatar_url names it (versioned) in every user object.

// biome-ignore lint/suspicious/noExplicitAny: test payloads
type Json = Record<string, any>

async function setup(t: TestContext) {
  const server = await startTestServer(t, { authRateLimit: 10_000 })
  const uploadDir = server.app.ctx.config.uploadDir
  const alice = await register(server.app)
  const bob = await register(server.app)
  return { ...server, uploadDir, alice, bob, onDisk: () => readdirSync(uploadDir).sort() }
}

async function putAvatar(http: string, who: Account, bytes: Uint8Array, name = 'me.png') {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(bytes)]), name)
  const response = await fetch(`${http}/users/me/avatar`, { method: 'PUT', body: form, headers: who.auth })
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

/** 300x200: a red left half, a green middle, a blue right half, so the crop shows in the pixels. */
function stripes(): Promise<Buffer> {
  const raw = Buffer.alloc(300 * 200 * 3)
  for (let y = 0; y < 200; y++) {
    for (let x = 0; x < 300; x++) {
      const i = (y * 300 + x) * 3
      raw[i + (x < 50 ? 0 : x < 250 ? 1 : 2)] = 255
    }
  }
  return sharp(raw, { raw: { width: 300, height: 200, channels: 3 } })
    .jpeg({ quality: 95 })
    .withExif({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 3230/100' } })
    .toBuffer()
}

t.test('set, fetch by others, replace and remove an avatar', async (t) => {
  const s = await setup(t)
  const none = await s.app.inject({ url: `/users/${s.alice.id}`, headers: s.bob.auth })
  t.equal(none.json().user.avatar_url, null, 'no avatar: null')
  t.equal((await get(s.http, s.bob, `/users/${s.alice.id}/avatar`)).status, 404, 'and its URL is 404')

  const set = await putAvatar(s.http, s.alice, await stripes(), 'me.jpg')
  t.equal(set.status, 200)
  t.equal(set.body.user.id, s.alice.id)
  t.equal(set.body.user.avatar_url, `/users/${s.alice.id}/avatar?v=1`)
  t.equal(s.onDisk().length, 1, 'only the avatar is kept, not the upload')

  const fetched = await get(s.http, s.bob, set.body.user.avatar_url)
  t.equal(fetched.status, 200, 'any signed-in user may fetch it')
  t.equal(fetched.headers.get('content-type'), 'image/webp')
  const meta = await sharp(fetched.bytes).metadata()
  t.same([meta.format, meta.width, meta.height], ['webp', 256, 256])
  t.equal(meta.exif, undefined, 'no metadata')
  const { data } = await sharp(fetched.bytes).raw().toBuffer({ resolveWithObject: true })
  const pixel = (x: number, y: number) => [...data.subarray((y * 256 + x) * 3, (y * 256 + x) * 3 + 3)]
  t.ok(pixel(5, 128)[1] > 200 && pixel(5, 128)[0] < 60, 'the left edge is green: the red half was cropped')
  t.ok(pixel(250, 128)[1] > 200 && pixel(250, 128)[2] < 60, 'the right edge is green too: a centre crop')
  t.equal((await get(s.http, null, set.body.user.avatar_url)).status, 401, 'no session: 401')

  const seen = await s.app.inject({ url: `/users/${s.alice.id}`, headers: s.bob.auth })
  t.equal(seen.json().user.avatar_url, set.body.user.avatar_url, 'user objects carry avatar_url')
  const me = await s.app.inject({ url: '/auth/check', headers: s.alice.auth })
  t.equal(me.json().user.avatar_url, set.body.user.avatar_url)

  const png = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#00f' } })
    .png()
    .toBuffer()
  const replaced = await putAvatar(s.http, s.alice, png)
  t.equal(replaced.body.user.avatar_url, `/users/${s.alice.id}/avatar?v=2`, 'a new version, a new URL')
  t.equal(s.onDisk().length, 1, 'the old avatar is removed')
  const small = await sharp((await get(s.http, s.bob, replaced.body.user.avatar_url)).bytes).metadata()
  t.same([small.width, small.height], [256, 256], 'a small image is scaled up to 256x256')

  const removed = await s.app.inject({ method: 'DELETE', url: '/users/me/avatar', headers: s.alice.auth })
  t.equal(removed.statusCode, 204)
  t.same(s.onDisk(), [], 'its bytes are gone')
  t.equal((await get(s.http, s.bob, `/users/${s.alice.id}/avatar`)).status, 404)
  const after = await s.app.inject({ url: `/users/${s.alice.id}`, headers: s.bob.auth })
  t.equal(after.json().user.avatar_url, null)
  const twice = await s.app.inject({ method: 'DELETE', url: '/users/me/avatar', headers: s.alice.auth })
  t.equal(twice.statusCode, 204, 'removing no avatar is harmless')
})

t.test('not an image: 415, nothing kept', async (t) => {
  const s = await setup(t)
  const text = await putAvatar(s.http, s.alice, Buffer.from('<svg onload="alert(1)"></svg>'), 'me.svg')
  t.equal(text.status, 415)
  t.equal(text.body.code, 'UNSUPPORTED_MEDIA_TYPE')
  const png = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#fff' } })
    .png()
    .toBuffer()
  const broken = await putAvatar(s.http, s.alice, Buffer.concat([png.subarray(0, 40), Buffer.alloc(100, 1)]))
  t.equal(broken.status, 415, 'an image that does not decode: 415')
  t.same(s.onDisk(), [], 'no leftovers on disk')
  const me = await s.app.inject({ url: '/auth/check', headers: s.alice.auth })
  t.equal(me.json().user.avatar_url, null)
  const empty = await s.app.inject({
    method: 'PUT',
    url: '/users/me/avatar',
    headers: { ...s.alice.auth, 'content-type': 'application/json' },
    payload: {},
  })
  t.equal(empty.statusCode, 400, 'no multipart body: 400')
  t.equal((await get(s.http, s.alice, '/users/999999/avatar')).status, 404, 'no such user: 404')
})

t.test('people who see me hear of a new avatar; avatar_url reaches member lists', async (t) => {
  const s = await setup(t)
  const stranger = await register(s.app)
  const conversation = await createConversation(s.app, s.alice, [s.bob])
  const bobSocket = await connect(s.ws, s.bob.token)
  const strangerSocket = await connect(s.ws, stranger.token)
  t.teardown(async () => {
    await bobSocket.close()
    await strangerSocket.close()
  })
  const png = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#0f0' } })
    .png()
    .toBuffer()
  const set = await putAvatar(s.http, s.alice, png)
  const frame = await bobSocket.next((f) => f.type === 'user')
  t.equal((frame.user as Json).id, s.alice.id)
  t.equal((frame.user as Json).avatar_url, set.body.user.avatar_url, 'a `user` frame with the new URL')
  await strangerSocket.request({ type: 'ping' })
  t.notOk(
    strangerSocket.frames.some((f) => f.type === 'user'),
    'someone who shares nothing with me hears nothing',
  )
  const list = await s.app.inject({ url: '/conversations', headers: s.bob.auth })
  const listed = list.json().conversations.find((c: Json) => c.id === conversation)
  const member = listed.members.find((m: Json) => m.id === s.alice.id)
  t.equal(member.avatar_url, set.body.user.avatar_url, 'member lists carry it')
})
