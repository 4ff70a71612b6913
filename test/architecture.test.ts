import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { migrations } from '../migrations/index.js'
import { buildTestApp } from './helpers/app.js'

// The shape of the code, checked: no import cycle between the folders of src/ (nor between any two
// files), SQL only in the query layer, no source file over 400 lines, and every numbered migration listed in the static index.

const root = fileURLToPath(new URL('..', import.meta.url))
const src = join(root, 'src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return /\.(ts|js)$/.test(name) ? [path] : []
  })
}

// `import ... from './x.js'`, `export ... from`, `import('./x.js')` and `new URL('./x.js', import.meta.url)`
// (the worker thread), type-only imports included: a cycle of types is a cycle of design too.
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const found = new Set<string>()
  for (const match of text.matchAll(IMPORT)) {
    const target = resolve(dirname(file), match[1] as string)
    const ts = target.replace(/\.js$/, '.ts')
    for (const candidate of [ts, target]) {
      if (candidate.startsWith(src) && exists(candidate)) {
        found.add(candidate)
        break
      }
    }
  }
  return [...found]
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** The unit a folder check is about: a top-level folder of src/, or a file directly in src/. */
function unitOf(file: string): string {
  const parts = relative(src, file).split('/')
  return parts.length > 1 ? `${parts[0]}/` : (parts[0] as string)
}

/** The groups of nodes that reach each other (Tarjan's strongly connected components of size > 1). */
function circles(graph: Map<string, Set<string>>): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (node: string) => {
    index.set(node, counter)
    low.set(node, counter++)
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number))
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = []
      let member: string
      do {
        member = stack.pop() as string
        onStack.delete(member)
        group.push(member)
      } while (member !== node)
      if (group.length > 1) found.push(group.sort())
    }
  }
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node)
  return found
}

const files = sourceFiles(src)
const edges = files.map((file) => ({ file, imports: importsOf(file) }))

t.test('the import parser sees the imports (a check that sees none proves nothing)', async (t) => {
  const app = edges.find((e) => e.file.endsWith('/src/app.ts'))
  t.ok(app && app.imports.length > 5, 'app.ts imports several modules')
})

t.test('no import cycle between folders of src/', async (t) => {
  const graph = new Map<string, Set<string>>()
  for (const { file, imports } of edges) {
    const from = unitOf(file)
    if (!graph.has(from)) graph.set(from, new Set())
    for (const target of imports) {
      const to = unitOf(target)
      if (to !== from) graph.get(from)?.add(to)
    }
  }
  t.same(circles(graph), [], 'folders that import each other, directly or through others')
})

t.test('no import cycle between files of src/', async (t) => {
  const graph = new Map(
    edges.map(({ file, imports }) => [relative(src, file), new Set(imports.map((i) => relative(src, i)))]),
  )
  t.same(circles(graph), [], 'files that import each other, directly or through others')
})

t.test(
  'SQL is written in src/db/ only (the query files), and the SQLite appender the writer thread runs',
  async (t) => {
    const QUERY = /\.(selectFrom|updateTable|insertInto|deleteFrom)\(|\bsql`|\.prepare\(/
    const allowed = (path: string) =>
      path.startsWith('db/') ||
      path === 'conversations/message-store/sqlite-appender.js' ||
      path === 'conversations/message-store/sqlite-search-index.js'
    const outside = files
      .map((file) => relative(src, file))
      .filter((path) => !allowed(path) && QUERY.test(readFileSync(join(src, path), 'utf8')))
    t.same(outside, [])
  },
)

t.test('the domains report events; only the realtime layer builds WebSocket frames', async (t) => {
  const DOMAINS = ['auth/', 'users/', 'conversations/', 'files/', 'projects/']
  const FRAME = /\bframe\(|\bframe:|JSON\.stringify\(\{\s*type\b/
  const framing = files
    .map((file) => relative(src, file))
    .filter((path) => DOMAINS.some((domain) => path.startsWith(domain)))
    .filter((path) => FRAME.test(readFileSync(join(src, path), 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '')))
  t.same(framing, [])
})

t.test('no source file over 400 lines', async (t) => {
  const long = files
    .map((file) => ({ file: relative(root, file), lines: readFileSync(file, 'utf8').split('\n').length }))
    .filter(({ lines }) => lines > 400)
  t.same(long, [])
})

t.test('every numbered migration file is in the static index, in order', async (t) => {
  const onDisk = readdirSync(join(root, 'migrations'))
    .filter((name) => /^\d{4}_[\w-]+\.ts$/.test(name))
    .map((name) => name.replace(/\.ts$/, ''))
    .sort()
  t.same(Object.keys(migrations), onDisk)
})

t.test(
  'the app is built from named plugins, the realtime layer decorated where it is declared',
  async (t) => {
    const app = await buildTestApp(t)
    const names = ['db', 'hub', 'metrics', 'caches', 'message-store', 'context', 'http']
    const routes = ['auth-routes', 'user-routes', 'conversation-routes', 'project-routes', 'file-routes']
    for (const name of [...names, ...routes, 'realtime', 'web']) t.ok(app.hasPlugin(name), name)
    t.type(app.realtime.closingWorkDone, 'function')
    t.equal(app.ctx.db, app.db, "the domains get the db plugin's database")
  },
)
