import { LONE_SURROGATE, withoutInvisible } from '../text.js'

// The client's file name is metadata only: cleaned here, never used as a path.

export const MAX_NAME_LENGTH = 200

/** The last path segment, without controls or invisible marks, at most 200 characters (extension kept). */
export function cleanFileName(raw: string | undefined | null): string {
  let name = (raw ?? '').split(/[/\\]/).pop() ?? ''
  name = withoutInvisible(name).trim()
  if (/^\.*$/.test(name)) return 'file'
  const chars = Array.from(name)
  if (chars.length <= MAX_NAME_LENGTH) return name
  const extension = /\.[^.\s]{1,16}$/.exec(name)?.[0] ?? ''
  const keep = MAX_NAME_LENGTH - Array.from(extension).length
  return chars.slice(0, keep).join('').trimEnd() + extension
}

/** RFC 6266: `attachment` with an ASCII fallback `filename` and the exact name in `filename*` (RFC 8187). */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  const encoded = encodeURIComponent(name.replace(LONE_SURROGATE, '\ufffd')).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `attachment; filename="${fallback || 'file'}"; filename*=UTF-8''${encoded}`
}
