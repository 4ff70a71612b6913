// Parley's web page. Plain ES module, no framework, no build step. Every piece of user data
// (names, messages, file names) goes into the page as text (textContent / text nodes), never as HTML.
import { ApiError, api, ParleyClient } from '/client/parley-client.js'
import { conversationPager } from './conversation-pages.js'

// ------------------------------------------------------------------ small helpers

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))
/** @param {string} id */
const inputById = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id))

/**
 * Creates an element. Strings among `children` become text nodes; props never take HTML.
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...any} children
 */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue
    if (key === 'class') node.className = value
    else if (key === 'text') node.textContent = String(value)
    else if (key === 'dataset') Object.assign(node.dataset, value)
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value)
    else if (value === true) node.setAttribute(key, '')
    else node.setAttribute(key, String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    node.append(child instanceof Node ? child : String(child))
  }
  return node
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' })
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/** @param {string | null | undefined} iso */
function shortTime(iso) {
  if (!iso) return ''
  const date = new Date(iso)
  const today = new Date()
  return date.toDateString() === today.toDateString() ? timeFormat.format(date) : dateFormat.format(date)
}

/** Initials with an online dot, for a person in a list. @param {any} person @param {number} userId */
function avatar(person, userId) {
  return el('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(nameOf(person)), presenceDot(userId))
}

/** @param {string | null | undefined} iso */
function lastSeen(iso) {
  if (!iso) return 'offline'
  const minutes = Math.round((Date.now() - new Date(iso).getTime()) / 60000)
  if (minutes < 1) return 'last seen just now'
  if (minutes < 60) return `last seen ${minutes} min ago`
  return `last seen ${fullFormat.format(new Date(iso))}`
}

/** @param {number} bytes */
function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

let toastTimer = 0
/** @param {string} text */
function toast(text) {
  const box = $('toast')
  box.textContent = text
  box.hidden = false
  clearTimeout(toastTimer)
  toastTimer = window.setTimeout(() => {
    box.hidden = true
  }, 5000)
}

/** @param {unknown} error */
function errorText(error) {
  if (error instanceof ApiError) return error.message
  if (error instanceof Error) return error.message
  return String(error)
}

/** @param {(...args: any[]) => void} fn @param {number} ms */
function debounce(fn, ms) {
  let timer = 0
  return (/** @type {any[]} */ ...args) => {
    clearTimeout(timer)
    timer = window.setTimeout(() => fn(...args), ms)
  }
}

// ------------------------------------------------------------------ state

const state = {
  /** @type {any} */
  me: null,
  /** @type {Map<number, any>} */
  conversations: new Map(),
  /** @type {Map<number, any>} people we know of, by id */
  people: new Map(),
  /** @type {Map<number, any>} */
  projects: new Map(),
  /** @type {number | null} */
  currentId: null,
  /** @type {Map<number, Map<number, number>>} conversation -> user -> expiry timer */
  typing: new Map(),
  /** @type {Map<number, Map<number, number>>} conversation -> user -> last read message id */
  reads: new Map(),
  /** @type {Map<number, HTMLElement>} message id -> row, for the open conversation */
  rows: new Map(),
  loadingOlder: false,
  /** @type {Set<number>} conversations whose full history is loaded */
  historyDone: new Set(),
  /** The sidebar's pages of GET /conversations. */
  sidebar: conversationPager(api),
  /** @type {number[]} people picked for a new group */
  groupPick: [],
  detailsOpen: false,
}

/** @type {ParleyClient | null} */
let client = null

/** @param {any} user */
function rememberUser(user) {
  if (!user || typeof user.id !== 'number') return user
  const known = state.people.get(user.id)
  const merged = known ? { ...known, ...user } : user
  state.people.set(user.id, merged)
  return merged
}

/** @param {any} user */
const nameOf = (user) => {
  if (!user) return 'Unknown user'
  if (user.deleted) return 'Deleted user'
  return user.display_name || user.username
}

/** @param {number} id */
const personName = (id) => nameOf(state.people.get(id)) || `User #${id}`

/** @param {string} name */
const initials = (name) =>
  name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => Array.from(part)[0])
    .join('') || '?'

/** @param {any} conversation */
function otherMembers(conversation) {
  return (conversation.members ?? []).filter((/** @type {any} */ m) => m.id !== state.me?.id)
}

/** @param {any} conversation */
function titleOf(conversation) {
  if (conversation.kind === 'direct') {
    const other = otherMembers(conversation)[0]
    return other ? personName(other.id) : 'Just you'
  }
  if (conversation.title) return conversation.title
  if (conversation.kind === 'project' && conversation.project_id) {
    const project = state.projects.get(conversation.project_id)
    if (project) return project.name
  }
  const names = otherMembers(conversation).map((/** @type {any} */ m) => personName(m.id))
  return names.length ? names.join(', ') : 'Group'
}

/** @param {any} conversation */
function activityOf(conversation) {
  return (
    conversation.last_message?.created_at ?? conversation.last_activity_at ?? conversation.created_at ?? ''
  )
}

/** @param {any} message */
function previewOf(message) {
  if (!message) return 'No messages yet'
  if (message.deleted) return 'Message deleted'
  const who = message.sender_id === state.me?.id ? 'You' : personName(message.sender_id).split(' ')[0]
  const text =
    message.content?.trim() || (message.attachments?.length ? `File: ${message.attachments[0].name}` : '')
  return `${who}: ${text}`
}

// ------------------------------------------------------------------ auth view

function showAuth() {
  $('app-view').hidden = true
  $('auth-view').hidden = false
  setBanner(null)
  const input = /** @type {HTMLInputElement} */ ($('login-form').querySelector('input[name=username]'))
  input.focus()
}

/** @param {'login' | 'register'} which */
function selectTab(which) {
  const login = which === 'login'
  $('tab-login').setAttribute('aria-selected', String(login))
  $('tab-register').setAttribute('aria-selected', String(!login))
  $('login-form').hidden = !login
  $('register-form').hidden = login
  const form = login ? $('login-form') : $('register-form')
  form.querySelector('input')?.focus()
}

$('tab-login').addEventListener('click', () => selectTab('login'))
$('tab-register').addEventListener('click', () => selectTab('register'))
for (const tab of [$('tab-login'), $('tab-register')]) {
  tab.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      const next = tab.id === 'tab-login' ? 'register' : 'login'
      selectTab(next)
      $(`tab-${next}`).focus()
    }
  })
}

/**
 * @param {HTMLFormElement} form
 * @param {string} path
 */
function authForm(form, path) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const data = Object.fromEntries(new FormData(form))
    /** @type {Record<string, string>} */
    const body = {}
    for (const [key, value] of Object.entries(data)) {
      const text = String(value)
      if (key === 'display_name' && !text.trim()) continue
      body[key] = key === 'password' ? text : text.trim()
    }
    const error = /** @type {HTMLElement} */ (form.querySelector('.form-error'))
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'))
    error.textContent = ''
    button.disabled = true
    try {
      const result = await api(path, { method: 'POST', body })
      form.reset()
      await startApp(result.user)
    } catch (caught) {
      error.textContent =
        caught instanceof ApiError && caught.code === 'INVALID_CREDENTIALS'
          ? 'Wrong username or password.'
          : errorText(caught)
    } finally {
      button.disabled = false
    }
  })
}
authForm(/** @type {HTMLFormElement} */ ($('login-form')), '/auth/login')
authForm(/** @type {HTMLFormElement} */ ($('register-form')), '/auth/register')

