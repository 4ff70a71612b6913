import { existsSync } from 'node:fs'
import type { Page } from 'playwright-core'
import sharp from 'sharp'
import t, { type Test } from 'tap'
import { type Account, createConversation, MANY_WRITES, register, startTestServer } from './helpers/app.js'
import {
  CHROMIUM,
  DESKTOP,
  launchBrowser,
  loginInPage,
  newPage,
  PHONE,
  screenshot,
  waitConnected,
} from './helpers/browser.js'
import { connect } from './helpers/ws.js'

// Every screen of the page at desktop (1280x800) and phone (390x844) size, with a team's worth of
// content: names, pictures, Markdown, code, an image, emoji and Chinese. Each screen's key element
// must be visible and nothing may be wider than the window; with PARLEY_SCREENSHOTS=1 each view is
// also saved as docs/screenshots/<screen>-<desktop|phone>.png (the gallery in docs/WEB.md).
// Run alone: PARLEY_SCREENSHOTS=1 npx tap test/web-screenshots.e2e.test.ts

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

/** Waits for the fonts and for every picture in view to have loaded. */
const settled = async (page: Page) => {
  await page.evaluate(() => document.fonts.ready.then(() => true))
  await page.waitForFunction(() =>
    Array.from(document.images).every((img) => {
      const box = img.getBoundingClientRect()
      const inView = box.width > 0 && box.bottom > 0 && box.top < innerHeight
      return !inView || (img.complete && img.naturalWidth > 0)
    }),
  )
}

/**
 * The visible elements that reach past the window's right edge (clipped by a box that hides its
 * overflow or scrolling sideways: a page scrolling sideways is caught apart), other than in a code
 * block (which scrolls sideways on purpose) or in text that ends in an ellipsis.
 */
const cutOff = (page: Page) =>
  page.evaluate(() => {
    const found: string[] = []
    for (const node of Array.from(document.querySelectorAll('body *'))) {
      const box = node.getBoundingClientRect()
      if (box.width === 0 || box.height === 0 || box.right <= innerWidth + 1 || box.left >= innerWidth)
        continue
      if (getComputedStyle(node).visibility === 'hidden') continue
      let meant = false
      for (let up = node.parentElement; up && !meant; up = up.parentElement) {
        const style = getComputedStyle(up)
        meant = up.tagName === 'PRE' && ['auto', 'scroll'].includes(style.overflowX)
        meant ||= style.textOverflow === 'ellipsis'
      }
      if (meant) continue
      const name = node.id
        ? `#${node.id}`
        : `${node.tagName.toLowerCase()}.${Array.from(node.classList).join('.')}`
      found.push(
        `${name} (${Math.round(box.left)}-${Math.round(box.right)}): ${(node.textContent ?? '').slice(0, 30)}`,
      )
    }
    return found
  })

