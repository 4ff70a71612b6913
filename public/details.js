// @ts-check
// The details panel of the open conversation: its members (add, remove, leave) and, for a
// project, its description, files (project-files.js) and deletion.
import { api } from '/client/parley-client.js'
import { closeConversation, renderHeader } from './conversation-view.js'
import { $, el, errorText, inputById, toast } from './dom.js'
import { lastSeen } from './format.js'
import { renderNotificationControl } from './notifications.js'
import { avatar, nameOf, personName, titleOf } from './people.js'
import { refreshFiles } from './project-files.js'
import { rememberUser, state, upsertConversation } from './state.js'
import { userPicker } from './user-picker.js'

/** @typedef {import('./state.js').Project} Project */
/** @typedef {import('./state.js').User} User */

/** @type {ReturnType<typeof userPicker> | null} */
let memberPicker = null

/** @param {boolean} open */
export function openDetails(open) {
  state.detailsOpen = open
  $('details').hidden = !open
  $('details-btn').setAttribute('aria-expanded', String(open))
  if (open) refreshDetails()
  else $('details-btn').focus()
}

/** The project of the open conversation, if it is a project's. @returns {Project | null} */
export function currentProject() {
  const conversation = state.currentId ? state.conversations.get(state.currentId) : null
  if (conversation?.kind !== 'project') return null
  for (const project of state.projects.values()) {
    if (project.conversation_id === conversation.id) return project
  }
  return conversation.project_id
    ? {
        id: conversation.project_id,
        owner_id: null,
        name: titleOf(conversation),
        conversation_id: conversation.id,
      }
    : null
}

/** Who may do what: the owner manages a project; anyone in a group manages its members. @param {boolean} owner */
function showControls(owner) {
  $('add-member-form').hidden = !owner
  $('leave-btn').hidden = owner
  $('delete-project-btn').hidden = !owner
}

export async function refreshDetails() {
  if (!state.currentId || !state.detailsOpen) return
  const conversation = state.conversations.get(state.currentId)
  if (!conversation) return
  const project = currentProject()
  $('details-title').textContent = project ? project.name : titleOf(conversation)
  $('project-description-text').textContent = project?.description ?? ''
  $('files-section').hidden = !project
  $('leave-btn').textContent = project ? 'Leave project' : 'Leave group'
  renderNotificationControl()
  if (project) {
    showControls(project.owner_id === state.me?.id)
    try {
      /** @type {{project: Project, members?: User[]}} */
      const detail = await api(`/projects/${project.id}`)
      state.projects.set(detail.project.id, detail.project)
      conversation.members = (detail.members ?? conversation.members ?? []).map(rememberUser)
      showControls(detail.project.owner_id === state.me?.id)
      $('project-description-text').textContent = detail.project.description ?? ''
    } catch (error) {
      toast(errorText(error))
    }
    refreshFiles()
  } else {
    const direct = conversation.kind === 'direct'
    $('add-member-form').hidden = direct
    $('leave-btn').hidden = direct
    $('delete-project-btn').hidden = true
    try {
      const { conversation: fresh } = await api(`/conversations/${conversation.id}`)
      upsertConversation(fresh)
    } catch {}
  }
  renderMembers()
}

export function renderMembers() {
  const conversation = state.currentId ? state.conversations.get(state.currentId) : null
  if (!conversation) return
  const project = currentProject()
  const canRemove = project ? project.owner_id === state.me?.id : false
  $('member-list').replaceChildren(
    ...(conversation.members ?? []).map((member) => {
      const person = state.people.get(member.id) ?? member
      const role =
        project && project.owner_id === member.id ? 'owner' : member.id === state.me?.id ? 'you' : ''
      return el(
        'li',
        { dataset: { userId: String(member.id) } },
        avatar(person),
        el(
          'span',
          { class: 'who' },
          el('span', {}, nameOf(person), role ? el('small', {}, ` (${role})`) : null),
          el('small', {}, person.online ? 'online' : lastSeen(person.last_seen_at)),
        ),
        canRemove && member.id !== state.me?.id
          ? el(
              'button',
              {
                type: 'button',
                class: 'small danger',
                'aria-label': `Remove ${nameOf(person)}`,
                onclick: () => removeMember(member.id),
              },
              'Remove',
            )
          : null,
      )
    }),
  )
}

/** The members' path of the open conversation: the project's, or the conversation's. */
function membersPath() {
  const project = currentProject()
  return project ? `/projects/${project.id}/members` : `/conversations/${state.currentId}/members`
}

/** @param {number} userId */
async function addMember(userId) {
  try {
    await api(membersPath(), { method: 'POST', body: { user_id: userId } })
    memberPicker?.clear()
    await refreshDetails()
    renderHeader()
  } catch (error) {
    toast(errorText(error))
  }
}

/** @param {number} userId */
async function removeMember(userId) {
  if (!window.confirm(`Remove ${personName(userId)}?`)) return
  try {
    await api(`${membersPath()}/${userId}`, { method: 'DELETE' })
    await refreshDetails()
    renderHeader()
  } catch (error) {
    toast(errorText(error))
  }
}

async function leave() {
  const conversationId = state.currentId
  if (!conversationId || !state.me) return
  const project = currentProject()
  if (!window.confirm(project ? 'Leave this project?' : 'Leave this group?')) return
  try {
    await api(`${membersPath()}/${state.me.id}`, { method: 'DELETE' })
    if (project) state.projects.delete(project.id)
    state.conversations.delete(conversationId)
    openDetails(false)
    closeConversation()
  } catch (error) {
    toast(errorText(error))
  }
}

async function deleteProject() {
  const project = currentProject()
  if (!project) return
  if (!window.confirm(`Delete the project ${project.name}, its conversation and its files?`)) return
  try {
    await api(`/projects/${project.id}`, { method: 'DELETE' })
    state.projects.delete(project.id)
    state.conversations.delete(project.conversation_id)
    openDetails(false)
    closeConversation()
  } catch (error) {
    toast(errorText(error))
  }
}

export function setupDetails() {
  $('details-btn').addEventListener('click', () => openDetails(!state.detailsOpen))
  $('details-close').addEventListener('click', () => openDetails(false))
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && state.detailsOpen && !(event.target instanceof HTMLTextAreaElement)) {
      openDetails(false)
    }
  })
  memberPicker = userPicker({
    input: inputById('add-member-search'),
    results: $('add-member-results'),
    // Only those not in yet.
    offers: (user) => {
      const conversation = state.currentId ? state.conversations.get(state.currentId) : null
      return !(conversation?.members ?? []).some((member) => member.id === user.id)
    },
    actions: (user) => [
      el(
        'button',
        {
          type: 'button',
          class: 'small primary',
          'aria-label': `Add ${nameOf(user)}`,
          onclick: () => addMember(user.id),
        },
        'Add',
      ),
    ],
  })
  $('add-member-form').addEventListener('submit', (event) => event.preventDefault())
  $('leave-btn').addEventListener('click', leave)
  $('delete-project-btn').addEventListener('click', deleteProject)
}
