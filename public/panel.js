// @ts-check
// The account and admin screens: one overlay with a tab per screen. Each screen module renders
// into the panel's body when its tab is chosen.
import { el } from './dom.js'

/** @typedef {{id: string, label: string, render: (body: HTMLElement) => Promise<void>}} Screen */

/** @param {Screen[]} screens */
export function openPanel(screens) {
  document.getElementById('admin-panel')?.remove()
  const body = el('div', { class: 'panel-body' })
  const close = el('button', { type: 'button', class: 'ghost small', 'aria-label': 'Close', text: '✕' })
  const tabs = screens.map((screen) =>
    el('button', {
      type: 'button',
      role: 'tab',
      id: `panel-${screen.id}`,
      class: 'ghost small',
      text: screen.label,
    }),
  )
  const panel = el(
    'div',
    { id: 'admin-panel', class: 'panel', role: 'dialog', 'aria-label': 'Account and administration' },
    el('header', { class: 'panel-head' }, el('nav', { role: 'tablist' }, ...tabs), close),
    body,
  )
  /** @param {number} index */
  const show = async (index) => {
    tabs.forEach((tab, i) => {
      tab.setAttribute('aria-selected', String(i === index))
    })
    body.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }))
    const content = el('div')
    await screens[index]?.render(content)
    body.replaceChildren(content)
  }
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => show(i))
  })
  close.addEventListener('click', () => panel.remove())
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') panel.remove()
  })
  document.body.append(panel)
  show(0)
}

/**
 * A table of rows built from text.
 * @param {string[]} headings
 * @param {Array<Array<Node | string>>} rows
 */
export function table(headings, rows) {
  return el(
    'table',
    { class: 'panel-table' },
    el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', { text: h })))),
    el(
      'tbody',
      {},
      // Each cell names its column: on a phone the rows stack as cards, a label before each value.
      ...rows.map((cells) =>
        el('tr', {}, ...cells.map((cell, i) => el('td', { dataset: { label: headings[i] ?? '' } }, cell))),
      ),
    ),
  )
}

/** @param {string} iso */
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—')
