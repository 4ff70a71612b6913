// A member's notification level per conversation: what of its messages notifies them.

export const NOTIFICATION_LEVELS = ['all', 'mentions', 'none'] as const
export type NotificationLevel = (typeof NOTIFICATION_LEVELS)[number]

/** A member's level: their choice, else `all` in a direct conversation and `mentions` elsewhere. */
export function effectiveLevel(
  kind: 'direct' | 'group' | 'project',
  chosen: string | null | undefined,
): NotificationLevel {
  if (chosen === 'all' || chosen === 'mentions' || chosen === 'none') return chosen
  return kind === 'direct' ? 'all' : 'mentions'
}
