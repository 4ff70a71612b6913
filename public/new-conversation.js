// @ts-check
// Starting a conversation from the sidebar's search: "Message" opens a direct conversation,
// "+ Group" gathers people for a new group.
import { api } from '/client/parley-client.js'
import { openConversation } from './conversation-view.js'
import { $, el, errorText, inputById, toast } from './dom.js'
import { nameOf, personName } from './people.js'
import { renderConversationList } from './sidebar.js'
import { state, upsertConversation } from './state.js'
import { userPicker } from './user-picker.js'

/** @typedef {import('./state.js').Conversation} Conversation */

/** @type {ReturnType<typeof userPicker> | null} */
let picker = null

/**
 * Creates a conversation (a direct one that exists already comes back as it is) and lists it.
 * @param {{member_ids: number[], title?: string}} body
 */
async function createConversation(body) {
  /** @type {{conversation: Conversation}} */
  const { conversation } = await api('/conversations', { method: 'POST', body })
  picker?.clear()
  upsertConversation(conversation)
  renderConversationList()
  return conversation
}

/** @param {number} userId */
export async function startDirect(userId) {
  try {
    const conversation = await createConversation({ member_ids: [userId] })
    await openConversation(conversation.id)
  } catch (error) {
    toast(errorText(error))
  }
}

/** @param {number} userId */
function pickForGroup(userId) {
  if (!state.groupPick.includes(userId)) state.groupPick.push(userId)
  renderGroupBuilder()
  picker?.focus()
}

function renderGroupBuilder() {
  $('group-builder').hidden = state.groupPick.length === 0
  $('group-chips').replaceChildren(
    ...state.groupPick.map((id) =>
      el(
        'li',
        {},
        personName(id),
        el(
          'button',
          {
            type: 'button',
            'aria-label': `Remove ${personName(id)}`,
            onclick: () => {
              state.groupPick = state.groupPick.filter((other) => other !== id)
              renderGroupBuilder()
            },
          },
          '×',
        ),
      ),
    ),
  )
}

async function createGroup() {
  const title = inputById('group-title').value.trim()
  /** @type {{member_ids: number[], title?: string}} */
  const body = { member_ids: state.groupPick, ...(title ? { title } : {}) }
  if (state.groupPick.length === 1 && !title) {
    body.title = `${nameOf(state.me)}, ${personName(state.groupPick[0])}`
  }
  try {
    const conversation = await createConversation(body)
    state.groupPick = []
    inputById('group-title').value = ''
    renderGroupBuilder()
    await openConversation(conversation.id)
  } catch (error) {
    toast(errorText(error))
  }
}

export function setupNewConversation() {
  picker = userPicker({
    input: inputById('people-search'),
    results: $('people-results'),
    actions: (user) => [
      el(
        'button',
        {
          type: 'button',
          class: 'small primary',
          'aria-label': `Message ${nameOf(user)}`,
          onclick: () => startDirect(user.id),
        },
        'Message',
      ),
      el(
        'button',
        {
          type: 'button',
          class: 'small',
          'aria-label': `Add ${nameOf(user)} to a new group`,
          onclick: () => pickForGroup(user.id),
        },
        '+ Group',
      ),
    ],
  })
  $('group-form').addEventListener('submit', (event) => {
    event.preventDefault()
    createGroup()
  })
  $('group-cancel').addEventListener('click', () => {
    state.groupPick = []
    renderGroupBuilder()
  })
}
