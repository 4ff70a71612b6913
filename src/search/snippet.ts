import type { Term } from './query.js'
import { wordsOf } from './query.js'

// The snippet of a search result: plain text around the first match, and the ranges of the
// matches in it, [start, end) in UTF-16 code units (JavaScript string indices).

const SNIPPET_LENGTH = 200
const LEAD = 60
const WORD = '[\\p{L}\\p{N}\\p{M}]'
const LATIN = /\p{Script=Latin}/u

/** Lower case, and Latin letters without their accents, as the indexes fold them. */
function foldChar(char: string): string {
  const lower = char.toLowerCase()
  if (!LATIN.test(char)) return lower
  return lower.normalize('NFD').replace(/\p{M}+/gu, '')
}

const ASCII = /^\p{ASCII}*$/u

/** The folded text, and for each of its code units the index in the original it came from. */
function fold(text: string): { folded: string; origin: number[] | undefined } {
  // ASCII folds to the same length: no map needed (most messages; the loop below is ~10x slower).
  if (ASCII.test(text)) return { folded: text.toLowerCase(), origin: undefined }
  let folded = ''
  const origin: number[] = []
  let index = 0
  for (const char of text) {
    const piece = char.charCodeAt(0) < 0x80 ? char.toLowerCase() : foldChar(char)
    folded += piece
    for (let i = 0; i < piece.length; i++) origin.push(index)
    index += char.length
  }
  origin.push(index)
  return { folded, origin }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

function termPattern(term: Term): RegExp {
  if (term.substring) return new RegExp(escapeRegExp(fold(term.text).folded), 'gu')
  const words = wordsOf(fold(term.text).folded).map(escapeRegExp)
  const end = term.prefix ? `${WORD}*` : `(?!${WORD})`
  return new RegExp(`(?<!${WORD})${words.join(`[^\\p{L}\\p{N}\\p{M}]+`)}${end}`, 'gu')
}

/** The terms as patterns over folded text: compiled once per search (a \\p{L} class is costly). */
export function termPatterns(terms: Term[]): RegExp[] {
  return terms.map(termPattern)
}

/** Where the terms occur in `text`, merged and in order. */
export function matchRanges(text: string, patterns: RegExp[]): Array<[number, number]> {
  const { folded, origin } = fold(text)
  const at = (i: number) => (origin === undefined ? i : origin[i])
  const ranges: Array<[number, number]> = []
  for (const pattern of patterns) {
    pattern.lastIndex = 0
    for (const match of folded.matchAll(pattern)) {
      if (match[0].length === 0) continue
      const start = at(match.index)
      // The end is where the last matched folded unit's original character ends.
      let end = at(match.index + match[0].length)
      if (end === start) end = start + 1
      ranges.push([start, end])
    }
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const merged: Array<[number, number]> = []
  for (const range of ranges) {
    const last = merged[merged.length - 1]
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1])
    else merged.push([range[0], range[1]])
  }
  return merged
}

const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff

/** Up to SNIPPET_LENGTH code units of `text` around its first match, never splitting a character. */
export function snippetOf(
  text: string,
  patterns: RegExp[],
): { snippet: string; highlights: Array<[number, number]> } {
  const ranges = matchRanges(text, patterns)
  if (text.length <= SNIPPET_LENGTH) return { snippet: text, highlights: ranges }
  let start = Math.max(0, (ranges[0]?.[0] ?? 0) - LEAD)
  start = Math.min(start, text.length - SNIPPET_LENGTH)
  let end = start + SNIPPET_LENGTH
  if (isLowSurrogate(text.charCodeAt(start))) start++
  if (end < text.length && isLowSurrogate(text.charCodeAt(end))) end--
  const lead = start > 0 ? '…' : ''
  const snippet = lead + text.slice(start, end) + (end < text.length ? '…' : '')
  const shift = lead.length - start
  const highlights: Array<[number, number]> = []
  for (const [from, to] of ranges) {
    if (to <= start || from >= end) continue
    highlights.push([Math.max(from, start) + shift, Math.min(to, end) + shift])
  }
  return { snippet, highlights }
}
