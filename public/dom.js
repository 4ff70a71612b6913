// @ts-check
// Small helpers for the page's DOM. Every piece of user data (names, messages, file names) goes
// into the page as text (textContent / text nodes), never as HTML.
import { ApiError } from '/client/parley-client.js'

/** @param {string} id */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))
/** @param {string} id */
export const inputById = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id))

/**
 * Creates an element. Strings among `children` become text nodes; props never take HTML.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [props] attributes; `class`, `text`, `dataset` and `on<event>` handlers
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue
    if (key === 'class') node.className = String(value)
    else if (key === 'text') node.textContent = String(value)
    else if (key === 'dataset') Object.assign(node.dataset, value)
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), /** @type {EventListener} */ (value))
    } else if (value === true) node.setAttribute(key, '')
    else node.setAttribute(key, String(value))
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    node.append(child instanceof Node ? child : String(child))
  }
  return node
}

let toastTimer = 0
/** @param {string} text */
export function toast(text) {
  const box = $('toast')
  box.textContent = text
  box.hidden = false
  clearTimeout(toastTimer)
  toastTimer = window.setTimeout(() => {
    box.hidden = true
  }, 5000)
}

/** @param {unknown} error */
export function errorText(error) {
  if (error instanceof ApiError) return error.message
  if (error instanceof Error) return error.message
  return String(error)
}

/**
 * @template {unknown[]} A
 * @param {(...args: A) => void} fn
 * @param {number} ms
 * @returns {(...args: A) => void}
 */
export function debounce(fn, ms) {
  let timer = 0
  return (...args) => {
    clearTimeout(timer)
    timer = window.setTimeout(() => fn(...args), ms)
  }
}
