import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import sharp from 'sharp'

// The browser tests' shared steps: Debian's Chromium driven by playwright-core (never a downloaded
// browser), a page per account, logging in through the form, and element boxes for layout checks.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
// Generous: the browser tests share the machine with the rest of the suite.
export const TIMEOUT = 20_000
export const PHONE = { width: 390, height: 844 }
export const DESKTOP = { width: 1280, height: 800 }
export const PASSWORD = 'correct horse battery'

export interface Box {
  left: number
  right: number
  top: number
  bottom: number
  width: number
  height: number
}

/** One Chromium for a test file; closed when `t` ends. */
export async function launchBrowser(t: { teardown: (fn: () => unknown) => void }): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  })
  t.teardown(() => browser.close())
  return browser
}

/** A fresh page (its own cookies) at `viewport`; page errors are collected into `problems`. */
export async function newPage(
  browser: Browser,
  baseURL: string,
  viewport: { width: number; height: number },
  problems: string[],
): Promise<Page> {
  const context = await browser.newContext({ viewport, baseURL })
  const page = await context.newPage()
  page.setDefaultTimeout(TIMEOUT)
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
  page.on('dialog', (dialog) => (dialog.type() === 'confirm' ? dialog.accept() : dialog.dismiss()))
  return page
}

export const waitConnected = (page: Page) =>
  page.waitForFunction(() => document.body.dataset.connection === 'open', null, { timeout: TIMEOUT })

/** Logs in through the page's form and waits for the socket. */
export async function loginInPage(page: Page, username: string) {
  await page.goto('/')
  await page.fill('#login-form input[name=username]', username)
  await page.fill('#login-form input[name=password]', PASSWORD)
  await page.press('#login-form input[name=password]', 'Enter')
  await waitConnected(page)
}

/** The boxes of the visible elements matching `selector` (display:none ones are left out). */
export function boxes(page: Page, selector: string): Promise<Box[]> {
  return page.$$eval(selector, (nodes) =>
    nodes
      .map((node) => node.getBoundingClientRect())
      .filter((rect) => rect.width > 0 || rect.height > 0)
      .map(({ left, right, top, bottom, width, height }) => ({ left, right, top, bottom, width, height })),
  )
}

/** The one visible element's box. */
export async function box(page: Page, selector: string): Promise<Box> {
  const found = await boxes(page, selector)
  if (found.length !== 1) throw new Error(`${selector}: ${found.length} visible elements`)
  return found[0]
}

/**
 * With PARLEY_SCREENSHOTS=1, saves the page as docs/screenshots/<name>.png (docs/WEB.md shows
 * them), as a palette PNG: a third of the bytes, no visible difference for a page's flat colours.
 */
export async function screenshot(page: Page, name: string) {
  if (process.env.PARLEY_SCREENSHOTS !== '1') return
  const dir = join(import.meta.dirname, '..', '..', 'docs', 'screenshots')
  mkdirSync(dir, { recursive: true })
  await sharp(await page.screenshot())
    .png({ palette: true, quality: 95, effort: 10, compressionLevel: 9 })
    .toFile(join(dir, `${name}.png`))
}