$('logout-btn').addEventListener('click', async () => {
  try {
    await api('/auth/logout', { method: 'POST' })
  } catch {}
  stopApp()
  showAuth()
})

// ------------------------------------------------------------------ connection state

/** @param {string | null} text */
function setBanner(text) {
  const banner = $('banner')
  banner.hidden = !text
  banner.textContent = text ?? ''
  banner.classList.toggle('offline', Boolean(text))
  document.body.classList.toggle('has-banner', Boolean(text))
}

/** @param {string} connection */
function showConnection(connection) {
  const label = $('conn-state')
  label.className = `conn-state ${connection}`
  label.textContent =
    connection === 'open' ? 'Online' : connection === 'closed' ? 'Offline' : `${capitalize(connection)}…`
  if (connection === 'reconnecting') setBanner('Reconnecting…')
  else if (connection === 'connecting') setBanner('Connecting…')
  else if (connection === 'closed' && state.me) setBanner('Disconnected. Reload the page to reconnect.')
  else setBanner(null)
  document.body.dataset.connection = connection
}

/** @param {string} text */
const capitalize = (text) => text.charAt(0).toUpperCase() + text.slice(1)

// ------------------------------------------------------------------ start and stop

/** @param {any} user */
async function startApp(user) {
  state.me = rememberUser(user)
  $('auth-view').hidden = true
  $('app-view').hidden = false
  $('me-name').textContent = nameOf(user)
  $('me-avatar').textContent = initials(nameOf(user))

  client = new ParleyClient({
    checkAuth: async () => {
      try {
        await api('/auth/check')
        return true
      } catch (error) {
        return !(error instanceof ApiError && error.status === 401)
      }
    },
  })
  window.parley = client // handy in the console, and for the browser tests
  client.on('state', ({ state: connection }) => showConnection(connection))
  client.on('ready', onReady)
  client.on('message', ({ message }) => onMessage(message, false))
  client.on('message_updated', ({ message }) => onMessage(message, true))
  client.on('outbox', () => renderPending())
  client.on('typing', onTyping)
  client.on('read', onRead)
  client.on('presence', onPresence)
  client.on('status', onStatus)
  client.on('conversation', ({ conversation }) => {
    upsertConversation(conversation)
    renderConversationList()
    // Added to a project: its entry in the project list comes from /projects.
    if (conversation.kind === 'project') loadProjects().catch(() => {})
  })
  client.on('member_added', onMemberAdded)
  client.on('member_removed', onMemberRemoved)
  client.on('resync', ({ conversation_id }) => {
    if (conversation_id === state.currentId) renderMessages()
  })
  client.on('send_failed', ({ error }) => toast(`Message not sent: ${errorText(error)}`))
  client.on('error', (frame) => {
    if (frame.code === 'RATE_LIMITED') toast('Slow down: too many messages at once.')
  })
  client.on('unauthorized', () => {
    stopApp()
    showAuth()
  })
  client.on('closed', () => {
    stopApp()
    showAuth()
  })
  showConnection('connecting')
  client.connect()
  await Promise.all([loadConversations(), loadProjects()]).catch((error) => toast(errorText(error)))
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get('c'))
  if (wanted && state.conversations.has(wanted)) openConversation(wanted)
}

function stopApp() {
  client?.close()
  client = null
  state.me = null
  state.currentId = null
  state.conversations.clear()
  state.projects.clear()
  state.rows.clear()
  state.reads.clear()
  state.typing.clear()
  state.historyDone.clear()
  state.sidebar = conversationPager(api)
  $('conversation-list').replaceChildren()
  $('project-list').replaceChildren()
  $('message-list').replaceChildren()
  $('chat-pane').hidden = true
  $('empty-state').hidden = false
  $('app-view').classList.remove('chat-open')
}

/** @param {{reconnected: boolean}} event */
async function onReady({ reconnected }) {
  if (!reconnected) return
  // Back after a break: the joined conversation resumes by cursor in the client; the sidebar's
  // counts and latest messages come fresh from the server.
  await Promise.all([loadConversations(), loadProjects()]).catch(() => {})
  if (state.currentId) refreshDetails()
}

/**
 * The first page of my conversations (again after a reconnect). Older ones come as the sidebar is
 * scrolled to its end; live `conversation` and `message` frames add any others.
 */
async function loadConversations() {
  for (const conversation of await state.sidebar.first()) upsertConversation(conversation)
  renderConversationList()
}

async function loadMoreConversations() {
  const pager = state.sidebar
  const conversations = await pager.more().catch((error) => {
    toast(errorText(error))
    return null
  })
  // Nothing more, or a logout meanwhile started over.
  if (!conversations || state.sidebar !== pager) return
  for (const conversation of conversations) upsertConversation(conversation)
  renderConversationList()
}

$('conversation-more').addEventListener('click', () => loadMoreConversations())
// The "Show more" button coming into view as the sidebar scrolls to its end loads the next page.
new IntersectionObserver((entries) => {
  if (entries.some((entry) => entry.isIntersecting)) loadMoreConversations()
}).observe($('conversation-more'))

async function loadProjects() {
  try {
    const { projects } = await api('/projects')
    state.projects.clear()
    for (const project of projects) state.projects.set(project.id, project)
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error
  }
  renderProjectList()
}

/** @param {any} conversation */
function upsertConversation(conversation) {
  for (const member of conversation.members ?? []) rememberUser(member)
  const known = state.conversations.get(conversation.id)
  const merged = { ...(known ?? {}), ...conversation }
  // A list fetched before a live message must not roll the preview back.
  if (
    known?.last_message &&
    conversation.last_message &&
    known.last_message.id > conversation.last_message.id
  ) {
    merged.last_message = known.last_message
  }
  if (conversation.id === state.currentId) merged.unread_count = 0
  state.conversations.set(conversation.id, merged)
  const reads = readsOf(conversation.id)
  // The server tells my own read pointer (last_read_message_id); others' come as live `read` events.
  if (state.me && typeof conversation.last_read_message_id === 'number') {
    reads.set(state.me.id, Math.max(reads.get(state.me.id) ?? 0, conversation.last_read_message_id))
  }
  for (const member of conversation.members ?? []) {
    const pointer = member.last_read_message_id ?? member.read_message_id
    if (typeof pointer === 'number' && pointer > (reads.get(member.id) ?? 0)) reads.set(member.id, pointer)
  }
  for (const entry of conversation.reads ?? conversation.read_pointers ?? []) {
    if (entry.message_id > (reads.get(entry.user_id) ?? 0)) reads.set(entry.user_id, entry.message_id)
  }
  return merged
}

/** @param {number} conversationId */
function readsOf(conversationId) {
  let reads = state.reads.get(conversationId)
  if (!reads) {
    reads = new Map()
    state.reads.set(conversationId, reads)
  }
  return reads
}

// ------------------------------------------------------------------ sidebar

