import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { existingSchemaFiles, renderSchemas, SCHEMAS_DIR } from '../scripts/export-schemas.js'

t.test(
  'schemas/ holds exactly the current JSON Schemas (run `npm run schemas` when this fails)',
  async (t) => {
    const expected = renderSchemas()
    t.same(existingSchemaFiles().sort(), [...expected.keys()].sort(), 'the same files')
    for (const [file, text] of expected) {
      let onDisk = ''
      try {
        onDisk = readFileSync(join(SCHEMAS_DIR, file), 'utf8')
      } catch {}
      t.equal(onDisk, text, `${file} is current`)
    }
  },
)

t.test('every WebSocket frame of the contract has a schema file', async (t) => {
  const files = renderSchemas()
  for (const type of ['join', 'leave', 'send_message', 'typing', 'mark_read', 'get_presence', 'ping']) {
    t.ok(files.has(`ws/client/${type}.json`), `client ${type}`)
  }
  const server = ['ready', 'recent_messages', 'ack', 'message', 'status', 'typing', 'read', 'presence']
  server.push('presence_list', 'message_updated', 'message_deleted', 'conversation', 'error', 'pong')
  for (const type of server) t.ok(files.has(`ws/server/${type}.json`), `server ${type}`)
  const join = JSON.parse(files.get('ws/client/join.json') ?? '{}')
  t.same(join.required.sort(), ['conversation_id', 'type'])
  t.equal(join.additionalProperties, false)
})
