// @ts-check
// Searching messages and files: the field in the sidebar (focused by `/` or Ctrl-K / Cmd-K), the
// results panel over the conversation, results as you type (debounced; an older request's answer
// never replaces a newer one's), filters (search-filters.js), "Load more", arrow keys and Enter
// over the results, Escape to close. A result opens its conversation at the message
// (message-jump.js); a file result is a link to the file.
import { $, debounce, el, errorText, inputById } from './dom.js'
import { openAt } from './message-jump.js'
import { clearFilters, filesApply, filterParams, filters, setupFilters } from './search-filters.js'
import { appendResults, filesSection, retitleGroups } from './search-results.js'
import { fetchConversation } from './sidebar.js'
import { client, state } from './state.js'

/** @typedef {import('/client/parley-client.js').SearchResult} SearchResult */
/** @typedef {import('/client/parley-client.js').SearchPage} SearchPage */

const PAGE = 20
const FILES_SHOWN = 5

const input = inputById('search-input')
const panel = $('search-panel')
const status = el('p', { id: 'search-status', class: 'search-status', 'aria-live': 'polite' })
const results = el('div', {
  id: 'search-results',
  class: 'search-results',
  role: 'listbox',
  'aria-label': 'Results',
})
const more = el(
  'button',
  { type: 'button', id: 'search-more', class: 'small search-more', hidden: true },
  'Load more',
)
const bar = el('div', { id: 'search-filters', class: 'search-filters' })
const editor = el('div', { id: 'search-editor', class: 'search-editor', hidden: true })

/** Bumped by every change of the query: an answer is shown only if its generation is still current. */
let generation = 0
/** @type {string | null} the `cursor` of the last page shown */
let cursor = null
/** @type {HTMLElement | null} the result the arrow keys are on */
let active = null
/** Whether the results shown are for an older query than the one typed (a search is due). */
let stale = false
/** Enter came while the results were stale: open the first result of the search it started. */
let openFirstWhenShown = false

const EMPTY_TEXT =
  'Type to search messages and files. All words must match, the last one as a prefix; "quoted phrases" match as written.'

/** The search as GET /search parameters. @param {string} q @param {string | null} [after] */
const paramsOf = (q, after = null) => ({ q, ...filterParams(), limit: PAGE, cursor: after })

async function runSearch() {
  const current = ++generation
  const q = input.value.trim()
  setActive(null)
  cursor = null
  more.hidden = true
  if (!q || !client) {
    stale = false
    openFirstWhenShown = false
    results.replaceChildren()
    status.textContent = EMPTY_TEXT
    return
  }
  status.textContent = 'Searching…'
  try {
    const conversationId = filters.conversation?.id ?? null
    const [page, files] = await Promise.all([
      client.search(paramsOf(q)),
      filesApply() ? client.searchFiles({ q, conversation_id: conversationId, limit: FILES_SHOWN }) : null,
    ])
    if (current !== generation) return // a newer search was started meanwhile
    stale = false
    results.replaceChildren()
    if (files?.files.length) results.append(filesSection(files.files))
    show(page, q)
    const found = page.results.length + (files?.files.length ?? 0)
    status.textContent = found ? '' : `No messages match “${q}”.`
    if (found && !page.results.length) status.textContent = 'No messages match, only files.'
    if (openFirstWhenShown) firstResult()?.click()
    openFirstWhenShown = false
  } catch (error) {
    if (current === generation) status.textContent = errorText(error)
  }
}

/** Adds a page of results; names the conversations the page does not know yet. @param {SearchPage} page @param {string} q */
function show(page, q) {
  appendResults(results, page.results, openResult)
  cursor = page.cursor
  more.hidden = !page.has_more || !page.cursor
  more.dataset.q = q
  const unknown = new Set(page.results.map((result) => result.conversation_id))
  for (const id of unknown) if (state.conversations.has(id)) unknown.delete(id)
  if (unknown.size) {
    Promise.allSettled([...unknown].map((id) => fetchConversation(id))).then(() => retitleGroups(results))
  }
}

async function loadMore() {
  const current = generation
  const q = more.dataset.q ?? ''
  if (!client || !cursor || more.disabled) return
  more.disabled = true
  try {
    const page = await client.search(paramsOf(q, cursor))
    if (current === generation) show(page, q)
  } catch (error) {
    if (current === generation) status.textContent = errorText(error)
  } finally {
    more.disabled = false
  }
}

