import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import { type DatabaseHandle, openDatabase } from './index.js'
import { migrateToLatest } from './migrate.js'
import type { Database } from './types.js'
import { WriteBatcher } from './write-batch.js'

// The `db` plugin: the database, migrated to the latest schema, and the group commit of the hot
// writes. Closed last of all (every other plugin depends on it, and Fastify closes plugins in the
// reverse order they were registered).

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
    database: DatabaseHandle
    /** Group commit for the hot writes (messages). */
    writes: WriteBatcher
  }
}

async function database(app: FastifyInstance, options: { databaseUrl: string }): Promise<void> {
  const handle = await openDatabase(options.databaseUrl)
  try {
    await migrateToLatest(handle.db)
  } catch (error) {
    await handle.close()
    throw error
  }
  const writes = new WriteBatcher(handle.db)
  app.decorate('database', handle)
  app.decorate('db', handle.db)
  app.decorate('writes', writes)
  app.addHook('onClose', async () => {
    await writes.drain()
    await handle.close()
  })
}

export const databasePlugin = fp(database, { name: 'db' })
