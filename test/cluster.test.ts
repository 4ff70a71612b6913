import t from 'tap'
import { redisSkipReason } from './helpers/cluster.js'
import { crossNodeTests } from './helpers/cross-node.js'
import { postgresSkipReason } from './helpers/postgres.js'
import { missingService } from './helpers/services.js'

// Several real nodes (src/server.ts in child processes) on one PostgreSQL database and one
// Redis, configured only by the environment, as an operator runs them. The scenarios are shared
// with test/nats-cluster.test.ts, which runs them on NATS.

const skip = missingService(await postgresSkipReason()) ?? missingService(await redisSkipReason())
if (skip) t.comment(`SKIP: multi-node on Redis: ${skip}`)

t.test('multi-node: PostgreSQL and Redis, nodes in child processes', { skip }, async (t) => {
  crossNodeTests(t, 'Redis')
})
