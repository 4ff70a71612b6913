import { existsSync } from 'node:fs'
import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { MANY_WRITES, startTestServer } from './helpers/app.js'
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
import { seedTeam } from './helpers/team-seed.js'

// Every screen of the page at desktop (1280x800) and phone (390x844) size, with a team's worth of
// content: names, pictures, Markdown, code, an image, emoji and Chinese. Each screen's key element
// must be visible and nothing may be wider than the window; with PARLEY_SCREENSHOTS=1 each view is
// also saved as docs/screenshots/<screen>-<desktop|phone>.png (the gallery in docs/WEB.md).
// Run alone: PARLEY_SCREENSHOTS=1 npx tap test/web-screenshots.e2e.test.ts

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
    const { crew, direct, timelines, project } = await seedTeam(t, server)

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
