// @ts-check
// Admins: the registration mode, invitations with copyable links, and the audit log.
import { api } from '/client/parley-client.js'
import { el, errorText, toast } from './dom.js'
import { table, when } from './panel.js'

/** @param {HTMLElement} body */
export async function renderSettings(body) {
  const { settings } = await api('/admin/settings')
  const mode = el(
    'select',
    { 'aria-label': 'Registration' },
    ...['open', 'invite', 'closed'].map((value) =>
      el('option', { value, selected: value === settings.registration, text: value }),
    ),
  )
  mode.addEventListener('change', async () => {
    try {
      await api('/admin/settings', { method: 'PATCH', body: { registration: mode.value } })
      toast(`Registration: ${mode.value}`)
    } catch (error) {
      toast(errorText(error))
    }
  })
  const uses = el('input', { type: 'number', min: 1, placeholder: 'Max uses', 'aria-label': 'Max uses' })
  const invites = el('div')
  const load = async () => {
    const list = (await api('/invites')).invites
    invites.replaceChildren(
      table(
        ['Link', 'Uses', 'Expires', ''],
        list.map((/** @type {any} */ i) => [
          el('input', { class: 'invite-url', readonly: true, value: i.url, 'aria-label': 'Invitation link' }),
          `${i.uses}${i.max_uses ? ` / ${i.max_uses}` : ''}`,
          i.expires_at ? when(i.expires_at) : 'never',
          el(
            'span',
            { class: 'row' },
            el('button', {
              type: 'button',
              class: 'small',
              text: 'Copy',
              onclick: () => navigator.clipboard?.writeText(i.url).then(() => toast('Copied')),
            }),
            el('button', {
              type: 'button',
              class: 'small danger',
              text: 'Withdraw',
              onclick: async () => {
                await api(`/invites/${i.code}`, { method: 'DELETE' })
                await load()
              },
            }),
          ),
        ]),
      ),
    )
  }
  const create = el(
    'form',
    { class: 'row panel-form' },
    uses,
    el('button', { type: 'submit', class: 'small', text: 'Invite' }),
  )
  create.addEventListener('submit', async (event) => {
    event.preventDefault()
    try {
      await api('/invites', { method: 'POST', body: uses.value ? { max_uses: Number(uses.value) } : {} })
      uses.value = ''
      await load()
    } catch (error) {
      toast(errorText(error))
    }
  })
  body.append(
    el('h3', { text: 'Registration' }),
    el('label', { class: 'row' }, 'Who may register ', mode),
    el('h3', { text: 'Invitations' }),
    create,
    invites,
  )
  await load()
}

/** @param {HTMLElement} body */
export async function renderAudit(body) {
  const list = el('div')
  const more = el('button', { type: 'button', class: 'ghost small', text: 'Older', hidden: true })
  /** @type {any[]} */
  let entries = []
  /** @type {number | null} */
  let next = null
  const load = async () => {
    const page = await api(`/admin/audit${next ? `?cursor=${next}` : ''}`)
    entries = entries.concat(page.entries)
    next = page.next
    more.hidden = !page.has_more
    list.replaceChildren(
      table(
        ['When', 'Who', 'What', 'Whom', 'Details'],
        entries.map((e) => [
          when(e.created_at),
          e.actor_username ?? String(e.actor_id),
          e.action,
          e.target_username ?? '',
          JSON.stringify(e.details),
        ]),
      ),
    )
  }
  more.addEventListener('click', load)
  body.append(list, more)
  await load()
}
