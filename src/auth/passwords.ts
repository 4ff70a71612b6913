import { Algorithm, hash, verify } from '@node-rs/argon2'

// argon2id at OWASP's minimum or above: 19 MiB of memory, 2 passes, 1 lane.
export const ARGON2_OPTIONS = {
  algorithm: Algorithm.Argon2id,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
} as const

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS)
}

// Verified against when the user does not exist, so an unknown name costs the same time.
let dummyHash: Promise<string> | undefined

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

export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  if (!passwordHash) {
    dummyHash ??= hashPassword('parley-dummy-password')
    await countedVerify(await dummyHash, password)
    return false
  }
  try {
    return await countedVerify(passwordHash, password)
  } catch {
    return false
  }
}
