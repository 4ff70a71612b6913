import type { AppContext } from '../context.js'
import {
  deleteMembers,
  findMembership,
  insertMembers,
  isMember,
  memberIdsOf,
  pageOfMemberConversations,
  type MemberConversationRow as Row,
} from '../db/queries/conversation-members.js'
import {
  findDirectConversationId,
  insertConversation,
  lockConversation,
} from '../db/queries/conversations.js'
import { insertMember } from '../db/queries/unread-counts.js'
import { findUserById, findUserViews } from '../db/queries/users.js'
import type { ConversationRow } from '../db/types.js'
import { AppError, badRequest, forbidden, notFound } from '../errors.js'
import { cleanName } from '../text.js'
import { nowIso } from '../time.js'
import { decodeConversationCursor, encodeConversationCursor } from './conversation-cursor.js'
import { publishToUsers } from './events.js'
import { type ConversationView, conversationViews } from './views.js'

/** The conversation if `userId` is a member; NOT_FOUND otherwise, the same as if it did not exist. */
export async function requireMembership(
  ctx: AppContext,
  conversationId: number,
  userId: number,
): Promise<Row> {
  const row = await findMembership(ctx.db, conversationId, userId)
  if (!row) throw notFound('Conversation')
  return row
}

export async function conversationFor(ctx: AppContext, conversationId: number, userId: number) {
  const row = await requireMembership(ctx, conversationId, userId)
  const [view] = await conversationViews(ctx, [row])
  return view
}

export interface ConversationPage {
  conversations: ConversationView[]
  has_more: boolean
  /** Pass back as `before` for the next page; null on the last one. */
  next: string | null
}

/** My conversations, latest activity first, a page at a time (see conversation-cursor.ts). */
export async function listConversations(
  ctx: AppContext,
  userId: number,
  page: { limit?: number; before?: string } = {},
): Promise<ConversationPage> {
  const limit = page.limit ?? 50
  const before = page.before === undefined ? undefined : decodeConversationCursor(page.before)
  const rows = await pageOfMemberConversations(ctx.db, userId, limit + 1, before)
  const shown = rows.slice(0, limit)
  const hasMore = rows.length > limit
  const last = shown[shown.length - 1]
  return {
    conversations: await conversationViews(ctx, shown),
    has_more: hasMore,
    next: hasMore
      ? encodeConversationCursor({ lastActivityAt: last.last_activity_at, id: Number(last.id) })
      : null,
  }
}

async function requireLiveUsers(ctx: AppContext, ids: number[]): Promise<void> {
  const found = new Set(
    (await findUserViews(ctx.db, ids))
      .filter((user) => user.deleted_at === null)
      .map((user) => Number(user.id)),
  )
  const missing = ids.find((id) => !found.has(id))
  if (missing !== undefined) throw badRequest(`User ${missing} does not exist`, 'UNKNOWN_MEMBER')
}

/**
 * A group, or with one other member and no title a direct conversation: asking for the same
 * direct conversation again returns the first one (`created: false`).
 */
export async function createConversation(
  ctx: AppContext,
  actorId: number,
  input: { member_ids: number[]; title?: string },
): Promise<{ conversation: ConversationView; created: boolean }> {
  ctx.limits.spendCreation(actorId)
  const others = [...new Set(input.member_ids)].filter((id) => id !== actorId)
  if (others.length === 0) throw badRequest('member_ids must name at least one other user')
  await requireLiveUsers(ctx, others)
  const now = nowIso()
  const direct = others.length === 1 && input.title === undefined
  const directKey = direct ? [actorId, others[0]].sort((a, b) => a - b).join(':') : null

  // The pair's direct conversation, as the actor sees it, if it exists.
  const existingDirect = async () => {
    const row = directKey ? await findDirectConversationId(ctx.db, directKey) : undefined
    return row && { conversation: await conversationFor(ctx, Number(row.id), actorId), created: false }
  }
  const existing = await existingDirect()
  if (existing) return existing
  const id = await createWithMembers(ctx, {
    kind: direct ? 'direct' : 'group',
    title: input.title === undefined ? null : cleanName(input.title, 'title'),
    directKey,
    createdBy: actorId,
    memberIds: [actorId, ...others],
    now,
  }).catch(async (error) => {
    // Two requests raced for the same direct conversation: the other one made it.
    if (directKey && /UNIQUE|duplicate key/i.test(String(error?.message))) return undefined
    throw error
  })
  if (id === undefined) {
    const raced = await existingDirect()
    if (!raced) throw new Error('direct conversation vanished after a unique violation')
    return raced
  }
  const conversation = await conversationFor(ctx, id, actorId)
  // Every member hears of the new conversation at once, the creator's other sockets included; its
  // view is the same for all of them (unread counts and read pointers start at zero).
  publishToUsers(ctx, [actorId, ...others], { type: 'conversation', conversation })
  return { conversation, created: true }
}

