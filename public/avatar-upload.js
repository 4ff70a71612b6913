// @ts-check
// My own picture: the avatar in the sidebar's header opens a file picker (PUT /users/me/avatar);
// "Remove picture" goes back to initials. Other people's pictures change when a `user` frame says so.
import { api } from '/client/parley-client.js'
import { $, el, errorText, toast } from './dom.js'
import { setAvatarFace } from './people.js'
import { rememberUser, state } from './state.js'

/** @typedef {import('./state.js').User} User */

const picker = el('input', {
  type: 'file',
  accept: 'image/png,image/jpeg,image/gif,image/webp',
  hidden: true,
})
const removeButton = el(
  'button',
  { type: 'button', class: 'ghost small avatar-remove', hidden: true },
  'Remove picture',
)

/** Shows my avatar (picture or initials) in the header, and whether it can be removed. */
export function showMyAvatar() {
  const me = state.me ? (state.people.get(state.me.id) ?? state.me) : null
  setAvatarFace($('me-avatar'), me)
  removeButton.hidden = !me?.avatar_url
}

/** @param {User} user */
function applyMe(user) {
  state.me = rememberUser(user)
  showMyAvatar()
}

async function upload() {
  const file = picker.files?.[0]
  picker.value = ''
  if (!file) return
  const form = new FormData()
  form.append('file', file, file.name)
  try {
    const { user } = await api('/users/me/avatar', { method: 'PUT', body: form })
    applyMe(user)
  } catch (error) {
    toast(`Picture not changed: ${errorText(error)}`)
  }
}

async function remove() {
  try {
    await api('/users/me/avatar', { method: 'DELETE' })
    if (state.me) applyMe({ ...state.me, ...state.people.get(state.me.id), avatar_url: null })
  } catch (error) {
    toast(`Picture not removed: ${errorText(error)}`)
  }
}

/** Makes the header's avatar a button that changes my picture. Once, at start. */
export function initAvatarUpload() {
  const face = $('me-avatar')
  face.classList.add('editable')
  face.setAttribute('role', 'button')
  face.setAttribute('tabindex', '0')
  face.setAttribute('title', 'Change your picture')
  face.setAttribute('aria-label', 'Change your picture')
  face.removeAttribute('aria-hidden')
  face.addEventListener('click', () => picker.click())
  face.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault()
      picker.click()
    }
  })
  picker.addEventListener('change', upload)
  removeButton.addEventListener('click', remove)
  face.after(picker)
  $('logout-btn').before(removeButton)
}

/**
 * Someone's picture changed (a `user` frame): remember it and redraw where people are shown.
 * @param {{user: User}} frame @param {() => void} redraw
 */
export function onUserChanged(frame, redraw) {
  const user = rememberUser(frame.user)
  if (state.me && user.id === state.me.id) applyMe({ ...state.me, ...user })
  redraw()
}
