import { plainText } from '../conversations/plain-text.js'

// The text of the emails: plain text (Markdown messages as a reader sees them), short, with the
// links.

export interface MissedMessage {
  conversation_id: number
  content: string
  kind: string
  title: string | null
  sender_name: string
}

const line = (text: string, max = 200) => {
  const flat = plainText(text).replace(/\s+/g, ' ').trim()
  if (flat === '') return '(a file)'
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

export function digestMail(
  messages: MissedMessage[],
  links: { page: string; unsubscribe: string },
): { subject: string; text: string } {
  const where = (m: MissedMessage) =>
    m.kind === 'direct' ? m.sender_name : `${m.sender_name} in ${m.title ?? 'a group'}`
  const subject =
    messages.length === 1
      ? `New message from ${messages[0]?.sender_name}`
      : `${messages.length} messages you missed`
  const text = [
    'While you were away:',
    '',
    ...messages.map((m) => `${where(m)}: ${line(m.content)}\n  ${links.page}/#c=${m.conversation_id}`),
    '',
    `No more of these emails: ${links.unsubscribe}`,
    '',
  ].join('\n')
  return { subject, text }
}

export function verifyMail(link: string): { subject: string; text: string } {
  return {
    subject: 'Confirm your email address',
    text: `Follow this link to get email notifications from Parley at this address:\n\n${link}\n\nIf you did not ask for it, ignore this email.\n`,
  }
}
