import type { FastifyInstance } from 'fastify'
import sharp from 'sharp'
import { type Account, createConversation, register } from './app.js'
import { connect } from './ws.js'

// A small team's worth of content for the screenshots (test/web-screenshots.e2e.test.ts): five
// people (Alice, the first, is the admin), pictures, a group with Markdown, code, a quote, an
// image, emoji and Chinese, direct conversations over several days with unread messages, a
// project with a file, contacts, an invitation; Bob and Wei online.

const DAY = 24 * 3600 * 1000

const face = (hue: number, shirt: string) =>
  sharp(
    Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256">
      <defs><linearGradient id="g" x2="1" y2="1"><stop offset="0" stop-color="hsl(${hue},70%,78%)"/>
      <stop offset="1" stop-color="hsl(${hue + 40},60%,58%)"/></linearGradient></defs>
      <rect width="256" height="256" fill="url(#g)"/><circle cx="128" cy="104" r="50" fill="#f1c9a5"/>
      <path d="M40 256c0-60 40-92 88-92s88 32 88 92z" fill="${shirt}"/></svg>`),
  )
    .png()
    .toBuffer()

const PHOTO = `<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800">
  <defs><linearGradient id="sky" x2="0" y2="1"><stop offset="0" stop-color="#f6a15b"/>
  <stop offset="1" stop-color="#fde3b0"/></linearGradient></defs>
  <rect width="1200" height="800" fill="url(#sky)"/><circle cx="860" cy="300" r="90" fill="#fff4d6"/>
  <path d="M0 560 280 300 470 480 690 260 1200 620V800H0z" fill="#5b6c8f"/>
  <path d="M0 650 340 470 620 640 900 500 1200 660V800H0z" fill="#34405c"/>
  <rect y="700" width="1200" height="100" fill="#2a6f8f"/></svg>`

async function upload(http: string, who: Account, path: string, method: string, bytes: Buffer, name: string) {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(bytes)]), name)
  const response = await fetch(http + path, { method, body: form, headers: who.auth })
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`)
  // biome-ignore lint/suspicious/noExplicitAny: response bodies
  return (await response.json()) as any
}

export interface Team {
  crew: number
  direct: number
  /** Two direct conversations alike (days, an unread tail): one per window size. */
  timelines: number[]
  project: { id: number; conversation_id: number }
}

export async function seedTeam(
  t: { teardown: (fn: () => unknown) => void },
  server: { app: FastifyInstance; http: string; ws: string },
): Promise<Team> {
  const { app } = server
  const inject = async (who: Account, method: string, url: string, payload?: object) => {
    const response = await app.inject({ method: method as 'POST', url, headers: who.auth, payload })
    if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.statusCode}`)
    return response.body ? response.json() : null
  }
  const people: Record<string, Account> = {}
  const names = {
    alice: 'Alice Archer',
    bob: 'Bob Baker',
    wei: 'Chen Wei 陈伟',
    dmitri: 'Dmitri Volkov',
    erin: "Erin O'Neil",
  }
  for (const [username, display_name] of Object.entries(names)) {
    people[username] = await register(app, username) // alice, the first, is the admin
    await inject(people[username], 'PATCH', '/users/me', { display_name })
  }
  const { alice, bob, wei, dmitri, erin } = people
  for (const [who, hue, shirt] of [
    [bob, 200, '#2f4b8f'],
    [wei, 330, '#7a2f5c'],
    [dmitri, 100, '#2f6b3a'],
  ] as const) {
    await upload(server.http, who, '/users/me/avatar', 'PUT', await face(hue, shirt), 'me.png')
  }
  const send = async (who: Account, conversation: number, content: string, ago = 0) => {
    const { message } = await inject(who, 'POST', `/conversations/${conversation}/messages`, { content })
    if (ago) {
      const at = new Date(Date.now() - ago)
      await app.db
        .updateTable('messages')
        .set({ created_at: at.toISOString() })
        .where('id', '=', message.id)
        .execute()
    }
    return message.id as number
  }

  const crew = await createConversation(app, alice, [bob, wei, dmitri], 'Launch crew 🚀')
  await send(bob, crew, 'Morning! The **release candidate** is up on staging 🎉')
  await send(
    wei,
    crew,
    'Checklist for today:\n- run the migrations\n- check the *thumbnails* on phones\n- update [the changelog](https://example.com/changelog)',
  )
  await send(
    dmitri,
    crew,
    "The build fails for me:\n```\nError: Cannot find module 'sharp'\n    at build.js:12\n```",
  )
  await send(alice, crew, 'Run `npm ci` again: the lock file changed this morning.')
  await send(dmitri, crew, '> Run `npm ci` again\n\nThat fixed it, thanks!')
  await upload(
    server.http,
    wei,
    `/conversations/${crew}/files`,
    'POST',
    await sharp(Buffer.from(PHOTO)).png().toBuffer(),
    'harbour-at-dusk.png',
  )
  await send(wei, crew, '东京团队明天上线 — the Tokyo team goes live tomorrow 🌸')
  await send(bob, crew, '@alice could you review the ~~old~~ new release notes? https://example.org/notes')

  const direct = await createConversation(app, alice, [bob])
  await send(bob, direct, 'Do you have ten minutes before the release call?', 50 * 60 * 1000)
  await send(alice, direct, 'Sure, ping me at 3 ☕')
  await send(bob, direct, 'Great, I will share my screen.')
  // Two conversations with a history over several days and an unread tail, one per window size.
  const timelines: number[] = []
  for (const other of [dmitri, erin]) {
    const id = await createConversation(app, alice, [other])
    await send(other, id, 'Are the release notes in the shared folder?', 2 * DAY)
    await send(alice, id, 'Yes, under *docs/releases*.', 2 * DAY - 60_000)
    await send(other, id, 'Found them, thanks.', DAY)
    const seen = await send(alice, id, 'See you at the retro tomorrow 👋')
    await inject(alice, 'POST', `/conversations/${id}/read`, { message_id: seen })
    await send(other, id, 'Retro moved to 4 pm.')
    await send(other, id, 'And we have cake 🎂')
    timelines.push(id)
  }
  const { project } = await inject(alice, 'POST', '/projects', {
    name: 'Website relaunch',
    description: 'New site, new docs, same domain.',
    member_ids: [bob.id, wei.id],
  })
  const brief = Buffer.from('# Relaunch brief\n\nGoals, dates and owners.\n')
  await upload(server.http, alice, `/projects/${project.id}/files`, 'POST', brief, 'relaunch-brief.md')
  await send(bob, project.conversation_id, 'The new **navigation** is ready for review.')
  await send(wei, project.conversation_id, 'Looks great on my phone 📱')
  // An invitation and a second admin, for the admin screens and their audit log.
  await inject(alice, 'POST', '/invites', { max_uses: 5 })
  await inject(alice, 'PATCH', `/users/${dmitri.id}`, { role: 'admin' })
  for (const contact of [bob, wei, dmitri]) {
    await inject(alice, 'POST', '/users/me/contacts', { user_id: contact.id })
  }
  // Bob and Wei are online.
  for (const who of [bob, wei]) {
    const socket = await connect(server.ws, who.token)
    t.teardown(() => socket.close())
  }
  return { crew, direct, timelines, project }
}
