// @ts-check
// Notifications on the page: my notification level per conversation (in the details panel),
// desktop notifications for `notification` frames while the page is hidden (permission asked
// only from the button that says so), a mention badge in the sidebar, and the unread count on
// the favicon.
import { api } from '/client/parley-client.js'
import { openConversation } from './conversation-view.js'
import { $, el, errorText, toast } from './dom.js'
import { markdownText } from './markdown.js'
import { personName, titleOf } from './people.js'
import { state, upsertConversation } from './state.js'

/** @typedef {import('./state.js').Conversation} Conversation */
/** @typedef {import('./state.js').Message} Message */
/** @typedef {{ conversation_id: number, message: Message, reason: 'direct' | 'mention' | 'all' }} NotificationFrame */

const LEVELS = [
  ['all', 'All messages'],
  ['mentions', 'Only mentions of me'],
  ['none', 'Nothing'],
]

const supported = () => typeof Notification === 'function'

const levelSelect = el(
  'select',
  { id: 'notify-level', 'aria-describedby': 'notify-hint' },
  ...LEVELS.map(([value, label]) => el('option', { value }, label)),
)
const permissionButton = el(
  'button',
  { type: 'button', id: 'notify-permission', class: 'small' },
  'Turn on desktop notifications',
)
const hint = el('p', { id: 'notify-hint', class: 'muted' })

/** The control of the open conversation's level, and whether desktop notifications are on. */
export function renderNotificationControl() {
  const conversation = state.currentId ? state.conversations.get(state.currentId) : undefined
  if (!conversation) return
  levelSelect.value = conversation.notification_level ?? (conversation.kind === 'direct' ? 'all' : 'mentions')
  const permission = supported() ? Notification.permission : 'unsupported'
  permissionButton.hidden = permission !== 'default'
  hint.textContent =
    permission === 'granted'
      ? 'Desktop notifications are on while this page is in the background.'
      : permission === 'denied'
        ? 'Desktop notifications are blocked in this browser’s site settings.'
        : permission === 'unsupported'
          ? 'This browser does not show desktop notifications.'
          : ''
}

async function changeLevel() {
  const id = state.currentId
  if (!id) return
  try {
    const { conversation } = await api(`/conversations/${id}/notifications`, {
      method: 'PUT',
      body: { level: levelSelect.value },
    })
    upsertConversation(conversation)
    toast('Notification level saved.')
  } catch (error) {
    toast(errorText(error))
  }
  renderNotificationControl()
}

async function askPermission() {
  if (!supported()) return
  await Notification.requestPermission().catch(() => 'denied')
  renderNotificationControl()
}

/** @param {NotificationFrame} frame */
export function onNotification(frame) {
  if (!supported() || Notification.permission !== 'granted') return
  // In front of the user the message shows in the page itself.
  if (document.visibilityState !== 'hidden') return
  const conversation = state.conversations.get(frame.conversation_id)
  const sender = personName(frame.message.sender_id)
  const where = conversation && conversation.kind !== 'direct' ? ` in ${titleOf(conversation)}` : ''
  const title = frame.reason === 'mention' ? `${sender} mentioned you${where}` : `${sender}${where}`
  const body =
    markdownText(frame.message.content ?? '') || (frame.message.attachments?.length ? 'Sent a file' : '')
  const shown = new Notification(title, { body, tag: `parley-${frame.conversation_id}` })
  shown.onclick = () => {
    window.focus()
    openConversation(frame.conversation_id)
    shown.close()
  }
}

/** The sidebar's mention badge of a conversation. @param {Conversation} conversation */
export function mentionBadge(conversation) {
  const count = conversation.id === state.currentId ? 0 : (conversation.unread_mentions ?? 0)
  if (!count) return null
  return el(
    'span',
    { class: 'badge mention-badge', title: `${count} mention${count === 1 ? '' : 's'} of you` },
    `@${count > 99 ? '99+' : count}`,
  )
}

export function setupNotifications() {
  const section = el(
    'section',
    { class: 'details-section', id: 'notify-section' },
    el('h4', {}, el('label', { for: 'notify-level' }, 'Notify me of')),
    levelSelect,
    hint,
    permissionButton,
  )
  $('files-section').after(section)
  levelSelect.addEventListener('change', changeLevel)
  permissionButton.addEventListener('click', askPermission)
}
