// @ts-check
// Times and sizes as the page shows them.

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' })
export const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/** The time today, the date on other days. @param {string | null | undefined} iso */
export function shortTime(iso) {
  if (!iso) return ''
  const date = new Date(iso)
  const today = new Date()
  return date.toDateString() === today.toDateString() ? timeFormat.format(date) : dateFormat.format(date)
}

/** @param {string | null | undefined} iso */
export function lastSeen(iso) {
  if (!iso) return 'offline'
  const minutes = Math.round((Date.now() - new Date(iso).getTime()) / 60000)
  if (minutes < 1) return 'last seen just now'
  if (minutes < 60) return `last seen ${minutes} min ago`
  return `last seen ${fullFormat.format(new Date(iso))}`
}

/** @param {number} bytes */
export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

/** @param {string} text */
export const capitalize = (text) => text.charAt(0).toUpperCase() + text.slice(1)
