import { type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, PostgresAdapter } from 'kysely'

// The little SQL that differs between SQLite and PostgreSQL in migrations lives here.

export function isPostgres(db: Pick<Kysely<unknown>, 'getExecutor'>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter
}

/** An integer primary key that the database assigns. */
export function withId<T extends string>(db: Kysely<unknown>, table: CreateTableBuilder<T, never>) {
  return isPostgres(db)
    ? table.addColumn('id', 'bigserial', (col) => col.primaryKey())
    : table.addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement())
}

/** A reference column that goes away with its parent row. */
export function cascade(table: string) {
  return (col: ColumnDefinitionBuilder) => col.notNull().references(`${table}.id`).onDelete('cascade')
}
