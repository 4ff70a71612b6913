import type { Kysely } from 'kysely'
import { memberIdsOf, notificationLevelsOf } from '../db/queries/conversation-members.js'
import type { Database } from '../db/types.js'
import type { Hub } from '../hub/types.js'

/** How many conversations' member lists are kept; the oldest loaded go first. */
const MAX_ENTRIES = 20_000

/** A conversation's kind and each member's chosen notification level (null: the kind's default). */
export interface MemberSettings {
  kind: 'direct' | 'group' | 'project'
  levels: Map<number, string | null>
}

/**
 * Member ids per conversation, for the hot path (may this sender post? whose sockets get the
 * message?). Loaded on first use; every membership change publishes `members_changed` on the hub,
 * so every node drops its copy at once.
 */
export class MemberCache {
  private readonly entries = new Map<number, Promise<number[]>>()
  /** Read once per message sent (who is notified); dropped with the member list. */
  private readonly settingsEntries = new Map<number, Promise<MemberSettings | undefined>>()
  private readonly unsubscribe: () => void
  private readonly unsubscribeRestored: () => void

  constructor(
    private readonly db: Kysely<Database>,
    private readonly hub: Hub,
  ) {
    this.unsubscribe = hub.subscribe((event) => {
      if (event.kind === 'members_changed') this.drop(event.conversationId)
    })
    // Changes published while the bus was cut never arrived here: start over.
    this.unsubscribeRestored =
      hub.onBusRestored?.(() => {
        this.entries.clear()
        this.settingsEntries.clear()
      }) ?? (() => {})
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

  /** The conversation's kind and its members' notification levels; undefined if it is gone. */
  settings(conversationId: number): Promise<MemberSettings | undefined> {
    const cached = this.settingsEntries.get(conversationId)
    if (cached) return cached
    const loading = notificationLevelsOf(this.db, conversationId).then((rows) =>
      rows.length === 0
        ? undefined
        : {
            kind: rows[0].kind,
            levels: new Map(rows.map((row) => [Number(row.user_id), row.notification_level])),
          },
    )
    loading.catch(() => {
      if (this.settingsEntries.get(conversationId) === loading) this.settingsEntries.delete(conversationId)
    })
    if (this.settingsEntries.size >= MAX_ENTRIES) {
      this.settingsEntries.delete(this.settingsEntries.keys().next().value as number)
    }
    this.settingsEntries.set(conversationId, loading)
    return loading
  }

  private drop(conversationId: number): void {
    this.entries.delete(conversationId)
    this.settingsEntries.delete(conversationId)
  }

  async has(conversationId: number, userId: number): Promise<boolean> {
    return (await this.get(conversationId)).includes(userId)
  }

  /** Call after changing a conversation's members or their levels (on every node, through the hub). */
  changed(conversationId: number): void {
    this.drop(conversationId)
    this.hub.publish({ kind: 'members_changed', conversationId })
  }

  close(): void {
    this.unsubscribe()
    this.unsubscribeRestored()
  }
}
