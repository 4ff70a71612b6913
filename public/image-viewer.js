// @ts-check
// Images in messages: the thumbnail in the timeline, with its box reserved from the start (width
// and height known from the server, so the timeline never jumps), and the original in an overlay
// that Escape, the close button or a click beside the picture closes.
import { keepBottom } from './conversation-view.js'
import { el } from './dom.js'

/** @typedef {import('./state.js').FileInfo} FileInfo */

/** The longest side a thumbnail is shown at in the timeline (the server makes them up to 480). */
const SHOWN_MAX = 360

/** The timeline's picture of an image file. @param {FileInfo} file */
export function imageAttachment(file) {
  const href = `/files/${Number(file.id)}`
  const width = Number(file.width) || 0
  const height = Number(file.height) || 0
  const scale = width && height ? Math.min(1, SHOWN_MAX / Math.max(width, height)) : 1
  const size =
    width && height
      ? { width: String(Math.round(width * scale)), height: String(Math.round(height * scale)) }
      : {}
  const picture = el('img', {
    class: 'thumbnail',
    src: file.thumbnail_url ?? href,
    alt: file.name,
    loading: 'lazy',
    decoding: 'async',
    ...size,
    onload: keepBottom,
  })
  const link = el('a', { class: 'inline-image', href, title: file.name }, picture)
  link.addEventListener('click', (event) => {
    // A modified click (new tab, download) keeps the link's own behaviour.
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return
    event.preventDefault()
    openViewer(href, file.name, link)
  })
  return link
}

/** Closes the open viewer, if any (set while one is open). @type {(() => void) | null} */
let closeOpen = null

/**
 * Shows the original over the page until Escape, the close button, or a click outside it. While
 * it is open Tab and Shift+Tab cycle through its own controls; on closing, focus returns to
 * `opener`.
 * @param {string} src @param {string} name @param {HTMLElement} opener focus returns here
 */
export function openViewer(src, name, opener) {
  closeViewer()
  const close = el('button', { type: 'button', class: 'viewer-close', 'aria-label': 'Close' }, '✕')
  const open = el(
    'a',
    {
      class: 'viewer-open',
      href: src,
      target: '_blank',
      rel: 'noopener',
      'aria-label': `Open ${name} in a new tab`,
    },
    'Open original',
  )
  const overlay = el(
    'div',
    { class: 'image-viewer', id: 'image-viewer', role: 'dialog', 'aria-modal': 'true', 'aria-label': name },
    el('img', { src, alt: name }),
    open,
    close,
  )
  /** @type {HTMLElement[]} */
  const controls = [open, close]
  /** @param {KeyboardEvent} event */
  const onKey = (event) => {
    if (event.key === 'Escape') {
      event.preventDefault()
      done()
    } else if (event.key === 'Tab') {
      // A focus trap: the page behind the overlay is out of reach until the viewer closes.
      event.preventDefault()
      const at = controls.indexOf(/** @type {HTMLElement} */ (document.activeElement))
      const step = event.shiftKey ? -1 : 1
      const next = at === -1 ? (event.shiftKey ? controls.length - 1 : 0) : at + step
      controls[(next + controls.length) % controls.length].focus()
    }
  }
  const remove = () => {
    document.removeEventListener('keydown', onKey, true)
    overlay.remove()
    closeOpen = null
  }
  const done = () => {
    remove()
    if (opener.isConnected) opener.focus()
  }
  overlay.addEventListener('click', (event) => {
    if (event.target === overlay || event.target === close) done()
  })
  document.addEventListener('keydown', onKey, true)
  document.body.append(overlay)
  closeOpen = remove
  close.focus()
}

/** Closes the viewer without moving the focus (the page behind it is changing). */
export function closeViewer() {
  closeOpen?.()
}
