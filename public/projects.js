// @ts-check
// The sidebar's projects: the list, opening one (its conversation with the details open), and
// the form that creates one.
import { ApiError, api } from '/client/parley-client.js'
import { openConversation } from './conversation-view.js'
import { openDetails } from './details.js'
import { $, el, errorText, inputById, toast } from './dom.js'
import { initials } from './people.js'
import { fetchConversation } from './sidebar.js'
import { state } from './state.js'

/** @typedef {import('./state.js').Project} Project */

export async function loadProjects() {
  try {
    /** @type {{projects: Project[]}} */
    const { projects } = await api('/projects')
    state.projects.clear()
    for (const project of projects) state.projects.set(project.id, project)
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error
  }
  renderProjectList()
}

/** @param {Project} project */
function projectItem(project) {
  const conversation = state.conversations.get(project.conversation_id)
  const unread = conversation && conversation.id !== state.currentId ? (conversation.unread_count ?? 0) : 0
  return el(
    'li',
    {},
    el(
      'button',
      {
        type: 'button',
        class: `conv-item ${project.conversation_id === state.currentId ? 'active' : ''}`,
        dataset: { projectId: String(project.id) },
        onclick: () => openProject(project.id),
      },
      el('span', { class: 'avatar project', 'aria-hidden': 'true' }, initials(project.name)),
      el(
        'span',
        { class: 'conv-main' },
        el('span', { class: 'conv-top' }, el('span', { class: 'conv-name' }, project.name)),
        el(
          'span',
          { class: 'conv-bottom' },
          el('span', { class: 'conv-preview' }, project.description || 'Project'),
          unread ? el('span', { class: 'badge' }, unread) : null,
        ),
      ),
    ),
  )
}

export function renderProjectList() {
  const items = [...state.projects.values()].sort((a, b) => a.name.localeCompare(b.name)).map(projectItem)
  $('project-list').replaceChildren(...items)
  $('project-empty').hidden = items.length > 0
}

/** @param {number} projectId */
async function openProject(projectId) {
  const project = state.projects.get(projectId)
  if (!project) return
  if (!state.conversations.has(project.conversation_id)) {
    try {
      await fetchConversation(project.conversation_id)
    } catch (error) {
      toast(errorText(error))
      return
    }
  }
  await openConversation(project.conversation_id)
  openDetails(true)
}

/** @param {HTMLFormElement} form */
async function createProject(form) {
  const name = inputById('project-name').value.trim()
  const description = inputById('project-description').value.trim()
  const error = /** @type {HTMLElement} */ (form.querySelector('.form-error'))
  error.textContent = ''
  if (!name) {
    error.textContent = 'A project needs a name.'
    return
  }
  try {
    /** @type {{project: Project}} */
    const { project } = await api('/projects', {
      method: 'POST',
      body: { name, ...(description ? { description } : {}) },
    })
    state.projects.set(project.id, project)
    form.reset()
    form.hidden = true
    renderProjectList()
    await openProject(project.id)
  } catch (caught) {
    error.textContent = errorText(caught)
  }
}

export function setupProjects() {
  const form = /** @type {HTMLFormElement} */ ($('new-project-form'))
  $('new-project-btn').addEventListener('click', () => {
    form.hidden = !form.hidden
    $('new-project-btn').setAttribute('aria-expanded', String(!form.hidden))
    if (!form.hidden) $('project-name').focus()
  })
  $('new-project-cancel').addEventListener('click', () => {
    form.hidden = true
    form.reset()
  })
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    createProject(form)
  })
}
