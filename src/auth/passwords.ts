import { Algorithm, hash, verify } from '@node-rs/argon2'
import { type Argon2Cost, PRODUCTION_ARGON2 } from '../config.js'

// argon2id. The cost comes from the config: OWASP's minimum in production (19 MiB of memory,
// 2 passes, 1 lane: PRODUCTION_ARGON2), the cheapest argon2 allows for test accounts. A hash
// carries its own cost, so verifying one needs none.

export function hashPassword(password: string, cost: Argon2Cost = PRODUCTION_ARGON2): Promise<string> {
  return hash(password, { algorithm: Algorithm.Argon2id, ...cost })
}

// Verified against when the user does not exist, so an unknown name costs the same time; one per
// cost, so it costs what the stored hashes cost.
const dummyHashes = new Map<string, Promise<string>>()

/**
 * argon2 verifications run by this process, by the cost parameters of the hash they ran on
 * (`m=19456,t=2,p=1`): what makes a login slow, counted rather than timed, so a test can prove
 * that an unknown user costs one verification at full cost like a wrong password.
 */
const verifications = new Map<string, number>()

export function argon2Verifications(): ReadonlyMap<string, number> {
  return verifications
}

function countedVerify(passwordHash: string, password: string): Promise<boolean> {
  // An argon2 hash reads $argon2id$v=19$m=...,t=...,p=...$salt$hash.
  const cost = passwordHash.split('$')[3] ?? 'unknown'
  verifications.set(cost, (verifications.get(cost) ?? 0) + 1)
  return verify(passwordHash, password)
}

/** `cost` is the one new hashes get: an unknown user (no hash) is verified against a dummy at that cost. */
export async function verifyPassword(
  passwordHash: string | undefined,
  password: string,
  cost: Argon2Cost = PRODUCTION_ARGON2,
): Promise<boolean> {
  if (!passwordHash) {
    const key = `${cost.memoryCost},${cost.timeCost},${cost.parallelism}`
    let dummy = dummyHashes.get(key)
    if (!dummy) {
      dummy = hashPassword('parley-dummy-password', cost)
      dummyHashes.set(key, dummy)
    }
    await countedVerify(await dummy, password)
    return false
  }
  try {
    return await countedVerify(passwordHash, password)
  } catch {
    return false
  }
}
