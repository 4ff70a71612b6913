import { badRequest } from './errors.js'

// Text that people read as a name (display names, titles, file names) must read as what it is:
// no control characters, and none of the invisible marks that can make one name pass for another.

export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g
// C0 and C1 controls, DEL, and the invisible marks that can make a name read as another
// (bidirectional overrides and isolates, zero-width characters, the BOM).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g
/** Well-formed, NFC, without controls or invisible marks. */
export function withoutInvisible(raw: string): string {
  return raw.replace(LONE_SURROGATE, '\ufffd').normalize('NFC').replace(UNSAFE, '')
}

/** A one-line name as stored: cleaned and trimmed; 400 if nothing visible is left. */
export function cleanName(raw: string, field: string): string {
  const name = withoutInvisible(raw).trim()
  if (name === '') throw badRequest(`${field} must contain visible characters`)
  return name
}

/** Longer text (a description): each line cleaned like a name, the line breaks kept; may be empty. */
export function cleanText(raw: string): string {
  return raw
    .split(/\r\n|\r|\n/)
    .map((line) => withoutInvisible(line).trimEnd())
    .join('\n')
    .trim()
}