/** @param {number} userId @param {string} [extraClass] */
function presenceDot(userId, extraClass = '') {
  const user = state.people.get(userId)
  return el('span', {
    class: `presence-dot ${user?.online ? 'online' : ''} ${extraClass}`,
    dataset: { presence: String(userId) },
    title: user?.online ? 'online' : 'offline',
  })
}

/** @param {any} conversation */
function conversationAvatar(conversation) {
  const title = titleOf(conversation)
  const avatar = el('span', { class: `avatar ${conversation.kind}`, 'aria-hidden': 'true' }, initials(title))
  if (conversation.kind === 'direct') {
    const other = otherMembers(conversation)[0]
    if (other) avatar.append(presenceDot(other.id))
  }
  return avatar
}

function renderConversationList() {
  const list = $('conversation-list')
  const conversations = [...state.conversations.values()].sort((a, b) =>
    activityOf(b).localeCompare(activityOf(a)),
  )
  const items = conversations.map((conversation) => {
    const unread = conversation.id === state.currentId ? 0 : (conversation.unread_count ?? 0)
    const online =
      conversation.kind === 'direct' && otherMembers(conversation)[0]
        ? state.people.get(otherMembers(conversation)[0].id)?.online
        : undefined
    const title = titleOf(conversation)
    const button = el(
      'button',
      {
        type: 'button',
        class: `conv-item ${conversation.id === state.currentId ? 'active' : ''} ${unread ? 'unread' : ''}`,
        dataset: { id: String(conversation.id), kind: conversation.kind },
        'aria-current': conversation.id === state.currentId ? 'true' : null,
        'aria-label': `${title}${online ? ', online' : ''}${unread ? `, ${unread} unread` : ''}`,
        onclick: () => openConversation(conversation.id),
      },
      conversationAvatar(conversation),
      el(
        'span',
        { class: 'conv-main' },
        el(
          'span',
          { class: 'conv-top' },
          el('span', { class: 'conv-name' }, title),
          el('span', { class: 'conv-time' }, shortTime(activityOf(conversation))),
        ),
        el(
          'span',
          { class: 'conv-bottom' },
          el('span', { class: 'conv-preview' }, previewOf(conversation.last_message)),
          unread ? el('span', { class: 'badge', 'aria-hidden': 'true' }, unread > 99 ? '99+' : unread) : null,
        ),
      ),
    )
    return el('li', {}, button)
  })
  list.replaceChildren(...items)
  $('conversation-empty').hidden = items.length > 0
  $('conversation-more').hidden = !state.sidebar.hasMore
  document.title = totalUnread() ? `(${totalUnread()}) Parley` : 'Parley'
}

function totalUnread() {
  let total = 0
  for (const conversation of state.conversations.values()) {
    if (conversation.id !== state.currentId) total += conversation.unread_count ?? 0
  }
  return total
}

function renderProjectList() {
  const list = $('project-list')
  const items = [...state.projects.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((project) => {
      const conversation = state.conversations.get(project.conversation_id)
      const unread =
        conversation && conversation.id !== state.currentId ? (conversation.unread_count ?? 0) : 0
      return el(
        'li',
        {},
        el(
          'button',
          {
            type: 'button',
            class: `conv-item ${project.conversation_id === state.currentId ? 'active' : ''}`,
            dataset: { projectId: String(project.id) },
            onclick: () => openProject(project.id),
          },
          el('span', { class: 'avatar project', 'aria-hidden': 'true' }, initials(project.name)),
          el(
            'span',
            { class: 'conv-main' },
            el('span', { class: 'conv-top' }, el('span', { class: 'conv-name' }, project.name)),
            el(
              'span',
              { class: 'conv-bottom' },
              el('span', { class: 'conv-preview' }, project.description || 'Project'),
              unread ? el('span', { class: 'badge' }, unread) : null,
            ),
          ),
        ),
      )
    })
  list.replaceChildren(...items)
  $('project-empty').hidden = items.length > 0
}

/** @param {number} projectId */
async function openProject(projectId) {
  const project = state.projects.get(projectId)
  if (!project) return
  if (!state.conversations.has(project.conversation_id)) {
    try {
      const { conversation } = await api(`/conversations/${project.conversation_id}`)
      upsertConversation(conversation)
      renderConversationList()
    } catch (error) {
      toast(errorText(error))
      return
    }
  }
  await openConversation(project.conversation_id)
  openDetails(true)
}

// ------------------------------------------------------------------ people search and new conversations

const peopleSearch = /** @type {HTMLInputElement} */ ($('people-search'))

/** @param {string} q */
async function searchPeople(q) {
  const { users } = await api(`/conversations/users?q=${encodeURIComponent(q)}`)
  return users.filter((/** @type {any} */ user) => user.id !== state.me?.id).map(rememberUser)
}

const runPeopleSearch = debounce(async () => {
  const q = peopleSearch.value.trim()
  const results = $('people-results')
  if (!q) {
    results.hidden = true
    results.replaceChildren()
    return
  }
  try {
    const users = await searchPeople(q)
    if (peopleSearch.value.trim() !== q) return
    results.replaceChildren(
      ...(users.length
        ? users.map((/** @type {any} */ user) =>
            el(
              'li',
              { dataset: { userId: String(user.id) } },
              avatar(user, user.id),
              el(
                'span',
                { class: 'who' },
                el('span', {}, nameOf(user)),
                el('small', {}, `@${user.username}`),
              ),
              el(
                'button',
                {
                  type: 'button',
                  class: 'small primary',
                  'aria-label': `Message ${nameOf(user)}`,
                  onclick: () => startDirect(user.id),
                },
                'Message',
              ),
              el(
                'button',
                {
                  type: 'button',
                  class: 'small',
                  'aria-label': `Add ${nameOf(user)} to a new group`,
                  onclick: () => pickForGroup(user.id),
                },
                '+ Group',
              ),
            ),
          )
        : [el('li', { class: 'none' }, 'Nobody found')]),
    )
    results.hidden = false
  } catch (error) {
    toast(errorText(error))
  }
}, 200)

peopleSearch.addEventListener('input', runPeopleSearch)
peopleSearch.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    peopleSearch.value = ''
    runPeopleSearch()
  }
  if (event.key === 'ArrowDown') {
    const first = /** @type {HTMLElement | null} */ ($('people-results').querySelector('button'))
    first?.focus()
    event.preventDefault()
  }
})

/** @param {number} userId */
async function startDirect(userId) {
  try {
    const { conversation } = await api('/conversations', { method: 'POST', body: { member_ids: [userId] } })
    upsertConversation(conversation)
    renderConversationList()
    peopleSearch.value = ''
    $('people-results').hidden = true
    await openConversation(conversation.id)
  } catch (error) {
    toast(errorText(error))
  }
}

/** @param {number} userId */
function pickForGroup(userId) {
  if (!state.groupPick.includes(userId)) state.groupPick.push(userId)
  renderGroupBuilder()
  peopleSearch.focus()
}

function renderGroupBuilder() {
  $('group-builder').hidden = state.groupPick.length === 0
  $('group-chips').replaceChildren(
    ...state.groupPick.map((id) =>
      el(
        'li',
        {},
        personName(id),
        el(
          'button',
          {
            type: 'button',
            'aria-label': `Remove ${personName(id)}`,
            onclick: () => {
              state.groupPick = state.groupPick.filter((other) => other !== id)
              renderGroupBuilder()
            },
          },
          '×',
        ),
      ),
    ),
  )
}

