// @ts-check
// The search's results as the panel shows them: messages grouped by conversation (its title as the
// group's header), each with its snippet, the matches marked, sender and time; and the files found.
// Every piece of text goes in as text nodes; the marks are <mark> elements made from `highlights`.
import { el } from './dom.js'
import { formatSize, fullFormat, shortTime } from './format.js'
import { personName, titleOf } from './people.js'
import { state } from './state.js'

/** @typedef {import('/client/parley-client.js').SearchResult} SearchResult */
/** @typedef {import('/client/parley-client.js').FileInfo} FileInfo */

/**
 * The snippet as text nodes and <mark>s, from its `[start, end)` ranges (UTF-16 indices, as
 * JavaScript strings count); ranges out of bounds are clipped, overlapping ones merged.
 * @param {string} snippet
 * @param {Array<[number, number]>} highlights
 * @returns {Node[]}
 */
export function markedSnippet(snippet, highlights) {
  const ranges = highlights
    .map(([start, end]) => [Math.max(0, start), Math.min(snippet.length, end)])
    .filter(([start, end]) => start < end)
    .sort((a, b) => a[0] - b[0])
  /** @type {Node[]} */
  const nodes = []
  let at = 0
  for (const [start, end] of ranges) {
    if (end <= at) continue
    const from = Math.max(start, at)
    if (from > at) nodes.push(document.createTextNode(snippet.slice(at, from)))
    nodes.push(el('mark', {}, snippet.slice(from, end)))
    at = end
  }
  if (at < snippet.length) nodes.push(document.createTextNode(snippet.slice(at)))
  return nodes
}

let optionCount = 0

/**
 * One message found: a button (an option of the results list) that opens it.
 * @param {SearchResult} result
 * @param {(result: SearchResult) => void} open
 */
function resultItem(result, open) {
  const { message } = result
  const mine = message.sender_id === state.me?.id
  const snippet = result.snippet || message.content || message.attachments?.[0]?.name || ''
  return el(
    'li',
    {},
    el(
      'button',
      {
        type: 'button',
        id: `search-option-${++optionCount}`,
        class: 'search-option search-result',
        role: 'option',
        'aria-selected': 'false',
        tabindex: '-1',
        dataset: { conversationId: String(result.conversation_id), messageId: String(message.id) },
        onclick: () => open(result),
      },
      el(
        'span',
        { class: 'search-meta' },
        el('span', { class: 'search-sender' }, mine ? 'You' : personName(message.sender_id)),
        el(
          'time',
          { datetime: message.created_at, title: fullFormat.format(new Date(message.created_at)) },
          shortTime(message.created_at),
        ),
      ),
      el('span', { class: 'search-snippet' }, ...markedSnippet(snippet, result.highlights ?? [])),
    ),
  )
}

/** @param {number} conversationId */
function groupTitle(conversationId) {
  const conversation = state.conversations.get(conversationId)
  return conversation ? titleOf(conversation) : 'Conversation'
}

/**
 * Adds results to their conversation's group (a new group goes last: groups keep the order in
 * which their newest result came).
 * @param {HTMLElement} box the groups' container
 * @param {SearchResult[]} results
 * @param {(result: SearchResult) => void} open
 */
export function appendResults(box, results, open) {
  for (const result of results) {
    const id = String(result.conversation_id)
    let group = /** @type {HTMLElement | null} */ (box.querySelector(`section[data-conversation-id="${id}"]`))
    if (!group) {
      group = el(
        'section',
        { class: 'search-group', dataset: { conversationId: id } },
        el('h3', { class: 'search-group-title' }, groupTitle(result.conversation_id)),
        el('ul', { class: 'search-list', role: 'group' }),
      )
      box.append(group)
    }
    group.querySelector('ul')?.append(resultItem(result, open))
  }
}

/** Group headers again, once the conversations they name are known. @param {HTMLElement} box */
export function retitleGroups(box) {
  for (const group of /** @type {NodeListOf<HTMLElement>} */ (box.querySelectorAll('section.search-group'))) {
    const title = group.querySelector('.search-group-title')
    if (title) title.textContent = groupTitle(Number(group.dataset.conversationId))
  }
}

/**
 * The "Files" section: each file a link to it, as attachments link elsewhere in the page.
 * @param {FileInfo[]} files
 */
export function filesSection(files) {
  return el(
    'section',
    { class: 'search-group search-files' },
    el('h3', { class: 'search-group-title' }, 'Files'),
    el(
      'ul',
      { class: 'search-list', role: 'group' },
      ...files.map((file) =>
        el(
          'li',
          {},
          el(
            'a',
            {
              id: `search-option-${++optionCount}`,
              class: 'search-option search-file',
              role: 'option',
              'aria-selected': 'false',
              tabindex: '-1',
              href: `/files/${Number(file.id)}`,
              download: file.name,
              dataset: { fileId: String(file.id) },
            },
            el('img', { src: '/icons/file.svg', alt: '', width: '18', height: '18' }),
            el('span', { class: 'search-file-name' }, file.name),
            el('small', {}, `${formatSize(file.size)} · ${shortTime(file.created_at)}`),
          ),
        ),
      ),
    ),
  )
}
