// @ts-check
// The largest file the server accepts (GET /healthz tells it), asked once, so that a file over it
// is refused in the page before any of it is sent.
import { api } from '/client/parley-client.js'

/** @type {Promise<number | null> | null} */
let asked = null

/** The limit in bytes, or null when the server did not say (the server's 413 then tells). */
export function maxUploadBytes() {
  asked ??= api('/healthz').then(
    (/** @type {{max_upload_bytes?: number}} */ body) =>
      typeof body.max_upload_bytes === 'number' ? body.max_upload_bytes : null,
    () => {
      asked = null // ask again next time
      return null
    },
  )
  return asked
}
