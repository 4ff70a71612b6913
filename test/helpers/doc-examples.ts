// The shell examples of README.md and docs/*.md, and the output each one shows.
//
// A ```sh block is preceded by one of two markers, on the line right before its fence:
//   <!-- runnable -->              the docs test runs it against a fresh server
//   <!-- not-run: <reason> -->     it is never run, for the reason given
// In a runnable block, `# -> <output>` (a comment line after a command, or at the end of its last
// line) shows what the command prints; lines starting with `#` and two or more spaces continue it.
// A command without `# ->` must print nothing. `...` stands for what is not shown (see matchOutput).

export const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell', 'console', 'zsh'])
const RUNNABLE = /^<!--\s*runnable\s*-->$/
const NOT_RUN = /^<!--\s*not-run:\s*(\S.*?)\s*-->$/

export interface ShellBlock {
  /** 1-based line of the opening fence. */
  line: number
  marker: 'runnable' | 'not-run' | 'none'
  reason?: string
  lines: string[]
}

/** Every fenced block whose language is a shell, with the marker on the line before it. */
export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n')
  const blocks: ShellBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i])
    if (!open) continue
    const fence = open[1]
    let end = i + 1
    while (end < lines.length && !new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(lines[end]))
      end++
    if (SHELL_LANGUAGES.has(open[2].toLowerCase())) {
      const before = (lines[i - 1] ?? '').trim()
      const notRun = NOT_RUN.exec(before)
      blocks.push({
        line: i + 1,
        marker: RUNNABLE.test(before) ? 'runnable' : notRun ? 'not-run' : 'none',
        reason: notRun?.[1],
        lines: lines.slice(i + 1, end),
      })
    }
    i = end
  }
  return blocks
}

export interface Step {
  /** 1-based line in the markdown file of the step's first line. */
  line: number
  code: string
  /** What the page shows the step prints; undefined: it must print nothing. */
  expected?: string
}

const EXPECT_LINE = /^\s*# -> ?(.*)$/
const EXPECT_MORE = /^\s*# {2,}(.*)$/
const EXPECT_INLINE = /^(.*\S)\s+# -> ?(.*)$/

/** A runnable block cut into steps: the code up to each `# ->`, and the output shown there. */
export function blockSteps(block: ShellBlock): Step[] {
  const steps: Step[] = []
  let code: string[] = []
  let start = block.line + 1
  const close = (expected?: string) => {
    const hasCode = code.some((line) => line.trim() !== '' && !line.trim().startsWith('#'))
    if (expected !== undefined && !hasCode) throw new Error(`line ${start}: "# ->" with no command before it`)
    if (hasCode) steps.push({ line: start, code: code.join('\n'), expected })
    code = []
  }
  for (let i = 0; i < block.lines.length; i++) {
    const text = block.lines[i]
    const lineNumber = block.line + 1 + i
    if (!code.some((line) => line.trim() !== '')) start = lineNumber
    const whole = EXPECT_LINE.exec(text)
    const inline = whole ? null : EXPECT_INLINE.exec(text)
    if (!whole && !inline) {
      code.push(text)
      continue
    }
    if (inline) code.push(inline[1])
    const expected = [(whole ?? inline)![whole ? 1 : 2]]
    while (i + 1 < block.lines.length && EXPECT_MORE.test(block.lines[i + 1])) {
      expected.push(EXPECT_MORE.exec(block.lines[++i])![1])
    }
    close(expected.join('\n'))
  }
  close()
  return steps
}

// Output matching. Both sides are read as a sequence of items separated by whitespace: a JSON
// object or array, a JSON string, or a word. Shown JSON is a pattern: `...` as a value matches any
// value, inside an object allows keys not shown (without it the keys must be exactly those shown),
// at the end of an array allows more items, inside a string matches any characters. A word matches
// exactly, `...` in it matching any characters; a last word `...` matches any remaining items.

type Pattern =
  | { kind: 'any' }
  | { kind: 'object'; entries: [string, Pattern][]; open: boolean }
  | { kind: 'array'; items: Pattern[]; open: boolean }
  | { kind: 'text'; glob: string }
  | { kind: 'literal'; value: number | boolean | null }

type Item = { kind: 'json'; value: unknown; text: string } | { kind: 'word'; text: string }
type Expected = { kind: 'pattern'; pattern: Pattern; text: string } | { kind: 'word'; text: string }

function globMatches(glob: string, text: string): boolean {
  const source = glob
    .split('...')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*')
  return new RegExp(`^${source}$`).test(text)
}

/** The end (exclusive) of the JSON string starting with the quote at `from`, or -1. */
function stringEnd(text: string, from: number): number {
  for (let i = from + 1; i < text.length; i++) {
    if (text[i] === '\\') i++
    else if (text[i] === '"') return i + 1
  }
  return -1
}

/** The end (exclusive) of the JSON object, array or string starting at `from`, or -1. */
function jsonEnd(text: string, from: number): number {
  if (text[from] === '"') return stringEnd(text, from)
  let depth = 0
  for (let i = from; i < text.length; i++) {
    const c = text[i]
    if (c === '"') {
      const end = stringEnd(text, i)
      if (end < 0) return -1
      i = end - 1
    } else if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') {
      if (--depth === 0) return i + 1
    }
  }
  return -1
}

