import type { FastifyBaseLogger } from 'fastify'
import type { AppContext } from '../context.js'
import { deleteSession, sessionTimes, TOUCH_INTERVAL_MS, touchSession } from '../db/queries/sessions.js'

// An open socket lives no longer than its session. One timer per socket, set for the moment the
// session would end (idle or absolute); frames only note the time, so the cost per frame is nil.

/** setTimeout's largest delay; a later deadline is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface SessionExpiry {
  /** The socket was used (a client frame): the session is in use. */
  activity(): void
  stop(): void
}

/**
 * Watches the session of one socket. Activity on the socket counts as use of the session: it
 * writes last_used_at at most once per touch interval, so an open, active socket keeps its session
 * (and the HTTP side of it) alive. The absolute expiry closes it in any case. When the deadline
 * comes, the database has the last word (an HTTP request or another node may have used the
 * session meanwhile); a session found over is ended everywhere, which closes its sockets with 4001.
 */
export function watchSessionExpiry(
  ctx: AppContext,
  sessionId: number,
  times: { lastUsedMs: number; expiresMs: number },
  log: FastifyBaseLogger,
): SessionExpiry {
  const idleMs = ctx.config.sessionIdleSeconds * 1000
  // A short idle time (tests) needs touches more often than once a minute to be kept alive.
  const touchEveryMs = Math.min(TOUCH_INTERVAL_MS, idleMs / 4)
  let { lastUsedMs, expiresMs } = times
  let touchedMs = lastUsedMs
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const schedule = () => {
    if (stopped) return
    const deadline = Math.min(expiresMs, lastUsedMs + idleMs)
    timer = setTimeout(check, Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now())))
    timer.unref()
  }

  const check = async () => {
    try {
      const stored = await sessionTimes(ctx.db, sessionId)
      if (stopped) return
      const now = Date.now()
      if (stored) {
        lastUsedMs = Math.max(lastUsedMs, stored.lastUsedMs)
        expiresMs = stored.expiresMs
      }
      if (stored && expiresMs > now && lastUsedMs + idleMs > now) return schedule()
      if (stored) await deleteSession(ctx.db, sessionId)
      ctx.sessions.dropSessions([sessionId])
      ctx.hub.publish({
        kind: 'close_sessions',
        sessionIds: [sessionId],
        code: 4001,
        reason: 'session expired',
      })
    } catch (error) {
      // The database could not say: look again shortly rather than close on a guess.
      log.warn({ err: error }, 'could not check a socket session')
      if (!stopped) {
        timer = setTimeout(check, Math.min(idleMs, 5000))
        timer.unref()
      }
    }
  }

  schedule()
  return {
    activity() {
      const now = Date.now()
      if (now - touchedMs < touchEveryMs || now >= expiresMs) return
      touchedMs = now
      lastUsedMs = now
      touchSession(ctx.db, sessionId, now).catch((error) =>
        log.warn({ err: error }, 'could not record socket activity on its session'),
      )
    },
    stop() {
      stopped = true
      clearTimeout(timer)
    },
  }
}
