import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import websocket, { type WebsocketPluginOptions } from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { RawData, WebSocket } from 'ws'
import { type Auth, resolveAuth } from '../auth/authenticate.js'
import type { ConversationContext } from '../conversations/context.js'
import { memberIds } from '../conversations/events.js'
import { AppError, errorBody, toErrorBody } from '../errors.js'
import { presenceOfPeers } from '../presence/scope.js'
import { toUserView } from '../presence/user-view.js'
import { findNul } from '../validation.js'
import { publishPresence, watchClusterPresence, wentOffline } from './announce-presence.js'
import { type Connection, Connections, send } from './connections.js'
import { FrameLimiter, MAX_FRAME_BYTES, ParleySocket, type ReadFrame, readFrame } from './frame-reader.js'
import { frame } from './frames.js'
import { frameProblem, handlers, type SocketSession } from './protocol.js'
import { watchSessionExpiry } from './session-expiry.js'
import { announceTyping, Typing } from './typing.js'

/** Frames of one socket handled at once before the server stops reading from it. */
const MAX_FRAMES_IN_FLIGHT = 64

/** On shutdown, how long a socket may take to answer the 1001 close before its connection is cut. */
const SHUTDOWN_GRACE_MS = 2000

declare module 'fastify' {
  interface FastifyInstance {
    realtime: {
      connections: Connections
      /** Resolves once the work closing sockets started (presence, status) is done. */
      closingWorkDone(): Promise<void>
    }
  }
}

/** Work a closing socket starts (presence, status): a shutdown waits for it. */
class ClosingWork {
  private readonly pending = new Set<Promise<unknown>>()

  track(work: Promise<unknown>): void {
    this.pending.add(work)
    work.finally(() => this.pending.delete(work)).catch(() => {})
  }

  async done(): Promise<void> {
    await Promise.allSettled([...this.pending])
  }
}

/** Shutdown: lets the sockets (told 1001 in preClose) finish closing, 2 s at most, then their work. */
async function finishSockets(connections: Connections, closing: ClosingWork): Promise<void> {
  const open = [...connections.all()].map(
    (connection) =>
      new Promise<void>((resolve) => {
        if (connection.socket.readyState === connection.socket.CLOSED) resolve()
        else connection.socket.once('close', () => resolve())
      }),
  )
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.all(open),
    new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS))),
  ])
  clearTimeout(timer)
  for (const connection of connections.all()) connection.socket.terminate()
  await new Promise((resolve) => setImmediate(resolve))
  await closing.done()
}

/** The class of socket ws makes (its type, with the ws module's statics, is not a subclass's). */
type WebSocketClass = NonNullable<NonNullable<WebsocketPluginOptions['options']>['WebSocket']>