class PatternParser {
  at = 0
  constructor(readonly text: string) {}
  private space() {
    while (/\s/.test(this.text[this.at] ?? '')) this.at++
  }
  private eat(token: string): boolean {
    this.space()
    if (!this.text.startsWith(token, this.at)) return false
    this.at += token.length
    return true
  }
  private expect(token: string) {
    if (!this.eat(token)) throw new Error(`expected ${token} at ${this.at} in ${this.text}`)
  }
  value(): Pattern {
    if (this.eat('...')) return { kind: 'any' }
    if (this.eat('{')) return this.object()
    if (this.eat('[')) return this.array()
    this.space()
    if (this.text[this.at] === '"') return { kind: 'text', glob: this.string() }
    const literal = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(this.text.slice(this.at))
    if (!literal) throw new Error(`unexpected ${this.text.slice(this.at, this.at + 10)}`)
    this.at += literal[0].length
    return { kind: 'literal', value: JSON.parse(literal[0]) }
  }
  private string(): string {
    const end = stringEnd(this.text, this.at)
    if (this.text[this.at] !== '"' || end < 0)
      throw new Error(`expected a string at ${this.at} in ${this.text}`)
    const value = JSON.parse(this.text.slice(this.at, end)) as string
    this.at = end
    return value
  }
  private object(): Pattern {
    const entries: [string, Pattern][] = []
    let open = false
    if (this.eat('}')) return { kind: 'object', entries, open }
    do {
      if (this.eat('...')) open = true
      else {
        this.space()
        const key = this.string()
        this.expect(':')
        entries.push([key, this.value()])
      }
    } while (this.eat(','))
    this.expect('}')
    return { kind: 'object', entries, open }
  }
  private array(): Pattern {
    const items: Pattern[] = []
    if (this.eat(']')) return { kind: 'array', items, open: false }
    for (;;) {
      if (this.eat('...')) {
        this.expect(']')
        return { kind: 'array', items, open: true }
      }
      items.push(this.value())
      if (this.eat(']')) return { kind: 'array', items, open: false }
      this.expect(',')
    }
  }
}

/** Splits text into JSON values (objects, arrays, strings; read by `json`) and words. */
function items<T>(text: string, json: (source: string) => T | undefined, word: (source: string) => T): T[] {
  const found: T[] = []
  let at = 0
  for (;;) {
    while (/\s/.test(text[at] ?? '')) at++
    if (at >= text.length) return found
    const end = '{["'.includes(text[at]) ? jsonEnd(text, at) : -1
    const parsed = end > 0 ? json(text.slice(at, end)) : undefined
    if (parsed !== undefined) {
      found.push(parsed)
      at = end
    } else {
      const next = text.slice(at).search(/\s/)
      const wordEnd = next < 0 ? text.length : at + next
      found.push(word(text.slice(at, wordEnd)))
      at = wordEnd
    }
  }
}

function parseOutput(text: string): Item[] {
  return items<Item>(
    text,
    (source) => {
      try {
        return { kind: 'json', value: JSON.parse(source), text: source }
      } catch {
        return undefined
      }
    },
    (word) => ({ kind: 'word', text: word }),
  )
}

function parseExpected(text: string): Expected[] {
  return items<Expected>(
    text,
    (source) => {
      try {
        const parser = new PatternParser(source)
        const pattern = parser.value()
        return parser.at === source.length ? { kind: 'pattern', pattern, text: source } : undefined
      } catch {
        return undefined
      }
    },
    (word) => ({ kind: 'word', text: word }),
  )
}

function matchValue(pattern: Pattern, value: unknown, path: string, problems: string[]): void {
  const wrong = (what: string) => problems.push(`${path || '(top)'}: ${what}, found ${JSON.stringify(value)}`)
  switch (pattern.kind) {
    case 'any':
      return
    case 'literal':
      if (!Object.is(pattern.value, value)) wrong(`expected ${JSON.stringify(pattern.value)}`)
      return
    case 'text':
      if (typeof value !== 'string' || !globMatches(pattern.glob, value)) wrong(`expected "${pattern.glob}"`)
      return
    case 'array':
      if (!Array.isArray(value)) return void wrong('expected an array')
      if (pattern.open ? value.length < pattern.items.length : value.length !== pattern.items.length) {
        return void wrong(`expected ${pattern.open ? 'at least ' : ''}${pattern.items.length} items`)
      }
      for (const [i, item] of pattern.items.entries()) matchValue(item, value[i], `${path}[${i}]`, problems)
      return
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        return void wrong('expected an object')
      const record = value as Record<string, unknown>
      for (const [key, item] of pattern.entries) {
        if (!(key in record)) problems.push(`${path}.${key}: missing`)
        else matchValue(item, record[key], `${path}.${key}`, problems)
      }
      if (!pattern.open) {
        const shown = new Set(pattern.entries.map(([key]) => key))
        const extra = Object.keys(record).filter((key) => !shown.has(key))
        if (extra.length > 0) problems.push(`${path || '(top)'}: keys not shown: ${extra.join(', ')}`)
      }
    }
  }
}

/** The differences between a command's output and the output the page shows ([] if none). */
export function matchOutput(expected: string, actual: string): string[] {
  const wanted = parseExpected(expected)
  const found = parseOutput(actual)
  const problems: string[] = []
  for (let i = 0; i < wanted.length; i++) {
    const want = wanted[i]
    if (want.kind === 'word' && want.text === '...' && i === wanted.length - 1) return problems
    const got = found[i]
    if (!got) {
      problems.push(`missing output: ${want.text}`)
      continue
    }
    if (want.kind === 'word') {
      if (!globMatches(want.text, got.text)) problems.push(`expected ${want.text}, found ${got.text}`)
    } else if (got.kind !== 'json') problems.push(`expected JSON ${want.text}, found ${got.text}`)
    else matchValue(want.pattern, got.value, '', problems)
  }
  if (found.length > wanted.length) {
    problems.push(
      `unexpected output: ${found
        .slice(wanted.length)
        .map((item) => item.text)
        .join(' ')}`,
    )
  }
  return problems
}
