import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { type Config, testConfig } from '../../src/config.js'
import { createMemoryHub } from '../../src/hub/memory.js'
import { assertNoViolations, checkResponses } from './contract.js'
import { createTestSchema, usePostgres } from './postgres.js'

/**
 * Per-account budgets lifted, for tests whose setup makes many conversations or writes from one
 * account; the budgets themselves are tested in limits.test.ts.
 */
export const MANY_WRITES: Partial<Config> = {
  writeRateLimit: 1_000_000,
  createRateLimit: 1_000_000,
  uploadRateLimit: 1_000_000,
}

export interface TestContext {
  teardown(fn: () => unknown): void
}

/**
 * The whole app on a fresh database, closed and removed when the test ends: an SQLite file in a
 * temp dir, or with PARLEY_TEST_DB=postgres a new schema on the test PostgreSQL server. Every
 * frame and JSON response it sends is checked against its schema; a violation fails the test
 * when it ends (see contract.ts).
 */
export async function buildTestApp(
  t: TestContext,
  overrides: Partial<Config> = {},
): Promise<FastifyInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-test-'))
  const postgres = usePostgres() && overrides.databaseUrl === undefined ? await createTestSchema() : undefined
  let app: FastifyInstance
  try {
    app = await buildApp({
      config: testConfig({
        databaseUrl: postgres ? postgres.url : `sqlite:${join(dir, 'parley.db')}`,
        uploadDir: join(dir, 'uploads'),
        ...overrides,
      }),
      beforeRoutes: checkResponses,
    })
  } catch (error) {
    await postgres?.drop()
    throw error
  }
  t.teardown(async () => {
    await app.close()
    await postgres?.drop()
    rmSync(dir, { recursive: true, force: true })
    assertNoViolations()
  })
  return app
}

/**
 * Two apps on one SQLite file and one in-process hub: two nodes as far as the database and the
 * hub's events go (the multi-node mode proper runs in child processes; see cluster.ts).
 */
export async function buildTwoNodes(t: TestContext): Promise<[FastifyInstance, FastifyInstance]> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-test-'))
  const hub = createMemoryHub()
  const config = testConfig({
    databaseUrl: `sqlite:${join(dir, 'parley.db')}`,
    uploadDir: join(dir, 'uploads'),
  })
  const a = await buildApp({ config, hub, beforeRoutes: checkResponses })
  const b = await buildApp({ config, hub, beforeRoutes: checkResponses })
  t.teardown(async () => {
    await b.close()
    await a.close()
    rmSync(dir, { recursive: true, force: true })
    assertNoViolations()
  })
  return [a, b]
}

/** The app listening on an ephemeral port; returns its base URLs. */
export async function startTestServer(
  t: TestContext,
  overrides: Partial<Config> = {},
): Promise<{ app: FastifyInstance; http: string; ws: string }> {
  const app = await buildTestApp(t, overrides)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('no port')
  return { app, http: `http://127.0.0.1:${address.port}`, ws: `ws://127.0.0.1:${address.port}/ws` }
}

export interface Account {
  id: number
  token: string
  username: string
  auth: { authorization: string }
}

let counter = 0
/** Registers a fresh account through the API. */
export async function register(
  app: FastifyInstance,
  username = `user${++counter}_${process.pid}`,
): Promise<Account> {
  const response = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username, password: 'correct horse battery' },
  })
  if (response.statusCode !== 201) throw new Error(`register failed: ${response.statusCode} ${response.body}`)
  const body = response.json()
  return { id: body.user.id, token: body.token, username, auth: { authorization: `Bearer ${body.token}` } }
}

/**
 * A conversation created through the API by `owner` with `members` (accounts or bare user ids;
 * one member and no title: a direct one, which POST /conversations answers 200 when it exists
 * already). Returns its id. For tests that only need one to exist: the tests of the endpoint
 * itself look at its response.
 */
export async function createConversation(
  app: FastifyInstance,
  owner: Account,
  members: ReadonlyArray<Account | number>,
  title?: string,
): Promise<number> {
  const response = await app.inject({
    method: 'POST',
    url: '/conversations',
    headers: owner.auth,
    payload: {
      member_ids: members.map((m) => (typeof m === 'number' ? m : m.id)),
      ...(title === undefined ? {} : { title }),
    },
  })
  if (response.statusCode !== 200 && response.statusCode !== 201) {
    throw new Error(`create conversation failed: ${response.statusCode} ${response.body}`)
  }
  return response.json().conversation.id as number
}
