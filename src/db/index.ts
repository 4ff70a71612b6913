import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely'
import type pg from 'pg'
import { CurrentSchemaPostgresDialect } from './schema-introspector.js'
import type { Database } from './types.js'

export type Dialect = 'sqlite' | 'postgres'

export interface DatabaseHandle {
  db: Kysely<Database>
  dialect: Dialect
  /** The raw better-sqlite3 connection, for the few hot paths that skip the query builder. */
  sqlite?: SqliteDatabase.Database
  /** The SQLite file, for a second connection from a worker thread; undefined in memory. */
  sqlitePath?: string
  close(): Promise<void>
}

export async function openDatabase(url: string): Promise<DatabaseHandle> {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length))
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url)
  throw new Error(`Unsupported DATABASE_URL: ${url.split(':')[0]}`)
}

/** Prepared statements kept per SQL text; the least recently used go first. */
const STATEMENT_CACHE_SIZE = 500

/**
 * Kysely's SQLite driver prepares every query anew, and preparing costs more than running a small
 * query. The same SQL text gets the same prepared statement here. Safe because better-sqlite3 runs
 * a statement to completion synchronously (Kysely's `all`/`run`; nothing here streams with `iterate`).
 */
function withStatementCache(sqlite: SqliteDatabase.Database) {
  const statements = new Map<string, SqliteDatabase.Statement>()
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SqliteDatabase.Statement {
      let statement = statements.get(sql)
      if (statement) {
        statements.delete(sql)
      } else {
        statement = sqlite.prepare(sql)
        if (statements.size >= STATEMENT_CACHE_SIZE)
          statements.delete(statements.keys().next().value as string)
      }
      statements.set(sql, statement)
      return statement
    },
  }
}

/** How long a write waits for another connection's write lock before SQLITE_BUSY (503). */
export const SQLITE_BUSY_TIMEOUT_MS = 5000

/**
 * Transactions begin IMMEDIATE: they take the write lock first. The message writer thread has its
 * own connection, and a deferred transaction that read before that thread committed could not
 * write afterwards (SQLITE_BUSY_SNAPSHOT); an immediate one waits for the lock instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings)
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings)
  }
}

function openSqlite(path: string): DatabaseHandle {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const sqlite = new SqliteDatabase(path)
  // WAL lets readers run beside the writer; synchronous=FULL makes an acked write durable.
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`)
  const db = new Kysely<Database>({
    dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }),
  })
  return {
    db,
    dialect: 'sqlite',
    sqlite,
    sqlitePath: path === ':memory:' ? undefined : path,
    async close() {
      await db.destroy()
    },
  }
}

// pg returns int8 (bigint, bigserial, count(*)) as strings by default, to be safe beyond 2^53.
// Our ids and counters stay far below that, and the rest of the code expects numbers as SQLite
// gives them: this parser set applies to our pool only, never to pg's global defaults.
const INT8_OID = 20
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value)
    // biome-ignore lint/suspicious/noExplicitAny: pg's overloads do not accept a union format
    return loadPg().types.getTypeParser(oid, format as any)
  },
}

// pg is loaded on first use: a server on SQLite does not carry it in memory. It is CommonJS, so a
// synchronous require gives the same module an `import` would.
const require = createRequire(import.meta.url)
let pgModule: typeof pg | undefined
const loadPg = (): typeof pg => {
  pgModule ??= require('pg') as typeof pg
  return pgModule
}

/** The pool under each PostgreSQL Kysely instance, for the few statements run by name (prepared). */
const pools = new WeakMap<Kysely<Database>, pg.Pool>()

/** The pg Pool `db` runs on; undefined on SQLite. */
export function postgresPoolOf(db: Kysely<Database>): pg.Pool | undefined {
  return pools.get(db)
}

const WARM_CONNECTIONS = 4
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * PostgreSQL through a pool. Two parameters of ours may ride on the URL and are removed before
 * pg sees it: `schema=<name>` (created if missing and put first on the search_path, so several
 * deployments or test runs can share one database) and `pool_max=<n>` (default 20).
 */
export function postgresPoolConfig(url: string): { config: pg.PoolConfig; schema: string | undefined } {
  const parsed = new URL(url)
  const schema = parsed.searchParams.get('schema') ?? undefined
  const poolMax = Number(parsed.searchParams.get('pool_max') ?? 20)
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`DATABASE_URL: schema must match ${SCHEMA_NAME} (got ${JSON.stringify(schema)})`)
  }
  if (!Number.isInteger(poolMax) || poolMax < 1) {
    throw new Error('DATABASE_URL: pool_max must be a positive integer')
  }
  // pg lets the connection string's own parameters win over the config object, so `options`
  // (server settings such as `-c statement_timeout=5000`) is merged here and taken off the string.
  const options = [parsed.searchParams.get('options'), schema && `-c search_path=${schema}`].filter(Boolean)
  for (const name of ['schema', 'pool_max', 'options']) parsed.searchParams.delete(name)
  return {
    schema,
    config: {
      connectionString: parsed.toString(),
      max: poolMax,
      // A few connections stay open (opening one costs a backend process start): the first
      // burst after a quiet spell does not wait for new ones.
      min: Math.min(WARM_CONNECTIONS, poolMax),
      types: pgTypes,
      ...(options.length > 0 ? { options: options.join(' ') } : {}),
    },
  }
}

async function openPostgres(url: string): Promise<DatabaseHandle> {
  const { config, schema } = postgresPoolConfig(url)
  const pool = new (loadPg().Pool)(config)
  // An idle client that loses its server (restart, failover) emits here; without a listener
  // the process would crash. The pool replaces it on the next checkout.
  pool.on('error', () => {})
  try {
    if (schema) await pool.query(`create schema if not exists "${schema}"`)
    // Opens the warm connections now rather than on the first requests.
    const warm = await Promise.all(Array.from({ length: config.min ?? 1 }, () => pool.connect()))
    for (const client of warm) client.release()
  } catch (error) {
    await pool.end().catch(() => {})
    throw error
  }
  const db = new Kysely<Database>({ dialect: new CurrentSchemaPostgresDialect({ pool }) })
  pools.set(db, pool)
  return {
    db,
    dialect: 'postgres',
    async close() {
      await db.destroy()
    },
  }
}

/** A transient conflict between concurrent transactions: the work can run again as it is. */
export function isRetryableConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  // 40P01 deadlock_detected, 40001 serialization_failure (PostgreSQL).
  return code === '40P01' || code === '40001'
}

/** The error a unique index raises, in either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE') return true
  return /UNIQUE constraint failed|duplicate key value/i.test(String((error as Error | null)?.message))
}