async function realtime(app: FastifyInstance): Promise<void> {
  const { ctx } = app
  const connections = new Connections(ctx.metrics)
  // A typing state that runs out unrenewed (the client vanished mid-word) is announced as stopped.
  const typing = new Typing(
    (conversationId, userId, socketId) => announceTyping(ctx.hub, conversationId, userId, false, socketId),
    ctx.config.typingLapseMs,
  )
  const closing = new ClosingWork()
  app.decorate('realtime', { connections, closingWorkDone: () => closing.done() })
  const unsubscribe = ctx.hub.subscribe((event) => {
    if (event.kind === 'room' && event.typing) {
      typing.record(event.conversationId, event.typing.userId, event.typing.isTyping)
    }
    connections.deliver(event)
  })
  watchClusterPresence(ctx, app.log)
  // Multi-node: events published while this node was cut off from the bus never reached it.
  // Its sockets close with 1012 (service restart) and clients resume from their cursors.
  const unwatchBus = ctx.hub.onBusRestored?.(() => {
    app.log.warn({ sockets: connections.size }, 'event bus restored: closing sockets so clients resume')
    for (const connection of connections.all()) connection.socket.close(1012, 'event bus restored: resume')
  })
  await ctx.hub.attachPresence?.(ctx.presence)

  app.addHook('onClose', async () => {
    // Runs before the onClose of the plugins it depends on (hub and database still open): the
    // sockets finish closing and their users' presence is written and announced before the node goes.
    await finishSockets(connections, closing)
    typing.stop()
    unsubscribe()
    unwatchBus?.()
  })
  // The WebSocket plugin's request hooks stay in this scope: the HTTP API does not run them.
  await app.register(async (scoped) => {
    await scoped.register(websocket, {
      // Invalid UTF-8 in a text frame is answered with BAD_REQUEST like any malformed frame (see
      // handleFrame), instead of ws closing the socket with 1007: bad input never closes a socket.
      options: {
        maxPayload: MAX_FRAME_BYTES,
        perMessageDeflate: false,
        skipUTF8Validation: true,
        WebSocket: ParleySocket as unknown as WebSocketClass,
      },
      // On shutdown every socket is told the server is going away (1001), so clients reconnect elsewhere.
      preClose(done) {
        const sockets = [...connections.all()].map((connection) => connection.socket)
        for (const socket of sockets) socket.close(1001, 'server shutting down')
        // A client that stopped reading never answers the close handshake, and its open connection
        // holds server.close() (which runs before the onClose hooks) until ws gives up after 30 s:
        // past a grace period it is cut here.
        setTimeout(() => {
          for (const socket of sockets) if (socket.readyState !== socket.CLOSED) socket.terminate()
        }, SHUTDOWN_GRACE_MS).unref()
        done()
      },
    })

    scoped.get(
      '/ws',
      {
        websocket: true,
        schema: { hide: true },
        // Authenticated before the upgrade: without a session there is a 401 and no socket.
        preValidation: async (request, reply) => {
          const auth = await resolveAuth(ctx, request, true)
          if (!auth) return reply.status(401).send(errorBody(401, 'UNAUTHORIZED', 'Log in first'))
          if (connections.countOf(auth.user.id) >= ctx.config.maxSocketsPerUser) {
            return reply.status(429).send(tooManySockets(ctx))
          }
          request.auth = auth
        },
      },
      (socket, request) => {
        releaseUpgradeRequest(request.raw, socket)
        // Two upgrades of one account may both have passed the check above before either opened.
        if (connections.countOf((request.auth as Auth).user.id) >= ctx.config.maxSocketsPerUser) {
          socket.close(1008, tooManySockets(ctx).message)
          return
        }
        openConnection(ctx, { connections, typing, closing }, socket, request.auth as Auth, request.log)
      },
    )
  })
}

const tooManySockets = (ctx: ConversationContext) =>
  errorBody(
    429,
    'TOO_MANY_SOCKETS',
    `At most ${ctx.config.maxSocketsPerUser} open sockets per account: close one first`,
  )

/**
 * After the upgrade nothing needs the HTTP request, but two references kept all of it (headers,
 * Fastify's request and reply, the ServerResponse) alive as long as the WebSocket, ~3 KB of heap
 * per idle socket: the ServerResponse @fastify/websocket routes the upgrade with stays attached to
 * the TCP socket, and its 'error' listener on the WebSocket closes over request and reply. The
 * response is detached (it is never written after the upgrade) and that listener replaced by
 * openConnection's own.
 */
function releaseUpgradeRequest(raw: IncomingMessage, socket: WebSocket): void {
  const tcp = raw.socket as Socket & { _httpMessage?: ServerResponse | null }
  if (tcp._httpMessage?.req === raw) tcp._httpMessage.detachSocket(tcp)
  socket.removeAllListeners('error')
}

