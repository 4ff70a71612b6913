import t from 'tap'

// Tests that need something outside Node (PostgreSQL, Redis, NATS, bash and curl) skip with the
// reason when it is missing on a developer's machine, but fail in CI: there the service is meant to
// be up (.ci/run starts them and sets CI=true), so a skip would hide that a check did not run.

/** Whether this is a CI run: `CI` set to anything but empty, `0` or `false`. */
export const inCI = (): boolean => !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase())

/**
 * `reason` is why a test cannot run (undefined when it can). Returned, for `{ skip }`; in CI it is
 * also a failure of the file.
 */
export function missingService(reason: string | undefined): string | undefined {
  if (reason && inCI()) t.fail(`${reason}: CI must run this test (CI=${process.env.CI}), not skip it`)
  return reason
}