const searchSoon = debounce(runSearch, 200)

/** @param {SearchResult} result */
function openResult(result) {
  close(false)
  openAt(result.conversation_id, result.message.id)
}

/** What Enter opens when the arrow keys are on nothing: the first message (or else the first file). */
const firstResult = () =>
  /** @type {HTMLElement | null} */ (
    results.querySelector('.search-result') ?? results.querySelector('.search-option')
  )

/** @param {HTMLElement | null} option */
function setActive(option) {
  active?.classList.remove('active')
  active?.setAttribute('aria-selected', 'false')
  active = option
  if (option) {
    option.classList.add('active')
    option.setAttribute('aria-selected', 'true')
    option.scrollIntoView({ block: 'nearest' })
    input.setAttribute('aria-activedescendant', option.id)
  } else {
    input.removeAttribute('aria-activedescendant')
  }
}

/** Arrow keys move over the results, files and messages alike. @param {1 | -1} step */
function move(step) {
  const options = /** @type {HTMLElement[]} */ ([...results.querySelectorAll('.search-option')])
  if (!options.length) return
  const at = active ? options.indexOf(active) : -1
  const next =
    at === -1 ? (step === 1 ? 0 : options.length - 1) : (at + step + options.length) % options.length
  setActive(options[next])
}

function openPanel() {
  if (!panel.hidden) return
  // On a phone the panel is fixed below the field (the conversation pane may be hidden).
  panel.style.setProperty('--search-top', `${Math.round(input.getBoundingClientRect().bottom + 8)}px`)
  panel.hidden = false
  input.setAttribute('aria-expanded', 'true')
  if (!input.value.trim()) status.textContent = EMPTY_TEXT
}

/**
 * Hides the panel. `clear` (Escape) also forgets the query and the filters; opening a result keeps
 * them, to come back to with `/`.
 * @param {boolean} clear
 */
function close(clear) {
  panel.hidden = true
  input.setAttribute('aria-expanded', 'false')
  filterUi.closeEditor()
  setActive(null)
  if (!clear) return
  generation++
  input.value = ''
  clearFilters()
  filterUi.render()
  results.replaceChildren()
  more.hidden = true
  input.blur()
}

/** Puts the cursor in the search field, its text selected to type over. */
export function focusSearch() {
  input.focus()
  input.select()
  openPanel()
}

/** Where typing goes: `/` is a shortcut only outside these. @param {EventTarget | null} target */
function typingIn(target) {
  if (!(target instanceof HTMLElement)) return false
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)
}

const filterUi = setupFilters({
  bar,
  editor,
  changed: () => {
    generation++
    runSearch()
  },
  done: () => input.focus(),
})

export function setupSearch() {
  panel.replaceChildren(
    el(
      'header',
      { class: 'search-head' },
      bar,
      el(
        'button',
        { type: 'button', class: 'ghost small', 'aria-label': 'Close search', onclick: () => close(true) },
        '✕',
      ),
    ),
    editor,
    status,
    results,
    more,
  )
  input.addEventListener('focus', openPanel)
  input.addEventListener('input', () => {
    generation++ // answers to what was typed before are stale from now on
    stale = true
    openPanel()
    searchSoon()
  })
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault()
      move(event.key === 'ArrowDown' ? 1 : -1)
    } else if (event.key === 'Enter') {
      event.preventDefault()
      if (stale) {
        // Typed faster than the search: search now, and open what it finds first.
        openFirstWhenShown = true
        runSearch()
      } else {
        ;(active ?? firstResult())?.click()
      }
    } else if (event.key === 'Escape') {
      event.preventDefault()
      event.stopPropagation() // closes the search only (not the details panel too)
      close(true)
    }
  })
  more.addEventListener('click', loadMore)
  panel.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return
    event.stopPropagation()
    close(true)
  })
  document.addEventListener('keydown', (event) => {
    if ($('app-view').hidden || event.altKey) return
    const commandK = (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'k'
    const slash = event.key === '/' && !event.ctrlKey && !event.metaKey && !typingIn(event.target)
    if (commandK || slash) {
      event.preventDefault()
      focusSearch()
    }
  })
  document.addEventListener('pointerdown', (event) => {
    const target = /** @type {Node | null} */ (event.target)
    if (!panel.hidden && target && !panel.contains(target) && target !== input) close(false)
  })
}
