/** Pages kept; the least recently used go first. */
const MAX_ENTRIES = 2_000
/** And at most about this many characters of JSON in all. */
const MAX_CHARS = 16 * 1024 * 1024

interface Entry {
  version: number
  body: string
}

/** The page a history request asks for: the same key, the same page for the same conversation state. */
export function historyKey(
  conversationId: number,
  page: { before?: number; after?: number; limit?: number },
): string {
  return `${conversationId}:${page.before ?? ''}:${page.after ?? ''}:${page.limit ?? ''}`
}

/**
 * History pages as the JSON sent, each valid for one state of its conversation: the change
 * number (conversations.change_seq) that every creation, edit and deletion of a message and every
 * change to an attachment bumps in the same transaction. The caller reads the current number with
 * its membership check, so a page is served only for the exact state it was read from, on every
 * node alike; nothing needs to be invalidated. A page is the same for every member who may see it.
 */
export class HistoryCache {
  private readonly entries = new Map<string, Entry>()
  private chars = 0

  /** `onLookup` hears whether each `get` found its page (the hit/miss metric). */
  constructor(private readonly onLookup?: (hit: boolean) => void) {}

  get(key: string, version: number): string | undefined {
    const entry = this.entries.get(key)
    this.onLookup?.(entry?.version === version)
    if (!entry || entry.version !== version) return undefined
    this.entries.delete(key)
    this.entries.set(key, entry)
    return entry.body
  }

  set(key: string, version: number, body: string): void {
    if (body.length > MAX_CHARS / 16) return
    this.remove(key)
    while (this.entries.size >= MAX_ENTRIES || this.chars + body.length > MAX_CHARS) {
      this.remove(this.entries.keys().next().value as string)
    }
    this.entries.set(key, { version, body })
    this.chars += body.length
  }

  private remove(key: string): void {
    const entry = this.entries.get(key)
    if (!entry) return
    this.entries.delete(key)
    this.chars -= entry.body.length
  }
}
