import type { TSchema } from '@sinclair/typebox'
import { ErrorResponse, User } from '../common-schemas.js'
import { Conversation, FileObject, Message } from '../conversations/schemas.js'

// The schemas with an `$id` that others point at with `$ref: "User"` and the like. Fastify knows
// them through app.addSchema; a JSON Schema file on its own does not, so files and documents
// carry them in `$defs` and point at them locally (see selfContained).

/** Every shared schema, as registered with app.addSchema and named in the API documents. */
export const SHARED_SCHEMAS: readonly TSchema[] = [ErrorResponse, User, FileObject, Message, Conversation]

export type JsonSchema = { [key: string]: unknown }

const byId = new Map(SHARED_SCHEMAS.map((schema) => [schema.$id as string, schema]))

/** Plain JSON: TypeBox's symbols dropped. */
const plain = (schema: unknown): JsonSchema => JSON.parse(JSON.stringify(schema))

/**
 * Rewrites a schema so that it names each shared schema instead of holding or referring to it
 * by `$id`: an inline shared schema and a `$ref: "User"` both become a reference made by
 * `toRef(id)`. `found` receives each shared schema met, once, to be defined by the caller.
 */
export function referToShared(
  schema: unknown,
  toRef: (id: string) => string,
  found: (id: string) => void,
  root = true,
): unknown {
  if (Array.isArray(schema)) return schema.map((item) => referToShared(item, toRef, found, false))
  if (typeof schema !== 'object' || schema === null) return schema
  const node = schema as JsonSchema
  const id = typeof node.$id === 'string' ? node.$id : undefined
  if (!root && id && byId.has(id)) {
    found(id)
    return { $ref: toRef(id) }
  }
  if (typeof node.$ref === 'string' && byId.has(node.$ref)) {
    found(node.$ref)
    return { ...node, $ref: toRef(node.$ref) }
  }
  const out: JsonSchema = {}
  for (const [key, value] of Object.entries(node)) {
    out[key] = referToShared(value, toRef, found, false)
  }
  return out
}

/**
 * The schema as a document of its own: the shared schemas it uses, directly or through each
 * other, under `$defs`, referred to as `#/$defs/<id>`. Compiles alone in any JSON Schema
 * validator that resolves local pointers.
 */
export function selfContained(schema: TSchema): JsonSchema {
  const pending: string[] = []
  const seen = new Set<string>()
  const rootId = typeof schema.$id === 'string' ? schema.$id : undefined
  // A shared schema's own file refers to itself by its root, not through $defs.
  const toRef = (id: string) => (id === rootId ? '#' : `#/$defs/${id}`)
  const found = (id: string) => {
    if (!seen.has(id)) {
      seen.add(id)
      pending.push(id)
    }
  }
  if (rootId) seen.add(rootId)
  const out = referToShared(plain(schema), toRef, found) as JsonSchema
  const defs: JsonSchema = {}
  for (let id = pending.shift(); id !== undefined; id = pending.shift()) {
    const { $id: _, ...body } = referToShared(plain(byId.get(id)), toRef, found) as JsonSchema
    defs[id] = body
  }
  if (Object.keys(defs).length === 0) return out
  return { ...out, $defs: Object.fromEntries(Object.entries(defs).sort(([a], [b]) => a.localeCompare(b))) }
}
