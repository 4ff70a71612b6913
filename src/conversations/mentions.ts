import type { AppContext } from '../context.js'
import { membersNamed } from '../db/queries/users.js'

// Mentions are resolved once, when a message is sent or edited, into the user ids they reached:
// `@username` a member (case-insensitive), `@all` every other member of a group or project,
// `@here` every other member online now. The sender is never in their own mentions, and a name
// that is not a member's mentions nobody. What is stored is the ids, so a rename later does not
// change whom an old message mentioned.

/**
 * An `@` that starts a word (not the middle of `ann@example.org`), then a username's characters.
 * Usernames are 3-32 of letters, digits and `_.-`.
 */
const MENTION = /(?<![\w.@-])@([A-Za-z0-9_.-]{1,64})/g

/** The names a text mentions, lower-cased, each once; `@bob.` also tries `bob` (sentence ends). */
export function mentionNames(content: string): string[] {
  if (!content.includes('@')) return []
  const names = new Set<string>()
  for (const match of content.matchAll(MENTION)) {
    const name = match[1].toLowerCase()
    names.add(name)
    const trimmed = name.replace(/[.-]+$/, '')
    if (trimmed !== name && trimmed !== '') names.add(trimmed)
  }
  return [...names]
}

/** The user ids a message from `senderId` mentions, ascending; [] for most messages (no `@`). */
export async function resolveMentions(
  ctx: AppContext,
  conversationId: number,
  senderId: number,
  content: string,
): Promise<number[]> {
  const names = mentionNames(content)
  if (names.length === 0) return []
  const reached = new Set<number>()
  const broad = names.includes('all') || names.includes('here')
  const settings = broad ? await ctx.members.settings(conversationId) : undefined
  if (settings && settings.kind !== 'direct') {
    const others = (await ctx.members.get(conversationId)).filter((id) => id !== senderId)
    const everyone = names.includes('all')
    for (const id of others) if (everyone || ctx.presence.isOnline(id)) reached.add(id)
  }
  if (reached.size === 0 || names.some((name) => name !== 'all' && name !== 'here')) {
    for (const id of await membersNamed(ctx.db, conversationId, names)) reached.add(id)
  }
  reached.delete(senderId)
  return [...reached].sort((a, b) => a - b)
}

/** The stored form: JSON text, null for none. */
export const storedMentions = (ids: number[]): string | null =>
  ids.length === 0 ? null : JSON.stringify(ids)

/** The ids a stored row mentions. */
export function parseMentions(stored: string | null): number[] {
  if (stored === null || stored === '') return []
  return JSON.parse(stored) as number[]
}