$('group-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const title = /** @type {HTMLInputElement} */ ($('group-title')).value.trim()
  try {
    const body = { member_ids: state.groupPick, ...(title ? { title } : {}) }
    if (state.groupPick.length === 1 && !title)
      body.title = `${nameOf(state.me)}, ${personName(state.groupPick[0])}`
    const { conversation } = await api('/conversations', { method: 'POST', body })
    state.groupPick = []
    inputById('group-title').value = ''
    renderGroupBuilder()
    peopleSearch.value = ''
    $('people-results').hidden = true
    upsertConversation(conversation)
    renderConversationList()
    await openConversation(conversation.id)
  } catch (error) {
    toast(errorText(error))
  }
})
$('group-cancel').addEventListener('click', () => {
  state.groupPick = []
  renderGroupBuilder()
})

// projects
const newProjectForm = /** @type {HTMLFormElement} */ ($('new-project-form'))
$('new-project-btn').addEventListener('click', () => {
  newProjectForm.hidden = !newProjectForm.hidden
  $('new-project-btn').setAttribute('aria-expanded', String(!newProjectForm.hidden))
  if (!newProjectForm.hidden) $('project-name').focus()
})
$('new-project-cancel').addEventListener('click', () => {
  newProjectForm.hidden = true
  newProjectForm.reset()
})
newProjectForm.addEventListener('submit', async (event) => {
  event.preventDefault()
  const name = /** @type {HTMLInputElement} */ ($('project-name')).value.trim()
  const description = /** @type {HTMLInputElement} */ ($('project-description')).value.trim()
  const error = /** @type {HTMLElement} */ (newProjectForm.querySelector('.form-error'))
  error.textContent = ''
  if (!name) {
    error.textContent = 'A project needs a name.'
    return
  }
  try {
    const { project } = await api('/projects', {
      method: 'POST',
      body: { name, ...(description ? { description } : {}) },
    })
    state.projects.set(project.id, project)
    newProjectForm.reset()
    newProjectForm.hidden = true
    renderProjectList()
    await openProject(project.id)
  } catch (caught) {
    error.textContent = errorText(caught)
  }
})

// ------------------------------------------------------------------ conversation view

const messagesBox = $('messages')
const messageList = $('message-list')
const composer = /** @type {HTMLTextAreaElement} */ ($('composer-input'))

/** @param {number} conversationId */
async function openConversation(conversationId) {
  if (!client) return
  const conversation = state.conversations.get(conversationId)
  if (!conversation) return
  const previous = state.currentId
  if (previous && previous !== conversationId) {
    client.typing(previous, false)
    client.leave(previous)
  }
  state.currentId = conversationId
  conversation.unread_count = 0
  history.replaceState(null, '', `#c=${conversationId}`)
  $('empty-state').hidden = true
  $('chat-pane').hidden = false
  $('app-view').classList.add('chat-open')
  renderConversationList()
  renderProjectList()
  renderHeader()
  renderTyping()
  messageList.replaceChildren()
  state.rows.clear()
  $('history-status').textContent = 'Loading…'
  if (state.detailsOpen) refreshDetails()
  else $('details').hidden = true
  composer.value = ''
  autoGrow()
  if (window.matchMedia('(min-width: 761px)').matches) composer.focus()
  try {
    await client.join(conversationId, { limit: 50 })
  } catch (error) {
    if (state.currentId === conversationId) $('history-status').textContent = errorText(error)
    return
  }
  if (state.currentId !== conversationId) return
  renderMessages()
  markReadLatest()
  // Fill the view if the first page does not reach the top.
  maybeLoadOlder()
}

function closeConversation() {
  if (client && state.currentId) {
    client.typing(state.currentId, false)
    client.leave(state.currentId)
  }
  state.currentId = null
  history.replaceState(null, '', location.pathname)
  $('app-view').classList.remove('chat-open')
  $('chat-pane').hidden = true
  $('empty-state').hidden = false
  renderConversationList()
  renderProjectList()
}
$('back-btn').addEventListener('click', closeConversation)

function renderHeader() {
  const conversation = state.conversations.get(/** @type {number} */ (state.currentId))
  if (!conversation) return
  $('chat-title').textContent = titleOf(conversation)
  const subtitle = $('chat-subtitle')
  subtitle.classList.remove('online')
  if (conversation.kind === 'direct') {
    const other = otherMembers(conversation)[0]
    const person = other ? state.people.get(other.id) : null
    if (person?.online) {
      subtitle.textContent = 'online'
      subtitle.classList.add('online')
    } else {
      subtitle.textContent = person ? lastSeen(person.last_seen_at) : ''
    }
  } else {
    const members = conversation.members ?? []
    const online = members.filter((/** @type {any} */ m) => state.people.get(m.id)?.online).length
    const kind = conversation.kind === 'project' ? 'Project · ' : ''
    subtitle.textContent = `${kind}${members.length} members, ${online} online`
  }
  $('details-btn').textContent = conversation.kind === 'project' ? 'Files & members' : 'Members'
}

/** Renders every message the client holds for the open conversation, plus unsent ones. */
function renderMessages() {
  if (!client || !state.currentId) return
  messageList.replaceChildren()
  state.rows.clear()
  for (const message of client.messages(state.currentId)) insertRow(message)
  renderPending()
  renderReceipts()
  updateHistoryStatus()
  scrollToBottom()
}

function updateHistoryStatus() {
  if (!client || !state.currentId) return
  const room = client.rooms.get(state.currentId)
  const status = $('history-status')
  if (state.loadingOlder) status.textContent = 'Loading older messages…'
  else if (room?.hasOlder) status.textContent = 'Scroll up for older messages'
  else status.textContent = state.rows.size ? 'Beginning of the conversation' : 'No messages yet. Say hello!'
}

function scrollToBottom() {
  messagesBox.scrollTop = messagesBox.scrollHeight
}

function nearBottom() {
  return messagesBox.scrollHeight - messagesBox.scrollTop - messagesBox.clientHeight < 120
}

/**
 * Puts a message's row in id order (new ones usually go last), replacing an older rendering.
 * @param {any} message
 */
function insertRow(message) {
  const row = renderMessage(message)
  const existing = state.rows.get(message.id)
  if (existing) {
    existing.replaceWith(row)
    state.rows.set(message.id, row)
    restyleContinuation(row)
    return row
  }
  state.rows.set(message.id, row)
  const rows = /** @type {HTMLElement[]} */ ([...messageList.querySelectorAll('li.message[data-id]')])
  let before = null
  for (let i = rows.length - 1; i >= 0; i--) {
    if (Number(rows[i].dataset.id) < message.id) break
    before = rows[i]
  }
  if (before) messageList.insertBefore(row, before)
  else {
    const firstPending = messageList.querySelector('li.message.pending')
    if (firstPending) messageList.insertBefore(row, firstPending)
    else messageList.append(row)
  }
  restyleContinuation(row)
  const next = /** @type {HTMLElement | null} */ (row.nextElementSibling)
  if (next) restyleContinuation(next)
  return row
}

