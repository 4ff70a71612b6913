import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { MARKDOWN_RULES, parsedPlainText, plainText } from '../src/conversations/plain-text.js'
import { digestMail } from '../src/email/digest.js'
import { pushPayload } from '../src/push/payload.js'

// plainText: what a reader sees of a Markdown message, for places that show text only.

t.test('Markdown to plain text', async (t) => {
  const cases: Array<[string, string]> = [
    ['plain words', 'plain words'],
    ['**bold** and *italic* and ~~gone~~', 'bold and italic and gone'],
    ['run `npm start` now', 'run npm start now'],
    ['```\nconst a = 1\n```', 'const a = 1'],
    ['> quoted\n\nreply', 'quoted\nreply'],
    ['- one\n- two', 'one\ntwo'],
    ['1. first\n2. second', 'first\nsecond'],
    ['[the docs](https://example.com/docs)', 'the docs'],
    ['see https://example.org', 'see https://example.org'],
    ['line one\nline two', 'line one\nline two'],
    ['<b>not bold</b>', '<b>not bold</b>'],
    ['[x](javascript:alert(1))', '[x](javascript:alert(1))'],
    ['![x](https://example.com/x.png)', '!x'], // no images: a "!" and a link
    ['# not a heading', '# not a heading'],
    ['a \\*literal\\* star', 'a *literal* star'],
    ['AT&amp;T', 'AT&T'],
    ['', ''],
  ]
  for (const [source, expected] of cases) t.equal(plainText(source), expected, JSON.stringify(source))
})

t.test('the page renders the same subset', async (t) => {
  const page = readFileSync(join(import.meta.dirname, '..', 'public', 'markdown.js'), 'utf8')
  const list = /md\.enable\(\[([^\]]*)\]\)/.exec(page)?.[1] ?? ''
  const rules = [...list.matchAll(/'([a-z_]+)'/g)].map((match) => match[1])
  t.same(
    rules,
    [...MARKDOWN_RULES],
    'public/markdown.js enables the rules src/conversations/plain-text.ts does',
  )
  t.match(page, /MarkdownIt\('zero', \{ html: false, linkify: true, breaks: true \}\)/)
})

t.test('push notifications and e-mail digests say the words, not the marks', async (t) => {
  const content = '**Ship** it: [the plan](https://example.com/p)\n- `npm start`\n- <b>go</b>'
  const shown = 'Ship it: the plan npm start <b>go</b>'
  const message = { id: 1, conversation_id: 2, content, kind: 'direct', title: null, sender_name: 'Ann' }
  t.equal(pushPayload(message).body, shown)
  const mail = digestMail([message], { page: 'https://chat.example', unsubscribe: 'https://u.example' })
  t.match(mail.text, `Ann: ${shown}\n`)
  t.equal(pushPayload({ ...message, content: '' }).body, 'Sent a file', 'a file message')
})

t.test('lines with nothing to parse give what parsing gives', async (t) => {
  const fixed = [
    'www.xn--mnchen-3ya.de',
    'a  b',
    '  lead ',
    '1.5 is fine',
    'a - b',
    '-- no',
    '=== x',
    '#tag',
    '🎉 ok',
  ]
  for (const text of fixed) t.equal(plainText(text), parsedPlainText(text), JSON.stringify(text))
  // Many short strings from characters near Markdown's, the same sequence every run.
  const chars = [...'ab .,!?-+=#()\'"1234567890wx\u00a0éß🎉/;$^{}|*_`[]<>&:@\n']
  let seed = 42
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  let differ = 0
  for (let i = 0; i < 20_000; i++) {
    let text = ''
    for (let n = Math.floor(next() * 12); n > 0; n--) text += chars[Math.floor(next() * chars.length)]
    if (plainText(text) !== parsedPlainText(text)) differ++
  }
  t.equal(differ, 0, '20,000 strings: the same text either way')
})
