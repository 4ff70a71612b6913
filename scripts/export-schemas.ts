import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kind, type TSchema } from '@sinclair/typebox'
import * as adminSchemas from '../src/admin/schemas.js'
import { asyncApiDocument } from '../src/api-docs/asyncapi.js'
import { selfContained } from '../src/api-docs/json-schema.js'
import * as authSchemas from '../src/auth/schemas.js'
import * as commonSchemas from '../src/common-schemas.js'
import * as conversationSchemas from '../src/conversations/schemas.js'
import * as emailSchemas from '../src/email/schemas.js'
import * as projectSchemas from '../src/projects/schemas.js'
import * as pushSchemas from '../src/push/schemas.js'
import { ClientFrames, ServerFrames } from '../src/realtime/schemas.js'
import * as searchSchemas from '../src/search/schemas.js'
import * as userSchemas from '../src/users/schemas.js'

// The TypeBox schemas of the HTTP bodies, the contract's objects and every WebSocket frame,
// as JSON Schema files under schemas/, for clients in any language, and the AsyncAPI document
// of the WebSocket protocol (schemas/asyncapi.json). `npm run schemas` writes
// them; test/schemas.test.ts fails when they are stale.

export const SCHEMAS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas')

const isSchema = (value: unknown): value is TSchema =>
  typeof value === 'object' && value !== null && Kind in (value as object)

/** JSON text of the schema on its own (shared schemas under `$defs`), key order as written. */
const render = (schema: TSchema): string => `${JSON.stringify(selfContained(schema), null, 2)}\n`

/** Every schema file, by path under schemas/. */
export function renderSchemas(): Map<string, string> {
  const files = new Map<string, string>()
  for (const [type, schema] of Object.entries(ClientFrames))
    files.set(`ws/client/${type}.json`, render(schema))
  for (const [type, schema] of Object.entries(ServerFrames))
    files.set(`ws/server/${type}.json`, render(schema))
  const modules: Record<string, Record<string, unknown>> = {
    common: commonSchemas,
    auth: authSchemas,
    admin: adminSchemas,
    users: userSchemas,
    conversations: conversationSchemas,
    projects: projectSchemas,
    search: searchSchemas,
    push: pushSchemas,
    email: emailSchemas,
  }
  for (const [area, module] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(module)) {
      if (isSchema(value)) files.set(`http/${area}/${name}.json`, render(value))
    }
  }
  files.set('asyncapi.json', `${JSON.stringify(asyncApiDocument(), null, 2)}\n`)
  return files
}

function listFiles(dir: string, prefix = ''): string[] {
  let entries: import('node:fs').Dirent[]
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return []
  }
  return entries.flatMap((entry) =>
    entry.isDirectory()
      ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  )
}

export function existingSchemaFiles(): string[] {
  return listFiles(SCHEMAS_DIR).filter((file) => file.endsWith('.json'))
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = renderSchemas()
  for (const stale of existingSchemaFiles()) if (!files.has(stale)) rmSync(join(SCHEMAS_DIR, stale))
  for (const [file, text] of files) {
    mkdirSync(dirname(join(SCHEMAS_DIR, file)), { recursive: true })
    writeFileSync(join(SCHEMAS_DIR, file), text)
  }
  console.log(`wrote ${files.size} schema files to schemas/`)
}
