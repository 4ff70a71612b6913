import { CJK_TEXT, scopedWords, wordsOf } from '../conversations/message-store/sqlite-search-index.js'

export { wordsOf }

// A search query as typed, taken apart once: its words and "quoted phrases", and the expressions
// each database matches them with. User text never reaches a query's syntax unquoted.

const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u

export interface Term {
  text: string
  /** A "quoted phrase": its words next to each other, in order. */
  phrase: boolean
  /** The last word of the query also matches as the start of a longer word. */
  prefix: boolean
  /** CJK (or Thai) text of 3+ characters: matched as a substring, anywhere in a run. */
  substring: boolean
}

/** The terms of `q` (all must match); empty when it has no letters or digits to look for. */
export function parseQuery(q: string): Term[] {
  const terms: Term[] = []
  const pattern = /"([^"]*)"?|([^\s"]+)/gu
  for (const match of q.matchAll(pattern)) {
    const phrase = match[1] !== undefined
    const text = (match[1] ?? match[2]).trim()
    if (!WORD_CHAR.test(text)) continue
    const substring = CJK_TEXT.test(text) && [...text].length >= 3
    terms.push({ text, phrase, prefix: false, substring })
  }
  const last = terms[terms.length - 1]
  if (last && !last.phrase && !last.substring) last.prefix = true
  return terms
}

const ftsString = (text: string) => `"${text.replaceAll('"', '""')}"`

/**
 * SQLite FTS5: the word terms over the `scoped` column, in each of `conversationIds` (undefined if
 * none): for each conversation, every term as that conversation's words (see scopedWords).
 */
export function ftsScopedExpression(terms: Term[], conversationIds: number[]): string | undefined {
  const words = terms.filter((term) => !term.substring)
  if (words.length === 0 || conversationIds.length === 0) return undefined
  // A prefix here reads the words of one conversation that start with it: no need to spell them
  // out first as the plain words' expression does (ftsWordExpression's `expansions`).
  const inConversation = (id: number) => {
    const text = (term: Term) => `"${scopedWords(id, term.text)}"${term.prefix ? ' *' : ''}`
    return `(${words.map(text).join(' AND ')})`
  }
  return `scoped:(${conversationIds.map(inConversation).join(' OR ')})`
}

/** SQLite FTS5 trigram table: the substring terms (undefined if none). */
export function ftsSubstringExpression(terms: Term[]): string | undefined {
  const pieces = terms.filter((term) => term.substring)
  if (pieces.length === 0) return undefined
  return pieces.map((term) => ftsString(term.text)).join(' AND ')
}

/** PostgreSQL to_tsquery text of the word terms: words of a term in sequence, terms ANDed. */
export function tsQueryText(terms: Term[]): string | undefined {
  const parts: string[] = []
  for (const term of terms) {
    if (term.substring) continue
    const words = wordsOf(term.text)
    if (words.length === 0) continue
    const lexemes = words.map((word, i) => {
      const quoted = `'${word.replaceAll("'", "''").replaceAll('\\', '\\\\')}'`
      return term.prefix && i === words.length - 1 ? `${quoted}:*` : quoted
    })
    parts.push(lexemes.length === 1 ? lexemes[0] : `(${lexemes.join(' <-> ')})`)
  }
  return parts.length === 0 ? undefined : parts.join(' & ')
}

/** PostgreSQL: the substring terms, matched with strpos on the folded text. */
export function substringTerms(terms: Term[]): string[] {
  return terms.filter((term) => term.substring).map((term) => term.text)
}
