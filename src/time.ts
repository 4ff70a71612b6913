/** Timestamps are stored and sent as ISO 8601 text in UTC. */
export const nowIso = (): string => new Date().toISOString()
