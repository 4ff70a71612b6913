// @ts-check
// Opening a conversation at one message (a search result): scrolled to it and highlighted. A
// message not loaded yet comes with the page centred on it (GET ...messages?around=); the messages
// between that page and the newer ones already loaded may then be missing: a "gap" row stands in
// for them and fills itself (GET ...messages?after=) as it scrolls into view, while scrolling up
// pages back as usual. One gap per conversation at most: a jump elsewhere forgets the last window.
import { openConversation, updateHistoryStatus } from './conversation-view.js'
import { el, errorText, toast } from './dom.js'
import { insertRow } from './message-row.js'
import { renderReceipts } from './receipts.js'
import { fetchConversation } from './sidebar.js'
import { client, state } from './state.js'

/** @typedef {import('./state.js').Message} Message */

const PAGE = 50

/** @type {Map<number, number>} conversation -> the newest message loaded below its gap */
const gaps = new Map()
let filling = false

// A button too: after a failed load it stays, to try again.
const gapRow = el(
  'li',
  { class: 'history-gap' },
  el('button', { type: 'button', class: 'ghost small', onclick: () => fillGap() }, 'Newer messages…'),
)
const gapWatch = new IntersectionObserver(
  (entries) => {
    if (entries.some((entry) => entry.isIntersecting)) fillGap()
  },
  { root: document.getElementById('messages'), rootMargin: '300px 0px' },
)

/**
 * Opens a conversation scrolled to one of its messages, highlighted.
 * @param {number} conversationId
 * @param {number} messageId
 */
export async function openAt(conversationId, messageId) {
  if (!client) return
  try {
    if (!state.conversations.has(conversationId)) await fetchConversation(conversationId)
    if (state.currentId !== conversationId) await openConversation(conversationId)
    if (state.currentId !== conversationId) return
    await olderPagesDone()
    if (!state.rows.has(messageId)) {
      state.loadingOlder = true // holds off paging back until the page around the message is in
      try {
        await loadAround(conversationId, messageId)
      } finally {
        state.loadingOlder = false
        updateHistoryStatus()
      }
    }
  } catch (error) {
    toast(errorText(error))
    return
  }
  if (state.currentId === conversationId) highlight(messageId)
}

/** Waits for a page of older history on its way (its scrolling would move us off the message). */
async function olderPagesDone() {
  for (let i = 0; i < 100 && state.loadingOlder; i++) await new Promise((done) => setTimeout(done, 50))
}

/** @param {number} messageId */
function highlight(messageId) {
  for (const row of document.querySelectorAll('#message-list .jump-target'))
    row.classList.remove('jump-target')
  const row = state.rows.get(messageId)
  if (!row) {
    toast('That message is no longer there.')
    return
  }
  row.classList.add('jump-target')
  row.scrollIntoView({ block: 'center' })
}

/**
 * @param {number} conversationId
 * @param {number} messageId
 */
async function loadAround(conversationId, messageId) {
  if (!client) return
  forgetWindow(conversationId)
  const page = await client.messagesAround(conversationId, messageId, PAGE)
  if (state.currentId !== conversationId || !client) return
  const added = client.addHistory(conversationId, page.messages, page.has_more_before)
  // A message of the page loaded already: it touches the loaded history, nothing in between.
  const touches = added.length < page.messages.length
  const newest = page.messages.at(-1)
  if (page.has_more_after && !touches && newest) gaps.set(conversationId, newest.id)
  for (const message of added) insertRow(message)
  renderReceipts()
  placeGap()
}

/**
 * Drops the window of an earlier jump (the messages up to its gap), so that the loaded history is
 * again one run up to the newest message.
 * @param {number} conversationId
 */
function forgetWindow(conversationId) {
  const upTo = gaps.get(conversationId)
  const room = client?.rooms.get(conversationId)
  if (upTo === undefined || !room) return
  gaps.delete(conversationId)
  for (const id of [...room.messages.keys()]) {
    if (id > upTo) continue
    room.messages.delete(id)
    state.rows.get(id)?.remove()
    state.rows.delete(id)
  }
  room.hasOlder = true
  placeGap()
}

/** Puts the gap row after the newest message below the gap, if the open conversation has one. */
export function placeGap() {
  gapWatch.unobserve(gapRow)
  gapRow.remove()
  const upTo = state.currentId ? gaps.get(state.currentId) : undefined
  const row = upTo === undefined ? undefined : state.rows.get(upTo)
  if (!row) return
  row.after(gapRow)
  gapWatch.observe(gapRow) // reports at once whether it is in view
}

/** Loads the next newer page into the gap; closes the gap when it reaches what was loaded. */
async function fillGap() {
  const conversationId = state.currentId
  const upTo = conversationId ? gaps.get(conversationId) : undefined
  if (!client || filling || !conversationId || upTo === undefined) return
  filling = true
  try {
    /** @type {{messages: Message[], has_more: boolean}} */
    const page = await client.api(`/conversations/${conversationId}/messages?after=${upTo}&limit=${PAGE}`)
    if (state.currentId !== conversationId || gaps.get(conversationId) !== upTo) return
    const added = client.addHistory(conversationId, page.messages)
    for (const message of added) insertRow(message)
    const newest = page.messages.at(-1)
    if (!page.has_more || !newest || added.length < page.messages.length) gaps.delete(conversationId)
    else gaps.set(conversationId, newest.id)
    renderReceipts()
    placeGap()
  } catch (error) {
    gapWatch.unobserve(gapRow) // no retrying in a loop: the button is there
    toast(errorText(error))
  } finally {
    filling = false
  }
}
