import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply } from 'fastify'
import fp from 'fastify-plugin'
import { authOf, requireUser } from '../auth/authenticate.js'
import { historyKey } from '../caches/history-pages.js'
import { errors, NoContent, UserList } from '../common-schemas.js'
import { searchUsers } from '../db/queries/users.js'
import { presenceFor } from '../presence/scope.js'
import { toUserView } from '../presence/user-view.js'
import { historyAround } from './around.js'
import {
  addGroupMember,
  conversationFor,
  createConversation,
  listConversations,
  removeGroupMember,
  requireMembership,
} from './membership.js'
import {
  announceSent,
  changes,
  deleteMessage,
  editMessage,
  historyAt,
  markRead,
  sendMessage,
} from './messages.js'
import { setNotifications } from './notifications.js'
import {
  AddMemberBody,
  AroundPage,
  ChangesPage,
  ChangesQuery,
  ConversationEnvelope,
  ConversationList,
  ConversationListQuery,
  ConversationParams,
  CreateConversationBody,
  EditMessageBody,
  HistoryPage,
  HistoryQuery,
  MemberParams,
  MessageEnvelope,
  MessagePage,
  MessageParams,
  NotificationsBody,
  ReadBody,
  SendMessageBody,
  UserSearchQuery,
} from './schemas.js'

/** Sends JSON serialized already, with the content type Fastify gives the JSON it serializes. */
function sendJson(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(body)
}

