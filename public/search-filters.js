// @ts-check
// The search's filters, shown as removable chips: from a person (the page's user picker), in a
// conversation (the open one, or one picked by name), has a file, and a date range. Each change
// asks the search to run again.
import { el } from './dom.js'
import { nameOf, titleOf } from './people.js'
import { state } from './state.js'
import { userPicker } from './user-picker.js'

/** @typedef {import('/client/parley-client.js').SearchParams} SearchParams */

export const filters = {
  /** @type {{id: number, name: string} | null} */
  from: null,
  /** @type {{id: number, title: string} | null} */
  conversation: null,
  hasFile: false,
  after: '',
  before: '',
}

/** The filters as GET /search parameters. @returns {Omit<SearchParams, 'q'>} */
export function filterParams() {
  return {
    from: filters.from?.id ?? null,
    conversation_id: filters.conversation?.id ?? null,
    has: filters.hasFile ? 'file' : null,
    after: filters.after || null,
    before: filters.before || null,
  }
}

/** Whether file names can be searched with these filters (GET /search/files knows only the conversation). */
export const filesApply = () => !filters.from && !filters.hasFile && !filters.after && !filters.before

export function clearFilters() {
  Object.assign(filters, { from: null, conversation: null, hasFile: false, after: '', before: '' })
}

/**
 * @param {object} options
 * @param {HTMLElement} options.bar where the chips and the "add a filter" buttons go
 * @param {HTMLElement} options.editor where a filter is chosen (a person, a conversation, dates)
 * @param {() => void} options.changed the filters changed: search again
 * @param {() => void} options.done an editor closed: focus goes back to the search field
 */
export function setupFilters({ bar, editor, changed, done }) {
  const chips = el('ul', { class: 'chips search-chips', 'aria-label': 'Filters' })
  const adders = el('div', { class: 'search-adders' })
  bar.replaceChildren(chips, adders)

  const closeEditor = () => {
    editor.hidden = true
    editor.replaceChildren()
  }
  const apply = () => {
    closeEditor()
    render()
    changed()
    done()
  }
  editor.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return
    event.stopPropagation()
    closeEditor()
    done()
  })

  /** @param {string} label @param {() => void} remove */
  const chip = (label, remove) =>
    el(
      'li',
      { class: 'search-chip' },
      el('span', {}, label),
      el(
        'button',
        {
          type: 'button',
          'aria-label': `Remove filter ${label}`,
          onclick: () => {
            remove()
            render()
            changed()
            done()
          },
        },
        '✕',
      ),
    )

  /** @param {string} label @param {() => void} onclick */
  const adder = (label, onclick) =>
    el('button', { type: 'button', class: 'ghost small search-add', onclick }, label)

  function render() {
    chips.replaceChildren(
      ...[
        filters.from &&
          chip(`From: ${filters.from.name}`, () => {
            filters.from = null
          }),
        filters.conversation &&
          chip(`In: ${filters.conversation.title}`, () => {
            filters.conversation = null
          }),
        filters.hasFile &&
          chip('Has file', () => {
            filters.hasFile = false
          }),
        filters.after &&
          chip(`After: ${filters.after}`, () => {
            filters.after = ''
          }),
        filters.before &&
          chip(`Before: ${filters.before}`, () => {
            filters.before = ''
          }),
      ].filter((item) => item instanceof HTMLElement),
    )
    adders.replaceChildren(
      ...[
        !filters.from && adder('+ From', editFrom),
        !filters.conversation && adder('+ In conversation', editConversation),
        !filters.hasFile &&
          adder('+ Has file', () => {
            filters.hasFile = true
            apply()
          }),
        !(filters.after || filters.before) && adder('+ Date', editDates),
      ].filter((item) => item instanceof HTMLElement),
    )
  }

  /** @param {string} title @param {...HTMLElement} parts */
  const openEditor = (title, ...parts) => {
    editor.replaceChildren(el('div', { class: 'search-editor-title' }, title), ...parts)
    editor.hidden = false
    editor.querySelector('input')?.focus()
  }

  function editFrom() {
    const input = el('input', {
      id: 'search-from-input',
      type: 'search',
      placeholder: 'Someone’s name…',
      autocomplete: 'off',
      'aria-label': 'From whom',
    })
    const results = el('ul', { class: 'people-results', hidden: true })
    const me = state.me
    userPicker({
      input,
      results,
      actions: (user) => [
        el(
          'button',
          { type: 'button', class: 'small', onclick: () => pickFrom(user.id, nameOf(user)) },
          'Choose',
        ),
      ],
    })
    const mine = me
      ? [el('button', { type: 'button', class: 'small', onclick: () => pickFrom(me.id, 'me') }, 'Me')]
      : []
    openEditor('From', input, ...mine, results)
  }
  /** @param {number} id @param {string} name */
  function pickFrom(id, name) {
    filters.from = { id, name }
    apply()
  }

  function editConversation() {
    const input = el('input', {
      type: 'search',
      placeholder: 'Conversation name…',
      autocomplete: 'off',
      'aria-label': 'In which conversation',
    })
    const list = el('ul', { class: 'people-results search-conversations' })
    const current = state.currentId ? state.conversations.get(state.currentId) : undefined
    /** @param {import('./state.js').Conversation} conversation @param {string} [label] */
    const option = (conversation, label) =>
      el(
        'li',
        {},
        el(
          'button',
          {
            type: 'button',
            class: 'ghost small',
            onclick: () => {
              filters.conversation = { id: conversation.id, title: titleOf(conversation) }
              apply()
            },
          },
          label ?? titleOf(conversation),
        ),
      )
    const show = () => {
      const wanted = input.value.trim().toLowerCase()
      const found = [...state.conversations.values()]
        .filter((conversation) => titleOf(conversation).toLowerCase().includes(wanted))
        .slice(0, 8)
      list.replaceChildren(
        ...(current && !wanted ? [option(current, `This conversation (${titleOf(current)})`)] : []),
        ...found.map((conversation) => option(conversation)),
      )
    }
    input.addEventListener('input', show)
    show()
    openEditor('In conversation', input, list)
  }

  function editDates() {
    const after = el('input', { type: 'date', 'aria-label': 'After (inclusive)', value: filters.after })
    const before = el('input', { type: 'date', 'aria-label': 'Before', value: filters.before })
    const form = el(
      'form',
      { class: 'search-dates' },
      el('label', {}, 'After ', after),
      el('label', {}, 'Before ', before),
      el('button', { type: 'submit', class: 'primary small' }, 'Apply'),
    )
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      filters.after = after.value
      filters.before = before.value
      apply()
    })
    openEditor('Date', form)
  }

  render()
  return { render, closeEditor }
}
