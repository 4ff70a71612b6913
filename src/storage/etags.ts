// Conditional requests for what the server sends from UPLOAD_DIR (files, thumbnails, avatars).

/** Whether an If-None-Match header matches `etag` (weak comparison, as RFC 9110 asks). */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false
  const bare = (tag: string) => tag.trim().replace(/^W\//, '')
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag))
}