function openConnection(
  ctx: ConversationContext,
  { connections, typing, closing }: { connections: Connections; typing: Typing; closing: ClosingWork },
  socket: WebSocket,
  auth: Auth,
  log: FastifyInstance['log'],
): void {
  const connection: Connection = {
    id: randomUUID(),
    userId: auth.user.id,
    role: auth.user.role,
    sessionId: auth.session.id,
    socket,
    rooms: new Set(),
  }
  connections.add(connection)
  const limiter = new FrameLimiter(ctx.config.wsRateLimit)
  const expiry = watchSessionExpiry(ctx, connection.sessionId, auth, log)
  const cameOnline = ctx.presence.connected(connection.userId)

  const errorFrame = (ref: string | undefined, code: string, message: string): void => {
    send(connection, JSON.stringify({ type: 'error', ref, code, message }))
  }

  send(connection, frame('ready', { user: toUserView(auth.user, presenceOfPeers(ctx)) }))
  if (cameOnline) publishPresence(ctx, connection.userId, true, auth.user.last_seen_at).catch(() => {})

  // Backpressure: while this many of a socket's frames are still being handled (e.g. waiting for
  // their commit), the server stops reading it, so an overload queues in the client's TCP buffers
  // instead of this process's memory.
  let inFlight = 0
  socket.on('message', (data: RawData, isBinary: boolean) => {
    expiry.activity()
    const verdict = limiter.take()
    if (verdict === 'close') return socket.close(1008, 'too many frames')
    // Read before it is refused, so the refusal names the frame: at most a second's worth of them
    // (then the socket is closed) at 64 KiB each.
    const read = readFrame(data, isBinary)
    if (verdict === 'limited') return errorFrame(read.ref, 'RATE_LIMITED', 'Too many frames: slow down')
    if (++inFlight === MAX_FRAMES_IN_FLIGHT) socket.pause()
    handleFrame(read)
      .catch((error) => {
        // handleFrame answers every expected failure itself; this is the last guard for the process.
        log.error({ err: error }, 'socket frame failed')
        errorFrame(undefined, 'INTERNAL_ERROR', 'Internal server error')
      })
      .finally(() => {
        if (inFlight-- === MAX_FRAMES_IN_FLIGHT && socket.readyState === socket.OPEN) socket.resume()
      })
  })

  async function handleFrame(read: ReadFrame): Promise<void> {
    if (!read.ok) return errorFrame(read.ref, 'BAD_REQUEST', read.message)
    const { value, ref } = read
    if (typeof value.type !== 'string') return errorFrame(ref, 'BAD_REQUEST', 'type is required')
    const problem = frameProblem(value.type, value)
    if (problem) return errorFrame(ref, 'BAD_REQUEST', problem)
    const nul = findNul(value)
    if (nul)
      return errorFrame(ref, 'BAD_REQUEST', `${nul.slice(1).replaceAll('/', '.')} must not contain U+0000`)
    const session: SocketSession = {
      ctx,
      connections,
      typing,
      connection,
      reply: (type, payload) => {
        send(connection, JSON.stringify({ type, ref, ...payload }))
      },
      replyJson: (type, body) => {
        // The same bytes as reply(type, JSON.parse(body)): type, then ref, then the body's members.
        const head =
          ref === undefined ? `{"type":${JSON.stringify(type)}` : JSON.stringify({ type, ref }).slice(0, -1)
        send(connection, `${head},${body.slice(1)}`)
      },
    }
    const handler = handlers[value.type as keyof typeof handlers]
    try {
      // biome-ignore lint/suspicious/noExplicitAny: the frame passed this handler's schema just above
      await handler.handle(session, value as any)
    } catch (error) {
      if (error instanceof AppError) return errorFrame(ref, error.code, error.message)
      log.error({ err: error, type: value.type }, 'socket frame failed')
      // INTERNAL_ERROR, or UNAVAILABLE when the database could not take the write (retry later).
      const body = toErrorBody(error as Error)
      errorFrame(ref, body.code, body.message)
    }
  }

  socket.on('close', () => {
    expiry.stop()
    const rooms = [...connection.rooms]
    connections.remove(connection)
    for (const conversationId of rooms) {
      // Who of the members is online on any node, as `join` says it; read after this socket's
      // presence is gone (below), so a user who left for good is not in it.
      const announcing = memberIds(ctx, conversationId)
        .then((ids) =>
          ctx.hub.publish({
            kind: 'room',
            conversationId,
            frame: frame('status', {
              conversation_id: conversationId,
              user_id: connection.userId,
              state: 'left',
              online_user_ids: ids.filter((id) => ctx.presence.isOnline(id)),
            }),
          }),
        )
        .catch((error) => log.warn({ err: error }, 'could not announce a socket leaving'))
      closing.track(announcing)
    }
    for (const conversationId of typing.clearUser(connection.userId)) {
      announceTyping(ctx.hub, conversationId, connection.userId, false)
    }
    if (!ctx.presence.disconnected(connection.userId)) return
    const offline = wentOffline(ctx, [connection.userId]).catch((error) =>
      log.warn({ err: error }, 'could not record last_seen_at'),
    )
    closing.track(offline)
  })
  socket.on('error', (error) => log.info({ err: error }, 'socket error'))
}

/**
 * The `realtime` plugin: the WebSocket endpoint, and the fan-out of the hub's events to this
 * node's sockets. Not encapsulated (it adds no request hook): `app.realtime` is there for all.
 */
export const realtimePlugin = fp(realtime, { name: 'realtime', dependencies: ['context'] })
