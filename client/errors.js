// @ts-check
// The two errors the client throws: one for HTTP answers, one for the WebSocket protocol.

/** An HTTP error answer from the API: `status`, `code` and `message` of the contract's error shape. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {any} body the parsed answer, whatever it was
   */
  constructor(status, body) {
    super((body && typeof body.message === 'string' && body.message) || `HTTP ${status}`)
    this.name = 'ApiError'
    /** @type {number} */
    this.status = status
    /** @type {string} */
    this.code = (body && typeof body.code === 'string' && body.code) || 'HTTP_ERROR'
    this.body = body
  }
}

/** A protocol-level failure: an `error` frame in reply to a request, a timeout or a lost connection. */
export class ProtocolError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message)
    this.name = 'ProtocolError'
    /** @type {string} */
    this.code = code
  }
}