if (!existsSync(CHROMIUM)) {
  t.fail(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
} else {
  t.test('every screen at desktop and phone size', async (t) => {
    const server = await startTestServer(t, MANY_WRITES)
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

    const browser = await launchBrowser(t)
    const problems: string[] = []
    const sizes = [
      { size: 'desktop', viewport: DESKTOP },
      { size: 'phone', viewport: PHONE },
    ] as const
    const pages = new Map<string, Page>()
    const guests = new Map<string, Page>()
    for (const { size, viewport } of sizes) {
      const page = await newPage(browser, server.http, viewport, problems)
      await loginInPage(page, 'alice')
      pages.set(size, page)
      guests.set(size, await newPage(browser, server.http, viewport, problems))
    }

    let visits = 0
    /** A fresh load of the page (a new query string: never a same-document hash change). */
    const visit = async (page: Page, conversation?: number) => {
      await page.goto(`/?v=${++visits}${conversation ? `#c=${conversation}` : ''}`)
      await waitConnected(page)
      if (conversation) await page.waitForSelector('#message-list li.message[data-id]')
    }
    /** The account and admin panel at `tab`; returns the selector of `key` inside it. */
    const openPanel = async (page: Page, tab: string, key: string) => {
      await visit(page)
      await page.click('#account-btn')
      await page.click(`#panel-${tab}`)
      return `#admin-panel ${key}`
    }

    /** Each screen: how to get there, and the element it is about. */
    const screens: Array<{
      name: string
      guest?: boolean
      show: (page: Page, size: string) => Promise<string>
    }> = [
      {
        name: 'login',
        guest: true,
        show: async (page) => {
          await page.goto('/')
          await page.fill('#login-form input[name=username]', 'alice')
          return '#login-form button[type=submit]'
        },
      },
      {
        name: 'register',
        guest: true,
        show: async (page) => {
          await page.goto('/')
          await page.click('#tab-register')
          await page.fill('#register-form input[name=username]', 'erin o')
          await page.fill('#register-form input[name=display_name]', "Erin O'Neil")
          await page.fill('#register-form input[name=password]', 'short')
          return '#register-form button[type=submit]'
        },
      },
      {
        name: 'conversations',
        show: async (page) => {
          await visit(page)
          return `.conv-item[data-id="${crew}"]`
        },
      },
      {
        name: 'chat',
        show: async (page) => {
          await visit(page, crew)
          await page.waitForSelector('#message-list .inline-image img')
          return '#message-list .content.markdown pre'
        },
      },
      {
        name: 'viewer',
        show: async (page) => {
          await visit(page, crew)
          await page.click('#message-list .inline-image')
          return '#image-viewer img'
        },
      },
      {
        name: 'mentions',
        show: async (page) => {
          await visit(page, crew)
          await page.click('#composer-input')
          await page.keyboard.type('Thanks @')
          return '#mention-list li'
        },
      },
      {
        name: 'details',
        show: async (page) => {
          await visit(page, crew)
          await page.click('#details-btn')
          return '#member-list li'
        },
      },
      {
        name: 'direct',
        show: async (page) => {
          await visit(page, direct)
          return '#chat-avatar img.avatar-picture'
        },
      },
      {
        name: 'timeline',
        show: async (page, size) => {
          await visit(page, timelines[size === 'desktop' ? 0 : 1])
          return '#message-list .unread-marker'
        },
      },
      {
        name: 'project',
        show: async (page) => {
          await visit(page, project.conversation_id)
          await page.click('#details-btn')
          return '#file-list li'
        },
      },
      {
        name: 'contacts',
        show: async (page) => {
          await visit(page)
          await page.locator('#contact-list').scrollIntoViewIfNeeded()
          return '#contact-list li'
        },
      },
      {
        name: 'search',
        show: async (page) => {
          await visit(page)
          await page.click('#search-input')
          await page.fill('#search-input', 'release')
          return '#search-results .search-result mark'
        },
      },
      { name: 'account', show: (page) => openPanel(page, 'account', '.panel-body h3') },
      { name: 'admin-people', show: (page) => openPanel(page, 'people', '[data-username="dmitri"]') },
      { name: 'admin-settings', show: (page) => openPanel(page, 'settings', 'select') },
      { name: 'admin-audit', show: (page) => openPanel(page, 'audit', 'td:text-is("alice")') },
    ]

    const check = async (t: Test, page: Page, name: string, size: string, key: string) => {
      await page.locator(key).first().waitFor({ state: 'visible' })
      await settled(page)
      const width = await page.evaluate(() => document.scrollingElement?.scrollWidth ?? 0)
      t.ok(
        width <= (size === 'phone' ? PHONE : DESKTOP).width,
        `${name}-${size}: ${key} shown, no page scroll sideways (${width} px)`,
      )
      t.same(await cutOff(page), [], `${name}-${size}: nothing cut off at the window's right edge`)
      await screenshot(page, `${name}-${size}`)
    }

    for (const screen of screens) {
      await t.test(screen.name, async (t) => {
        for (const { size } of sizes) {
          const page = (screen.guest ? guests : pages).get(size) as Page
          await check(t, page, screen.name, size, await screen.show(page, size))
        }
      })
    }

    await t.test('reconnecting (the server stops; the last screen)', async (t) => {
      for (const { size } of sizes) await visit(pages.get(size) as Page, crew)
      await app.close()
      for (const { size } of sizes) {
        const page = pages.get(size) as Page
        await page.waitForFunction(() => document.body.dataset.connection !== 'open')
        await check(t, page, 'reconnecting', size, '#banner')
      }
    })

    t.same(problems, [], 'no page errors')
  })
}
