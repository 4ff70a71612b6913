import type { AppContext } from '../context.js'
import { memberIds, publishToUsers } from '../conversations/events.js'
import { addMembers, conversationFor, createWithMembers, removeMembers } from '../conversations/membership.js'
import { isMember, membersInJoinOrder } from '../db/queries/conversation-members.js'
import { bumpChangeSeq, deleteConversation, setConversationProject } from '../db/queries/conversations.js'
import { deleteFilesOfProject } from '../db/queries/files.js'
import {
  deleteProjectRow,
  findProjectOfMember,
  insertProject,
  listProjectsOfMember,
} from '../db/queries/projects.js'
import { findUserById, findUserViews } from '../db/queries/users.js'
import type { ProjectRow } from '../db/types.js'
import { AppError, badRequest, forbidden, notFound } from '../errors.js'
import { presenceOfPeers } from '../presence/scope.js'
import { toUserView, type UserView } from '../presence/user-view.js'
import { removeStoredFiles } from '../storage/files.js'
import { cleanName, cleanText } from '../text.js'
import { nowIso } from '../time.js'

// A project is a name, an owner and a `project` conversation. Its members ARE that conversation's
// members: every change goes through addMembers/removeMembers, so open sockets follow at once.

export interface ProjectView {
  id: number
  name: string
  description: string
  owner_id: number
  conversation_id: number
  created_at: string
}

export function toProjectView(row: ProjectRow): ProjectView {
  return {
    id: Number(row.id),
    name: row.name,
    description: row.description,
    owner_id: Number(row.owner_id),
    conversation_id: Number(row.conversation_id),
    created_at: row.created_at,
  }
}

/** The project if `userId` is one of its members; NOT_FOUND otherwise, the same as if it did not exist. */
export async function requireProjectMember(
  ctx: AppContext,
  projectId: number,
  userId: number,
): Promise<ProjectRow> {
  const row = await findProjectOfMember(ctx.db, projectId, userId)
  if (!row) throw notFound('Project')
  return row
}

const isOwner = (project: ProjectRow, userId: number) => Number(project.owner_id) === userId

/** My projects, newest first. */
export async function listProjects(ctx: AppContext, userId: number): Promise<ProjectView[]> {
  return (await listProjectsOfMember(ctx.db, userId)).map(toProjectView)
}

/** The members, in the order they joined (shown to members only: they share the project). */
export async function projectMembers(ctx: AppContext, project: ProjectRow): Promise<UserView[]> {
  const rows = await membersInJoinOrder(ctx.db, [Number(project.conversation_id)])
  const users = new Map(
    (
      await findUserViews(
        ctx.db,
        rows.map((row) => Number(row.user_id)),
      )
    ).map((user) => [Number(user.id), toUserView(user, presenceOfPeers(ctx))]),
  )
  return rows
    .map((row) => users.get(Number(row.user_id)))
    .filter((user): user is UserView => user !== undefined)
}

export interface ProjectDetail {
  project: ProjectView
  members: UserView[]
}

export async function projectDetail(
  ctx: AppContext,
  projectId: number,
  userId: number,
): Promise<ProjectDetail> {
  const project = await requireProjectMember(ctx, projectId, userId)
  return { project: toProjectView(project), members: await projectMembers(ctx, project) }
}

