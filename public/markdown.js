// @ts-check
// Message text as Markdown, a chat subset: emphasis, strikethrough, inline code and fenced code
// blocks, quotes, lists, links and bare URLs (linkified). markdown-it parses; this module turns its
// token stream into DOM nodes itself (createElement and text nodes, an allow-list of tags), so no
// HTML string is ever parsed: raw HTML, images and headings are not in the subset and stay text.
import MarkdownIt from '/vendor/markdown-it.js'
import { el } from './dom.js'

const md = MarkdownIt('zero', { html: false, linkify: true, breaks: true })
md.enable([
  'blockquote',
  'fence',
  'list',
  'emphasis',
  'strikethrough',
  'backticks',
  'link',
  'linkify',
  'autolink',
  'newline',
  'escape',
  'entity',
])

/** Schemes a link may have: anything else (javascript:, data:, vbscript:, file:...) stays text. */
const SAFE_LINK = /^(https?:\/\/|mailto:)/i
md.validateLink = (/** @type {string} */ url) => SAFE_LINK.test(url.trim())

/** The elements a token may make; any other opening token makes a span. */
const TAGS = new Set(['p', 'em', 'strong', 's', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li'])

/** @param {string | number | null} href */
function safeHref(href) {
  if (typeof href !== 'string' || !SAFE_LINK.test(href)) return null
  try {
    const url = new URL(href)
    return ['http:', 'https:', 'mailto:'].includes(url.protocol) ? url.href : null
  } catch {
    return null
  }
}

/**
 * Appends the DOM of `tokens` to `root`.
 * @param {import('/vendor/markdown-it.js').Token[]} tokens
 * @param {Node} root
 */
function build(tokens, root) {
  /** @type {Node[]} */
  const stack = [root]
  const top = () => stack[stack.length - 1]
  for (const token of tokens) {
    switch (token.type) {
      case 'inline':
        build(token.children ?? [], top())
        break
      case 'text':
        top().appendChild(document.createTextNode(token.content))
        break
      case 'code_inline':
        top().appendChild(el('code', {}, token.content))
        break
      case 'fence':
      case 'code_block':
        top().appendChild(el('pre', {}, el('code', {}, token.content.replace(/\n$/, ''))))
        break
      case 'softbreak':
      case 'hardbreak':
        top().appendChild(document.createElement('br'))
        break
      case 'link_open': {
        const href = safeHref(token.attrGet('href'))
        const node = href
          ? el('a', { href, target: '_blank', rel: 'noopener noreferrer' })
          : document.createElement('span')
        top().appendChild(node)
        stack.push(node)
        break
      }
      default:
        if (token.nesting === 1) {
          // A tight list's paragraphs are hidden: their text goes straight into the item.
          const node = token.hidden ? top() : document.createElement(TAGS.has(token.tag) ? token.tag : 'span')
          const start = token.tag === 'ol' ? String(token.attrGet('start') ?? '') : ''
          if (/^\d{1,9}$/.test(start) && node instanceof Element) node.setAttribute('start', start)
          if (node !== top()) top().appendChild(node)
          stack.push(node)
        } else if (token.nesting === -1) {
          if (stack.length > 1) stack.pop()
        } else if (token.content) {
          top().appendChild(document.createTextNode(token.content))
        }
    }
  }
}

/**
 * A message's text as DOM nodes (the text itself is never HTML).
 * @param {string} source
 * @returns {DocumentFragment}
 */
export function renderMarkdown(source) {
  const fragment = document.createDocumentFragment()
  build(md.parse(source, {}), fragment)
  return fragment
}

/**
 * @param {import('/vendor/markdown-it.js').Token[]} tokens
 * @param {string[]} out
 */
function collectText(tokens, out) {
  for (const token of tokens) {
    switch (token.type) {
      case 'inline':
        collectText(token.children ?? [], out)
        break
      case 'text':
      case 'code_inline':
        out.push(token.content)
        break
      case 'fence':
      case 'code_block':
        out.push(token.content.replace(/\n$/, ''), '\n')
        break
      case 'softbreak':
      case 'hardbreak':
      case 'paragraph_close':
      case 'list_item_close':
        out.push('\n')
        break
      default:
        if (token.nesting === 0 && token.content) out.push(token.content)
    }
  }
}

/**
 * A message's text without its marks, for one-line places such as the sidebar's preview: a link
 * as its text, code without backticks, lines joined by spaces (as src/conversations/plain-text.ts
 * does on the server for search and notifications).
 * @param {string} source
 */
export function markdownText(source) {
  /** @type {string[]} */
  const out = []
  collectText(md.parse(source, {}), out)
  return out.join('').replace(/\s+/g, ' ').trim()
}
