import type { Kysely } from 'kysely'
import { findMessage, liveMessages } from '../db/queries/messages.js'
import type { Database } from '../db/types.js'
import { notFound } from '../errors.js'
import { type MessageView, messageViews } from './views.js'

export interface AroundPage {
  messages: MessageView[]
  has_more_before: boolean
  has_more_after: boolean
}

/**
 * A page of live messages centred on one (to open a search result in context), oldest first:
 * the message and up to half the page before it, the rest after it. A deleted message still
 * marks its place.
 */
export async function historyAround(
  db: Kysely<Database>,
  conversationId: number,
  messageId: number,
  limit = 50,
): Promise<AroundPage> {
  if (!(await findMessage(db, conversationId, messageId))) throw notFound('Message')
  const beforeCount = Math.ceil(limit / 2)
  const afterCount = limit - beforeCount
  const [before, after] = await Promise.all([
    liveMessages(db, conversationId, { before: messageId + 1, limit: beforeCount + 1 }),
    liveMessages(db, conversationId, { after: messageId, limit: afterCount + 1 }),
  ])
  const older = before.slice(0, beforeCount).reverse()
  const newer = after.slice(0, afterCount)
  return {
    messages: await messageViews(db, [...older, ...newer]),
    has_more_before: before.length > beforeCount,
    has_more_after: after.length > afterCount,
  }
}
