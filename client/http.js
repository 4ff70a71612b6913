// @ts-check
// The HTTP side of the client: one function for every call to the JSON API.
import { ApiError } from './errors.js'

/**
 * @typedef {object} ApiOptions
 * @property {string} [method] GET by default
 * @property {any} [body] sent as JSON, or as it is when a FormData
 * @property {string} [baseUrl] by default the page's origin
 * @property {string | null} [token] sent as a Bearer token; without it a browser sends its session cookie
 * @property {typeof fetch} [fetch] `globalThis.fetch` by default
 * @property {Record<string, string>} [headers]
 */

/**
 * Calls the HTTP API: JSON in and out, the session cookie included (same origin), or a Bearer token.
 * Returns the parsed body (null for 204); throws ApiError for an error status.
 * @param {string} path
 * @param {ApiOptions} [options]
 * @returns {Promise<any>}
 */
export async function api(path, options = {}) {
  const fetchImpl = options.fetch ?? globalThis.fetch
  if (!fetchImpl) throw new Error('parley api(): no fetch available')
  const base = options.baseUrl ?? (globalThis.location ? globalThis.location.origin : undefined)
  const url = base ? new URL(path, base).toString() : path
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', ...(options.headers ?? {}) }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  /** @type {RequestInit} */
  const init = { method: options.method ?? 'GET', headers, credentials: 'same-origin' }
  if (options.body !== undefined) {
    if (typeof FormData !== 'undefined' && options.body instanceof FormData) {
      init.body = options.body
    } else {
      headers['content-type'] = 'application/json'
      init.body = JSON.stringify(options.body)
    }
  }
  const response = await fetchImpl(url, init)
  const text = response.status === 204 ? '' : await response.text()
  let data = null
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = { message: text }
    }
  }
  if (!response.ok) throw new ApiError(response.status, data)
  return data
}

/** 128 random bits as hex; works in browsers on plain http too (getRandomValues needs no secure context). */
export function randomId() {
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
