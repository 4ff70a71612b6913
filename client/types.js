// @ts-check
// The shapes the client speaks in: JSDoc types only, nothing runs here. The entry module
// (parley-client.js) re-exports them for its users.

/**
 * @typedef {'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'} ConnectionState
 *
 * @typedef {object} User
 * @property {number} id
 * @property {string} username
 * @property {string} display_name
 * @property {'user' | 'admin'} role
 * @property {boolean} online
 * @property {string | null} last_seen_at
 * @property {string} created_at
 * @property {boolean} [deleted]
 * @property {string | null} [avatar_url] a 256x256 WebP, versioned; null when none
 *
 * @typedef {object} FileInfo
 * @property {number} id
 * @property {string} name
 * @property {number} size
 * @property {string} content_type
 * @property {string} sha256
 * @property {number} uploaded_by
 * @property {number | null} project_id
 * @property {number | null} conversation_id
 * @property {string} created_at
 * @property {number | null} [width] images: the size as displayed
 * @property {number | null} [height]
 * @property {string | null} [thumbnail_url] images: a WebP of at most 480 px on the long side
 *
 * @typedef {object} Message
 * @property {number} id
 * @property {number} conversation_id
 * @property {number} sender_id
 * @property {string} content
 * @property {string | null} client_id
 * @property {FileInfo[]} attachments
 * @property {string} created_at
 * @property {string | null} edited_at
 * @property {boolean} deleted
 * @property {number[]} [mentions] the user ids it mentions
 *
 * @typedef {object} Frame
 * @property {string} type
 * @property {string} [ref]
 * @property {any} [key]
 *
 * @typedef {object} OutboxItem
 * @property {number} conversation_id
 * @property {string} content
 * @property {string} client_id
 * @property {string | null} ref
 * @property {(message: Message) => void} resolve
 * @property {(error: Error) => void} reject
 * @property {ReturnType<typeof setTimeout>} [timer] the retry timer
 *
 * @typedef {object} Room
 * @property {number} id
 * @property {boolean} joined
 * @property {string | number | null} cursor
 * @property {Map<number, Message>} messages
 * @property {boolean} hasOlder
 * @property {boolean} joining
 * @property {Array<{resolve: (value: JoinResult) => void, reject: (error: Error) => void}>} waiters
 * @property {number} limit
 *
 * @typedef {object} JoinResult
 * @property {number} conversation_id
 * @property {Message[]} messages every message the client holds for the conversation, oldest first
 * @property {boolean} has_more older messages exist on the server
 *
 * @typedef {object} ClientOptions
 * @property {string} [url] the WebSocket URL; by default `/ws` on `baseUrl` (or the page's origin)
 * @property {string} [baseUrl] the HTTP base URL for `api()`; by default the page's origin
 * @property {string | null} [token] a session token, sent as `?token=`; without it a browser relies on the cookie
 * @property {any} [WebSocket] a WebSocket constructor (the `ws` package in Node); `globalThis.WebSocket` by default
 * @property {typeof fetch} [fetch] a fetch implementation; `globalThis.fetch` by default
 * @property {number} [minDelay] first reconnect delay in ms (250)
 * @property {number} [maxDelay] longest reconnect delay in ms (10000)
 * @property {number} [pingInterval] ms between heartbeats (25000); 0 turns them off
 * @property {number} [pongTimeout] ms to wait for a pong before the connection counts as dead (10000)
 * @property {number} [requestTimeout] ms to wait for a reply (15000)
 * @property {number} [typingThrottle] ms between two `typing: true` frames for one conversation (3000)
 * @property {() => Promise<boolean>} [checkAuth] asked when a connection fails before `ready`; false stops reconnecting
 */

/**
 * @typedef {object} PendingRequest a request waiting for the reply that carries its `ref`
 * @property {string} type
 * @property {(frame: any) => void} resolve
 * @property {(error: Error) => void} reject
 * @property {ReturnType<typeof setTimeout>} timer

 * @typedef {object} SearchParams what GET /search narrows by (missing or empty ones are left out)
 * @property {string} q words and "quoted phrases"
 * @property {number | null} [conversation_id]
 * @property {number | null} [project_id]
 * @property {number | null} [from] a sender's user id
 * @property {string | null} [after] a date or date-time, inclusive
 * @property {string | null} [before] a date or date-time, exclusive
 * @property {'file' | null} [has]
 * @property {number} [limit]
 * @property {string | null} [cursor] the previous page's `cursor`
 *
 * @typedef {object} SearchResult one message found
 * @property {Message} message
 * @property {number} conversation_id
 * @property {string} snippet plain text around the match
 * @property {Array<[number, number]>} highlights [start, end) in the snippet, in UTF-16 code units
 *
 * @typedef {object} SearchPage
 * @property {SearchResult[]} results newest first
 * @property {boolean} has_more
 * @property {string | null} cursor
 *
 * @typedef {object} FilePage
 * @property {FileInfo[]} files
 * @property {boolean} has_more
 * @property {string | null} cursor
 *
 * @typedef {object} AroundPage a page of history centred on one message, oldest first
 * @property {Message[]} messages
 * @property {boolean} has_more_before
 * @property {boolean} has_more_after
 */

export {}
