import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv } from 'ajv'
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

/** The JSON Schema files (schemas/asyncapi.json is a document, tested in api-docs.test.ts). */
const schemaFiles = () => existingSchemaFiles().filter((file) => file !== 'asyncapi.json')

t.test('every file under schemas/ compiles on its own, in a fresh Ajv', async (t) => {
  const files = schemaFiles()
  t.ok(files.length > 50, `${files.length} schema files`)
  for (const file of files) {
    const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8'))
    let problem = ''
    try {
      new Ajv().compile(schema)
    } catch (error) {
      problem = (error as Error).message
    }
    t.equal(problem, '', `${file} compiles alone`)
  }
})

t.test('the shared schemas a file uses are in its $defs, and they still check', async (t) => {
  const load = (file: string) => JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8'))
  const ack = load('ws/server/ack.json')
  t.same(Object.keys(ack.$defs).sort(), ['File', 'Message'])
  t.equal(ack.properties.message.$ref, '#/$defs/Message')
  const validate = new Ajv().compile(ack)
  const file = { id: 1, name: 'a.txt', size: 1, content_type: 'text/plain', sha256: 'x' }
  const message = {
    id: 1,
    conversation_id: 1,
    sender_id: 1,
    content: 'hi',
    client_id: null,
    attachments: [
      {
        ...file,
        uploaded_by: 1,
        project_id: null,
        conversation_id: 1,
        created_at: 'now',
        width: null,
        height: null,
        thumbnail_url: null,
      },
    ],
    created_at: 'now',
    edited_at: null,
    deleted: false,
    mentions: [],
  }
  t.ok(validate({ type: 'ack', message }), 'a whole message passes')
  t.notOk(validate({ type: 'ack', message: { ...message, attachments: [file] } }), 'a partial file fails')
  const conversation = load('http/conversations/Conversation.json')
  t.same(Object.keys(conversation.$defs).sort(), ['File', 'Message', 'User'], 'found through Message too')
  t.equal(load('http/common/User.json').$defs, undefined, 'a shared schema does not define itself')
})
