import { existsSync } from 'node:fs'
import sharp from 'sharp'
import t from 'tap'
import { type Account, createConversation, register, startTestServer } from './helpers/app.js'
import { CHROMIUM, DESKTOP, launchBrowser, loginInPage, newPage } from './helpers/browser.js'

// Images and avatars in the page: thumbnails with their box reserved, the viewer, pictures in the
// sidebar, the header and message groups, my own picture from the header, initials as fallback.
// Debian's Chromium driven by playwright-core. Run alone: npx tap test/web-images.e2e.test.ts

const picture = (width: number, height: number, background: string) =>
  sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer()

async function putFile(http: string, who: Account, path: string, method: string, bytes: Buffer) {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(bytes)]), 'picture.png')
  const response = await fetch(http + path, { method, body: form, headers: who.auth })
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`)
  // biome-ignore lint/suspicious/noExplicitAny: response bodies
  return (await response.json()) as any
}

if (!existsSync(CHROMIUM)) {
  t.fail(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
} else {
  t.test('images and avatars in the page', async (t) => {
    const server = await startTestServer(t)
    const alice = await register(server.app, 'img_alice')
    const bob = await register(server.app, 'img_bob')
    const conversation = await createConversation(server.app, bob, [alice])
    const bobAvatar = (
      await putFile(server.http, bob, '/users/me/avatar', 'PUT', await picture(64, 64, '#0a0'))
    ).user.avatar_url
    const sent = await putFile(
      server.http,
      bob,
      `/conversations/${conversation}/files`,
      'POST',
      await picture(1200, 800, '#36c'),
    )

    const browser = await launchBrowser(t)
    const problems: string[] = []
    const page = await newPage(browser, server.http, DESKTOP, problems)
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) problems.push(`csp: ${message.text()}`)
    })
    await loginInPage(page, 'img_alice')

    await t.test('pictures in the sidebar and the message group; initials otherwise', async (t) => {
      const item = page.locator(`.conv-item[data-id="${conversation}"] .avatar img.avatar-picture`)
      t.equal(await item.getAttribute('src'), bobAvatar, "bob's picture on the direct conversation")
      t.equal(
        await page.locator('#me-avatar').textContent(),
        'i',
        'my initials (img_alice) while I have no picture',
      )
      await page.click(`.conv-item[data-id="${conversation}"]`)
      const meta = page.locator(
        `#message-list li.message[data-id="${sent.message.id}"] .meta img.avatar-picture`,
      )
      t.equal(await meta.getAttribute('src'), bobAvatar, 'and on his messages')
    })

    await t.test('a thumbnail with its box reserved; the viewer opens the original', async (t) => {
      const image = page.locator(`#message-list li.message[data-id="${sent.message.id}"] .inline-image img`)
      t.equal(await image.getAttribute('src'), `/files/${sent.file.id}/thumbnail`)
      t.same([await image.getAttribute('width'), await image.getAttribute('height')], ['360', '240'])
      await page.waitForFunction(
        () =>
          (document.querySelector('#message-list .inline-image img') as HTMLImageElement | null)
            ?.naturalWidth === 480,
      )
      await image.click()
      const viewer = page.locator('#image-viewer img')
      t.equal(await viewer.getAttribute('src'), `/files/${sent.file.id}`, 'the original')
      await page.waitForFunction(
        () => (document.querySelector('#image-viewer img') as HTMLImageElement | null)?.naturalWidth === 1200,
      )
      await page.keyboard.press('Escape')
      await page.waitForSelector('#image-viewer', { state: 'detached' })
      t.pass('Escape closes it')
    })

    await t.test('the viewer keeps the keyboard inside it; focus returns to the thumbnail', async (t) => {
      const thumbnail = `#message-list li.message[data-id="${sent.message.id}"] .inline-image`
      await page.focus(thumbnail)
      await page.keyboard.press('Enter')
      await page.waitForSelector('#image-viewer')
      const focused = () =>
        page.evaluate(() => {
          const active = document.activeElement
          return {
            inside: Boolean(active?.closest('#image-viewer')),
            label: active?.getAttribute('aria-label') ?? active?.textContent ?? '',
          }
        })
      const seen = new Set<string>()
      for (const key of ['Tab', 'Tab', 'Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab']) {
        await page.keyboard.press(key)
        const now = await focused()
        t.ok(now.inside, `after ${key} the focus is still in the viewer (${now.label})`)
        seen.add(now.label)
      }
      t.ok(seen.size >= 2, `Tab moves between the viewer's controls (${[...seen].join(', ')})`)
      t.equal(
        await page.locator('#image-viewer a.viewer-open').getAttribute('href'),
        `/files/${sent.file.id}`,
        'a link opens the original in a new tab',
      )
      await page.keyboard.press('Escape')
      await page.waitForSelector('#image-viewer', { state: 'detached' })
      t.ok(
        await page.evaluate(
          (selector) => document.activeElement === document.querySelector(selector),
          thumbnail,
        ),
        'focus is back on the thumbnail that opened it',
      )
    })

    await t.test('my picture from the header; others hear of theirs', async (t) => {
      const input = page.locator('header.me input[type=file]')
      await input.setInputFiles({
        name: 'me.png',
        mimeType: 'image/png',
        buffer: await picture(300, 200, '#c33'),
      })
      await page.waitForSelector('#me-avatar img.avatar-picture')
      t.match(await page.locator('#me-avatar img').getAttribute('src'), /^\/users\/\d+\/avatar\?v=1$/)
      const changed = await putFile(
        server.http,
        bob,
        '/users/me/avatar',
        'PUT',
        await picture(64, 64, '#00f'),
      )
      await page.waitForSelector(
        `.conv-item[data-id="${conversation}"] img[src="${changed.user.avatar_url}"]`,
      )
      t.pass("bob's new picture reaches the sidebar live")
      await page.click('header.me .avatar-remove')
      await page.waitForFunction(() => document.querySelector('#me-avatar')?.textContent === 'i')
      t.pass('removing it brings the initials back')
    })

    await t.test('initials: the first letter or digit of up to two words', async (t) => {
      const got = await page.evaluate(async () => {
        const { initials } = await import('/people.js' as string)
        return ['Ada Lovelace', '@dev team', '🚀 Launch', '🚀', 'élodie', '42 crew', '#'].map(initials)
      })
      t.same(got, ['AL', 'dt', 'L', '🚀', 'é', '4c', '#'])
    })

    t.same(problems, [], 'no page error, no CSP violation')
  })
}
