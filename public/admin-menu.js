// @ts-check
// The "Account" button: my account for everyone; people, settings and the audit log for admins.
import { renderAccount } from './account.js'
import { renderPeople } from './admin-people.js'
import { renderAudit, renderSettings } from './admin-settings.js'
import { $ } from './dom.js'
import { openPanel } from './panel.js'
import { state } from './state.js'

export function setupAdminMenu() {
  $('account-btn').addEventListener('click', () => {
    const screens = [{ id: 'account', label: 'Account', render: renderAccount }]
    if (state.me?.role === 'admin') {
      screens.push(
        { id: 'people', label: 'People', render: renderPeople },
        { id: 'settings', label: 'Settings', render: renderSettings },
        { id: 'audit', label: 'Audit log', render: renderAudit },
      )
    }
    openPanel(screens)
  })
}
