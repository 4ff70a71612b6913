import type { Hub, HubEvent, HubHandler } from './types.js'

/** One process: events go straight to the local subscribers. */
export function createMemoryHub(): Hub {
  const handlers = new Set<HubHandler>()
  return {
    publish(event: HubEvent) {
      for (const handler of handlers) handler(event)
    },
    subscribe(handler: HubHandler) {
      handlers.add(handler)
      return () => handlers.delete(handler)
    },
    async close() {
      handlers.clear()
    },
  }
}
