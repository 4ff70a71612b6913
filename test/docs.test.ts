import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { blockSteps, matchOutput, type Step, shellBlocks } from './helpers/doc-examples.js'
import { spawnServer } from './helpers/server-process.js'
import { missingService } from './helpers/services.js'

// Executable documentation: the shell examples of README.md and docs/*.md marked `<!-- runnable -->`
// run, page by page, in one bash process (variables carry over) against a fresh server on its own
// SQLite file, with http://127.0.0.1:3000 pointing at it; each command must print what the page
// shows after it (`# -> ...`). The convention is in test/helpers/doc-examples.ts and docs/API.md.

const root = fileURLToPath(new URL('..', import.meta.url))
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
]
const read = (page: string) => readFileSync(join(root, page), 'utf8')
// the examples are written for bash and curl, the tools the pages tell readers to use
const missing = ['bash', 'curl'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
const skip =
  missingService(missing.length > 0 ? `the examples need ${missing.join(' and ')}` : undefined) ?? false

interface StepResult {
  output: string
  status: number
}

/** Runs the steps in order in one bash process in a temp dir; each step's output and exit status. */
async function runSteps(t: Test, steps: Step[], port?: number): Promise<StepResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-docs-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const script = ['exec 2>&1']
  for (const [i, step] of steps.entries()) {
    script.push(port ? step.code.replaceAll('127.0.0.1:3000', `127.0.0.1:${port}`) : step.code)
    script.push(`__status=$?; printf '\\n::doc-step:: %d %d\\n' ${i} "$__status"`)
  }
  writeFileSync(join(dir, '.script.sh'), `${script.join('\n')}\n`)
  const child = spawn('bash', ['.script.sh'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: dir, LANG: 'C.UTF-8' },
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  await new Promise((resolve) => child.once('close', resolve))
  clearTimeout(timer)
  const results: StepResult[] = []
  let from = 0
  for (const marker of output.matchAll(/\n::doc-step:: (\d+) (\d+)\n/g)) {
    results[Number(marker[1])] = { output: output.slice(from, marker.index), status: Number(marker[2]) }
    from = (marker.index ?? 0) + marker[0].length
  }
  return results
}

/** Asserts each step printed what it shows and exited 0. */
function checkSteps(t: Test, page: string, steps: Step[], results: StepResult[]) {
  for (const [i, step] of steps.entries()) {
    const result = results[i]
    const command = step.code.split('\n').find((line) => line.trim() !== '' && !line.trim().startsWith('#'))
    const where = `${page}:${step.line}: ${command?.trim()}`
    if (!result) {
      t.fail(`${where}: never finished`)
      continue
    }
    const problems =
      step.expected === undefined
        ? result.output.trim() === ''
          ? []
          : ['prints output the page does not show (add a "# -> ..." line)']
        : matchOutput(step.expected, result.output)
    if (result.status !== 0) problems.push(`exit status ${result.status}`)
    t.same(problems, [], where, { found: result.output.trim(), wanted: step.expected ?? '(nothing)' })
  }
}

t.test('every shell block of README.md and docs/ is marked runnable or not-run', async (t) => {
  const unmarked = pages.flatMap((page) =>
    shellBlocks(read(page))
      .filter((block) => block.marker === 'none')
      .map((block) => `${page}:${block.line}`),
  )
  t.same(unmarked, [], 'put <!-- runnable --> or <!-- not-run: <reason> --> on the line before each ```sh')
  t.ok(
    pages.some((page) => shellBlocks(read(page)).some((block) => block.marker === 'runnable')),
    'some examples run',
  )
})

t.test('the convention catches what it should', { skip }, async (t) => {
  const page = [
    '<!-- runnable -->',
    '```sh',
    'GREETING=hello',
    `echo '{"a":1,"b":[1,2],"c":"x"}'   # -> {"a":1,...}`,
    `echo "$GREETING" 204`,
    '# -> hello 204',
    'echo unshown',
    'false',
    '```',
    '',
    '```sh',
    'echo never run',
    '```',
    '<!-- not-run: a reason -->',
    '```bash',
    'echo not run either',
    '```',
  ].join('\n')
  const blocks = shellBlocks(page)
  t.same(
    blocks.map((block) => [block.line, block.marker, block.reason]),
    [
      [2, 'runnable', undefined],
      [11, 'none', undefined],
      [15, 'not-run', 'a reason'],
    ],
  )
  const steps = blockSteps(blocks[0])
  t.same(
    steps.map((step) => [step.line, step.expected]),
    [
      [3, '{"a":1,...}'],
      [5, 'hello 204'],
      [7, undefined],
    ],
  )
  const results = await runSteps(t, steps)
  t.same(
    results.map((result) => result.status),
    [0, 0, 1],
  )
  t.same(matchOutput(steps[0].expected!, results[0].output), [], 'open object, variables carry over')
  t.same(matchOutput(steps[1].expected!, results[1].output), [])
  t.equal(results[2].output.trim(), 'unshown', 'output of a step without # -> is seen')

  t.same(matchOutput('204', '204\n'), [])
  t.not(matchOutput('204', '401\n').length, 0, 'a status code is compared exactly')
  t.not(matchOutput('{"a":1}', '{"a":1,"b":2}').length, 0, 'without ..., no key beyond those shown')
  t.same(matchOutput('{"a":1,...}', '{"a":1,"b":2}'), [])
  t.not(matchOutput('{"a":1,...}', '{"a":2,"b":2}').length, 0, 'a shown value is compared')
  t.not(matchOutput('{"a":{...}}', '{}').length, 0, 'a shown key must be there')
  t.same(
    matchOutput('{"list":[{"id":1,...},...],"token":"..."}', '{"list":[{"id":1,"x":2},{}],"token":"q"}'),
    [],
  )
  t.not(matchOutput('{"list":[{"id":1,...}]}', '{"list":[{"id":1},{"id":2}]}').length, 0, 'closed array')
  t.not(matchOutput('{"t":"..."}', '{"t":3}').length, 0, '"..." is any string, not any value')
  t.same(matchOutput('{"t":...}', '{"t":3}'), [])
  t.same(matchOutput('/healthz /auth/...', '/healthz\n/auth/login\n'), [])
  t.same(matchOutput('a ...', 'a b c'), [])
  t.not(matchOutput('a', 'a b').length, 0, 'more output than shown')
  t.not(matchOutput('{"a":1} 201', '{"a":1}').length, 0, 'less output than shown')
})

for (const page of pages) {
  const blocks = shellBlocks(read(page)).filter((block) => block.marker === 'runnable')
  if (blocks.length === 0) continue
  t.test(`${page}: the runnable examples print what the page shows`, { skip }, async (t) => {
    const steps = blocks.flatMap((block) => blockSteps(block))
    // the rate limits as users get them (an empty variable means the default)
    const server = await spawnServer(t, { env: { AUTH_RATE_LIMIT: '' } })
    checkSteps(t, page, steps, await runSteps(t, steps, server.port))
  })
}
