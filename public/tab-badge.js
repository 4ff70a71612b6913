// @ts-check
// The unread count on the browser tab: "(3) Parley" as the title, and a red badge drawn on the
// tab's icon (a PNG made on a canvas from favicon.svg; the plain icon when nothing is unread).

const PLAIN_ICON = '/favicon.svg'
const SIZE = 64

/** @type {Promise<HTMLImageElement> | null} */
let baseIcon = null
/** The count last asked for: a drawing that finishes after a newer call is dropped. */
let wanted = 0

function iconLink() {
  let link = /** @type {HTMLLinkElement | null} */ (document.querySelector('link[rel~="icon"]'))
  if (!link) {
    link = document.createElement('link')
    link.rel = 'icon'
    document.head.append(link)
  }
  return link
}

function loadBaseIcon() {
  baseIcon ??= new Promise((resolve, reject) => {
    const image = new Image(SIZE, SIZE)
    image.onload = () => resolve(image)
    image.onerror = reject
    image.src = PLAIN_ICON
  })
  return baseIcon
}

/** @param {number} count @returns {Promise<string>} a PNG data URL */
async function badgedIcon(count) {
  const canvas = document.createElement('canvas')
  canvas.width = SIZE
  canvas.height = SIZE
  const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'))
  try {
    g.drawImage(await loadBaseIcon(), 0, 0, SIZE, SIZE)
  } catch {
    g.fillStyle = '#4f46e5'
    g.fillRect(0, 0, SIZE, SIZE)
  }
  const text = count > 99 ? '99+' : String(count)
  const radius = text.length > 1 ? 22 : 18
  g.beginPath()
  g.arc(SIZE - radius, radius, radius, 0, 2 * Math.PI)
  g.fillStyle = '#dc2626'
  g.fill()
  g.fillStyle = '#ffffff'
  g.font = `bold ${text.length > 2 ? 20 : 28}px system-ui, sans-serif`
  g.textAlign = 'center'
  g.textBaseline = 'middle'
  g.fillText(text, SIZE - radius, radius + 1)
  return canvas.toDataURL('image/png')
}

/**
 * Shows `count` unread messages on the tab (0: none).
 * @param {number} count
 */
export function setUnreadBadge(count) {
  wanted = count
  document.title = count ? `(${count > 99 ? '99+' : count}) Parley` : 'Parley'
  if (!count) {
    iconLink().setAttribute('href', PLAIN_ICON)
    delete iconLink().dataset.unread
    return
  }
  badgedIcon(count).then(
    (url) => {
      if (wanted !== count) return
      iconLink().setAttribute('href', url)
      iconLink().dataset.unread = String(count)
    },
    () => {},
  )
}
