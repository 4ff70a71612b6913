import t from 'tap'
import { buildTestApp, createConversation, register } from './helpers/app.js'

// Ids in paths are decimal digits and nothing else.

const BAD_IDS = [
  '0x1',
  '%201',
  '1%20',
  '%091',
  '1e0',
  '%2B1',
  '+1',
  '1.0',
  '-1',
  'Infinity',
  '0b1',
  '%EF%BC%91',
  '1_0',
]

t.test('an id in a path that is not plain decimal digits is 400 on every kind of route', async (t) => {
  const app = await buildTestApp(t)
  const ann = await register(app, 'ann')
  const bob = await register(app, 'bob')
  const conversation = await createConversation(app, ann, [bob])
  const project = await app.inject({
    method: 'POST',
    url: '/projects',
    headers: ann.auth,
    payload: { name: 'Plans' },
  })
  const projectId = project.json().project.id
  const message = await app.inject({
    method: 'POST',
    url: `/conversations/${conversation}/messages`,
    headers: ann.auth,
    payload: { content: 'hello' },
  })
  const messageId = message.json().message.id
  // Each route with the id to vary, the good id, and the status the good id gets.
  const routes: Array<[string, (id: string) => string, number, number]> = [
    ['GET', (id) => `/conversations/${id}`, conversation, 200],
    ['GET', (id) => `/conversations/${id}/messages`, conversation, 200],
    ['GET', (id) => `/users/${id}`, bob.id, 200],
    ['DELETE', (id) => `/users/me/contacts/${id}`, bob.id, 404],
    ['GET', (id) => `/projects/${id}`, projectId, 200],
    ['DELETE', (id) => `/projects/${projectId}/members/${id}`, 999, 404],
    ['GET', (id) => `/files/${id}`, 999, 404],
    ['DELETE', (id) => `/conversations/${conversation}/messages/${id}`, messageId, 204],
  ]
  for (const [method, path, goodId, status] of routes) {
    for (const bad of BAD_IDS) {
      const response = await app.inject({ method: method as 'GET', url: path(bad), headers: ann.auth })
      t.equal(response.statusCode, 400, `${method} ${path(bad)}`)
      t.equal(response.json().code, 'BAD_REQUEST')
    }
    const response = await app.inject({
      method: method as 'GET',
      url: path(String(goodId)),
      headers: ann.auth,
    })
    t.equal(response.statusCode, status, `${method} ${path(String(goodId))}: ${response.body.slice(0, 120)}`)
  }
})
