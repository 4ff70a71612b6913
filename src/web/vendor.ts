import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyInstance } from 'fastify'

// Browser builds of the page's libraries, served as they ship (no build step): markdown-it's ES
// module build at /vendor/markdown-it.js, which public/markdown.js imports.

const require = createRequire(import.meta.url)

async function markdownItModule(): Promise<string> {
  const packageDir = dirname(require.resolve('markdown-it/package.json'))
  const source = await readFile(join(packageDir, 'dist', 'browser', 'markdown-it.esm.min.mjs'), 'utf8')
  // Its source map is not served: a browser's developer tools would only ask for it in vain.
  return source.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n')
}

export async function vendorRoutes(app: FastifyInstance): Promise<void> {
  const body = await markdownItModule()
  const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`
  app.get('/vendor/markdown-it.js', { schema: { hide: true } }, async (request, reply) => {
    reply.header('cache-control', 'public, max-age=0').header('etag', etag)
    if (request.headers['if-none-match'] === etag) return reply.status(304).send()
    return reply.type('text/javascript; charset=utf-8').send(body)
  })
}
