import type { AppContext } from '../context.js'
import type { ConversationContext } from '../conversations/context.js'
import { publishMessage, publishToMembers } from '../conversations/events.js'
import { requireMembership } from '../conversations/membership.js'
import { resolveMentions } from '../conversations/mentions.js'
import { checkContent } from '../conversations/messages.js'
import { notifyNewMessage } from '../conversations/notifications.js'
import {
  type FileView,
  type MessageView,
  messageViews,
  toFileView,
  toMessageView,
} from '../conversations/views.js'
import { bumpChangeSeq } from '../db/queries/conversations.js'
import { deleteFile, filesOfProject, findFileOfMember, findProjectFile } from '../db/queries/files.js'
import { touchChange } from '../db/queries/messages.js'
import type { FileRow, MessageRow } from '../db/types.js'
import { AppError, forbidden, notFound } from '../errors.js'
import { requireProjectMember } from '../projects/projects.js'
import { removeStoredFiles } from '../storage/files.js'
import { requireQuotaLeft } from './quota.js'
import { type Upload, uploadNames } from './upload.js'

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
    await removeStoredFiles(ctx.config.uploadDir, uploadNames(upload)).catch(() => {})
    throw error
  }
}

/** Where an admitted upload goes: checked before its body is read. */
export interface UploadTarget {
  conversationId: number
  projectId: number | null
  /** The message's text when the upload has no caption. */
  defaultCaption: (fileName: string) => string
}

/**
 * Before an upload's body is read: the uploader is a member (NOT_FOUND otherwise), it spends the
 * account's upload budget, and it is refused at once if the account has no byte of its quota left.
 */
export async function admitConversationUpload(
  ctx: AppContext,
  uploaderId: number,
  conversationId: number,
): Promise<UploadTarget> {
  const conversation = await requireMembership(ctx, conversationId, uploaderId)
  await admitUpload(ctx, uploaderId)
  const projectId = conversation.project_id === null ? null : Number(conversation.project_id)
  return { conversationId, projectId, defaultCaption: (name) => name }
}

/** As admitConversationUpload, for an upload to a project (announced in its conversation). */
export async function admitProjectUpload(
  ctx: AppContext,
  uploaderId: number,
  projectId: number,
): Promise<UploadTarget> {
  const project = await requireProjectMember(ctx, projectId, uploaderId)
  await admitUpload(ctx, uploaderId)
  return {
    conversationId: Number(project.conversation_id),
    projectId: Number(project.id),
    defaultCaption: (name) => `Uploaded ${name}`,
  }
}

async function admitUpload(ctx: AppContext, uploaderId: number): Promise<void> {
  ctx.limits.spendUpload(uploaderId)
  await requireQuotaLeft(ctx, uploaderId)
}

/**
 * An upload already on disk becomes a message carrying it: appended like any message, its file
 * row in the same transaction (which checks the membership and the quota again: the uploader may
 * have been removed, or uploaded elsewhere, while the bytes were arriving). If that fails, the
 * bytes go too. In a project's conversation the file is also one of the project's files.
 */
export async function addFile(
  ctx: ConversationContext,
  uploaderId: number,
  target: UploadTarget,
  upload: Upload,
): Promise<{ file: FileView; message: MessageView }> {
  const result = await orRemove(ctx, upload, async () => {
    const text = caption(upload)
    const appended = await ctx.messages
      .append({
        conversationId: target.conversationId,
        senderId: uploaderId,
        content: text ?? target.defaultCaption(upload.name),
        clientId: null,
        // A caption mentions like any message; the default one (the file's name) mentions nobody.
        mentions:
          text === undefined ? [] : await resolveMentions(ctx, target.conversationId, uploaderId, text),
        attachment: {
          width: upload.image?.width ?? null,
          height: upload.image?.height ?? null,
          thumbnailName: upload.image?.thumbnailName ?? null,
          name: upload.name,
          size: upload.size,
          contentType: upload.contentType,
          sha256: upload.sha256,
          storageName: upload.storageName,
          projectId: target.projectId,
          quotaBytes: ctx.config.uploadQuotaBytes,
        },
      })
      .catch((error: unknown) => {
        if (error instanceof AppError && error.code === 'NOT_FOUND' && target.projectId !== null) {
          throw notFound('Project')
        }
        throw error
      })
    if (!appended.file) throw new Error('the message store committed an upload without its file')
    ctx.metrics.messagesIn.inc()
    const file = toFileView(appended.file)
    return { file, message: toMessageView(appended.row, [file]), cursor: Number(appended.row.change_seq) }
  })
  await publishMessage(ctx, result.message, result.cursor)
  await notifyNewMessage(ctx, result.message)
  return { file: result.file, message: result.message }
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
      const storageNames = await deleteFile(trx, fileId)
      if (storageNames === undefined) return undefined
      let message: MessageRow | undefined
      if (messageId !== null && changeSeq !== undefined) {
        message = await touchChange(trx, messageId, changeSeq)
      }
      return { storageNames, message }
    },
    { key: Number(file.conversation_id) },
  )
  if (!changed) throw notFound('File')
  await removeStoredFiles(ctx.config.uploadDir, changed.storageNames).catch(() => {})
  if (changed.message) {
    const [message] = await messageViews(ctx.db, [changed.message])
    await publishToMembers(ctx, message.conversation_id, {
      type: 'message_updated',
      message,
      cursor: Number(changed.message.change_seq),
    })
  }
}

/** A file the caller may download: they are a member of its conversation. NOT_FOUND otherwise. */
export async function fileForDownload(ctx: AppContext, fileId: number, userId: number): Promise<FileRow> {
  const file = await findFileOfMember(ctx.db, fileId, userId)
  if (!file) throw notFound('File')
  return file
}