/** A new project owned by `ownerId`, with its `project` conversation (title = name) and members. */
export async function createProject(
  ctx: AppContext,
  ownerId: number,
  input: { name: string; description?: string; member_ids?: number[] },
): Promise<ProjectDetail> {
  ctx.limits.spendCreation(ownerId)
  const name = cleanName(input.name, 'name')
  const description = cleanText(input.description ?? '')
  const others = [...new Set(input.member_ids ?? [])].filter((id) => id !== ownerId)
  const live = new Set(
    (await findUserViews(ctx.db, others))
      .filter((user) => user.deleted_at === null)
      .map((user) => Number(user.id)),
  )
  const missing = others.find((id) => !live.has(id))
  if (missing !== undefined) throw badRequest(`User ${missing} does not exist`, 'UNKNOWN_MEMBER')

  const now = nowIso()
  const row = await ctx.writes.run(async (trx) => {
    const conversationId = await createWithMembers(
      ctx,
      { kind: 'project', title: name, createdBy: ownerId, memberIds: [ownerId, ...others], now },
      trx,
    )
    const project = await insertProject(trx, {
      name,
      description,
      owner_id: ownerId,
      conversation_id: conversationId,
      created_at: now,
    })
    await setConversationProject(trx, conversationId, Number(project.id))
    return project
  })
  // No node may keep an empty member list for this id from before it existed.
  ctx.members.changed(Number(row.conversation_id))
  // Every member hears of the project's conversation at once, the owner's sockets too, as with a new group.
  const conversation = await conversationFor(ctx, Number(row.conversation_id), ownerId)
  publishToUsers(ctx, [ownerId, ...others], { type: 'conversation', conversation })
  return { project: toProjectView(row), members: await projectMembers(ctx, row) }
}

/** The owner adds someone; `added` is false when they already were a member. */
export async function addProjectMember(
  ctx: AppContext,
  actorId: number,
  projectId: number,
  userId: number,
): Promise<ProjectDetail & { added: boolean }> {
  ctx.limits.spendCreation(actorId)
  const project = await requireProjectMember(ctx, projectId, actorId)
  if (!isOwner(project, actorId)) throw forbidden("Only the project's owner may add members")
  const user = await findUserById(ctx.db, userId)
  if (!user || user.deleted_at) throw notFound('User')
  const conversationId = Number(project.conversation_id)
  const already = await isMember(ctx.db, conversationId, userId)
  if (!already) await addMembers(ctx, conversationId, [userId])
  return { project: toProjectView(project), members: await projectMembers(ctx, project), added: !already }
}

/**
 * The owner removes a member, or a member leaves. The owner cannot leave (they delete the project
 * instead). The removed member loses the conversation, its files and its live events at once.
 */
export async function removeProjectMember(
  ctx: AppContext,
  actorId: number,
  projectId: number,
  userId: number,
): Promise<void> {
  ctx.limits.spendWrite(actorId)
  const project = await requireProjectMember(ctx, projectId, actorId)
  if (userId === actorId && isOwner(project, actorId)) {
    throw new AppError(
      400,
      'OWNER_CANNOT_LEAVE',
      'The owner cannot leave their own project; delete it (DELETE /projects/:id) instead',
    )
  }
  if (userId !== actorId && !isOwner(project, actorId)) {
    throw forbidden("Only the project's owner may remove other members")
  }
  const conversationId = Number(project.conversation_id)
  if (!(await isMember(ctx.db, conversationId, userId))) throw notFound('Member')
  await removeMembers(ctx, conversationId, [userId])
}

/** The owner deletes the project: its files (rows and bytes), its conversation and its messages. */
export async function deleteProject(ctx: AppContext, actorId: number, projectId: number): Promise<void> {
  ctx.limits.spendWrite(actorId)
  const project = await requireProjectMember(ctx, projectId, actorId)
  if (!isOwner(project, actorId)) throw forbidden("Only the project's owner may delete it")
  const conversationId = Number(project.conversation_id)
  const members = await memberIds(ctx, conversationId)
  const storageNames = await ctx.writes.run(
    async (trx) => {
      // Locks the conversation's row first, as every keyed write does (see WriteBatcher).
      await bumpChangeSeq(trx, conversationId)
      const storageNames = await deleteFilesOfProject(trx, projectId, conversationId)
      await deleteProjectRow(trx, projectId)
      // Members and messages go with the conversation (ON DELETE CASCADE).
      await deleteConversation(trx, conversationId)
      return storageNames
    },
    { key: conversationId },
  )
  ctx.members.changed(conversationId)
  await removeStoredFiles(ctx.config.uploadDir, storageNames).catch(() => {})
  ctx.hub.publish({ kind: 'left_conversation', conversationId, userIds: members })
  publishToUsers(ctx, members, {
    type: 'conversation_deleted',
    conversation_id: conversationId,
    project_id: projectId,
  })
}
