import { buildApp } from './app.js'
import { ConfigError, loadConfig, TEST_ARGON2 } from './config.js'

// Reads the environment, listens, and shuts down gracefully on SIGTERM/SIGINT.

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`parley: ${error.message}`)
      process.exit(1)
    }
    throw error
  }
  const app = await buildApp({ config })
  if (config.argon2 === TEST_ARGON2) {
    app.log.warn('PARLEY_TEST_FAST_HASH is set: passwords get a test-only hash cost, unfit for real accounts')
  }

  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    // Fastify stops accepting, lets in-flight requests finish and runs every onClose hook
    // (sockets closed with 1001, database closed).
    const timer = setTimeout(() => {
      app.log.error('shutdown took too long; exiting')
      process.exit(1)
    }, 10_000)
    timer.unref()
    try {
      await app.close()
      process.exit(0)
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed')
      process.exit(1)
    }
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))

  await app.listen({ port: config.port, host: config.host })
}

main().catch((error) => {
  console.error('parley: failed to start:', error instanceof Error ? error.message : error)
  process.exit(1)
})
