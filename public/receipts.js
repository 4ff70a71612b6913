// @ts-check
// Read pointers: mine moves to the latest message I see; "Seen by …" goes under my latest
// message each other member has read.

import { $ } from './dom.js'
import { otherMembers, personName } from './people.js'
import { fetchConversation } from './sidebar.js'
import { client, readsOf, state } from './state.js'

/** Moves my read pointer to the latest message of the open conversation, if the page is visible. */
export function markReadLatest() {
  if (!client || !state.currentId || !state.me || document.visibilityState !== 'visible') return
  const messages = client.messages(state.currentId)
  const latest = messages[messages.length - 1]
  if (!latest) return
  const reads = readsOf(state.currentId)
  const mine = reads.get(state.me.id) ?? 0
  if (latest.id <= mine) return
  if (client.markRead(state.currentId, latest.id)) reads.set(state.me.id, latest.id)
}

export function renderReceipts() {
  if (!state.currentId) return
  const conversation = state.conversations.get(state.currentId)
  for (const row of $('message-list').querySelectorAll('li.message[data-id] .receipt')) row.textContent = ''
  if (!conversation) return
  const reads = readsOf(state.currentId)
  const myRows = [...state.rows.entries()]
    .filter(([, row]) => row.classList.contains('mine') && !row.classList.contains('deleted'))
    .sort((a, b) => a[0] - b[0])
  /** @type {Map<number, string[]>} */
  const seenBy = new Map()
  for (const member of otherMembers(conversation)) {
    const pointer = reads.get(member.id) ?? 0
    let target = null
    for (const [id] of myRows) {
      if (id <= pointer) target = id
      else break
    }
    if (target !== null) seenBy.set(target, [...(seenBy.get(target) ?? []), personName(member.id)])
  }
  for (const [id, names] of seenBy) {
    const receipt = state.rows.get(id)?.querySelector('.receipt')
    if (!receipt) continue
    receipt.textContent = conversation.kind === 'direct' ? 'Seen' : `Seen by ${names.join(', ')}`
  }
}

/** @param {{conversation_id: number, user_id: number, message_id: number}} frame */
export function onRead(frame) {
  const reads = readsOf(frame.conversation_id)
  if (frame.message_id > (reads.get(frame.user_id) ?? 0)) reads.set(frame.user_id, frame.message_id)
  if (frame.user_id === state.me?.id) {
    const conversation = state.conversations.get(frame.conversation_id)
    if (conversation && frame.conversation_id !== state.currentId) {
      // Read in another tab: the count is the server's to tell; fetch it.
      fetchConversation(frame.conversation_id).catch(() => {})
    }
  }
  if (frame.conversation_id === state.currentId) renderReceipts()
}

export function setupReceipts() {
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') markReadLatest()
  })
}
