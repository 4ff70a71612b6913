import { badRequest } from '../errors.js'

// The `next`/`before` cursor of GET /conversations: the position of the last conversation shown,
// (last_activity_at, id), which is the list's order. Opaque to clients (base64url of JSON), so
// its content may change without breaking them; anything that does not decode is a 400.

export interface ConversationCursor {
  lastActivityAt: string
  id: number
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

export function encodeConversationCursor(cursor: ConversationCursor): string {
  return Buffer.from(JSON.stringify([cursor.lastActivityAt, cursor.id])).toString('base64url')
}

export function decodeConversationCursor(text: string): ConversationCursor {
  const invalid = () => badRequest('before must be the `next` of an earlier page')
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) throw invalid()
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    throw invalid()
  }
  if (!Array.isArray(value) || value.length !== 2) throw invalid()
  const [lastActivityAt, id] = value
  if (typeof lastActivityAt !== 'string' || !ISO_TIME.test(lastActivityAt)) throw invalid()
  if (!Number.isSafeInteger(id) || id < 1) throw invalid()
  return { lastActivityAt, id }
}
