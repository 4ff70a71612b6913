import fc from 'fast-check'

// Values that break naive code: wrong types, huge and odd numbers, prototype keys, path and SQL
// tricks, lone surrogates and NUL. Shared by the HTTP and the WebSocket fuzz tests.
const NASTY_CONSTANTS = [
  0,
  -1,
  1,
  2,
  3,
  1.5,
  -0,
  2 ** 31,
  2 ** 53,
  2 ** 53 + 2,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER,
  '',
  ' ',
  '1',
  '0x10',
  '1e400',
  'NaN',
  'Infinity',
  '__proto__',
  'constructor',
  'prototype',
  '../../etc/passwd',
  '\u0000',
  '\ud800',
  '%00',
  "' OR 1=1 --",
  null,
  true,
  false,
  [],
  {},
]

/** Nasty scalars and short strings, plus whatever long or bulky values a surface needs. */
export function nastyValues(...extra: Array<fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...NASTY_CONSTANTS),
    fc.integer(),
    fc.double(),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    ...extra,
  )
}

/** JSON-like values built from nasty leaves, with keys that are random or among `keys`. */
export function jsonish(leaf: fc.Arbitrary<unknown>, keys: string[], keyLength = 12): fc.Arbitrary<unknown> {
  return fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.oneof(fc.string({ maxLength: keyLength }), fc.constantFrom(...keys)), tie('value'), {
        maxKeys: 4,
      }),
    ),
  })).value
}

/**
 * How many cases a fuzzer runs and from which seed. By default a fixed seed and a count sized for
 * `npm test`, so CI runs the same cases every time; FUZZ_RUNS (or the file's own variable) runs
 * more, FUZZ_SEED another seed, and FUZZ_SEED=random one from the clock (printed, to replay it).
 * `npm run soak` runs many cases from a random seed.
 */
export function fuzzRun(fileRunsVariable: string, defaultRuns: number): { runs: number; seed: number } {
  const runs = Number(process.env[fileRunsVariable] || process.env.FUZZ_RUNS || defaultRuns)
  const rawSeed = process.env.FUZZ_SEED || '1'
  const seed = rawSeed === 'random' ? Date.now() % 2 ** 31 : Number(rawSeed)
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`${fileRunsVariable}/FUZZ_RUNS: not a count`)
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED=${rawSeed}: an integer or "random"`)
  return { runs, seed }
}
