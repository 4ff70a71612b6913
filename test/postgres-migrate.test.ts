import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { openDatabase } from '../src/db/index.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { createTestSchema, PG_URL, postgresSkipReason } from './helpers/postgres.js'
import { missingService } from './helpers/services.js'

// Several Parley databases may share one PostgreSQL database as schemas (the tests do; so may a
// host). Starting one must not fail because another schema is being dropped at that moment:
// Kysely's own introspector looked every schema up by name and failed on one just dropped.

const skip = missingService(await postgresSkipReason())

t.test('migrations start while other schemas come and go', { skip }, async (t) => {
  const churn = new pg.Client({ connectionString: PG_URL })
  await churn.connect()
  let churning = true
  const churned = (async () => {
    let count = 0
    while (churning) {
      const name = `churn_${randomBytes(5).toString('hex')}`
      await churn.query(`create schema "${name}"`)
      await churn.query(`create table "${name}".t (id int)`)
      await churn.query(`drop schema "${name}" cascade`)
      count++
    }
    return count
  })()
  const failures: string[] = []
  try {
    for (let round = 0; round < 15; round++) {
      await Promise.all(
        Array.from({ length: 3 }, async () => {
          const schema = await createTestSchema()
          try {
            const database = await openDatabase(schema.url)
            try {
              const applied = await migrateToLatest(database.db)
              if (applied.length === 0) failures.push(`${schema.schema}: nothing applied`)
              const again = await migrateToLatest(database.db)
              if (again.length !== 0) failures.push(`${schema.schema}: applied twice`)
            } finally {
              await database.close()
            }
          } catch (error) {
            failures.push(String(error))
          } finally {
            await schema.drop()
          }
        }),
      )
    }
  } finally {
    churning = false
    t.ok((await churned) > 0, 'other schemas were created and dropped meanwhile')
    await churn.end()
  }
  t.same(failures, [], 'every start migrated its own schema, once')
})
