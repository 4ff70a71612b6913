import { plainText } from '../conversations/plain-text.js'

// What a push says: short, and ids; the page fetches the rest when it is opened. The text is what
// a reader sees of the Markdown (plainText), on one line.

export interface PushPayload {
  type: 'notification'
  conversation_id: number
  message_id: number
  title: string
  body: string
}

const BODY_MAX = 120

export function pushPayload(message: {
  id: number
  conversation_id: number
  content: string
  kind: string
  title: string | null
  sender_name: string
}): PushPayload {
  const title =
    message.kind === 'direct'
      ? message.sender_name
      : `${message.sender_name} in ${message.title ?? 'a group'}`
  const text = plainText(message.content).replace(/\s+/g, ' ').trim()
  const body = text === '' ? 'Sent a file' : text.length > BODY_MAX ? `${text.slice(0, BODY_MAX - 1)}…` : text
  return {
    type: 'notification',
    conversation_id: message.conversation_id,
    message_id: message.id,
    title,
    body,
  }
}
