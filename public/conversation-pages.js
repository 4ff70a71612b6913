// @ts-check
// The sidebar's paging through GET /conversations: the first page, then older ones on demand.
// Plain ES module, no build step, like app.js.

/**
 * @param {(path: string) => Promise<any>} api
 * @param {number} [pageSize] conversations per request (the server's default page)
 */
export function conversationPager(api, pageSize = 50) {
  /** @type {string | null} the `next` of the last page loaded: where the older ones start */
  let next = null
  let hasMore = false
  let loading = false
  let started = false
  return {
    get hasMore() {
      return hasMore
    },
    /**
     * The first page. Loaded again after a reconnect to refresh it: the pages beyond it stay
     * as they were, and so does the cursor to the older ones.
     * @returns {Promise<any[]>}
     */
    async first() {
      const page = await api(`/conversations?limit=${pageSize}`)
      if (!started) {
        started = true
        next = page.next ?? null
        hasMore = Boolean(page.has_more)
      }
      return page.conversations
    },
    /**
     * The next older page; null when there is none or one is on its way.
     * @returns {Promise<any[] | null>}
     */
    async more() {
      if (!hasMore || loading || next === null) return null
      loading = true
      try {
        const page = await api(`/conversations?limit=${pageSize}&before=${encodeURIComponent(next)}`)
        next = page.next ?? null
        hasMore = Boolean(page.has_more)
        return page.conversations
      } finally {
        loading = false
      }
    },
  }
}
