// @ts-check
// Uploads with a progress bar: from the paperclip, the project's upload button, a drop on the
// conversation, or a paste into the composer (composer.js). In a project's conversation a file
// goes to the project's files (the server announces it there), else it becomes a message.
import { currentProject } from './details.js'
import { $, el, inputById } from './dom.js'
import { formatSize } from './format.js'
import { refreshFiles } from './project-files.js'
import { client, state } from './state.js'
import { maxUploadBytes } from './upload-limit.js'

/**
 * @param {File} file
 * @returns {Promise<void>}
 */
export async function uploadFile(file) {
  if (!state.currentId) return
  const project = currentProject()
  const url = project ? `/projects/${project.id}/files` : `/conversations/${state.currentId}/files`
  const bar = el('progress', { max: '100', value: '0' })
  const label = el('span', { class: 'upload-label' }, `Uploading ${file.name}…`)
  const item = el('li', {}, label, bar)
  $('uploads').append(item)
  const limit = await maxUploadBytes()
  if (limit !== null && file.size > limit) {
    const sizes = `(${formatSize(file.size)}); files may be up to ${formatSize(limit)}.`
    return failUpload(item, label, bar, `${file.name} is too large ${sizes}`)
  }
  const xhr = new XMLHttpRequest()
  xhr.open('POST', url)
  xhr.setRequestHeader('accept', 'application/json')
  xhr.upload.addEventListener('progress', (event) => {
    if (!event.lengthComputable) return
    const percent = Math.round((event.loaded / event.total) * 100)
    bar.value = percent
    label.textContent = `Uploading ${file.name}… ${percent}%`
  })
  xhr.addEventListener('load', () => {
    if (xhr.status >= 200 && xhr.status < 300) {
      bar.value = 100
      label.textContent = `Uploaded ${file.name}`
      window.setTimeout(() => item.remove(), 1500)
      if (project) refreshFiles()
      try {
        const body = JSON.parse(xhr.responseText)
        if (body.message) client?.apply(body.message)
      } catch {}
    } else {
      let message = `HTTP ${xhr.status}`
      try {
        message = JSON.parse(xhr.responseText).message ?? message
      } catch {}
      if (xhr.status === 413) message = 'The file is too large.'
      failUpload(item, label, bar, `${file.name}: ${message}`)
    }
  })
  xhr.addEventListener('error', () => failUpload(item, label, bar, `${file.name}: the upload failed`))
  const form = new FormData()
  form.append('file', file, file.name)
  xhr.send(form)
}

/**
 * @param {HTMLElement} item @param {HTMLElement} label @param {HTMLElement} bar @param {string} text
 */
function failUpload(item, label, bar, text) {
  bar.remove()
  label.textContent = text
  label.classList.add('failed')
  item.append(el('button', { type: 'button', class: 'small ghost', onclick: () => item.remove() }, 'Dismiss'))
}

/** @param {boolean} shown */
function showDropTarget(shown) {
  $('drop-overlay').hidden = !shown
  $('dropzone').classList.toggle('over', shown)
}

/** Drag and drop anywhere on the conversation (and on the project's drop zone). */
function setupDrop() {
  const chat = $('chat')
  let dragDepth = 0
  /** @param {DragEvent} event */
  const carriesFiles = (event) => Boolean(state.currentId && event.dataTransfer?.types.includes('Files'))
  chat.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event)) return
    event.preventDefault()
    dragDepth += 1
    showDropTarget(true)
  })
  chat.addEventListener('dragover', (event) => {
    if (!carriesFiles(event) || !event.dataTransfer) return
    event.preventDefault()
    event.dataTransfer.dropEffect = 'copy'
  })
  chat.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1)
    if (dragDepth === 0) showDropTarget(false)
  })
  chat.addEventListener('drop', (event) => {
    if (!state.currentId || !event.dataTransfer) return
    event.preventDefault()
    dragDepth = 0
    showDropTarget(false)
    for (const file of event.dataTransfer.files) uploadFile(file)
  })
}

export function setupUploads() {
  const fileInput = inputById('file-input')
  $('attach-btn').addEventListener('click', () => fileInput.click())
  $('project-upload-btn').addEventListener('click', () => fileInput.click())
  fileInput.addEventListener('change', () => {
    for (const file of fileInput.files ?? []) uploadFile(file)
    fileInput.value = ''
  })
  setupDrop()
}
