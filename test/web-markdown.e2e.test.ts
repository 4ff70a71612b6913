import { existsSync } from 'node:fs'
import t from 'tap'
import { createConversation, register, startTestServer } from './helpers/app.js'
import { CHROMIUM, DESKTOP, launchBrowser, loginInPage, newPage, waitConnected } from './helpers/browser.js'

// Markdown in the page (public/markdown.js): the chat subset renders as elements, and every
// HTML or script payload, Markdown-shaped or not, shows as text. Debian's Chromium driven by
// playwright-core, as in test/web.e2e.test.ts. Run alone: npx tap test/web-markdown.e2e.test.ts

/** Each must render with no link, image, script or event handler, and run nothing. */
const XSS = [
  '<img src=x onerror=alert(1)>',
  '<script>alert(1)</script>',
  '<div onmouseover="alert(1)">hover</div>\n\ntext after',
  '[x](javascript:alert(1))',
  '[x](JaVaScRiPt:alert(1))',
  '[x](java\tscript:alert(1))',
  '[x](vbscript:msgbox(1))',
  '[x](file:///etc/passwd)',
  '[d](data:text/html,<script>alert(1)</script>)',
  '[d](data:image/png;base64,iVBORw0KGgo=)',
  '<javascript:alert(1)>',
  'javascript:alert(1)',
  '![x](https://example.com/x.png" onerror="alert(1))',
  '![a](x onerror=alert(1))',
  '[x]: javascript:alert(1)\n\n[x]',
  '`<img src=x onerror=alert(1)>`',
  '```html\n<script>alert(1)</script>\n```',
  '> <iframe src="javascript:alert(1)"></iframe>',
  '**<svg onload=alert(1)>**',
  '[<img src=x onerror=alert(1)>](https://example.com)',
]