/** A message right after one from the same sender within 5 minutes hides its name and time. @param {HTMLElement} row */
function restyleContinuation(row) {
  const previous = /** @type {HTMLElement | null} */ (row.previousElementSibling)
  const continued =
    previous !== null &&
    previous.dataset.sender === row.dataset.sender &&
    Number(row.dataset.time) - Number(previous.dataset.time) < 5 * 60 * 1000
  row.classList.toggle('continued', continued)
}

/** @param {any} message */
function renderMessage(message) {
  const mine = message.sender_id === state.me?.id
  const row = el('li', {
    class: `message ${mine ? 'mine' : 'theirs'} ${message.deleted ? 'deleted' : ''}`,
    dataset: {
      id: String(message.id),
      sender: String(message.sender_id),
      time: String(new Date(message.created_at).getTime()),
      clientId: message.client_id ?? '',
    },
  })
  row.append(
    el(
      'div',
      { class: 'meta' },
      el('span', { class: 'sender' }, mine ? 'You' : personName(message.sender_id)),
      el(
        'time',
        { datetime: message.created_at, title: fullFormat.format(new Date(message.created_at)) },
        shortTime(message.created_at),
      ),
    ),
  )
  const bubble = el('div', { class: 'bubble' })
  if (message.deleted) {
    bubble.append(el('span', { class: 'content' }, 'This message was deleted'))
  } else {
    // A file message's text is often just the file's name: shown once, as the attachment.
    const onlyName = message.attachments?.length === 1 && message.content === message.attachments[0].name
    if (message.content && !onlyName) bubble.append(el('span', { class: 'content' }, message.content))
    else if (onlyName && message.attachments[0].content_type?.startsWith('image/'))
      bubble.classList.add('media')
    if (message.edited_at) {
      bubble.append(
        el('span', { class: 'edited', title: fullFormat.format(new Date(message.edited_at)) }, '(edited)'),
      )
    }
    if (message.attachments?.length) bubble.append(renderAttachments(message.attachments))
  }
  const line = el('div', { class: 'bubble-row' })
  if (mine && !message.deleted) {
    // My message: focusable (tap or Tab) to reveal its actions.
    bubble.setAttribute('tabindex', '0')
    bubble.setAttribute('aria-label', `Your message: ${message.content ?? 'file'}. Tab for Edit and Delete`)
    line.append(
      el(
        'div',
        { class: 'message-actions' },
        message.content
          ? el('button', { type: 'button', class: 'edit-btn', onclick: () => startEdit(message.id) }, 'Edit')
          : null,
        el(
          'button',
          { type: 'button', class: 'delete-btn', onclick: () => deleteMessage(message.id) },
          'Delete',
        ),
      ),
    )
  }
  line.append(bubble)
  row.append(line)
  row.append(el('div', { class: 'receipt', 'aria-live': 'polite' }))
  return row
}

/** @param {any[]} files */
function renderAttachments(files) {
  const box = el('div', { class: 'attachments' })
  for (const file of files) {
    const href = `/files/${Number(file.id)}`
    if (typeof file.content_type === 'string' && file.content_type.startsWith('image/')) {
      box.append(
        el(
          'a',
          { class: 'inline-image', href, target: '_blank', rel: 'noopener', title: file.name },
          el('img', { src: href, alt: file.name, loading: 'lazy', onload: keepBottom }),
        ),
      )
    } else {
      box.append(
        el(
          'a',
          { class: 'file-link', href, download: file.name },
          el('img', { src: '/icons/file.svg', alt: '', width: '18', height: '18' }),
          el('span', {}, file.name),
          el('small', {}, formatSize(file.size)),
        ),
      )
    }
  }
  return box
}

let stickToBottom = true
messagesBox.addEventListener('scroll', () => {
  stickToBottom = nearBottom()
  if (messagesBox.scrollTop < 80) maybeLoadOlder()
})
function keepBottom() {
  if (stickToBottom) scrollToBottom()
}

/** Messages sent but not yet acked, shown as "sending…" at the bottom. */
function renderPending() {
  if (!client || !state.currentId) return
  for (const row of messageList.querySelectorAll('li.message.pending')) row.remove()
  for (const item of client.pendingMessages(state.currentId)) {
    messageList.append(
      el(
        'li',
        { class: 'message mine pending', dataset: { clientId: item.client_id } },
        el('div', { class: 'bubble' }, el('span', { class: 'content' }, item.content)),
        el('div', { class: 'receipt' }, client.state === 'open' ? 'Sending…' : 'Waiting for connection…'),
      ),
    )
  }
  if (stickToBottom) scrollToBottom()
}

async function maybeLoadOlder() {
  if (!client || !state.currentId || state.loadingOlder) return
  const conversationId = state.currentId
  const room = client.rooms.get(conversationId)
  if (!room?.hasOlder) return
  if (messagesBox.scrollTop > 80 && messagesBox.scrollHeight > messagesBox.clientHeight) return
  const oldest = client.messages(conversationId)[0]
  if (!oldest) return
  state.loadingOlder = true
  updateHistoryStatus()
  try {
    const page = await api(`/conversations/${conversationId}/messages?before=${oldest.id}&limit=50`)
    if (state.currentId !== conversationId) return
    const heightBefore = messagesBox.scrollHeight
    const topBefore = messagesBox.scrollTop
    for (const message of page.messages ?? []) rememberMessageSender(message)
    const added = client.addHistory(conversationId, page.messages ?? [], Boolean(page.has_more))
    for (const message of added) insertRow(message)
    renderReceipts()
    messagesBox.scrollTop = topBefore + (messagesBox.scrollHeight - heightBefore)
  } catch (error) {
    toast(errorText(error))
  } finally {
    state.loadingOlder = false
    updateHistoryStatus()
  }
  if (state.currentId === conversationId) window.setTimeout(maybeLoadOlder, 50)
}

/** @param {any} message */
function rememberMessageSender(message) {
  if (message.sender && typeof message.sender === 'object') rememberUser(message.sender)
}

/**
 * A message arrived (live, from a resume, or an ack) or changed.
 * @param {any} message
 * @param {boolean} updated
 */
function onMessage(message, updated) {
  rememberMessageSender(message)
  const conversation = state.conversations.get(message.conversation_id)
  if (conversation) {
    if (!updated) {
      if (!conversation.last_message || conversation.last_message.id <= message.id) {
        conversation.last_message = message
      }
      const isOpen = message.conversation_id === state.currentId && document.visibilityState === 'visible'
      if (message.sender_id !== state.me?.id && !isOpen && message.conversation_id !== state.currentId) {
        conversation.unread_count = (conversation.unread_count ?? 0) + 1
      }
    } else if (conversation.last_message?.id === message.id) {
      // The latest message changed; if it was deleted, the one before it is the latest now.
      conversation.last_message = message.deleted
        ? (client
            ?.messages(message.conversation_id)
            .filter((m) => !m.deleted)
            .pop() ?? null)
        : message
    }
    renderConversationList()
    renderProjectList()
  } else if (!updated) {
    // A conversation we have not seen yet (someone started it with us): fetch it.
    api(`/conversations/${message.conversation_id}`)
      .then(({ conversation: fresh }) => {
        upsertConversation(fresh)
        renderConversationList()
      })
      .catch(() => {})
  }
  if (message.conversation_id !== state.currentId) return
  const wasAtBottom = nearBottom()
  insertRow(message)
  if (!updated) clearTyping(message.conversation_id, message.sender_id)
  renderPending()
  renderReceipts()
  updateHistoryStatus()
  if (!updated && (wasAtBottom || message.sender_id === state.me?.id)) scrollToBottom()
  if (!updated) markReadLatest()
  if ((updated || message.attachments?.length) && state.detailsOpen) refreshFiles()
}

