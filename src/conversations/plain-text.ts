import MarkdownIt from 'markdown-it'

// Message text is Markdown (a chat subset, rendered by public/markdown.js). Where it is shown as
// plain text (search snippets, notifications, e-mail digests, previews), plainText gives what a
// reader sees: the words without the marks. The source is stored unchanged; this is for display.

/** The subset: the same rules as public/markdown.js (test/plain-text.test.ts checks they agree). */
export const MARKDOWN_RULES = [
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
] as const

const md = MarkdownIt('zero', { html: false, linkify: true, breaks: true })
md.enable([...MARKDOWN_RULES])
md.validateLink = (url) => /^(https?:\/\/|mailto:)/i.test(url.trim())

type Token = ReturnType<typeof md.parse>[number]

function collect(tokens: Token[], out: string[]): void {
  for (const token of tokens) {
    switch (token.type) {
      case 'inline':
        collect(token.children ?? [], out)
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
 * Markdown source as plain text: emphasis, code and quote marks dropped, a link as its text,
 * list items and paragraphs one a line. Never HTML: `<b>` stays the text `<b>`.
 */
export function plainText(source: string): string {
  // Most chat lines have nothing Markdown acts on: one line, none of its marks, no list or quote
  // start. Their plain text is the line itself, without parsing (search snippets ask for it per
  // result; test/plain-text.test.ts checks both ways agree).
  if (NOTHING_TO_PARSE.test(source) && !BLOCK_START.test(source)) return source.trim()
  return parsedPlainText(source)
}

const NOTHING_TO_PARSE = /^[^*_~`[\]<>&\\%:@\n\r\t\f\v]*$/
const BLOCK_START = /^\s*(?:[-+>#=]|\d+[.)])/

/** plainText by parsing, whatever the text. */
export function parsedPlainText(source: string): string {
  const out: string[] = []
  collect(md.parse(source, {}), out)
  return out
    .join('')
    .replace(/\n{2,}/g, '\n')
    .trim()
}
