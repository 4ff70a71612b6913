import type { Migration } from 'kysely'
import * as accounts from './0001_accounts.js'
import * as conversations from './0002_conversations.js'
import * as unreadCounts from './0003_unread_counts.js'
import * as deletedUsernameKeys from './0004_deleted_username_keys.js'
import * as filesUploader from './0005_files_uploader.js'
import * as search from './0006_search.js'
import * as mentions from './0007_mentions.js'
import * as notifications from './0008_notifications.js'
import * as teamAdmin from './0009_team_admin.js'
import * as imagesAvatars from './0010_images_avatars.js'
import * as searchIndexAfterCommit from './0011_search_index_after_commit.js'

/**
 * Every migration, by the name it is recorded under, applied in name order. A new migration is a
 * numbered file here and a line below (test/architecture.test.ts checks that none is forgotten).
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_accounts': accounts,
  '0002_conversations': conversations,
  '0003_unread_counts': unreadCounts,
  '0004_deleted_username_keys': deletedUsernameKeys,
  '0005_files_uploader': filesUploader,
  '0006_search': search,
  '0007_mentions': mentions,
  '0008_notifications': notifications,
  '0009_team_admin': teamAdmin,
  '0010_images_avatars': imagesAvatars,
  '0011_search_index_after_commit': searchIndexAfterCommit,
}
