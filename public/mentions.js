// @ts-check
// Mentions on the page: `@` in the composer opens a keyboard-driven list of the conversation's
// members (and @all / @here in groups and projects); mentions in messages are drawn as
// highlighted names (text nodes only), and a message that mentions me is marked.
import { $, el } from './dom.js'
import { avatar, nameOf } from './people.js'
import { state } from './state.js'

/** @typedef {import('./state.js').Message} Message */
/** @typedef {{ username: string, label: string, person?: import('./state.js').Person }} Choice */

/** The server's rule: an `@` that starts a word, then a username's characters. */
const MENTION = /(?<![\w.@-])@([A-Za-z0-9_.-]{1,64})/g

/** @param {Message} message */
export function mentionsMe(message) {
  return !message.deleted && !!state.me && (message.mentions ?? []).includes(state.me.id)
}

/**
 * Whom an `@name` of this message reached, if anyone: its mentions are the ids the server resolved.
 * @param {Message} message
 * @param {string} name lower-cased
 * @returns {{ label: string, me: boolean } | null}
 */
function reached(message, name) {
  const ids = message.mentions ?? []
  if (ids.length === 0) return null
  if (name === 'all' || name === 'here') return { label: `@${name}`, me: mentionsMe(message) }
  for (const id of ids) {
    const person = state.people.get(id)
    const username = person?.username?.toLowerCase()
    if (username && (username === name || username === name.replace(/[.-]+$/, ''))) {
      return { label: `@${person?.username}`, me: id === state.me?.id }
    }
  }
  return null
}

/**
 * Highlights the mentions inside a rendered message (Markdown already turned into nodes): each
 * text node outside code and links is split into text and mention spans, never HTML.
 * @param {HTMLElement} root
 * @param {Message} message
 */
export function highlightMentions(root, message) {
  if ((message.mentions ?? []).length === 0) return
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
  /** @type {Text[]} */
  const texts = []
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement?.closest('code, pre, a')) texts.push(/** @type {Text} */ (node))
  }
  for (const node of texts) {
    const text = node.data
    const parts = []
    let at = 0
    for (const match of text.matchAll(MENTION)) {
      const who = reached(message, match[1].toLowerCase())
      if (!who) continue
      const start = match.index ?? 0
      // `@bob.` ending a sentence: the dot stays text.
      const length = Math.min(match[0].length, who.label.length)
      parts.push(text.slice(at, start))
      parts.push(el('span', { class: `mention${who.me ? ' me' : ''}` }, text.slice(start, start + length)))
      at = start + length
    }
    if (parts.length === 0) continue
    parts.push(text.slice(at))
    node.replaceWith(...parts)
  }
}

// The autocomplete.

const composer = /** @type {HTMLTextAreaElement} */ ($('composer-input'))
const list = el('ul', { id: 'mention-list', class: 'mention-list', role: 'listbox', hidden: '' })
/** @type {Choice[]} */
let choices = []
let active = 0

/** The `@query` just before the caret, if the caret ends one. */
function queryAtCaret() {
  const before = composer.value.slice(0, composer.selectionStart ?? 0)
  const match = /(?:^|[^\w.@-])@([\w.-]*)$/.exec(before)
  return match ? { query: match[1].toLowerCase(), start: before.length - match[1].length - 1 } : null
}

/** @param {string} query */
function choicesFor(query) {
  const conversation = state.currentId ? state.conversations.get(state.currentId) : undefined
  if (!conversation) return []
  /** @type {Choice[]} */
  const found = []
  for (const member of conversation.members ?? []) {
    if (member.id === state.me?.id || !member.username) continue
    const person = state.people.get(member.id) ?? member
    const name = nameOf(person).toLowerCase()
    if (member.username.toLowerCase().startsWith(query) || name.startsWith(query)) {
      found.push({ username: member.username, label: `${nameOf(person)} (@${member.username})`, person })
    }
  }
  if (conversation.kind !== 'direct') {
    if ('all'.startsWith(query)) found.push({ username: 'all', label: '@all: everyone here' })
    if ('here'.startsWith(query)) found.push({ username: 'here', label: '@here: everyone online now' })
  }
  return found.slice(0, 8)
}

function close() {
  choices = []
  list.hidden = true
  list.replaceChildren()
  composer.setAttribute('aria-expanded', 'false')
  composer.removeAttribute('aria-activedescendant')
}

function render() {
  list.replaceChildren(
    ...choices.map((choice, i) =>
      el(
        'li',
        {
          id: `mention-option-${i}`,
          role: 'option',
          class: i === active ? 'active' : '',
          'aria-selected': String(i === active),
          // mousedown, not click: the composer keeps its focus.
          onmousedown: (/** @type {MouseEvent} */ event) => {
            event.preventDefault()
            pick(i)
          },
        },
        choice.person ? avatar(choice.person) : null,
        el('span', { class: 'mention-label' }, choice.label),
      ),
    ),
  )
  list.hidden = false
  composer.setAttribute('aria-expanded', 'true')
  composer.setAttribute('aria-activedescendant', `mention-option-${active}`)
}

function update() {
  const at = queryAtCaret()
  choices = at ? choicesFor(at.query) : []
  if (choices.length === 0) return close()
  active = Math.min(active, choices.length - 1)
  render()
}

/** @param {number} i */
function pick(i) {
  const at = queryAtCaret()
  const choice = choices[i]
  close()
  if (!at || !choice) return
  const caret = composer.selectionStart ?? 0
  const inserted = `@${choice.username} `
  composer.value = composer.value.slice(0, at.start) + inserted + composer.value.slice(caret)
  const position = at.start + inserted.length
  composer.setSelectionRange(position, position)
  composer.focus()
}

/** @param {KeyboardEvent} event */
function onKey(event) {
  if (list.hidden || choices.length === 0) return
  let handled = true
  if (event.key === 'ArrowDown') active = (active + 1) % choices.length
  else if (event.key === 'ArrowUp') active = (active - 1 + choices.length) % choices.length
  else if ((event.key === 'Enter' || event.key === 'Tab') && !event.shiftKey) pick(active)
  else if (event.key === 'Escape') close()
  else handled = false
  if (!handled) return
  // Ahead of the composer's own keys (Enter sends, Up edits): this runs in the capture phase.
  event.preventDefault()
  event.stopImmediatePropagation()
  if (!list.hidden) render()
}

export function setupMentions() {
  composer.setAttribute('aria-autocomplete', 'list')
  composer.setAttribute('aria-controls', 'mention-list')
  composer.setAttribute('aria-expanded', 'false')
  $('composer').append(list)
  composer.addEventListener('keydown', onKey, { capture: true })
  composer.addEventListener('input', () => {
    active = 0
    update()
  })
  composer.addEventListener('click', update)
  composer.addEventListener('blur', () => close())
}
