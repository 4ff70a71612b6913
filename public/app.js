// @ts-check
// Parley's web page: native ES modules, no framework, no build step. This one wires the modules
// to the page and starts: the session of the account signed in, or the login form.
//
// state.js holds what the page knows; people.js names and draws people; auth.js and session.js
// sign in and out; sidebar.js, projects.js and new-conversation.js (with user-picker.js) are the
// sidebar; conversation-view.js, message-row.js, message-actions.js, receipts.js, typing.js and
// composer.js the open conversation; presence.js follows who is online and who is a member;
// details.js, project-files.js and uploads.js the members and files; mentions.js and
// notifications.js mentions, notification levels and desktop notifications; contacts.js my
// contacts; search.js (with search-filters.js, search-results.js and message-jump.js) searches
// messages and files; push.js notifications on
// this device (with the service worker sw.js).
import { ApiError, api } from '/client/parley-client.js'
import { setupAdminMenu } from './admin-menu.js'
import { setupAuth, showAuth } from './auth.js'
import { initAvatarUpload } from './avatar-upload.js'
import { setupComposer } from './composer.js'
import { setupContacts } from './contacts.js'
import { setupConversationView } from './conversation-view.js'
import { setupDetails } from './details.js'
import { setupLinks } from './join.js'
import { setupMentions } from './mentions.js'
import { setupNewConversation } from './new-conversation.js'
import { setupNotifications } from './notifications.js'
import { setupProjects } from './projects.js'
import { setupPush } from './push.js'
import { setupReceipts } from './receipts.js'
import { setupSearch } from './search.js'
import { startSession, stopSession } from './session.js'
import { setupSidebar } from './sidebar.js'
import { setupUploads } from './uploads.js'

setupAuth({ start: startSession, stop: stopSession })
setupSidebar()
setupProjects()
setupNewConversation()
setupConversationView()
setupReceipts()
setupComposer()
setupDetails()
setupContacts()
setupUploads()
setupMentions()
setupNotifications()
initAvatarUpload()
setupSearch() // message search: search.js
setupPush()
setupAdminMenu()
setupLinks()

async function boot() {
  try {
    const { user } = await api('/auth/check')
    await startSession(user)
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) console.error(error)
    showAuth()
  }
}

boot()