async function routes(app: FastifyInstance): Promise<void> {
  const { ctx } = app
  const routes = app.withTypeProvider<TypeBoxTypeProvider>()
  // onRequest: a caller without a session gets 401 before any body is read.
  app.addHook('onRequest', requireUser(ctx))
  const tags = ['conversations']

  routes.get(
    '/conversations/users',
    {
      schema: {
        tags,
        summary: 'Find people to add, by username or display name',
        querystring: UserSearchQuery,
        response: { 200: UserList, ...errors(400, 401) },
      },
    },
    async (request) => {
      const me = authOf(request).user.id
      const rows = await searchUsers(ctx.db, request.query.q?.trim() ?? '', (request.query.limit ?? 20) + 1)
      const users = rows.filter((row) => Number(row.id) !== me).slice(0, request.query.limit ?? 20)
      const presence = await presenceFor(
        ctx,
        authOf(request).user,
        users.map((row) => Number(row.id)),
      )
      return { users: users.map((row) => toUserView(row, presence)) }
    },
  )

  routes.get(
    '/conversations',
    {
      schema: {
        tags,
        summary: 'My conversations, latest activity first, a page at a time (limit, before = next)',
        querystring: ConversationListQuery,
        response: { 200: ConversationList, ...errors(400, 401) },
      },
    },
    async (request) => listConversations(ctx, authOf(request).user.id, request.query),
  )

  routes.post(
    '/conversations',
    {
      schema: {
        tags,
        summary: 'Start a group, or a direct conversation (one other member, no title)',
        body: CreateConversationBody,
        response: { 200: ConversationEnvelope, 201: ConversationEnvelope, ...errors(400, 401) },
      },
    },
    async (request, reply) => {
      const { conversation, created } = await createConversation(ctx, authOf(request).user.id, request.body)
      return reply.status(created ? 201 : 200).send({ conversation })
    },
  )

  routes.get(
    '/conversations/:id',
    {
      schema: {
        tags,
        summary: 'One conversation',
        params: ConversationParams,
        response: { 200: ConversationEnvelope, ...errors(401, 404) },
      },
    },
    async (request) => ({
      conversation: await conversationFor(ctx, request.params.id, authOf(request).user.id),
    }),
  )

  routes.post(
    '/conversations/:id/members',
    {
      schema: {
        tags,
        summary: 'Add someone to a group',
        params: ConversationParams,
        body: AddMemberBody,
        response: { 201: ConversationEnvelope, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const conversation = await addGroupMember(
        ctx,
        authOf(request).user.id,
        request.params.id,
        request.body.user_id,
      )
      return reply.status(201).send({ conversation })
    },
  )

  routes.delete(
    '/conversations/:id/members/:userId',
    {
      schema: {
        tags,
        summary: 'Leave a group, or (its creator) remove someone',
        params: MemberParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await removeGroupMember(ctx, authOf(request).user, request.params.id, request.params.userId)
      return reply.status(204).send(null)
    },
  )

  routes.get(
    '/conversations/:id/messages',
    {
      schema: {
        tags,
        summary:
          'History, oldest first in the page: before pages back, after catches up, around centres on a message',
        params: ConversationParams,
        querystring: HistoryQuery,
        response: { 200: HistoryPage, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const conversationId = request.params.id
      // The membership check also reads the conversation's change number, the page's version.
      const { change_seq } = await requireMembership(ctx, conversationId, authOf(request).user.id)
      const { around, limit } = request.query
      if (around !== undefined) {
        const page = await historyAround(ctx.db, conversationId, around, limit)
        return sendJson(reply, reply.compileSerializationSchema(AroundPage)({ ...page }))
      }
      const changeSeq = Number(change_seq)
      const key = historyKey(conversationId, request.query)
      let body = ctx.historyPages.get(key, changeSeq)
      if (body === undefined) {
        const read = await historyAt(ctx.db, conversationId, request.query, changeSeq)
        // fast-json-stringify of the plain page (compiled once per route): the bytes to send and cache.
        body = reply.compileSerializationSchema(MessagePage)({ ...read.page })
        if (read.version !== undefined) ctx.historyPages.set(key, read.version, body)
      }
      return sendJson(reply, body)
    },
  )

  routes.get(
    '/conversations/:id/changes',
    {
      schema: {
        tags,
        summary: 'Messages created, edited or deleted since the cursor',
        params: ConversationParams,
        querystring: ChangesQuery,
        response: { 200: ChangesPage, ...errors(400, 401, 404, 410) },
      },
    },
    async (request) => {
      await requireMembership(ctx, request.params.id, authOf(request).user.id)
      return changes(ctx.db, request.params.id, request.query.cursor ?? 0, request.query.limit)
    },
  )

  routes.post(
    '/conversations/:id/messages',
    {
      schema: {
        tags,
        summary:
          'Send a message; the same client_id again returns the first one (409 CLIENT_ID_REUSED if it was another conversation or text)',
        params: ConversationParams,
        body: SendMessageBody,
        response: { 200: MessageEnvelope, 201: MessageEnvelope, ...errors(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const result = await sendMessage(ctx, authOf(request).user.id, request.params.id, request.body)
      await announceSent(ctx, result)
      return reply.status(result.created ? 201 : 200).send({ message: result.message })
    },
  )

  routes.patch(
    '/conversations/:id/messages/:messageId',
    {
      schema: {
        tags,
        summary: 'Edit my message',
        params: MessageParams,
        body: EditMessageBody,
        response: { 200: MessageEnvelope, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { id, messageId } = request.params
      return { message: await editMessage(ctx, authOf(request).user.id, id, messageId, request.body.content) }
    },
  )

  routes.delete(
    '/conversations/:id/messages/:messageId',
    {
      schema: {
        tags,
        summary: "Delete a message (its sender, or the project's owner)",
        params: MessageParams,
        response: { 204: NoContent, ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deleteMessage(ctx, authOf(request).user.id, request.params.id, request.params.messageId)
      return reply.status(204).send(null)
    },
  )

  routes.put(
    '/conversations/:id/notifications',
    {
      schema: {
        tags,
        summary: 'Set my notification level here: all, mentions or none',
        params: ConversationParams,
        body: NotificationsBody,
        response: { 200: ConversationEnvelope, ...errors(400, 401, 404, 429) },
      },
    },
    async (request) => ({
      conversation: await setNotifications(
        ctx,
        authOf(request).user.id,
        request.params.id,
        request.body.level,
      ),
    }),
  )

  routes.post(
    '/conversations/:id/read',
    {
      schema: {
        tags,
        summary: 'Move my read pointer',
        params: ConversationParams,
        body: ReadBody,
        response: { 204: NoContent, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await markRead(ctx, authOf(request).user.id, request.params.id, request.body.message_id)
      return reply.status(204).send(null)
    },
  )
}

/** Encapsulated: its hooks (the session guard) apply to its own routes only. */
export const conversationRoutes = fp(routes, {
  name: 'conversation-routes',
  dependencies: ['context'],
  encapsulate: true,
})
