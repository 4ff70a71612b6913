import { existsSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { type Browser, chromium, type Page } from 'playwright-core'
import t from 'tap'
import { type Account, createConversation, MANY_WRITES, register, startTestServer } from './helpers/app.js'

// The web page's message search (public/search.js and its modules, message-jump.js): shortcuts,
// results as you type grouped by conversation with marked matches, text never read as HTML, the
// "From" filter, a file result, keyboard navigation, a result far back in history opened in
// place (the page around it, then the newer ones filled by scrolling), and a late answer to an
// older query that must not replace the newer one's results. Debian's Chromium driven by
// playwright-core, as in test/web.e2e.test.ts. Run alone: npx tap test/web-search.e2e.test.ts

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const TIMEOUT = 20_000 // generous: the machine may be busy
const FILLERS = 120
const XSS = '<img src=x onerror="window.__xss=1"> rocket <b>bold</b>'

async function send(app: FastifyInstance, who: Account, conversationId: number, content: string) {
  const response = await app.inject({
    method: 'POST',
    url: `/conversations/${conversationId}/messages`,
    headers: who.auth,
    payload: { content },
  })
  if (response.statusCode !== 201) throw new Error(`send: ${response.statusCode} ${response.body}`)
  return response.json().message.id as number
}

/** The snippets of the message results shown, in order. */
const snippets = (page: Page) =>
  page.$$eval('#search-results .search-result .search-snippet', (spans) =>
    spans.map((s) => s.textContent ?? ''),
  )

/** Waits until the message results shown are exactly `wanted` (in any order). */
async function waitSnippets(page: Page, wanted: string[]) {
  await page.waitForFunction((wanted) => {
    const shown = Array.from(document.querySelectorAll('#search-results .search-result .search-snippet'))
      .map((span) => span.textContent ?? '')
      .sort()
    return JSON.stringify(shown) === JSON.stringify([...wanted].sort())
  }, wanted)
}

async function search(page: Page, q: string) {
  await page.click('#search-input')
  await page.fill('#search-input', q)
}

if (!existsSync(CHROMIUM)) {
  // Not a skip: CI installs Chromium (`apt-get install -y chromium`), so a missing one is a failure.
  t.fail(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
} else {
  t.test('message search in the web page', async (t) => {
    const server = await startTestServer(t, MANY_WRITES)
    const { app } = server
    const [alice, bob, carol] = [
      await register(app, 'alice'),
      await register(app, 'bob'),
      await register(app, 'carol'),
    ]
    const crew = await createConversation(app, alice, [bob, carol], 'Launch crew')
    await send(app, bob, crew, 'deploy the rocket on friday')
    const fuel = await send(app, carol, crew, 'rocket fuel is ready')
    await send(app, alice, crew, XSS)
    await send(app, bob, crew, 'alpine lake trip')
    await send(app, bob, crew, 'alpha release notes')
    const form = new FormData()
    form.append('file', new Blob(['countdown: 10']), 'rocket-plan.txt')
    const upload = await fetch(`${server.http}/conversations/${crew}/files`, {
      method: 'POST',
      headers: alice.auth,
      body: form,
    })
    t.equal(upload.status, 201, 'a file sent')
    const fileId = ((await upload.json()) as { message: { attachments: Array<{ id: number }> } }).message
      .attachments[0].id
    // A direct conversation whose first message is more than two history pages back.
    const direct = await createConversation(app, alice, [bob])
    const ancient = await send(app, bob, direct, 'the ancient rocket blueprint')
    for (let i = 1; i <= FILLERS; i++) await send(app, i % 2 ? alice : bob, direct, `filler ${i}`)

    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    })
    t.teardown(() => browser.close())
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: server.http })
    const page = await context.newPage()
    page.setDefaultTimeout(TIMEOUT)
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
    page.on('dialog', (dialog) => dialog.dismiss())

    await page.goto('/')
    await page.fill('#login-form input[name=username]', 'alice')
    await page.fill('#login-form input[name=password]', 'correct horse battery')
    await page.press('#login-form input[name=password]', 'Enter')
    await page.waitForFunction(() => document.body.dataset.connection === 'open')

    await t.test('/ and Ctrl-K focus the field; Escape closes the search', async (t) => {
      const focused = () => page.evaluate(() => document.activeElement?.id ?? '')
      await page.click('#empty-state')
      await page.keyboard.press('/')
      t.equal(await focused(), 'search-input', '/ focuses the search')
      t.ok(await page.isVisible('#search-panel'), 'the panel opens')
      t.match(await page.textContent('#search-status'), /Type to search/, 'with its empty state')
      t.equal(await page.inputValue('#search-input'), '', 'the / is not typed')
      await page.keyboard.press('Escape')
      await page.waitForSelector('#search-panel', { state: 'hidden' })
      t.not(await focused(), 'search-input')
      await page.click('#empty-state')
      await page.keyboard.press('Control+k')
      t.equal(await focused(), 'search-input', 'Ctrl-K focuses the search')
      await page.keyboard.press('Escape')
      // In the composer, / is just a character.
      await page.click(`.conv-item[data-id="${crew}"]`)
      await page.click('#composer-input')
      await page.keyboard.type('a/b')
      t.equal(await page.inputValue('#composer-input'), 'a/b')
      t.equal(await focused(), 'composer-input')
      await page.fill('#composer-input', '')
    })

    await t.test('results as you type, grouped by conversation, matches marked', async (t) => {
      await search(page, 'rocket')
      await waitSnippets(page, [
        'the ancient rocket blueprint',
        XSS,
        'rocket fuel is ready',
        'deploy the rocket on friday',
        'rocket-plan.txt',
      ])
      const titles = await page.$$eval('#search-results .search-group:not(.search-files) h3', (hs) =>
        hs.map((h) => h.textContent),
      )
      t.same([...titles].sort(), ['Launch crew', 'bob'], 'one group per conversation, titled')
      const marks = await page.$$eval('#search-results .search-result mark', (ms) =>
        ms.map((m) => m.textContent),
      )
      t.equal(marks.length, 5, 'one mark per message')
      t.ok(
        marks.every((text) => text?.toLowerCase() === 'rocket'),
        'each marks the word',
      )
      const senders = await page.$$eval('#search-results .search-sender', (ss) =>
        ss.map((s) => s.textContent),
      )
      t.ok(senders.includes('carol') && senders.includes('You'), 'senders named')
      t.equal(await page.$$eval('#search-results img:not([src^="/icons/"])', (imgs) => imgs.length), 0)
      t.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined)
      t.ok((await snippets(page)).includes(XSS), 'the markup shows as text')
    })

    await t.test('a file result links to the file', async (t) => {
      const link = page.locator('#search-results .search-files a.search-file')
      t.equal(await link.count(), 1)
      t.match(await link.textContent(), /rocket-plan\.txt/)
      const href = await link.getAttribute('href')
      t.equal(href, `/files/${fileId}`)
      const body = await page.evaluate(async (href) => (await fetch(href)).text(), href as string)
      t.equal(body, 'countdown: 10', 'the link serves the file')
    })

    await t.test('the "From" chip narrows the results; removing it widens them again', async (t) => {
      await page.click('#search-filters button:has-text("+ From")')
      await page.fill('#search-from-input', 'carol')
      await page.click('#search-editor button:has-text("Choose")')
      await page.waitForSelector('#search-filters .search-chip:has-text("From: carol")')
      await waitSnippets(page, ['rocket fuel is ready'])
      t.equal(await page.locator('#search-results .search-files').count(), 0, 'file names have no sender')
      await page.click('button[aria-label="Remove filter From: carol"]')
      await page.waitForFunction(
        () => document.querySelectorAll('#search-results .search-result').length === 5,
      )
      t.equal(await page.locator('#search-filters .search-chip').count(), 0)
    })

    await t.test('"In conversation" and date chips; "Load more" pages on', async (t) => {
      const results = () => page.locator('#search-results .search-result').count()
      await search(page, 'filler')
      await page.click('#search-filters button:has-text("+ In conversation")')
      await page.fill('#search-editor input', 'bob')
      // The unfiltered answer has 20 results too: wait for the filtered one before paging on.
      await Promise.all([
        page.waitForResponse((r) => r.url().includes('/search?') && r.url().includes('conversation_id=')),
        page.click('#search-editor button:text-is("bob")'),
      ])
      await page.waitForSelector('#search-filters .search-chip:has-text("In: bob")')
      await page.waitForFunction(
        () => document.querySelectorAll('#search-results .search-result').length === 20,
      )
      t.ok(await page.isVisible('#search-more'), 'more to load')
      await page.click('#search-more')
      await page.waitForFunction(
        () => document.querySelectorAll('#search-results .search-result').length === 40,
      )
      t.equal(await page.locator('#search-results section.search-group').count(), 1, 'one conversation')
      t.equal(await results(), 40)
      await page.click('#search-filters button:has-text("+ Date")')
      await page.fill('#search-editor input[aria-label="After (inclusive)"]', '2099-01-01')
      await page.click('#search-editor button:has-text("Apply")')
      await page.waitForSelector('#search-filters .search-chip:has-text("After: 2099-01-01")')
      await page.waitForFunction(() =>
        document.querySelector('#search-status')?.textContent?.includes('No messages'),
      )
      t.equal(await results(), 0, 'nothing sent after 2099')
      await page.keyboard.press('Escape')
      t.equal(await page.locator('#search-filters .search-chip').count(), 0, 'Escape forgets the filters')
    })

    await t.test('arrow keys and Enter open a result, highlighted in its conversation', async (t) => {
      await search(page, 'rocket')
      await waitSnippets(page, [
        'the ancient rocket blueprint',
        XSS,
        'rocket fuel is ready',
        'deploy the rocket on friday',
        'rocket-plan.txt',
      ])
      const activeId = () => page.getAttribute('#search-results .search-option.active', 'id')
      await page.keyboard.press('ArrowUp')
      const last = await page.$eval(
        '#search-results',
        (box) => Array.from(box.querySelectorAll('.search-option')).at(-1)?.id,
      )
      t.equal(await activeId(), last, 'ArrowUp from nothing: the last result')
      await page.keyboard.press('ArrowDown')
      t.equal(
        await page.getAttribute('#search-results .search-option.active', 'data-file-id'),
        String(fileId),
      )
      await page.keyboard.press('ArrowDown')
      t.equal(await page.getAttribute('#search-results .search-option.active', 'aria-selected'), 'true')
      // Enter right after typing: the search runs at once and opens what the new query finds.
      await page.fill('#search-input', 'fuel')
      await page.keyboard.press('Enter')
      await page.waitForSelector('#search-panel', { state: 'hidden' })
      await page.waitForSelector(`#message-list li.message.jump-target[data-id="${fuel}"]`)
      t.equal(await page.textContent('#chat-title'), 'Launch crew')
    })

    await t.test('a result far back in history opens in place; scrolling down fills the rest', async (t) => {
      await page.keyboard.press('Control+k')
      await page.fill('#search-input', 'ancient')
      await waitSnippets(page, ['the ancient rocket blueprint'])
      await page.click('#search-results .search-result')
      await page.waitForFunction(() => document.querySelector('#chat-title')?.textContent === 'bob')
      const target = `#message-list li.message.jump-target[data-id="${ancient}"]`
      await page.waitForSelector(target)
      const inView = await page.$eval(target, (row) => {
        const box = (document.getElementById('messages') as HTMLElement).getBoundingClientRect()
        const rect = row.getBoundingClientRect()
        return rect.top >= box.top && rect.bottom <= box.bottom
      })
      t.ok(inView, 'the message is in view')
      t.ok(await page.isVisible('#message-list .history-gap'), 'newer messages not loaded yet')
      t.equal(await page.textContent('#history-status'), 'Beginning of the conversation')
      // Scroll down (through the gap, as a reader would) until the newest message is there.
      await page.waitForFunction(
        (total) => {
          const gap = document.querySelector('#message-list .history-gap')
          const box = document.getElementById('messages') as HTMLElement
          if (gap) gap.scrollIntoView({ block: 'end' })
          else box.scrollTop = box.scrollHeight
          const rows = document.querySelectorAll('#message-list li.message[data-id]').length
          return rows === total && !document.querySelector('#message-list .history-gap')
        },
        FILLERS + 1,
        { polling: 200 },
      )
      const ids = await page.$$eval('#message-list li.message[data-id]', (rows) =>
        rows.map((row) => Number((row as HTMLElement).dataset.id)),
      )
      t.ok(
        ids.every((id, i) => i === 0 || id > ids[i - 1]),
        'every message once, in order',
      )
      t.equal(await page.textContent('#message-list li.message:last-child .content'), `filler ${FILLERS}`)
    })

    await t.test('a late answer to an older query never replaces a newer one', async (t) => {
      let release = () => {}
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      await page.route(
        (url) => url.pathname === '/search' && url.searchParams.get('q') === 'alp',
        async (route) => {
          await released
          await route.continue()
        },
      )
      const oldRequest = page.waitForRequest((r) => new URL(r.url()).searchParams.get('q') === 'alp')
      await search(page, 'alp')
      await oldRequest
      await page.fill('#search-input', 'alpha')
      await waitSnippets(page, ['alpha release notes'])
      const oldResponse = page.waitForResponse((r) => new URL(r.url()).searchParams.get('q') === 'alp')
      release()
      await oldResponse
      // Let the page handle the late answer (two turns of its event loop are plenty).
      await page.evaluate(() => new Promise((done) => setTimeout(done, 50)))
      t.same(await snippets(page), ['alpha release notes'], 'still the newer query’s results')
      await page.keyboard.press('Escape')
    })

    t.same(problems, [], 'no page errors')
  })
}