/** Moves my read pointer to the latest message of the open conversation, if the page is visible. */
function markReadLatest() {
  if (!client || !state.currentId || document.visibilityState !== 'visible') return
  const messages = client.messages(state.currentId)
  const latest = messages[messages.length - 1]
  if (!latest) return
  const reads = readsOf(state.currentId)
  const mine = reads.get(state.me.id) ?? 0
  if (latest.id <= mine) return
  if (client.markRead(state.currentId, latest.id)) reads.set(state.me.id, latest.id)
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') markReadLatest()
})

// read receipts: "Seen by …" under my latest message each other member has read
function renderReceipts() {
  if (!state.currentId) return
  const conversation = state.conversations.get(state.currentId)
  for (const row of messageList.querySelectorAll('li.message[data-id] .receipt')) row.textContent = ''
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

/** @param {any} frame */
function onRead(frame) {
  const reads = readsOf(frame.conversation_id)
  if (frame.message_id > (reads.get(frame.user_id) ?? 0)) reads.set(frame.user_id, frame.message_id)
  if (frame.user_id === state.me?.id) {
    const conversation = state.conversations.get(frame.conversation_id)
    if (conversation && frame.conversation_id !== state.currentId) {
      // Read in another tab: the count is the server's to tell; fetch it.
      api(`/conversations/${frame.conversation_id}`)
        .then(({ conversation: fresh }) => {
          upsertConversation(fresh)
          renderConversationList()
        })
        .catch(() => {})
    }
  }
  if (frame.conversation_id === state.currentId) renderReceipts()
}

// edit and delete
/** @param {number} messageId */
function startEdit(messageId) {
  if (!client || !state.currentId) return
  const conversationId = state.currentId
  const message = client.messages(conversationId).find((m) => m.id === messageId)
  const row = state.rows.get(messageId)
  if (!message || !row) return
  const bubble = /** @type {HTMLElement} */ (row.querySelector('.bubble'))
  bubble.removeAttribute('tabindex')
  const box = /** @type {HTMLTextAreaElement} */ (
    el('textarea', { class: 'edit-box', rows: '2', maxlength: '4000', 'aria-label': 'Edit message' })
  )
  box.value = message.content
  const restore = () => insertRow(client?.messages(conversationId).find((m) => m.id === messageId) ?? message)
  const save = async () => {
    const content = box.value
    if (!content.trim()) return
    if (content === message.content) return restore()
    box.disabled = true
    try {
      const { message: edited } = await api(`/conversations/${conversationId}/messages/${messageId}`, {
        method: 'PATCH',
        body: { content },
      })
      client?.apply(edited)
      if (conversationId === state.currentId) insertRow(edited)
    } catch (error) {
      toast(errorText(error))
      box.disabled = false
    }
  }
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault()
      save()
    } else if (event.key === 'Escape') {
      event.preventDefault()
      restore()
    }
  })
  bubble.replaceChildren(box, el('div', { class: 'edit-hint' }, 'Enter saves · Esc cancels'))
  box.focus()
  box.setSelectionRange(box.value.length, box.value.length)
}

/** @param {number} messageId */
async function deleteMessage(messageId) {
  if (!state.currentId) return
  if (!window.confirm('Delete this message for everyone?')) return
  try {
    await api(`/conversations/${state.currentId}/messages/${messageId}`, { method: 'DELETE' })
    client?.applyDeletion(state.currentId, messageId)
  } catch (error) {
    toast(errorText(error))
  }
}

// ------------------------------------------------------------------ composer

function autoGrow() {
  composer.style.height = 'auto'
  composer.style.height = `${Math.min(composer.scrollHeight + 2, 144)}px`
}

let typingIdle = 0
composer.addEventListener('input', () => {
  autoGrow()
  if (!client || !state.currentId) return
  const conversationId = state.currentId
  if (composer.value.trim()) {
    client.typing(conversationId, true)
    clearTimeout(typingIdle)
    typingIdle = window.setTimeout(() => client?.typing(conversationId, false), 4000)
  } else {
    clearTimeout(typingIdle)
    client.typing(conversationId, false)
  }
})

composer.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault()
    sendFromComposer()
  } else if (event.key === 'ArrowUp' && !composer.value && client && state.currentId) {
    // Up in an empty composer edits my last message.
    const mine = client
      .messages(state.currentId)
      .filter((m) => m.sender_id === state.me?.id && !m.deleted && m.content)
      .pop()
    if (mine) {
      event.preventDefault()
      startEdit(mine.id)
    }
  }
})

$('composer').addEventListener('submit', (event) => {
  event.preventDefault()
  sendFromComposer()
})

function sendFromComposer() {
  if (!client || !state.currentId) return
  const content = composer.value
  if (!content.trim()) return
  if (content.length > 4000) {
    toast('A message holds at most 4000 characters.')
    return
  }
  const conversationId = state.currentId
  composer.value = ''
  autoGrow()
  clearTimeout(typingIdle)
  client.typing(conversationId, false)
  stickToBottom = true
  client.send(conversationId, content).catch(() => {})
  renderPending()
}

// ------------------------------------------------------------------ typing, presence, status

/** @param {any} frame */
function onTyping(frame) {
  if (frame.user_id === state.me?.id) return
  let users = state.typing.get(frame.conversation_id)
  if (!users) {
    users = new Map()
    state.typing.set(frame.conversation_id, users)
  }
  clearTimeout(users.get(frame.user_id))
  if (frame.is_typing) {
    // A lost "stopped typing" must not leave the indicator on forever.
    users.set(
      frame.user_id,
      window.setTimeout(() => clearTyping(frame.conversation_id, frame.user_id), 6000),
    )
  } else {
    users.delete(frame.user_id)
  }
  if (frame.conversation_id === state.currentId) renderTyping()
}

/** @param {number} conversationId @param {number} userId */
function clearTyping(conversationId, userId) {
  const users = state.typing.get(conversationId)
  if (!users?.has(userId)) return
  clearTimeout(users.get(userId))
  users.delete(userId)
  if (conversationId === state.currentId) renderTyping()
}

function renderTyping() {
  const users = state.currentId ? [...(state.typing.get(state.currentId)?.keys() ?? [])] : []
  const box = $('typing')
  if (users.length === 0) box.textContent = ''
  else if (users.length === 1) box.textContent = `${personName(users[0])} is typing…`
  else if (users.length === 2)
    box.textContent = `${personName(users[0])} and ${personName(users[1])} are typing…`
  else box.textContent = 'Several people are typing…'
}

/** @param {number} userId @param {boolean} online @param {string | null} [lastSeenAt] */
function setOnline(userId, online, lastSeenAt) {
  const person = state.people.get(userId)
  if (person) {
    person.online = online
    if (lastSeenAt !== undefined) person.last_seen_at = lastSeenAt
  } else {
    state.people.set(userId, { id: userId, online, last_seen_at: lastSeenAt ?? null })
  }
  for (const dot of document.querySelectorAll(`[data-presence="${userId}"]`)) {
    dot.classList.toggle('online', online)
    dot.setAttribute('title', online ? 'online' : 'offline')
  }
}

