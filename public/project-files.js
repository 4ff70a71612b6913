// @ts-check
// A project's files in the details panel: the list, and deleting one (mine, or any if I own it).
import { api } from '/client/parley-client.js'
import { currentProject } from './details.js'
import { $, el, errorText, toast } from './dom.js'
import { formatSize, shortTime } from './format.js'
import { personName } from './people.js'
import { state } from './state.js'

/** @typedef {import('./state.js').FileInfo} FileInfo */

export async function refreshFiles() {
  const project = currentProject()
  if (!project) return
  try {
    /** @type {{files: FileInfo[]}} */
    const { files } = await api(`/projects/${project.id}/files`)
    const canDeleteAll = project.owner_id === state.me?.id
    $('file-list').replaceChildren(
      ...files.map((file) =>
        el(
          'li',
          { dataset: { fileId: String(file.id) } },
          el(
            'span',
            { class: 'file-info' },
            el('a', { href: `/files/${Number(file.id)}`, download: file.name }, file.name),
            el(
              'small',
              {},
              `${formatSize(file.size)} · ${personName(file.uploaded_by)} · ${shortTime(file.created_at)}`,
            ),
          ),
          canDeleteAll || file.uploaded_by === state.me?.id
            ? el(
                'button',
                {
                  type: 'button',
                  class: 'small danger',
                  'aria-label': `Delete ${file.name}`,
                  onclick: () => deleteFile(project.id, file),
                },
                'Delete',
              )
            : null,
        ),
      ),
    )
    $('file-empty').hidden = files.length > 0
  } catch (error) {
    toast(errorText(error))
  }
}

/** @param {number} projectId @param {FileInfo} file */
async function deleteFile(projectId, file) {
  if (!window.confirm(`Delete ${file.name}?`)) return
  try {
    await api(`/projects/${projectId}/files/${file.id}`, { method: 'DELETE' })
    refreshFiles()
  } catch (error) {
    toast(errorText(error))
  }
}
