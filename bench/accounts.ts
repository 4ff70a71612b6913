import { performance } from 'node:perf_hooks'
import { fmt, mapLimit } from './lib.js'
import type { AccountsFile, SocketSpec } from './messages.js'

// The benchmark's accounts and rooms, made the same way over HTTP (bench/sockets.ts, against the server
// it measures) and in process (bench/setup.ts, `app.inject` on a server's database).

/** One JSON POST to the app, as `token`'s user or anonymously: the body of a 2xx answer, or a throw. */
// biome-ignore lint/suspicious/noExplicitAny: the callers read the few fields they need
export type Post = (path: string, body: object, token?: string) => Promise<any>

export const BENCH_PASSWORD = 'bench password 1234'

/** Registers `count` accounts, four at a time; each comes with its session token. */
export async function registerAccounts(
  post: Post,
  count: number,
  log: (line: string) => void,
): Promise<AccountsFile['users']> {
  const tag = Date.now().toString(36)
  const started = performance.now()
  const users = await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    4,
    async (i) => {
      const username = `b${tag}_${i}`
      const body = await post('/auth/register', {
        username,
        password: BENCH_PASSWORD,
        display_name: `Bench ${i}`,
      })
      return { id: body.user.id as number, username, token: body.token as string }
    },
  )
  log(`registered ${count} accounts in ${fmt((performance.now() - started) / 1000)} s`)
  return users
}

/**
 * Rooms of `roomSize` consecutive accounts, each a group its first member creates; the accounts
 * left over (fewer than a room) get none.
 */
export async function createRooms(
  post: Post,
  users: AccountsFile['users'],
  roomSize: number,
  log: (line: string) => void,
): Promise<AccountsFile['rooms']> {
  const started = performance.now()
  const rooms = await mapLimit(
    Array.from({ length: Math.floor(users.length / roomSize) }, (_, r) => r),
    4,
    async (r) => {
      const members = users.slice(r * roomSize, (r + 1) * roomSize)
      const body = await post(
        '/conversations',
        { member_ids: members.slice(1).map((m) => m.id), title: `bench room ${r}` },
        members[0].token,
      )
      return { conversation_id: body.conversation.id as number, member_ids: members.map((m) => m.id) }
    },
  )
  log(`created ${rooms.length} conversations in ${fmt((performance.now() - started) / 1000)} s`)
  return rooms
}

/** One socket for each of the first `count` room members, joined to its room. */
export function roomSockets(file: AccountsFile, count: number): SocketSpec[] {
  const tokens = new Map(file.users.map((user) => [user.id, user.token]))
  const sockets = file.rooms.flatMap((room) =>
    room.member_ids.map((id) => ({ token: tokens.get(id) ?? '', conversationId: room.conversation_id })),
  )
  if (sockets.length < count) throw new Error(`only ${sockets.length} room members; ${count} asked for`)
  return sockets.slice(0, count)
}