/** @param {any} frame */
function onPresence(frame) {
  setOnline(frame.user_id, Boolean(frame.online), frame.last_seen_at ?? null)
  renderConversationList()
  if (state.currentId) {
    renderHeader()
    if (state.detailsOpen) renderMembers()
  }
}

/** @param {any} frame */
function onStatus(frame) {
  for (const id of frame.online_user_ids ?? []) {
    if (!state.people.get(id)?.online) setOnline(id, true)
  }
  if (frame.conversation_id === state.currentId) renderHeader()
}

/** @param {any} frame */
function onMemberAdded(frame) {
  const conversation = state.conversations.get(frame.conversation_id)
  if (!conversation || !frame.user) return
  rememberUser(frame.user)
  const members = conversation.members ?? []
  if (!members.some((/** @type {any} */ m) => m.id === frame.user.id))
    conversation.members = [...members, frame.user]
  renderConversationList()
  if (frame.conversation_id === state.currentId) {
    renderHeader()
    if (state.detailsOpen) renderMembers()
  }
}

/** @param {any} frame */
function onMemberRemoved(frame) {
  const conversation = state.conversations.get(frame.conversation_id)
  if (!conversation) return
  if (frame.user_id === state.me?.id) {
    // I left or was removed: the conversation goes away from this page.
    state.conversations.delete(frame.conversation_id)
    for (const [id, project] of state.projects) {
      if (project.conversation_id === frame.conversation_id) state.projects.delete(id)
    }
    if (frame.conversation_id === state.currentId) {
      openDetails(false)
      closeConversation()
    }
    renderConversationList()
    renderProjectList()
    return
  }
  conversation.members = (conversation.members ?? []).filter((/** @type {any} */ m) => m.id !== frame.user_id)
  if (frame.conversation_id === state.currentId) {
    renderHeader()
    if (state.detailsOpen) renderMembers()
  }
}

// ------------------------------------------------------------------ details: members and files

$('details-btn').addEventListener('click', () => openDetails(!state.detailsOpen))
$('details-close').addEventListener('click', () => openDetails(false))
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && state.detailsOpen && !(event.target instanceof HTMLTextAreaElement)) {
    openDetails(false)
  }
})

/** @param {boolean} open */
function openDetails(open) {
  state.detailsOpen = open
  $('details').hidden = !open
  $('details-btn').setAttribute('aria-expanded', String(open))
  if (open) refreshDetails()
  else $('details-btn').focus()
}

function currentProject() {
  const conversation = state.currentId ? state.conversations.get(state.currentId) : null
  if (conversation?.kind !== 'project') return null
  for (const project of state.projects.values()) {
    if (project.conversation_id === conversation.id) return project
  }
  return conversation.project_id
    ? { id: conversation.project_id, owner_id: null, name: titleOf(conversation) }
    : null
}

async function refreshDetails() {
  if (!state.currentId || !state.detailsOpen) return
  const conversation = state.conversations.get(state.currentId)
  if (!conversation) return
  const project = currentProject()
  $('details-title').textContent = project ? project.name : titleOf(conversation)
  $('project-description-text').textContent = project?.description ?? ''
  $('files-section').hidden = !project
  $('add-member-form').hidden =
    conversation.kind === 'direct' || (project !== null && project.owner_id !== state.me?.id)
  $('leave-btn').hidden =
    conversation.kind === 'direct' || (project !== null && project.owner_id === state.me?.id)
  $('leave-btn').textContent = project ? 'Leave project' : 'Leave group'
  $('delete-project-btn').hidden = !project || project.owner_id !== state.me?.id
  if (project) {
    try {
      const detail = await api(`/projects/${project.id}`)
      state.projects.set(detail.project.id, detail.project)
      conversation.members = (detail.members ?? conversation.members).map(rememberUser)
      $('add-member-form').hidden = detail.project.owner_id !== state.me?.id
      $('leave-btn').hidden = detail.project.owner_id === state.me?.id
      $('delete-project-btn').hidden = detail.project.owner_id !== state.me?.id
      $('project-description-text').textContent = detail.project.description ?? ''
    } catch (error) {
      toast(errorText(error))
    }
    refreshFiles()
  } else {
    try {
      const { conversation: fresh } = await api(`/conversations/${conversation.id}`)
      upsertConversation(fresh)
    } catch {}
  }
  renderMembers()
}

function renderMembers() {
  const conversation = state.currentId ? state.conversations.get(state.currentId) : null
  if (!conversation) return
  const project = currentProject()
  const canRemove = project ? project.owner_id === state.me?.id : false
  $('member-list').replaceChildren(
    ...(conversation.members ?? []).map((/** @type {any} */ member) => {
      const person = state.people.get(member.id) ?? member
      const role =
        project && project.owner_id === member.id ? 'owner' : member.id === state.me?.id ? 'you' : ''
      return el(
        'li',
        { dataset: { userId: String(member.id) } },
        avatar(person, member.id),
        el(
          'span',
          { class: 'who' },
          el('span', {}, nameOf(person), role ? el('small', {}, ` (${role})`) : null),
          el('small', {}, person.online ? 'online' : lastSeen(person.last_seen_at)),
        ),
        canRemove && member.id !== state.me?.id
          ? el(
              'button',
              {
                type: 'button',
                class: 'small danger',
                'aria-label': `Remove ${nameOf(person)}`,
                onclick: () => removeMember(member.id),
              },
              'Remove',
            )
          : null,
      )
    }),
  )
}

const addMemberSearch = /** @type {HTMLInputElement} */ ($('add-member-search'))
addMemberSearch.addEventListener(
  'input',
  debounce(async () => {
    const q = addMemberSearch.value.trim()
    const results = $('add-member-results')
    if (!q) {
      results.replaceChildren()
      return
    }
    try {
      const conversation = state.currentId ? state.conversations.get(state.currentId) : null
      const memberIds = new Set((conversation?.members ?? []).map((/** @type {any} */ m) => m.id))
      const users = (await searchPeople(q)).filter((/** @type {any} */ user) => !memberIds.has(user.id))
      results.replaceChildren(
        ...(users.length
          ? users.map((/** @type {any} */ user) =>
              el(
                'li',
                {},
                el(
                  'span',
                  { class: 'who' },
                  el('span', {}, nameOf(user)),
                  el('small', {}, `@${user.username}`),
                ),
                el(
                  'button',
                  { type: 'button', class: 'small primary', onclick: () => addMember(user.id) },
                  'Add',
                ),
              ),
            )
          : [el('li', { class: 'none' }, 'Nobody found')]),
      )
    } catch (error) {
      toast(errorText(error))
    }
  }, 200),
)
$('add-member-form').addEventListener('submit', (event) => event.preventDefault())

/** @param {number} userId */
async function addMember(userId) {
  const project = currentProject()
  try {
    if (project) await api(`/projects/${project.id}/members`, { method: 'POST', body: { user_id: userId } })
    else await api(`/conversations/${state.currentId}/members`, { method: 'POST', body: { user_id: userId } })
    addMemberSearch.value = ''
    $('add-member-results').replaceChildren()
    await refreshDetails()
    renderHeader()
  } catch (error) {
    toast(errorText(error))
  }
}

