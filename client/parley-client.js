// @ts-check
// Parley's client: dependency-free ES modules that speak the WebSocket protocol and the HTTP API.
// They run unchanged in browsers and in Node 20+ (pass `WebSocket` from the `ws` package there).
// Every client of ours uses them, through this one entry: the web page, the tests and the
// benchmark. Reconnect, resume and retry live here and nowhere else.
//
// What it guarantees:
// - reconnect with exponential backoff and jitter; `state` is 'idle' | 'connecting' | 'open' |
//   'reconnecting' | 'closed', and every change is emitted as a 'state' event (connection.js);
// - every joined conversation is re-joined on reconnect with the latest `cursor` it got, so the
//   messages created, edited or deleted meanwhile arrive once; messages are deduplicated by id and
//   edits and deletions are applied in place (resume.js);
// - `send` gives each message a `client_id`, queues it while offline and re-sends it with the same
//   `client_id` until it is acked, so a message is committed exactly once (outbox.js).
//
// The layers, each a class extending the one before: events.js (listeners) < requests.js (replies
// by `ref`) < connection.js (socket, reconnect, heartbeat) < resume.js (rooms) < outbox.js (sends)
// < api-calls.js (ParleyClient). http.js is the HTTP API; types.js the shapes.

/** @typedef {import('./types.js').ConnectionState} ConnectionState */
/** @typedef {import('./types.js').User} User */
/** @typedef {import('./types.js').FileInfo} FileInfo */
/** @typedef {import('./types.js').Message} Message */
/** @typedef {import('./types.js').JoinResult} JoinResult */
/** @typedef {import('./types.js').ClientOptions} ClientOptions */
/** @typedef {import('./types.js').SearchParams} SearchParams */
/** @typedef {import('./types.js').SearchResult} SearchResult */
/** @typedef {import('./types.js').SearchPage} SearchPage */
/** @typedef {import('./types.js').FilePage} FilePage */
/** @typedef {import('./types.js').AroundPage} AroundPage */

export { ParleyClient } from './api-calls.js'
export { ApiError, ProtocolError } from './errors.js'
export { api, randomId } from './http.js'
