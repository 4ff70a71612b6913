// Compiles the server's TypeScript (src/ and migrations/) to plain JavaScript in dist/, file by file,
// for `npm start`. Running the compiled files with plain node keeps tsx's loader thread and its
// transform caches out of the server process (about 40 MB of RSS). Tests and benchmarks keep
// running the TypeScript through tsx.
//
// dist/ mirrors the repository (dist/src, dist/migrations, and dist/public and dist/client linking to
// public/ and client/), so
// paths the code computes from its own location (the web root, the migrations folder, the writer
// thread's file) resolve as they do from src/. The folder is rebuilt from scratch each time: a file
// deleted from src/ or migrations/ (a migration above all) must not linger in it.
//
// Plain JavaScript (this script must run before anything is compiled); esbuild comes with tsx.

import { mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = join(root, 'dist')

/** Every .ts and .js file under a folder (the writer thread and its appender are JavaScript). */
function sources(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
}

rmSync(out, { recursive: true, force: true })
await build({
  entryPoints: [...sources(join(root, 'src')), ...sources(join(root, 'migrations'))],
  outdir: out,
  outbase: root,
  // One output file per source file: the imports (written with .js) stay as they are.
  bundle: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Linked maps, read only by `node --enable-source-maps`: stack traces then name the .ts lines.
  sourcemap: true,
  logLevel: 'warning',
})
mkdirSync(out, { recursive: true })
for (const folder of ['public', 'client'])
  symlinkSync(relative(out, join(root, folder)), join(out, folder), 'dir')
