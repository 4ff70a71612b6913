import { randomBytes } from 'node:crypto'
import pg from 'pg'

// PostgreSQL for tests: one fresh schema per test app, dropped at teardown, so runs (and the
// test files that tap runs in parallel) never see each other's rows.

/** The server the PostgreSQL tests use; PARLEY_TEST_PG_URL overrides it. */
export const PG_URL = process.env.PARLEY_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test'
/** The Redis the cluster tests use; PARLEY_TEST_REDIS_URL overrides it. */
export const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL || 'redis://127.0.0.1:6379'

/** Whether the suite runs on PostgreSQL (`PARLEY_TEST_DB=postgres`, as `npm run test:postgres` sets). */
export const usePostgres = (): boolean => /^(postgres|postgresql|pg)$/i.test(process.env.PARLEY_TEST_DB ?? '')

const hostOf = (url: string) => {
  const parsed = new URL(url)
  return `${parsed.hostname}:${parsed.port || 5432}`
}

/** undefined when PostgreSQL answers; otherwise why the tests that need it are skipped. */
export async function postgresSkipReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('select 1')
    return undefined
  } catch {
    return `PostgreSQL not reachable at ${hostOf(PG_URL)}`
  } finally {
    await client.end().catch(() => {})
  }
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 })
  client.on('error', () => {})
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end().catch(() => {})
  }
}

/** A new empty schema; its DATABASE_URL, and a function that drops it. */
export async function createTestSchema(): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`
  await admin((client) => client.query(`create schema "${schema}"`))
  const url = new URL(PG_URL)
  url.searchParams.set('schema', schema)
  url.searchParams.set('pool_max', '8')
  // Test data need not survive a power cut: commits return without waiting for the WAL fsync,
  // which keeps a loaded CI machine's commit times closer to SQLite's. Visibility is the same.
  url.searchParams.set('options', '-c synchronous_commit=off')
  return {
    url: url.toString(),
    schema,
    drop: () => admin((client) => client.query(`drop schema if exists "${schema}" cascade`)).then(() => {}),
  }
}
