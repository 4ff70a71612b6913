import t from 'tap'
import { postgresSkipReason } from './helpers/postgres.js'
import { missingService } from './helpers/services.js'

// `npm test` covers PostgreSQL too, without running everything twice: a representative set
// (accounts and sessions, conversations and messages, the WebSocket protocol) runs here again
// with every test app on a fresh PostgreSQL schema. `npm run test:postgres` runs all of it.

const skip = missingService(await postgresSkipReason())
if (skip) {
  t.test('auth, conversations and the WebSocket protocol on PostgreSQL', { skip }, () => {})
} else {
  process.env.PARLEY_TEST_DB = 'postgres'
  t.comment('auth, conversations and the WebSocket protocol, on PostgreSQL')
  await import('./auth.test.js')
  await import('./conversations.test.js')
  await import('./ws.test.js')
}
