import { createECDH, createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { argon2Verifications } from '../src/auth/passwords.js'
import { loadConfig } from '../src/config.js'
import { createSession } from '../src/db/queries/sessions.js'
import { type Account, createConversation, register, startTestServer } from './helpers/app.js'
import { connect, type TestSocket, upgradeStatus } from './helpers/ws.js'

// The authorization matrix: every HTTP route of the contract and every WebSocket event, against
// every relation a caller can have to the resource. The tables below ARE the matrix: one row per
// route or event, one column per relation, each cell the status (or reply) the contract demands.
// `·` marks a cell that has no meaning (an account route has no "owner" other than yourself).
//
// Relations: anon (no session), stranger (logged in, not a member), member, owner (the group's
// creator / the project's owner / the message's sender), admin (role admin, not a member),
// removed (was a member, was removed), deleted (the token of an account since deleted).
//
// Already elsewhere, not repeated here: new token at each login, idle and absolute expiry, cookie
// flags, argon2id parameters, foreign-origin cookie on GET (test/auth.test.ts); upgrade 401/403 and
// the group variant of "removed members stop hearing at once" (test/ws.test.ts).

const RELATIONS = ['anon', 'stranger', 'member', 'owner', 'admin', 'removed', 'deleted'] as const
type Relation = (typeof RELATIONS)[number]
type Cell = number | string | null
const _ = null

/** Builds the resources one cell needs, fresh for every cell so no cell depends on another. */
interface Fixture {
  group: number
  groupOwnerMessage: number
  groupMemberMessage: number
  project: number
  projectConversation: number
  projectOwnerFile: number
  projectMemberFile: number
  projectMemberMessage: number
  target: number
}

interface HttpRow {
  route: string
  /** The request this relation's user makes; `self` is that user's id. */
  request: (f: Fixture, self: number) => { path: string; body?: unknown; multipart?: boolean | 'image' }
  cells: Cell[]
  /** Each cell acts as a freshly made account of the relation (for routes that end the account). */
  fresh?: boolean
  /** A session made for this cell only (for routes that end the session). */
  ownSession?: boolean
}

/** A device's subscription, on a public address (no DNS needed). */
const pushKeys = (() => {
  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  return { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') }
})()
const pushSubscription = (self: number) => ({
  endpoint: `https://93.184.216.34/push/mx${self}`,
  keys: pushKeys,
})

const BOUNDARY = 'matrixboundary'
const multipart = (name: string, content: string | Buffer) =>
  Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n`,
    ),
    Buffer.from(content),
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ])
/** A real 1x1 PNG: an image upload (it gets a thumbnail) and an avatar. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
)

//                                   anon stranger member owner admin removed deleted
const HTTP: HttpRow[] = [
  // Accounts and sessions
  {
    route: 'GET /auth/check',
    request: () => ({ path: '/auth/check' }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'POST /auth/logout',
    ownSession: true,
    request: () => ({ path: '/auth/logout' }),
    cells: [401, 204, 204, 204, 204, 204, 401],
  },
  {
    route: 'POST /auth/password',
    fresh: true,
    request: () => ({
      path: '/auth/password',
      body: { current_password: 'correct horse battery', new_password: 'another horse battery' },
    }),
    cells: [401, 204, 204, _, _, _, 401],
  },
  {
    route: 'DELETE /auth/user',
    fresh: true,
    request: () => ({ path: '/auth/user', body: { password: 'correct horse battery' } }),
    cells: [401, 204, 204, _, _, _, 401],
  },
  { route: 'GET /users', request: () => ({ path: '/users' }), cells: [401, 403, 403, 403, 200, 403, 401] },
  {
    route: 'DELETE /users/:id',
    request: (f) => ({ path: `/users/${f.target}` }),
    cells: [401, 403, 403, 403, 204, 403, 401],
  },
  {
    route: 'GET /users/:id',
    request: (f) => ({ path: `/users/${f.target}` }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'GET /users/:id/avatar',
    request: () => ({ path: `/users/${withAvatar.id}/avatar` }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'PUT /users/me/avatar',
    request: () => ({ path: '/users/me/avatar', multipart: 'image' }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'DELETE /users/me/avatar',
    request: () => ({ path: '/users/me/avatar' }),
    cells: [401, 204, 204, 204, 204, 204, 401],
  },
  {
    route: 'PATCH /users/me',
    request: () => ({ path: '/users/me', body: { display_name: 'Renamed' } }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'GET /users/online',
    request: () => ({ path: '/users/online' }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'GET /users/me/contacts',
    request: () => ({ path: '/users/me/contacts' }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'POST /users/me/contacts',
    request: (f) => ({ path: '/users/me/contacts', body: { user_id: f.target } }),
    cells: [401, 201, 201, 201, 201, 201, 401],
  },
  {
    route: 'DELETE /users/me/contacts/:userId',
    request: (f) => ({ path: `/users/me/contacts/${f.target}` }),
    cells: [401, 204, 204, 204, 204, 204, 401],
  },
  // The links of emails: the signed token is the credential, not a session (a bad one is 400).
  {
    route: 'GET /email/verify',
    request: () => ({ path: '/email/verify?token=forged.token' }),
    cells: [400, 400, 400, 400, 400, 400, 400],
  },
  {
    route: 'GET /email/unsubscribe',
    request: () => ({ path: '/email/unsubscribe?token=forged.token' }),
    cells: [400, 400, 400, 400, 400, 400, 400],
  },
  // Web Push: every account manages its own devices.
  {
    route: 'GET /push/key',
    request: () => ({ path: '/push/key' }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'POST /push/subscriptions',
    request: (_f, self) => ({ path: '/push/subscriptions', body: pushSubscription(self) }),
    cells: [401, 201, 201, 201, 201, 201, 401],
  },
  {
    route: 'DELETE /push/subscriptions',
    request: (_f, self) => ({
      path: '/push/subscriptions',
      body: { endpoint: pushSubscription(self).endpoint },
    }),
    cells: [401, 204, 204, 204, 204, 204, 401],
  },
  {
    route: 'GET /conversations/users',
    request: () => ({ path: '/conversations/users?q=m' }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'GET /conversations',
    request: () => ({ path: '/conversations' }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'POST /conversations',
    request: (f) => ({ path: '/conversations', body: { member_ids: [f.target], title: 'new' } }),
    cells: [401, 201, 201, 201, 201, 201, 401],
  },
  {
    route: 'GET /projects',
    request: () => ({ path: '/projects' }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'POST /projects',
    request: () => ({ path: '/projects', body: { name: 'mine' } }),
    cells: [401, 201, 201, 201, 201, 201, 401],
  },
  // A group conversation (owner = its creator)
  {
    route: 'GET /conversations/:id',
    request: (f) => ({ path: `/conversations/${f.group}` }),
    cells: [401, 404, 200, 200, 404, 404, 401],
  },
  {
    route: 'POST /conversations/:id/members',
    request: (f) => ({ path: `/conversations/${f.group}/members`, body: { user_id: f.target } }),
    cells: [401, 404, 201, 201, 404, 404, 401],
  },
  {
    route: 'DELETE /conversations/:id/members/:other',
    request: (f) => ({ path: `/conversations/${f.group}/members/${third.id}` }),
    cells: [401, 404, 403, 204, 404, 404, 401],
  },
  {
    route: 'DELETE /conversations/:id/members/:me (leave)',
    request: (f, self) => ({ path: `/conversations/${f.group}/members/${self}` }),
    cells: [401, 404, 204, 204, 404, 404, 401],
  },
  {
    route: 'GET /conversations/:id/messages',
    request: (f) => ({ path: `/conversations/${f.group}/messages` }),
    cells: [401, 404, 200, 200, 404, 404, 401],
  },
  {
    route: 'GET /conversations/:id/messages?around=',
    request: (f) => ({ path: `/conversations/${f.group}/messages?around=${f.groupMemberMessage}` }),
    cells: [401, 404, 200, 200, 404, 404, 401],
  },
  // Search: only what I can see; a conversation I am not in is 404, files simply not found
  {
    route: 'GET /search?conversation_id=',
    request: (f) => ({ path: `/search?q=hello&conversation_id=${f.group}` }),
    cells: [401, 404, 200, 200, 404, 404, 401],
  },
  {
    route: 'GET /search',
    request: () => ({ path: '/search?q=hello' }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'GET /search/files?project_id=',
    request: (f) => ({ path: `/search/files?q=a&project_id=${f.project}` }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'GET /conversations/:id/changes',
    request: (f) => ({ path: `/conversations/${f.group}/changes?cursor=0` }),
    cells: [401, 404, 200, 200, 404, 404, 401],
  },
  {
    route: 'POST /conversations/:id/messages',
    request: (f) => ({ path: `/conversations/${f.group}/messages`, body: { content: 'hi' } }),
    cells: [401, 404, 201, 201, 404, 404, 401],
  },
  {
    route: "PATCH /conversations/:id/messages/:owner's",
    request: (f) => ({
      path: `/conversations/${f.group}/messages/${f.groupOwnerMessage}`,
      body: { content: 'x' },
    }),
    cells: [401, 404, 403, 200, 404, 404, 401],
  },
  {
    route: "DELETE /conversations/:id/messages/:owner's",
    request: (f) => ({ path: `/conversations/${f.group}/messages/${f.groupOwnerMessage}` }),
    cells: [401, 404, 403, 204, 404, 404, 401],
  },
  {
    route: "DELETE /conversations/:id/messages/:member's (group)",
    request: (f) => ({ path: `/conversations/${f.group}/messages/${f.groupMemberMessage}` }),
    cells: [401, 404, 204, 403, 404, 404, 401],
  },
  {
    route: 'POST /conversations/:id/read',
    request: (f) => ({ path: `/conversations/${f.group}/read`, body: { message_id: f.groupOwnerMessage } }),
    cells: [401, 404, 204, 204, 404, 404, 401],
  },
  {
    route: 'PUT /conversations/:id/notifications',
    request: (f) => ({ path: `/conversations/${f.group}/notifications`, body: { level: 'none' } }),
    cells: [401, 404, 200, 200, 404, 404, 401],
  },
  {
    route: 'POST /conversations/:id/files',
    request: (f) => ({ path: `/conversations/${f.group}/files`, multipart: true }),
    cells: [401, 404, 201, 201, 404, 404, 401],
  },
  // A project (owner = the project's owner)
  {
    route: 'GET /projects/:id',
    request: (f) => ({ path: `/projects/${f.project}` }),
    cells: [401, 404, 200, 200, 404, 404, 401],
  },
  {
    route: 'DELETE /projects/:id',
    request: (f) => ({ path: `/projects/${f.project}` }),
    cells: [401, 404, 403, 204, 404, 404, 401],
  },
  {
    route: 'POST /projects/:id/members',
    request: (f) => ({ path: `/projects/${f.project}/members`, body: { user_id: f.target } }),
    cells: [401, 404, 403, 201, 404, 404, 401],
  },
  {
    route: 'DELETE /projects/:id/members/:other',
    request: (f) => ({ path: `/projects/${f.project}/members/${third.id}` }),
    cells: [401, 404, 403, 204, 404, 404, 401],
  },
  {
    route: 'DELETE /projects/:id/members/:me (leave)',
    request: (f, self) => ({ path: `/projects/${f.project}/members/${self}` }),
    cells: [401, 404, 204, 400, 404, 404, 401],
  },
  {
    route: 'GET /projects/:id/files',
    request: (f) => ({ path: `/projects/${f.project}/files` }),
    cells: [401, 404, 200, 200, 404, 404, 401],
  },
  {
    route: 'POST /projects/:id/files',
    request: (f) => ({ path: `/projects/${f.project}/files`, multipart: true }),
    cells: [401, 404, 201, 201, 404, 404, 401],
  },
  {
    route: "DELETE /projects/:id/files/:owner's",
    request: (f) => ({ path: `/projects/${f.project}/files/${f.projectOwnerFile}` }),
    cells: [401, 404, 403, 204, 404, 404, 401],
  },
  {
    route: "DELETE /projects/:id/files/:member's",
    request: (f) => ({ path: `/projects/${f.project}/files/${f.projectMemberFile}` }),
    cells: [401, 404, 204, 204, 404, 404, 401],
  },
  {
    route: 'GET /files/:id',
    request: (f) => ({ path: `/files/${f.projectOwnerFile}` }),
    cells: [401, 404, 200, 200, 404, 404, 401],
  },
  {
    route: 'GET /files/:id/thumbnail',
    request: (f) => ({ path: `/files/${f.projectOwnerFile}/thumbnail` }),
    cells: [401, 404, 200, 200, 404, 404, 401],
  },
  {
    route: "DELETE /conversations/:project's/messages/:member's",
    request: (f) => ({ path: `/conversations/${f.projectConversation}/messages/${f.projectMemberMessage}` }),
    cells: [401, 404, 204, 204, 404, 404, 401],
  },
  {
    route: "GET /conversations/:project's/messages",
    request: (f) => ({ path: `/conversations/${f.projectConversation}/messages` }),
    cells: [401, 404, 200, 200, 404, 404, 401],
  },
  // My sessions and tokens; team administration (admins only)
  {
    route: 'GET /auth/sessions',
    request: () => ({ path: '/auth/sessions' }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'DELETE /auth/sessions/:unknown',
    request: () => ({ path: '/auth/sessions/999999999' }),
    cells: [401, 404, 404, 404, 404, 404, 401],
  },
  {
    route: 'POST /auth/tokens',
    request: () => ({ path: '/auth/tokens', body: { name: 'matrix' } }),
    cells: [401, 201, 201, 201, 201, 201, 401],
  },
  {
    route: 'GET /auth/tokens',
    request: () => ({ path: '/auth/tokens' }),
    cells: [401, 200, 200, 200, 200, 200, 401],
  },
  {
    route: 'DELETE /auth/tokens/:unknown',
    request: () => ({ path: '/auth/tokens/999999999' }),
    cells: [401, 404, 404, 404, 404, 404, 401],
  },
  {
    route: 'POST /auth/reset (unknown token)',
    request: () => ({
      path: '/auth/reset',
      body: { token: 'x'.repeat(43), new_password: 'another horse battery' },
    }),
    cells: [400, 400, 400, 400, 400, 400, 400],
  },
  {
    route: 'PATCH /users/:id',
    request: (f) => ({ path: `/users/${f.target}`, body: { role: 'user' } }),
    cells: [401, 403, 403, 403, 200, 403, 401],
  },
  {
    route: 'POST /users/:id/deactivate',
    request: (f) => ({ path: `/users/${f.target}/deactivate` }),
    cells: [401, 403, 403, 403, 200, 403, 401],
  },
  {
    route: 'POST /users/:id/reactivate',
    request: (f) => ({ path: `/users/${f.target}/reactivate` }),
    cells: [401, 403, 403, 403, 200, 403, 401],
  },
  {
    route: 'POST /users/:id/password-reset',
    request: (f) => ({ path: `/users/${f.target}/password-reset` }),
    cells: [401, 403, 403, 403, 201, 403, 401],
  },
  {
    route: 'GET /admin/settings',
    request: () => ({ path: '/admin/settings' }),
    cells: [401, 403, 403, 403, 200, 403, 401],
  },
  {
    route: 'PATCH /admin/settings',
    request: () => ({ path: '/admin/settings', body: { registration: 'open' } }),
    cells: [401, 403, 403, 403, 200, 403, 401],
  },
  {
    route: 'POST /invites',
    request: () => ({ path: '/invites', body: { max_uses: 1 } }),
    cells: [401, 403, 403, 403, 201, 403, 401],
  },
  {
    route: 'GET /invites',
    request: () => ({ path: '/invites' }),
    cells: [401, 403, 403, 403, 200, 403, 401],
  },
  {
    route: 'DELETE /invites/:unknown',
    request: () => ({ path: '/invites/nosuchinvitecode0000' }),
    cells: [401, 403, 403, 403, 404, 403, 401],
  },
  {
    route: 'GET /admin/audit',
    request: () => ({ path: '/admin/audit' }),
    cells: [401, 403, 403, 403, 200, 403, 401],
  },
  // Open to all
  {
    route: 'GET /healthz',
    request: () => ({ path: '/healthz' }),
    cells: [200, 200, 200, 200, 200, 200, 200],
  },
]

interface WsRow {
  event: string
  frame: (f: Fixture) => Record<string, unknown>
  /** The reply type, an error code, or `none` (no reply, no error: e.g. typing). `upgrade 401`: no socket at all. */
  cells: Cell[]
}

const NOSOCKET = 'upgrade 401'
//                                        anon      stranger     member            owner             admin        removed      deleted
const WS: WsRow[] = [
  {
    event: 'join',
    frame: (f) => ({ type: 'join', conversation_id: f.group }),
    cells: [NOSOCKET, 'NOT_FOUND', 'recent_messages', 'recent_messages', 'NOT_FOUND', 'NOT_FOUND', NOSOCKET],
  },
  {
    event: 'join (project)',
    frame: (f) => ({ type: 'join', conversation_id: f.projectConversation }),
    cells: [NOSOCKET, 'NOT_FOUND', 'recent_messages', 'recent_messages', 'NOT_FOUND', 'NOT_FOUND', NOSOCKET],
  },
  {
    event: 'join with cursor',
    frame: (f) => ({ type: 'join', conversation_id: f.group, cursor: 0 }),
    cells: [NOSOCKET, 'NOT_FOUND', 'recent_messages', 'recent_messages', 'NOT_FOUND', 'NOT_FOUND', NOSOCKET],
  },
  {
    event: 'leave',
    frame: (f) => ({ type: 'leave', conversation_id: f.group }),
    cells: [NOSOCKET, 'ack', 'ack', 'ack', 'ack', 'ack', NOSOCKET],
  },
  {
    event: 'send_message',
    frame: (f) => ({ type: 'send_message', conversation_id: f.group, content: 'hello' }),
    cells: [NOSOCKET, 'NOT_FOUND', 'ack', 'ack', 'NOT_FOUND', 'NOT_FOUND', NOSOCKET],
  },
  {
    event: "edit_message (owner's)",
    frame: (f) => ({
      type: 'edit_message',
      conversation_id: f.group,
      message_id: f.groupOwnerMessage,
      content: 'e',
    }),
    cells: [NOSOCKET, 'NOT_FOUND', 'FORBIDDEN', 'ack', 'NOT_FOUND', 'NOT_FOUND', NOSOCKET],
  },
  {
    event: "delete_message (owner's)",
    frame: (f) => ({ type: 'delete_message', conversation_id: f.group, message_id: f.groupOwnerMessage }),
    cells: [NOSOCKET, 'NOT_FOUND', 'FORBIDDEN', 'ack', 'NOT_FOUND', 'NOT_FOUND', NOSOCKET],
  },
  {
    event: "delete_message (project, member's)",
    frame: (f) => ({
      type: 'delete_message',
      conversation_id: f.projectConversation,
      message_id: f.projectMemberMessage,
    }),
    cells: [NOSOCKET, 'NOT_FOUND', 'ack', 'ack', 'NOT_FOUND', 'NOT_FOUND', NOSOCKET],
  },
  {
    event: 'typing',
    frame: (f) => ({ type: 'typing', conversation_id: f.group, is_typing: true }),
    cells: [NOSOCKET, 'NOT_FOUND', 'none', 'none', 'NOT_FOUND', 'NOT_FOUND', NOSOCKET],
  },
  {
    event: 'mark_read',
    frame: (f) => ({ type: 'mark_read', conversation_id: f.group, message_id: f.groupOwnerMessage }),
    cells: [NOSOCKET, 'NOT_FOUND', 'ack', 'ack', 'NOT_FOUND', 'NOT_FOUND', NOSOCKET],
  },
  {
    event: 'set_notifications',
    frame: (f) => ({ type: 'set_notifications', conversation_id: f.group, level: 'all' }),
    cells: [NOSOCKET, 'NOT_FOUND', 'ack', 'ack', 'NOT_FOUND', 'NOT_FOUND', NOSOCKET],
  },
  {
    event: 'get_presence',
    frame: (f) => ({ type: 'get_presence', user_ids: [f.target] }),
    cells: [
      NOSOCKET,
      'presence_list',
      'presence_list',
      'presence_list',
      'presence_list',
      'presence_list',
      NOSOCKET,
    ],
  },
  {
    event: 'search (conversation_id=)',
    frame: (f) => ({ type: 'search', q: 'hello', conversation_id: f.group }),
    cells: [NOSOCKET, 'NOT_FOUND', 'search_results', 'search_results', 'NOT_FOUND', 'NOT_FOUND', NOSOCKET],
  },
  {
    event: 'search',
    frame: () => ({ type: 'search', q: 'hello' }),
    cells: [
      NOSOCKET,
      'search_results',
      'search_results',
      'search_results',
      'search_results',
      'search_results',
      NOSOCKET,
    ],
  },
  {
    event: 'ping',
    frame: () => ({ type: 'ping' }),
    cells: [NOSOCKET, 'pong', 'pong', 'pong', 'pong', 'pong', NOSOCKET],
  },
]

let third: Account
let withAvatar: Account

t.test('the authorization matrix', async (t) => {
  // The matrix creates and changes many conversations from few accounts: their budgets are lifted.
  const server = await startTestServer(t, {
    authRateLimit: 1_000_000,
    wsRateLimit: 1_000_000,
    writeRateLimit: 1_000_000,
    createRateLimit: 1_000_000,
    uploadRateLimit: 1_000_000,
  })
  const app = server.app
  const admin = await register(app, 'mx_admin') // the first account: admin
  const owner = await register(app, 'mx_owner')
  const member = await register(app, 'mx_member')
  const stranger = await register(app, 'mx_stranger')
  const removed = await register(app, 'mx_removed')
  third = await register(app, 'mx_third')
  const deleted = await register(app, 'mx_deleted')
  t.equal((await app.inject({ url: '/auth/check', headers: admin.auth })).json().user.role, 'admin')

  const inject = async (who: Account | undefined, method: string, path: string, body?: unknown) => {
    const response = await app.inject({
      method: method as 'GET',
      url: path,
      headers: who?.auth ?? {},
      ...(body === undefined ? {} : { payload: body as object }),
    })
    // biome-ignore lint/suspicious/noExplicitAny: response bodies of many shapes, read by the table
    let parsed: any
    try {
      parsed = response.json()
    } catch {
      parsed = undefined // a file's bytes, or no body
    }
    return { status: response.statusCode, body: parsed }
  }
  const upload = async (who: Account, path: string, image = false, method = 'POST', expected = 201) => {
    const response = await app.inject({
      method: method as 'POST',
      url: path,
      headers: { ...who.auth, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      payload: image ? multipart('dot.png', PNG) : multipart('notes.txt', 'some notes'),
    })
    if (response.statusCode !== expected) throw new Error(`upload ${response.statusCode} ${response.body}`)
    return response.json()
  }
  withAvatar = await register(app, 'mx_avatar')
  await upload(withAvatar, '/users/me/avatar', true, 'PUT', 200)
  let targets = 0
  let deletedIsGone = false
  const fixture = async (kind: 'none' | 'group' | 'project'): Promise<Fixture> => {
    const f: Fixture = {
      group: 0,
      groupOwnerMessage: 0,
      groupMemberMessage: 0,
      project: 0,
      projectConversation: 0,
      projectOwnerFile: 0,
      projectMemberFile: 0,
      projectMemberMessage: 0,
      target: 0,
    }
    // A user to add, look up, delete: made fresh per cell by inserting the row (no password hashing).
    const target = await app.ctx.db
      .insertInto('users')
      .values({
        username: `mx_target${++targets}`,
        username_key: `mx_target${targets}`,
        display_name: 'target',
        password_hash: '',
        role: 'user',
        created_at: new Date().toISOString(),
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    f.target = Number(target.id)
    const members = [member.id, third.id, removed.id, ...(deletedIsGone ? [] : [deleted.id])]
    if (kind === 'group') {
      f.group = await createConversation(app, owner, members, 'matrix')
      f.groupOwnerMessage = (
        await inject(owner, 'POST', `/conversations/${f.group}/messages`, { content: 'o' })
      ).body.message.id
      f.groupMemberMessage = (
        await inject(member, 'POST', `/conversations/${f.group}/messages`, { content: 'm' })
      ).body.message.id
      await inject(owner, 'DELETE', `/conversations/${f.group}/members/${removed.id}`)
    }
    if (kind === 'project') {
      const project = (await inject(owner, 'POST', '/projects', { name: 'matrix', member_ids: members })).body
        .project
      f.project = project.id
      f.projectConversation = project.conversation_id
      f.projectOwnerFile = (await upload(owner, `/projects/${project.id}/files`, true)).file.id
      f.projectMemberFile = (await upload(member, `/projects/${project.id}/files`)).file.id
      f.projectMemberMessage = (
        await inject(member, 'POST', `/conversations/${project.conversation_id}/messages`, { content: 'pm' })
      ).body.message.id
      await inject(owner, 'DELETE', `/projects/${project.id}/members/${removed.id}`)
    }
    return f
  }
  const kindOf = (text: string) =>
    /project|files\/:id|\/files\//.test(text)
      ? 'project'
      : /conversations\/:id|conversation_id=|^(join|leave|send|edit|delete|typing|mark|set_notifications)/.test(
            text,
          )
        ? 'group'
        : 'none'
  // The deleted account was a member of things before it went; its token must open nothing.
  await fixture('group')
  await fixture('project')
  t.equal((await inject(deleted, 'DELETE', '/auth/user', { password: 'correct horse battery' })).status, 204)
  deletedIsGone = true

  const actors: Record<Relation, Account | undefined> = {
    anon: undefined,
    stranger,
    member,
    owner,
    admin,
    removed,
    deleted,
  }
  let fresh = 0
  const freshActor = async (relation: Relation): Promise<Account | undefined> => {
    if (relation === 'anon') return undefined
    if (relation === 'deleted') return deleted
    return register(app, `mx_fresh${++fresh}`)
  }

  const table: string[] = []
  let cells = 0
  const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length))
  table.push(`${pad('HTTP route', 52)} ${RELATIONS.map((r) => pad(r, 8)).join(' ')}`)

  await t.test('HTTP: every route against every relation', async (t) => {
    for (const row of HTTP) {
      const [method] = row.route.split(' ')
      const seen: string[] = []
      for (const [i, relation] of RELATIONS.entries()) {
        const expected = row.cells[i]
        if (expected === null) {
          seen.push('·')
          continue
        }
        const f = await fixture(kindOf(row.route))
        let actor = row.fresh ? await freshActor(relation) : actors[relation]
        if (row.ownSession && actor) {
          const { token } = await createSession(app.ctx.db, app.ctx.config, actor.id, 'matrix')
          actor = { ...actor, token, auth: { authorization: `Bearer ${token}` } }
        }
        // A contact to remove, for the relations that can have one.
        if (row.route.startsWith('DELETE /users/me/contacts') && actor) {
          await inject(actor, 'POST', '/users/me/contacts', { user_id: f.target })
        }
        const spec = row.request(f, actor?.id ?? member.id)
        let status: number
        let body: { code?: string } | undefined
        if (spec.multipart) {
          const response = await app.inject({
            method: method as 'POST',
            url: spec.path,
            headers: { ...(actor?.auth ?? {}), 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
            payload: spec.multipart === 'image' ? multipart('cell.png', PNG) : multipart('cell.txt', 'cell'),
          })
          status = response.statusCode
          body = response.json()
        } else {
          ;({ status, body } = await inject(actor, method, spec.path, spec.body))
        }
        t.equal(status, expected, `${row.route} as ${relation}: ${expected}`)
        if (status >= 400) t.ok(body?.code, `${row.route} as ${relation}: error code ${body?.code}`)
        cells++
        seen.push(String(status))
      }
      table.push(`${pad(row.route, 52)} ${seen.map((s) => pad(s, 8)).join(' ')}`)
    }
  })

  table.push('', `${pad('WebSocket event', 52)} ${RELATIONS.map((r) => pad(r, 8)).join(' ')}`)
  await t.test('WebSocket: every event against every relation', async (t) => {
    const sockets = new Map<Relation, TestSocket>()
    for (const relation of RELATIONS) {
      const actor = actors[relation]
      if (relation === 'anon' || relation === 'deleted' || !actor) continue
      sockets.set(relation, await connect(server.ws, actor.token))
    }
    t.teardown(async () => {
      for (const socket of sockets.values()) await socket.close()
    })
    for (const row of WS) {
      const seen: string[] = []
      for (const [i, relation] of RELATIONS.entries()) {
        const expected = row.cells[i]
        const f = await fixture(kindOf(row.event))
        const socket = sockets.get(relation)
        if (!socket) {
          const token = actors[relation]?.token
          const status = await upgradeStatus(server.ws, token ? { authorization: `Bearer ${token}` } : {})
          t.equal(`upgrade ${status}`, expected, `${row.event} as ${relation}: no socket`)
          seen.push(String(status))
          cells++
          continue
        }
        let got: string
        if (expected === 'none') {
          // No reply is due: a ping sent behind it comes back, with no error for this frame before it.
          const ref = `silent-${cells}`
          socket.send({ ...row.frame(f), ref })
          await socket.request({ type: 'ping' })
          const error = socket.frames.find((frame) => frame.ref === ref)
          got = error ? String(error.code ?? error.type) : 'none'
        } else {
          const frame = await socket.request(row.frame(f), 5000)
          got = frame.type === 'error' ? String(frame.code) : frame.type
        }
        t.equal(got, expected, `${row.event} as ${relation}: ${expected}`)
        seen.push(got === 'recent_messages' ? 'recent' : got === 'presence_list' ? 'list' : got)
        cells++
      }
      table.push(`${pad(row.event, 52)} ${seen.map((s) => pad(s, 8)).join(' ')}`)
    }
  })

  t.comment(`authorization matrix: ${cells} cells asserted\n${table.join('\n')}`)
})

t.test(
  'a removed project member stops hearing the project conversation at once, and loses its files',
  async (t) => {
    const server = await startTestServer(t, { authRateLimit: 1_000_000 })
    const owner = await register(server.app, 'rm_owner')
    const stays = await register(server.app, 'rm_stays')
    const goes = await register(server.app, 'rm_goes')
    const created = await server.app.inject({
      method: 'POST',
      url: '/projects',
      headers: owner.auth,
      payload: { name: 'p', member_ids: [stays.id, goes.id] },
    })
    const project = created.json().project
    const file = await server.app.inject({
      method: 'POST',
      url: `/projects/${project.id}/files`,
      headers: { ...owner.auth, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      payload: multipart('plan.txt', 'the plan'),
    })
    const fileId = file.json().file.id
    const ownerSocket = await connect(server.ws, owner.token)
    const staysSocket = await connect(server.ws, stays.token)
    const goesSocket = await connect(server.ws, goes.token)
    for (const socket of [ownerSocket, staysSocket, goesSocket]) {
      t.equal(
        (await socket.request({ type: 'join', conversation_id: project.conversation_id })).type,
        'recent_messages',
      )
    }
    const removal = await server.app.inject({
      method: 'DELETE',
      url: `/projects/${project.id}/members/${goes.id}`,
      headers: owner.auth,
    })
    t.equal(removal.statusCode, 204)
    t.match(await goesSocket.next('member_removed'), {
      conversation_id: project.conversation_id,
      user_id: goes.id,
    })
    // Straight after the removal: a message, typing, a read receipt and an edit in that conversation.
    const sent = await ownerSocket.request({
      type: 'send_message',
      conversation_id: project.conversation_id,
      content: 'after',
    })
    ownerSocket.send({ type: 'typing', conversation_id: project.conversation_id, is_typing: true })
    await ownerSocket.request({
      type: 'edit_message',
      conversation_id: project.conversation_id,
      message_id: (sent.message as { id: number }).id,
      content: 'after, edited',
    })
    t.match(await staysSocket.next((f) => f.type === 'message_updated'), { type: 'message_updated' })
    const leaked = await goesSocket.quiet(
      (f) =>
        ['message', 'message_updated', 'message_deleted', 'typing', 'status', 'read'].includes(f.type) &&
        JSON.stringify(f).includes(`"conversation_id":${project.conversation_id}`),
      400,
    )
    t.same(leaked, [], 'the removed member hears nothing more of that conversation')
    t.match(
      await goesSocket.request({
        type: 'send_message',
        conversation_id: project.conversation_id,
        content: 'x',
      }),
      { type: 'error', code: 'NOT_FOUND' },
    )
    t.equal(
      (await server.app.inject({ url: `/files/${fileId}`, headers: goes.auth })).statusCode,
      404,
      'files: 404',
    )
    t.equal((await server.app.inject({ url: `/files/${fileId}`, headers: stays.auth })).statusCode, 200)
    for (const socket of [ownerSocket, staysSocket, goesSocket]) await socket.close()
  },
)

t.test(
  'sessions: stored only as SHA-256; logout ends only its own sockets; CSRF and CSWSH refused',
  async (t) => {
    const server = await startTestServer(t, {
      authRateLimit: 1_000_000,
      allowedOrigins: ['https://chat.example.com'],
    })
    const ann = await register(server.app, 'sess_ann')
    const bob = await register(server.app, 'sess_bob')
    const second = (
      await server.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: 'sess_ann', password: 'correct horse battery' },
      })
    ).json().token as string

    await t.test('the database holds the SHA-256 of each token and never the token', async (t) => {
      const rows = await server.app.ctx.db.selectFrom('sessions').select(['token_hash', 'user_id']).execute()
      const hashes = new Set(rows.map((row) => row.token_hash))
      for (const token of [ann.token, second, bob.token]) {
        t.ok(hashes.has(createHash('sha256').update(token).digest('hex')), 'sha256(token) is stored')
      }
      // Checkpoint the WAL into the file, then look for the raw tokens in every byte of it.
      server.app.ctx.database.sqlite?.pragma('wal_checkpoint(TRUNCATE)')
      const url = server.app.ctx.config.databaseUrl
      if (url.startsWith('sqlite:')) {
        const path = url.slice('sqlite:'.length)
        const bytes = Buffer.concat([
          readFileSync(path),
          ...[`${path}-wal`].map((p) => readFileSync(p, { flag: 'a+' })),
        ])
        for (const token of [ann.token, second, bob.token]) {
          t.equal(bytes.includes(Buffer.from(token)), false, 'the raw token is nowhere in the database file')
        }
      }
    })

    await t.test(
      'logout closes this session’s sockets (4001), not the same user’s other session',
      async (t) => {
        const first = await connect(server.ws, ann.token)
        const other = await connect(server.ws, second)
        await server.app.inject({ method: 'POST', url: '/auth/logout', headers: ann.auth })
        t.equal(await first.whenClosed(), 4001)
        t.equal((await other.request({ type: 'ping' })).type, 'pong', 'the other session’s socket stays')
        t.equal(
          (await server.app.inject({ url: '/auth/check', headers: { authorization: `Bearer ${ann.token}` } }))
            .statusCode,
          401,
        )
        await other.close()
      },
    )

    await t.test(
      'cross-origin state-changing requests with a cookie are refused (403), and change nothing',
      async (t) => {
        const host = 'localhost:3000'
        const attempts: Array<[string, string, object | undefined]> = [
          ['POST', '/conversations', { member_ids: [ann.id], title: 'csrf' }],
          ['PATCH', '/users/me', { display_name: 'pwned' }],
          ['POST', '/projects', { name: 'csrf' }],
          ['POST', '/users/me/contacts', { user_id: ann.id }],
          ['POST', '/auth/logout', undefined],
          ['DELETE', '/auth/user', { password: 'correct horse battery' }],
        ]
        for (const origin of ['https://evil.example', 'null', 'http://localhost:3000.evil.example']) {
          for (const [method, url, payload] of attempts) {
            const response = await server.app.inject({
              method: method as 'POST',
              url,
              cookies: { sid: bob.token },
              headers: { origin, host },
              ...(payload ? { payload } : {}),
            })
            t.equal(response.statusCode, 403, `${method} ${url} from ${origin}`)
            t.equal(response.json().code, 'ORIGIN_NOT_ALLOWED')
          }
        }
        const me = await server.app.inject({ url: '/auth/check', headers: bob.auth })
        t.equal(me.statusCode, 200, 'the session survived')
        t.equal(me.json().user.display_name, 'sess_bob', 'nothing changed')
        t.equal(
          (await server.app.inject({ url: '/conversations', headers: bob.auth })).json().conversations.length,
          0,
        )
        const own = await server.app.inject({
          method: 'PATCH',
          url: '/users/me',
          cookies: { sid: bob.token },
          headers: { origin: 'http://localhost:3000', host },
          payload: { display_name: 'Bob' },
        })
        t.equal(own.statusCode, 200, 'the same request from our own origin works')
        const allowed = await server.app.inject({
          method: 'PATCH',
          url: '/users/me',
          cookies: { sid: bob.token },
          headers: { origin: 'https://chat.example.com', host },
          payload: { display_name: 'Bob' },
        })
        t.equal(allowed.statusCode, 200, 'and from an ALLOWED_ORIGINS origin')
      },
    )

    await t.test('cross-site WebSocket hijacking: cookie + foreign or null Origin is 403', async (t) => {
      for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1.evil.example']) {
        t.equal(await upgradeStatus(server.ws, { cookie: `sid=${bob.token}`, origin }), 403, origin)
      }
      t.equal(
        await upgradeStatus(server.ws, { cookie: `sid=${bob.token}`, origin: server.http }),
        101,
        'own origin',
      )
    })
  },
)

t.test('login costs one full argon2 verification for an unknown user, as for a wrong password', async (t) => {
  // Counted, not timed: the cost of a login is its argon2 verification, and a count does not
  // depend on how loaded the machine is. An unknown user answered without verifying (a fast
  // "no such user") would add no verification here and fail.
  // At the cost a default config gives (the tests' own accounts are hashed cheaply): the count
  // below also proves that cost is argon2id's production one, by the parameters in the hashes.
  const app = (await startTestServer(t, { authRateLimit: 1_000_000, argon2: loadConfig({}).argon2 })).app
  await register(app, 'timing_user')
  const fullCost = 'm=19456,t=2,p=1'
  const verificationsDuring = async (username: string) => {
    const before = new Map(argon2Verifications())
    const response = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username, password: 'not the password' },
    })
    t.equal(response.statusCode, 401, `${username}: 401`)
    t.equal(response.json().code, 'INVALID_CREDENTIALS', 'the same answer for both')
    return Object.fromEntries(
      [...argon2Verifications()]
        .map(([cost, count]) => [cost, count - (before.get(cost) ?? 0)] as const)
        .filter(([, count]) => count > 0),
    )
  }
  for (let i = 0; i < 3; i++) {
    t.same(await verificationsDuring(`nobody_${i}`), { [fullCost]: 1 }, 'unknown user: one verification')
    t.same(await verificationsDuring('timing_user'), { [fullCost]: 1 }, 'wrong password: one verification')
  }
})

t.test('test accounts: the cheap test cost, and an unknown user is verified at that cost too', async (t) => {
  const app = (await startTestServer(t, { authRateLimit: 1_000_000 })).app
  await register(app, 'cheap_user')
  const before = new Map(argon2Verifications())
  for (const username of ['cheap_user', 'nobody_cheap']) {
    const response = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username, password: 'not the password' },
    })
    t.equal(response.statusCode, 401, `${username}: 401`)
  }
  const during = [...argon2Verifications()].filter(([cost, count]) => count > (before.get(cost) ?? 0))
  t.same(Object.fromEntries(during.map(([cost, count]) => [cost, count - (before.get(cost) ?? 0)])), {
    'm=8,t=1,p=1': 2,
  })
})
