import type { Kysely, OperationNode, RootOperationNode } from 'kysely'

// Races that need an await to land at one exact point ("a removal between the check and the
// add", "a reconnect while last_seen_at is being written") are made deterministic by holding
// one real query's result on the real database until the test has done its part.

/** One held query. */
export interface HeldQuery {
  /** Resolves once the query has run on the database and its result is being held. */
  reached: Promise<void>
  /** Lets the result through to the code that awaits it. */
  release(): void
  /** Makes the awaiting code see this error instead of the result. */
  fail(error: Error): void
}

/** The table a query reads from or writes to first (`users` in `update users ...`). */
export function tableOf(node: RootOperationNode): string | undefined {
  const target = (
    node.kind === 'UpdateQueryNode'
      ? node.table
      : node.kind === 'SelectQueryNode' || node.kind === 'DeleteQueryNode'
        ? node.from?.froms[0]
        : node.kind === 'InsertQueryNode'
          ? node.into
          : undefined
  ) as OperationNode | undefined
  const table = target?.kind === 'AliasNode' ? (target as unknown as { node: OperationNode }).node : target
  if (table?.kind !== 'TableNode') return undefined
  return (table as unknown as { table: { identifier: { name: string } } }).table.identifier.name
}

const EXECUTES = new Set(['execute', 'executeTakeFirst', 'executeTakeFirstOrThrow'])

type Builder = { toOperationNode(): RootOperationNode }
const isQueryBuilder = (value: object): value is Builder =>
  typeof (value as Partial<Builder>).toOperationNode === 'function'

/**
 * `db` with the result of the first query `match` picks held until released; every other
 * query, and later ones, pass as usual. The result is held after the query ran and gave its
 * connection back (a plugin's transformResult would still hold it, and SQLite has one), so the
 * rest of the app goes on using the database meanwhile.
 */
export function holdQuery<DB>(
  db: Kysely<DB>,
  match: (node: RootOperationNode) => boolean,
): { db: Kysely<DB>; held: HeldQuery } {
  let armed = true
  let reached!: () => void
  let outcome!: (error?: Error) => void
  const gate = new Promise<Error | undefined>((resolve) => {
    outcome = resolve
  })
  const held: HeldQuery = {
    reached: new Promise((resolve) => {
      reached = resolve
    }),
    release: () => outcome(),
    fail: (error) => outcome(error),
  }
  const hold = async (result: unknown) => {
    reached()
    const error = await gate
    if (error) throw error
    return result
  }
  // Every builder made from `db` (and from the builders it makes) is wrapped the same way.
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object)
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          if (armed && EXECUTES.has(String(property)) && isQueryBuilder(object)) {
            if (match(object.toOperationNode())) {
              armed = false
              return (value.apply(object, args) as Promise<unknown>).then(hold)
            }
          }
          const result = value.apply(object, args)
          return result !== null && typeof result === 'object' && !(result instanceof Promise)
            ? wrap(result)
            : result
        }
      },
    })
  return { db: wrap(db), held }
}
