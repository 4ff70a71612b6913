// @ts-check
// A signed-in session: the client connects, its events are wired to the page, and the first
// data loads; on logout (or when the session ends) all of it is undone.
import { ApiError, api, ParleyClient } from '/client/parley-client.js'
import { showAuth } from './auth.js'
import { onUserChanged, showMyAvatar } from './avatar-upload.js'
import { showConnection } from './connection-status.js'
import { forgetContacts, loadContacts } from './contacts.js'
import {
  onMessage,
  openConversation,
  renderHeader,
  renderMessages,
  renderPending,
} from './conversation-view.js'
import { refreshDetails } from './details.js'
import { $, errorText, toast } from './dom.js'
import { onNotification } from './notifications.js'
import { nameOf } from './people.js'
import { onMemberAdded, onMemberRemoved, onPresence, onStatus } from './presence.js'
import { loadProjects } from './projects.js'
import { onRead } from './receipts.js'
import { loadConversations, renderConversationList } from './sidebar.js'
import { client, rememberUser, resetState, setClient, state, upsertConversation } from './state.js'
import { setUnreadBadge } from './tab-badge.js'
import { onTyping } from './typing.js'

/** @typedef {import('./state.js').User} User */

/** Is the session still good? Asked by the client when a connection fails before `ready`. */
async function sessionValid() {
  try {
    await api('/auth/check')
    return true
  } catch (error) {
    return !(error instanceof ApiError && error.status === 401)
  }
}

/** @param {ParleyClient} parley */
function wire(parley) {
  parley.on('state', ({ state: connection }) => {
    showConnection(connection)
    renderHeader() // presence is unknown while reconnecting
  })
  parley.on('ready', onReady)
  parley.on('message', ({ message }) => onMessage(message, false))
  parley.on('message_updated', ({ message }) => onMessage(message, true))
  parley.on('outbox', () => renderPending())
  parley.on('typing', onTyping)
  parley.on('read', onRead)
  parley.on('presence', onPresence)
  parley.on('status', onStatus)
  parley.on('notification', onNotification)
  parley.on('conversation', ({ conversation }) => {
    upsertConversation(conversation)
    renderConversationList()
    // Added to a project: its entry in the project list comes from /projects.
    if (conversation.kind === 'project') loadProjects().catch(() => {})
  })
  parley.on('member_added', onMemberAdded)
  parley.on('member_removed', onMemberRemoved)
  parley.on('user', (frame) =>
    onUserChanged(frame, () => {
      renderConversationList()
      if (state.currentId) {
        renderMessages()
        refreshDetails()
      }
    }),
  )
  parley.on('resync', ({ conversation_id }) => {
    if (conversation_id === state.currentId) renderMessages()
  })
  parley.on('send_failed', ({ error }) => toast(`Message not sent: ${errorText(error)}`))
  parley.on('error', (frame) => {
    if (frame.code === 'RATE_LIMITED') toast('Slow down: too many messages at once.')
  })
  parley.on('unauthorized', () => {
    stopSession()
    showAuth()
  })
  parley.on('closed', () => {
    stopSession()
    showAuth()
  })
}

/** @param {User} user */
export async function startSession(user) {
  state.me = rememberUser(user)
  $('auth-view').hidden = true
  $('app-view').hidden = false
  $('me-name').textContent = nameOf(user)
  showMyAvatar()

  const parley = new ParleyClient({ checkAuth: sessionValid })
  setClient(parley)
  Object.assign(window, { parley }) // handy in the console
  wire(parley)
  showConnection('connecting')
  parley.connect()
  await Promise.all([loadConversations(), loadProjects(), loadContacts()]).catch((error) =>
    toast(errorText(error)),
  )
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get('c'))
  if (wanted && state.conversations.has(wanted)) openConversation(wanted)
}

export function stopSession() {
  client?.close()
  setClient(null)
  resetState()
  $('conversation-list').replaceChildren()
  $('project-list').replaceChildren()
  $('message-list').replaceChildren()
  $('chat-pane').hidden = true
  $('empty-state').hidden = false
  $('app-view').classList.remove('chat-open')
  setUnreadBadge(0)
  forgetContacts()
}

/** @param {{reconnected: boolean}} event */
async function onReady({ reconnected }) {
  if (!reconnected) return
  // Back after a break: the joined conversation resumes by cursor in the client; the sidebar's
  // counts and latest messages come fresh from the server.
  await Promise.all([loadConversations(), loadProjects(), loadContacts()]).catch(() => {})
  if (state.currentId) refreshDetails()
}
