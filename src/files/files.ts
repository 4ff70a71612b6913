import type { AppContext } from '../context.js'
import { frame, publishMessage, publishToMembers } from '../conversations/events.js'
import { requireMembership } from '../conversations/membership.js'
import { appendMessage } from '../conversations/message-store/index.js'
import { checkContent } from '../conversations/messages.js'
import {
  type FileView,
  type MessageView,
  messageViews,
  toFileView,
  toMessageView,
} from '../conversations/views.js'
import { bumpChangeSeq } from '../db/queries/conversations.js'
import {
  deleteFile,
  filesOfProject,
  findFileOfMember,
  findProjectFile,
  insertFile,
} from '../db/queries/files.js'
import { touchChange } from '../db/queries/messages.js'
import type { FileRow, MessageRow } from '../db/types.js'
import { AppError, forbidden, notFound } from '../errors.js'
import { requireProjectMember } from '../projects/projects.js'
import { removeStoredFiles } from '../storage/files.js'
import { nowIso } from '../time.js'
import { requireQuotaFor, requireQuotaLeft } from './quota.js'
import type { Upload } from './upload.js'

// Files as rows: committed together with the message that carries them, after the bytes are on
// disk; removed together with their bytes.

/** The optional caption (`content` field), checked like any message text. */
function caption(upload: Upload): string | undefined {
  const content = upload.fields.content
  return content === undefined ? undefined : checkContent(content)
}

/** Runs `work` on an upload already on disk; if it fails, the bytes go too. */
async function orRemove<T>(ctx: AppContext, upload: Upload, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    await removeStoredFiles(ctx.config.uploadDir, [upload.storageName]).catch(() => {})
    throw error
  }
}

/**
 * Commits the file row and the message carrying it in one transaction, then fans the message out.
 * The bytes are already on disk (the caller removes them if this fails); the caller publishes.
 */
async function commitUpload(
  ctx: AppContext,
  input: {
    upload: Upload
    conversationId: number
    projectId: number | null
    uploaderId: number
    content: string
  },
): Promise<{ file: FileView; message: MessageView }> {
  const { upload, conversationId, uploaderId } = input
  const committed = await ctx.writes.run(
    async (trx, notes) => {
      // appendMessage checks the membership again in this transaction: the uploader may have
      // been removed while the bytes were arriving.
      const message = await appendMessage(trx, notes, {
        conversationId,
        senderId: uploaderId,
        content: input.content,
        clientId: null,
      }).catch((error: unknown) => {
        if (error instanceof AppError && error.code === 'NOT_FOUND' && input.projectId !== null) {
          throw notFound('Project')
        }
        throw error
      })
      // In the transaction that inserts the row, so concurrent uploads cannot both pass it.
      await requireQuotaFor(trx, uploaderId, upload.size, ctx.config.uploadQuotaBytes)
      const file = await insertFile(trx, {
        name: upload.name,
        size: upload.size,
        content_type: upload.contentType,
        sha256: upload.sha256,
        storage_name: upload.storageName,
        uploaded_by: uploaderId,
        project_id: input.projectId,
        conversation_id: conversationId,
        message_id: Number(message.id),
        created_at: nowIso(),
      })
      return { file, message }
    },
    { key: conversationId },
  )
  ctx.metrics.messagesIn.inc()
  const file = toFileView(committed.file)
  return { file, message: toMessageView(committed.message, [file]) }
}

/**
 * Before an upload's body is read: it spends the account's upload budget, and is refused at once
 * if the account has no byte of its quota left.
 */
export async function admitUpload(ctx: AppContext, uploaderId: number): Promise<void> {
  ctx.limits.spendUpload(uploaderId)
  await requireQuotaLeft(ctx, uploaderId)
}

/** An upload to a project, announced in its conversation. */
export async function addProjectFile(
  ctx: AppContext,
  uploaderId: number,
  projectId: number,
  upload: Upload,
): Promise<{ file: FileView; message: MessageView }> {
  const result = await orRemove(ctx, upload, async () => {
    const content = caption(upload) ?? `Uploaded ${upload.name}`
    const project = await requireProjectMember(ctx, projectId, uploaderId)
    return commitUpload(ctx, {
      upload,
      conversationId: Number(project.conversation_id),
      projectId: Number(project.id),
      uploaderId,
      content,
    })
  })
  await publishMessage(ctx, result.message)
  return result
}

/**
 * A file sent into any conversation: a message carrying it. In a project's conversation it also
 * becomes one of the project's files.
 */
export async function addConversationFile(
  ctx: AppContext,
  uploaderId: number,
  conversationId: number,
  upload: Upload,
): Promise<{ file: FileView; message: MessageView }> {
  const result = await orRemove(ctx, upload, async () => {
    const content = caption(upload) ?? upload.name
    const conversation = await requireMembership(ctx, conversationId, uploaderId)
    return commitUpload(ctx, {
      upload,
      conversationId,
      projectId: conversation.project_id === null ? null : Number(conversation.project_id),
      uploaderId,
      content,
    })
  })
  await publishMessage(ctx, result.message)
  return result
}

/** The project's files, newest first. */
export async function listProjectFiles(
  ctx: AppContext,
  userId: number,
  projectId: number,
): Promise<FileView[]> {
  await requireProjectMember(ctx, projectId, userId)
  return (await filesOfProject(ctx.db, projectId)).map(toFileView)
}

/**
 * The uploader or the project's owner deletes a file: the row and the bytes. The message that
 * announced it stays, without the attachment, and its members hear `message_updated`.
 */
export async function deleteProjectFile(
  ctx: AppContext,
  actorId: number,
  projectId: number,
  fileId: number,
): Promise<void> {
  ctx.limits.spendWrite(actorId)
  const project = await requireProjectMember(ctx, projectId, actorId)
  const file = await findProjectFile(ctx.db, projectId, fileId)
  if (!file) throw notFound('File')
  if (Number(file.uploaded_by) !== actorId && Number(project.owner_id) !== actorId) {
    throw forbidden("Only the file's uploader or the project's owner may delete it")
  }
  const messageId = file.message_id === null ? null : Number(file.message_id)
  const changed = await ctx.writes.run(
    async (trx) => {
      // The conversation's row is locked first, as every keyed write does (see WriteBatcher). The
      // message that carried the file changes: it takes the next change number, for the feed.
      let changeSeq: number | undefined
      if (messageId !== null) {
        changeSeq = await bumpChangeSeq(trx, Number(file.conversation_id))
      }
      const storageName = await deleteFile(trx, fileId)
      if (storageName === undefined) return undefined
      let message: MessageRow | undefined
      if (messageId !== null && changeSeq !== undefined) {
        message = await touchChange(trx, messageId, changeSeq)
      }
      return { storageName, message }
    },
    { key: Number(file.conversation_id) },
  )
  if (!changed) throw notFound('File')
  await removeStoredFiles(ctx.config.uploadDir, [changed.storageName]).catch(() => {})
  if (changed.message) {
    const [message] = await messageViews(ctx.db, [changed.message])
    await publishToMembers(ctx, message.conversation_id, frame('message_updated', { message }))
  }
}

/** A file the caller may download: they are a member of its conversation. NOT_FOUND otherwise. */
export async function fileForDownload(ctx: AppContext, fileId: number, userId: number): Promise<FileRow> {
  const file = await findFileOfMember(ctx.db, fileId, userId)
  if (!file) throw notFound('File')
  return file
}