export async function createWithMembers(
  ctx: AppContext,
  spec: {
    kind: 'direct' | 'group' | 'project'
    title: string | null
    directKey?: string | null
    createdBy: number
    memberIds: number[]
    now: string
    projectId?: number | null
  },
  db = ctx.db,
): Promise<number> {
  const run = async (trx: typeof db) => {
    const id = await insertConversation(trx, {
      kind: spec.kind,
      title: spec.title,
      project_id: spec.projectId ?? null,
      direct_key: spec.directKey ?? null,
      created_by: spec.createdBy,
      created_at: spec.now,
      last_activity_at: spec.now,
    })
    await insertMembers(trx, id, spec.memberIds, spec.now)
    return id
  }
  return db.isTransaction ? run(db) : db.transaction().execute(run)
}

/** Adds users to a conversation and tells everyone; shared by groups and projects. */
export async function addMembers(ctx: AppContext, conversationId: number, userIds: number[]): Promise<void> {
  const now = nowIso()
  // One transaction, after the conversation's writes in flight: each newcomer's unread count is
  // counted from the messages committed before them, and every later message counts for them.
  const added = await ctx.db.transaction().execute(async (trx) => {
    await lockConversation(trx, conversationId)
    const inserted: number[] = []
    for (const userId of userIds) {
      if (await insertMember(trx, conversationId, userId, now)) inserted.push(userId)
    }
    return inserted
  })
  if (added.length === 0) return
  ctx.members.changed(conversationId)
  const existing = (await memberIdsOf(ctx.db, conversationId)).filter((id) => !added.includes(id))
  for (const userId of added) {
    const conversation = await conversationFor(ctx, conversationId, userId)
    publishToUsers(ctx, [userId], { type: 'conversation', conversation })
    const user = conversation.members.find((member) => member.id === userId)
    publishToUsers(ctx, existing, { type: 'member_added', conversation_id: conversationId, user })
  }
}

/** Removes users; their sockets stop hearing the conversation at once. */
export async function removeMembers(
  ctx: AppContext,
  conversationId: number,
  userIds: number[],
): Promise<void> {
  if (userIds.length === 0) return
  const audience = await memberIdsOf(ctx.db, conversationId)
  await deleteMembers(ctx.db, conversationId, userIds)
  ctx.members.changed(conversationId)
  ctx.hub.publish({ kind: 'left_conversation', conversationId, userIds })
  for (const userId of userIds) {
    publishToUsers(ctx, audience, {
      type: 'member_removed',
      conversation_id: conversationId,
      user_id: userId,
    })
  }
}

export async function addGroupMember(
  ctx: AppContext,
  actorId: number,
  conversationId: number,
  userId: number,
) {
  ctx.limits.spendCreation(actorId)
  const conversation = await requireMembership(ctx, conversationId, actorId)
  requireGroup(conversation)
  const user = await findUserById(ctx.db, userId)
  if (!user || user.deleted_at) throw notFound('User')
  await addMembers(ctx, conversationId, [userId])
  return conversationFor(ctx, conversationId, actorId)
}

/** A member leaves; the group's creator (or an admin) may remove others. */
export async function removeGroupMember(
  ctx: AppContext,
  actor: { id: number; role: string },
  conversationId: number,
  userId: number,
): Promise<void> {
  ctx.limits.spendWrite(actor.id)
  const conversation = await requireMembership(ctx, conversationId, actor.id)
  requireGroup(conversation)
  if (userId !== actor.id && Number(conversation.created_by) !== actor.id && actor.role !== 'admin') {
    throw forbidden("Only the group's creator may remove other members")
  }
  if (!(await isMember(ctx.db, conversationId, userId))) throw notFound('Member')
  await removeMembers(ctx, conversationId, [userId])
}

function requireGroup(conversation: ConversationRow): void {
  if (conversation.kind === 'direct') {
    throw new AppError(
      400,
      'NOT_A_GROUP',
      'A direct conversation has exactly two members; start a group instead',
    )
  }
  if (conversation.kind === 'project') {
    throw new AppError(
      400,
      'NOT_A_GROUP',
      "A project conversation follows the project's members: use /projects/:id/members",
    )
  }
}
