// @ts-check
// The connection's state as the page shows it: a label under my name and a banner while offline.
import { $ } from './dom.js'
import { capitalize } from './format.js'
import { state } from './state.js'

/** @param {string | null} text */
export function setBanner(text) {
  const banner = $('banner')
  banner.hidden = !text
  banner.textContent = text ?? ''
  banner.classList.toggle('offline', Boolean(text))
  document.body.classList.toggle('has-banner', Boolean(text))
}

/** @param {import('/client/parley-client.js').ConnectionState} connection */
export function showConnection(connection) {
  const label = $('conn-state')
  label.className = `conn-state ${connection}`
  label.textContent =
    connection === 'open' ? 'Online' : connection === 'closed' ? 'Offline' : `${capitalize(connection)}…`
  if (connection === 'reconnecting') setBanner('Reconnecting…')
  else if (connection === 'connecting') setBanner('Connecting…')
  else if (connection === 'closed' && state.me) setBanner('Disconnected. Reload the page to reconnect.')
  else setBanner(null)
  document.body.dataset.connection = connection
}
