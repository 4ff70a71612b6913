import type { AppContext } from '../context.js'
import type { ConversationContext } from '../conversations/context.js'
import { requireMembership } from '../conversations/membership.js'
import { plainText } from '../conversations/plain-text.js'
import { type FileView, type MessageView, messageViews, toFileView } from '../conversations/views.js'
import { findProjectOfMember } from '../db/queries/projects.js'
import { conversationIdsOf, type MessageMatch, searchFiles, searchMessages } from '../db/queries/search.js'
import { badRequest, notFound } from '../errors.js'
import {
  ftsScopedExpression,
  ftsSubstringExpression,
  parseQuery,
  substringTerms,
  type Term,
  tsQueryText,
  wordsOf,
} from './query.js'
import { snippetOf, termPatterns } from './snippet.js'

export interface SearchQuery {
  q?: string
  conversation_id?: number
  project_id?: number
  from?: number
  after?: string
  before?: string
  has?: 'file'
  limit?: number
  cursor?: string
}

export interface SearchResult {
  message: MessageView
  conversation_id: number
  snippet: string
  highlights: Array<[number, number]>
}

export interface SearchPage {
  results: SearchResult[]
  has_more: boolean
  cursor: string | null
}

// The page cursor is opaque to clients: the id the next page continues below.
const encodeCursor = (id: number) => Buffer.from(`m${id}`).toString('base64url')

function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined
  const text = Buffer.from(cursor, 'base64url').toString()
  const id = /^[mf]([1-9][0-9]{0,15})$/.exec(text)
  if (!id) throw badRequest('cursor is not one this server gave')
  return Number(id[1])
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/

/** A date (midnight UTC) or a date-time, as the ISO text timestamps are stored in. */
function parseTime(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const date = new Date(DATE_ONLY.test(value) ? `${value}T00:00:00.000Z` : value)
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw badRequest(`${name} must be a date (2026-12-01) or a date-time (2026-12-01T09:30:00Z)`)
  }
  return date.toISOString()
}

function requireText(q: string | undefined): string {
  const text = q?.trim() ?? ''
  if (text === '') throw badRequest('q must not be blank')
  return text
}

/** The conversations a search reads: one asked for (a member of it, else 404), or all of mine. */
async function scope(
  ctx: AppContext,
  userId: number,
  query: { conversation_id?: number; project_id?: number },
): Promise<number[]> {
  let ids: number[] | undefined
  if (query.conversation_id !== undefined) {
    await requireMembership(ctx, query.conversation_id, userId)
    ids = [query.conversation_id]
  }
  if (query.project_id !== undefined) {
    const project = await findProjectOfMember(ctx.db, query.project_id, userId)
    if (!project) throw notFound('Project')
    const projectConversation = Number(project.conversation_id)
    ids = ids === undefined ? [projectConversation] : ids.filter((id) => id === projectConversation)
  }
  return ids ?? conversationIdsOf(ctx.db, userId)
}

function matchOf(terms: Term[]): MessageMatch {
  return {
    wordsIn: (conversationIds) => ftsScopedExpression(terms, conversationIds),
    ftsSubstrings: ftsSubstringExpression(terms),
    tsQuery: tsQueryText(terms),
    substrings: substringTerms(terms),
  }
}

/** Messages of my conversations that hold every term, newest first, a page at a time. */
export async function searchMessagesOf(
  ctx: ConversationContext,
  userId: number,
  query: SearchQuery,
): Promise<SearchPage> {
  const terms = parseQuery(requireText(query.q))
  const limit = query.limit ?? 20
  const filter = {
    userId,
    senderId: query.from,
    after: parseTime('after', query.after),
    before: parseTime('before', query.before),
    hasFile: query.has === 'file',
    belowId: decodeCursor(query.cursor),
    limit: limit + 1,
  }
  const conversationIds = await scope(ctx, userId, query)
  if (terms.length === 0) return { results: [], has_more: false, cursor: null }
  // Caught up first: whatever has committed is found.
  await ctx.messages.searchable()
  const rows = await searchMessages(ctx.db, matchOf(terms), { ...filter, conversationIds })
  const shown = rows.slice(0, limit)
  const views = await messageViews(ctx.db, shown)
  const patterns = termPatterns(terms)
  const results = views.map((message) => ({
    message,
    conversation_id: message.conversation_id,
    // What a reader sees (Markdown marks dropped), so the matches are marked in that text.
    ...snippetOf(plainText(message.content ?? ''), patterns),
  }))
  const hasMore = rows.length > limit
  return { results, has_more: hasMore, cursor: hasMore ? encodeCursor(views[views.length - 1].id) : null }
}

export interface FilePage {
  files: FileView[]
  has_more: boolean
  cursor: string | null
}

/** Files I can see (those of my conversations) whose name holds every word, newest first. */
export async function searchFilesOf(
  ctx: AppContext,
  userId: number,
  query: { q?: string; project_id?: number; conversation_id?: number; limit?: number; cursor?: string },
): Promise<FilePage> {
  const words = wordsOf(requireText(query.q))
  const limit = query.limit ?? 20
  let conversationId = query.conversation_id
  if (query.project_id !== undefined) {
    const project = await findProjectOfMember(ctx.db, query.project_id, userId)
    // A project I cannot see holds no file I can see: an empty answer, as for no match.
    if (!project || (conversationId !== undefined && conversationId !== Number(project.conversation_id))) {
      return { files: [], has_more: false, cursor: null }
    }
    conversationId = Number(project.conversation_id)
  }
  const rows = await searchFiles(ctx.db, {
    userId,
    words,
    conversationId,
    belowId: decodeCursor(query.cursor),
    limit: limit + 1,
  })
  const shown = rows.slice(0, limit).map(toFileView)
  const hasMore = rows.length > limit
  const last = shown[shown.length - 1]
  return {
    files: shown,
    has_more: hasMore,
    cursor: hasMore ? Buffer.from(`f${last.id}`).toString('base64url') : null,
  }
}
