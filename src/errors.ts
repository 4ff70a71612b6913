import type { FastifyError, FastifyInstance } from 'fastify'
import { ruleMessage } from './validation-messages.js'

/** A failure the client caused or may see: becomes the contract's error shape as it is. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'AppError'
  }
}

/** 429 RATE_LIMITED: the client may try again after `retryAfterSeconds` (HTTP: `Retry-After`). */
export class RateLimitedError extends AppError {
  constructor(
    readonly retryAfterSeconds: number,
    message: string,
  ) {
    super(429, 'RATE_LIMITED', message)
  }
}

export const badRequest = (message: string, code = 'BAD_REQUEST') => new AppError(400, code, message)
export const unauthorized = (message = 'Log in first', code = 'UNAUTHORIZED') =>
  new AppError(401, code, message)
export const forbidden = (message: string, code = 'FORBIDDEN') => new AppError(403, code, message)
/** Also the answer for what exists but the caller may not see. */
export const notFound = (what = 'Resource') => new AppError(404, 'NOT_FOUND', `${what} not found`)
export const conflict = (code: string, message: string) => new AppError(409, code, message)

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

export interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
}

export function errorBody(statusCode: number, code: string, message: string): ErrorBody {
  return { statusCode, code, error: STATUS_TEXT[statusCode] ?? 'Error', message }
}

/** What a 415 says: the body types the API reads. */
export const UNSUPPORTED_MEDIA_TYPE =
  'Unsupported media type: send Content-Type: application/json (uploads: multipart/form-data)'

/** Fastify's own error codes that are the client's fault, with the contract code each gets. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_TYPE: 'BAD_REQUEST',
  FST_REQ_FILE_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_PARTS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_FILES_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_FIELDS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'BAD_REQUEST',
}

/**
 * Driver codes for "the database cannot take this now": locked or busy past busy_timeout, disk full,
 * read-only, I/O error (SQLite); insufficient resources, shutting down, connection lost (PostgreSQL).
 */
const UNAVAILABLE_CODES =
  /^(SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN)(_\w+)?|53\d{3}|57P0[1-3]|08\d{3}|ENOSPC|ECONNREFUSED)$/

/** A failure of the storage, not of the request: the client may retry the same thing later. */
export function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && UNAVAILABLE_CODES.test(code)
}

/** Seconds a client is told to wait after a 503 UNAVAILABLE. */
export const RETRY_AFTER_SECONDS = 5

/** Turns any failure into `{statusCode, code, error, message}`; a 5xx says nothing of its cause. */
export function toErrorBody(error: FastifyError | AppError | Error): ErrorBody {
  if (error instanceof AppError) return errorBody(error.statusCode, error.code, error.message)
  if (isUnavailable(error)) {
    return errorBody(503, 'UNAVAILABLE', 'The server cannot store this right now: try again shortly')
  }
  const fastifyError = error as FastifyError
  if (fastifyError.validation) {
    return errorBody(400, 'BAD_REQUEST', validationMessage(fastifyError))
  }
  const status = fastifyError.statusCode ?? 500
  if (status === 429) return errorBody(429, 'RATE_LIMITED', 'Too many requests: wait and try again')
  if (status === 415) return errorBody(415, 'UNSUPPORTED_MEDIA_TYPE', UNSUPPORTED_MEDIA_TYPE)
  if (status >= 400 && status < 500) {
    const code = (fastifyError.code && FASTIFY_CODES[fastifyError.code]) ?? 'BAD_REQUEST'
    return errorBody(status, code, fastifyError.message)
  }
  return errorBody(500, 'INTERNAL_ERROR', 'Internal server error')
}

function validationMessage(error: FastifyError): string {
  const first = error.validation?.[0]
  if (!first) return error.message
  const context = error.validationContext ?? 'body'
  const path = first.instancePath ? first.instancePath.slice(1).replaceAll('/', '.') : ''
  const missing = (first.params as { missingProperty?: string } | undefined)?.missingProperty
  if (first.keyword === 'required' && missing) return `${context}.${missing} is required`
  if (first.keyword === 'additionalProperties') {
    const extra = (first.params as { additionalProperty?: string }).additionalProperty
    return `${context}${path ? `.${path}` : ''} has an unknown field ${extra}`
  }
  const field = `${context}${path ? `.${path}` : ''}`
  const params = (first.params ?? {}) as { limit?: number; pattern?: string; type?: string }
  return (
    ruleMessage(field, { keyword: first.keyword, ...params }) ?? `${field} ${first.message ?? 'is invalid'}`
  )
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const body = toErrorBody(error)
    if (body.statusCode >= 500) {
      request.log.error({ err: error }, 'request failed')
    } else if (error instanceof AppError === false && body.statusCode !== 429) {
      request.log.info({ code: body.code, reason: error.message }, 'request rejected')
    }
    if (body.statusCode === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS))
    if (error instanceof RateLimitedError) reply.header('retry-after', String(error.retryAfterSeconds))
    if (body.statusCode === 429 && !(error instanceof AppError)) {
      const retryAfter = reply.getHeader('retry-after')
      if (retryAfter) body.message = `Too many requests: try again in ${retryAfter} s`
    }
    reply.status(body.statusCode).send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send(errorBody(404, 'NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`))
  })
}

/** UPLOAD_QUOTA_BYTES: an upload would take the account over its quota. */
export const quotaExceeded = (quota: number) =>
  new AppError(
    413,
    'QUOTA_EXCEEDED',
    `This account's files would take more than its quota of ${quota} bytes: delete some first`,
  )
