import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely'
import { migrations } from '../../migrations/index.js'
import { isPostgres } from './schema-helpers.js'

/** The static index in `migrations/index.ts`: no directory listing or dynamic import at start. */
class StaticProvider implements MigrationProvider {
  constructor(private readonly index: Readonly<Record<string, Migration>>) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return { ...this.index }
  }
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against any schema
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  // On PostgreSQL the bookkeeping tables live in the schema the app uses: Kysely would otherwise
  // take a `kysely_migration` table in any other schema of the database for ours.
  const migrationTableSchema = isPostgres(db)
    ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
    : undefined
  const migrator = new Migrator({ db, provider: new StaticProvider(migrations), migrationTableSchema })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