if (!existsSync(CHROMIUM)) {
  t.fail(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
} else {
  t.test('Markdown in messages: the subset renders, HTML and scripts stay text', async (t) => {
    const server = await startTestServer(t, { writeRateLimit: 10_000 })
    const alice = await register(server.app, 'md_alice')
    const bob = await register(server.app, 'md_bob')
    const conversation = await createConversation(server.app, bob, [alice])
    const send = async (content: string) => {
      const response = await server.app.inject({
        method: 'POST',
        url: `/conversations/${conversation}/messages`,
        headers: bob.auth,
        payload: { content },
      })
      if (response.statusCode !== 201) throw new Error(`send: ${response.statusCode}`)
      t.equal(response.json().message.content, content, 'the server stores the source unchanged')
      return response.json().message.id as number
    }
    const ids = new Map<string, number>()
    const rich = {
      emphasis: '**bold** and *italic* and ~~gone~~',
      code: 'run `npm start` now',
      fence: '```\nconst a = 1 < 2\n```',
      quote: '> quoted words',
      list: '- one\n- two\n\n1. first\n2. second',
      link: '[the docs](https://example.com/docs?a=1&b=2)',
      bare: 'see https://example.org/path and mail ann@example.net, not setup.py or www.example.net',
      lines: 'first line\nsecond line',
      heading: '# not a heading',
    }
    for (const [name, text] of Object.entries(rich)) ids.set(name, await send(text))
    for (const payload of XSS) ids.set(payload, await send(payload))

    const browser = await launchBrowser(t)
    const problems: string[] = []
    const page = await newPage(browser, server.http, DESKTOP, problems)
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) problems.push(`csp: ${message.text()}`)
    })
    // newPage's own handler dismisses it; any dialog here is a script that ran.
    page.on('dialog', (dialog) => problems.push(`dialog: ${dialog.message()}`))
    await loginInPage(page, 'md_alice')
    await page.click(`.conv-item[data-id="${conversation}"]`)
    const last = ids.get(XSS.at(-1) ?? '')
    await page.waitForSelector(`#message-list li.message[data-id="${last}"] .content`)
    const content = (name: string) =>
      page.locator(`#message-list li.message[data-id="${ids.get(name)}"] .content`)
    const html = async (name: string) => (await content(name).innerHTML()).replace(/\s+/g, ' ')

    await t.test('the subset', async (t) => {
      t.equal(await html('emphasis'), '<p><strong>bold</strong> and <em>italic</em> and <s>gone</s></p>')
      t.equal(await html('code'), '<p>run <code>npm start</code> now</p>')
      t.equal(await html('fence'), '<pre><code>const a = 1 &lt; 2</code></pre>')
      t.equal(await html('quote'), '<blockquote><p>quoted words</p></blockquote>')
      t.equal(await html('list'), '<ul><li>one</li><li>two</li></ul><ol><li>first</li><li>second</li></ol>')
      t.equal(await html('lines'), '<p>first line<br>second line</p>', 'a newline is a line break')
      t.equal(await html('heading'), '<p># not a heading</p>', 'no headings in chat')
      const link = content('link').locator('a')
      t.equal(await link.getAttribute('href'), 'https://example.com/docs?a=1&b=2')
      t.equal(await link.getAttribute('target'), '_blank')
      t.equal(await link.getAttribute('rel'), 'noopener noreferrer')
      t.equal(await link.textContent(), 'the docs')
      const bare = await content('bare')
        .locator('a')
        .evaluateAll((links) =>
          links.map((a) => [a.getAttribute('href'), a.textContent, a.getAttribute('rel')]),
        )
      t.same(
        bare,
        [
          ['https://example.org/path', 'https://example.org/path', 'noopener noreferrer'],
          ['mailto:ann@example.net', 'ann@example.net', 'noopener noreferrer'],
        ],
        'URLs with a scheme and e-mail addresses are linked; bare host names are not',
      )
    })

    await t.test("the sidebar's preview shows the words, not the marks", async (t) => {
      const preview = page.locator(`.conv-item[data-id="${conversation}"] .conv-preview`)
      const source = '**Ship** it: [the docs](https://example.com/d) and `npm start`\n```\nmake all\n```'
      await send(source)
      const shown = 'md_bob: Ship it: the docs and npm start make all'
      await page.waitForFunction(
        ([id, text]) =>
          document.querySelector(`.conv-item[data-id="${id}"] .conv-preview`)?.textContent === text,
        [conversation, shown] as const,
      )
      t.equal(await preview.textContent(), shown, 'live, from the message frame')
      await page.reload()
      await waitConnected(page)
      t.equal(await preview.textContent(), shown, 'and from the conversation list after a reload')
      await send('<b>not bold</b> *and* ~~x~~')
      await page.waitForFunction(
        (id) =>
          document
            .querySelector(`.conv-item[data-id="${id}"] .conv-preview`)
            ?.textContent?.includes('not bold'),
        conversation,
      )
      t.equal(await preview.textContent(), 'md_bob: <b>not bold</b> and x', 'HTML stays text')
      await page.click(`.conv-item[data-id="${conversation}"]`)
    })

    await t.test('HTML and script payloads show as text', async (t) => {
      for (const payload of XSS) {
        const node = content(payload)
        const made = await node.evaluate((root) => {
          const all = Array.from(root.querySelectorAll('*'))
          return {
            tags: [...new Set(all.map((e) => e.tagName.toLowerCase()))].sort(),
            handlers: all.some((e) => Array.from(e.attributes).some((a) => a.name.startsWith('on'))),
            links: Array.from(root.querySelectorAll('a')).map((a) => a.getAttribute('href')),
          }
        })
        const unsafe = made.tags.filter(
          (tag) => !['p', 'br', 'code', 'pre', 'strong', 'blockquote', 'span', 'a'].includes(tag),
        )
        t.same(unsafe, [], `${JSON.stringify(payload)}: only text elements (${made.tags.join(',')})`)
        t.notOk(made.handlers, `${JSON.stringify(payload)}: no event handler attribute`)
        t.ok(
          made.links.every((href) => /^https:\/\/example\.com\//.test(href ?? '')),
          `${JSON.stringify(payload)}: no link but a safe one (${made.links.join(' ')})`,
        )
      }
      t.equal(await content('<img src=x onerror=alert(1)>').textContent(), '<img src=x onerror=alert(1)>')
      t.equal(await content('[x](javascript:alert(1))').textContent(), '[x](javascript:alert(1))')
      t.equal(await content('javascript:alert(1)').textContent(), 'javascript:alert(1)')
      t.match(await content('[d](data:image/png;base64,iVBORw0KGgo=)').textContent(), /^\[d\]\(data:/)
      t.equal(
        await page.locator('#message-list .content img, #message-list script, #message-list iframe').count(),
        0,
      )
    })

    t.same(problems, [], 'no script ran, no page error, no CSP violation')
  })
}
