import type { Kysely } from 'kysely'
import { memberIdsOf } from '../db/queries/conversation-members.js'
import type { Database } from '../db/types.js'
import type { Hub } from '../hub/types.js'

/** How many conversations' member lists are kept; the oldest loaded go first. */
const MAX_ENTRIES = 20_000

/**
 * Member ids per conversation, for the hot path (may this sender post? whose sockets get the
 * message?). Loaded on first use; every membership change publishes `members_changed` on the hub,
 * so every node drops its copy at once.
 */
export class MemberCache {
  private readonly entries = new Map<number, Promise<number[]>>()
  private readonly unsubscribe: () => void
  private readonly unsubscribeRestored: () => void

  constructor(
    private readonly db: Kysely<Database>,
    private readonly hub: Hub,
  ) {
    this.unsubscribe = hub.subscribe((event) => {
      if (event.kind === 'members_changed') this.entries.delete(event.conversationId)
    })
    // Changes published while the bus was cut never arrived here: start over.
    this.unsubscribeRestored = hub.onBusRestored?.(() => this.entries.clear()) ?? (() => {})
  }

  get(conversationId: number): Promise<number[]> {
    const cached = this.entries.get(conversationId)
    if (cached) return cached
    const loading = memberIdsOf(this.db, conversationId)
    // Only this load's own entry goes: a change meanwhile may have put a newer load in its place.
    loading.catch(() => {
      if (this.entries.get(conversationId) === loading) this.entries.delete(conversationId)
    })
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as number)
    this.entries.set(conversationId, loading)
    return loading
  }

  async has(conversationId: number, userId: number): Promise<boolean> {
    return (await this.get(conversationId)).includes(userId)
  }

  /** Call after changing a conversation's members (on every node, through the hub). */
  changed(conversationId: number): void {
    this.entries.delete(conversationId)
    this.hub.publish({ kind: 'members_changed', conversationId })
  }

  close(): void {
    this.unsubscribe()
    this.unsubscribeRestored()
  }
}