/** @param {number} userId */
async function removeMember(userId) {
  const project = currentProject()
  if (!window.confirm(`Remove ${personName(userId)}?`)) return
  try {
    if (project) await api(`/projects/${project.id}/members/${userId}`, { method: 'DELETE' })
    else await api(`/conversations/${state.currentId}/members/${userId}`, { method: 'DELETE' })
    await refreshDetails()
    renderHeader()
  } catch (error) {
    toast(errorText(error))
  }
}

$('leave-btn').addEventListener('click', async () => {
  const conversationId = state.currentId
  if (!conversationId || !state.me) return
  const project = currentProject()
  if (!window.confirm(project ? 'Leave this project?' : 'Leave this group?')) return
  try {
    if (project) await api(`/projects/${project.id}/members/${state.me.id}`, { method: 'DELETE' })
    else await api(`/conversations/${conversationId}/members/${state.me.id}`, { method: 'DELETE' })
    if (project) state.projects.delete(project.id)
    state.conversations.delete(conversationId)
    openDetails(false)
    closeConversation()
  } catch (error) {
    toast(errorText(error))
  }
})

$('delete-project-btn').addEventListener('click', async () => {
  const project = currentProject()
  if (!project) return
  if (!window.confirm(`Delete the project ${project.name}, its conversation and its files?`)) return
  try {
    await api(`/projects/${project.id}`, { method: 'DELETE' })
    state.projects.delete(project.id)
    state.conversations.delete(project.conversation_id)
    openDetails(false)
    closeConversation()
  } catch (error) {
    toast(errorText(error))
  }
})

async function refreshFiles() {
  const project = currentProject()
  if (!project) return
  try {
    const { files } = await api(`/projects/${project.id}/files`)
    const canDeleteAll = project.owner_id === state.me?.id
    $('file-list').replaceChildren(
      ...files.map((/** @type {any} */ file) =>
        el(
          'li',
          { dataset: { fileId: String(file.id) } },
          el(
            'span',
            { class: 'file-info' },
            el('a', { href: `/files/${Number(file.id)}`, download: file.name }, file.name),
            el(
              'small',
              {},
              `${formatSize(file.size)} · ${personName(file.uploaded_by)} · ${shortTime(file.created_at)}`,
            ),
          ),
          canDeleteAll || file.uploaded_by === state.me?.id
            ? el(
                'button',
                {
                  type: 'button',
                  class: 'small danger',
                  'aria-label': `Delete ${file.name}`,
                  onclick: () => deleteFile(project.id, file),
                },
                'Delete',
              )
            : null,
        ),
      ),
    )
    $('file-empty').hidden = files.length > 0
  } catch (error) {
    toast(errorText(error))
  }
}

/** @param {number} projectId @param {any} file */
async function deleteFile(projectId, file) {
  if (!window.confirm(`Delete ${file.name}?`)) return
  try {
    await api(`/projects/${projectId}/files/${file.id}`, { method: 'DELETE' })
    refreshFiles()
  } catch (error) {
    toast(errorText(error))
  }
}

// ------------------------------------------------------------------ uploads

const fileInput = /** @type {HTMLInputElement} */ ($('file-input'))
$('attach-btn').addEventListener('click', () => fileInput.click())
$('project-upload-btn').addEventListener('click', () => fileInput.click())
fileInput.addEventListener('change', () => {
  for (const file of fileInput.files ?? []) uploadFile(file)
  fileInput.value = ''
})

/**
 * Uploads one file with a progress bar: to the project's files in a project conversation (the server
 * announces it there), else as a message of the conversation.
 * @param {File} file
 */
function uploadFile(file) {
  if (!state.currentId) return
  const project = currentProject()
  const url = project ? `/projects/${project.id}/files` : `/conversations/${state.currentId}/files`
  const bar = /** @type {HTMLProgressElement} */ (el('progress', { max: '100', value: '0' }))
  const label = el('span', { class: 'upload-label' }, `Uploading ${file.name}…`)
  const item = el('li', {}, label, bar)
  $('uploads').append(item)
  const xhr = new XMLHttpRequest()
  xhr.open('POST', url)
  xhr.setRequestHeader('accept', 'application/json')
  xhr.upload.addEventListener('progress', (event) => {
    if (!event.lengthComputable) return
    const percent = Math.round((event.loaded / event.total) * 100)
    bar.value = percent
    label.textContent = `Uploading ${file.name}… ${percent}%`
  })
  xhr.addEventListener('load', () => {
    if (xhr.status >= 200 && xhr.status < 300) {
      bar.value = 100
      label.textContent = `Uploaded ${file.name}`
      window.setTimeout(() => item.remove(), 1500)
      if (project) refreshFiles()
      try {
        const body = JSON.parse(xhr.responseText)
        if (body.message) client?.apply(body.message)
      } catch {}
    } else {
      let message = `HTTP ${xhr.status}`
      try {
        message = JSON.parse(xhr.responseText).message ?? message
      } catch {}
      if (xhr.status === 413) message = 'The file is too large.'
      failUpload(item, label, bar, `${file.name}: ${message}`)
    }
  })
  xhr.addEventListener('error', () => failUpload(item, label, bar, `${file.name}: the upload failed`))
  const form = new FormData()
  form.append('file', file, file.name)
  xhr.send(form)
}

/**
 * @param {HTMLElement} item @param {HTMLElement} label @param {HTMLElement} bar @param {string} text
 */
function failUpload(item, label, bar, text) {
  bar.remove()
  label.textContent = text
  label.classList.add('failed')
  item.append(el('button', { type: 'button', class: 'small ghost', onclick: () => item.remove() }, 'Dismiss'))
}

// drag and drop anywhere on the conversation (and on the project's drop zone)
const chat = $('chat')
let dragDepth = 0
chat.addEventListener('dragenter', (event) => {
  if (!state.currentId || !event.dataTransfer?.types.includes('Files')) return
  event.preventDefault()
  dragDepth += 1
  $('drop-overlay').hidden = false
  $('dropzone').classList.add('over')
})
chat.addEventListener('dragover', (event) => {
  if (!state.currentId || !event.dataTransfer?.types.includes('Files')) return
  event.preventDefault()
  event.dataTransfer.dropEffect = 'copy'
})
chat.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1)
  if (dragDepth === 0) {
    $('drop-overlay').hidden = true
    $('dropzone').classList.remove('over')
  }
})
chat.addEventListener('drop', (event) => {
  if (!state.currentId || !event.dataTransfer) return
  event.preventDefault()
  dragDepth = 0
  $('drop-overlay').hidden = true
  $('dropzone').classList.remove('over')
  for (const file of event.dataTransfer.files) uploadFile(file)
})

// paste an image from the clipboard into the composer
composer.addEventListener('paste', (event) => {
  const files = [...(event.clipboardData?.files ?? [])]
  if (files.length === 0) return
  event.preventDefault()
  for (const file of files) uploadFile(file)
})

// ------------------------------------------------------------------ boot

async function boot() {
  try {
    const { user } = await api('/auth/check')
    await startApp(user)
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) console.error(error)
    showAuth()
  }
}

boot()
