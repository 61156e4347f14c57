// Prepares a running Socle for the interop harness and the benchmark: a builder (signed in
// twice: two sessions, two tokens), an organization, a project, PAGES pages holding the
// initial page document (a project holds at most 200: more pages go to further projects), a
// share link of the first project, and a second user in another organization. Prints one
// JSON object that is also a ready COLLAB_CONFIG for interop.mjs (project_id and page_id:
// the first project and its first page).
//
//   node setup.mjs http://127.0.0.1:PORT [PAGES]
// Socle must run with SOCLE_SECURITY__REQUIRE_EMAIL_ACTIVATION=false (accounts active at once).
import { INITIAL_PAGE } from './lib.mjs'

const base = (process.argv[2] ?? '').replace(/\/$/, '')
const pages = Math.max(1, Number(process.argv[3] ?? 1))
if (!base) {
  console.error('usage: node setup.mjs http://127.0.0.1:PORT [PAGES]')
  process.exit(2)
}
const PASSWORD = 'Collab-Password-123'

async function call (method, path, body, token) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

const login = async email => (await call('POST', '/api/v1/foundation/auth/login', { email, password: PASSWORD })).access_token

/** A signed-in user with an organization of its own (registered unless it already exists). */
async function user (email) {
  await call('POST', '/api/v1/foundation/auth/register', { email, password: PASSWORD, first_name: 'Collab', last_name: 'Test' })
    .catch(() => {}) // already registered: signing in below tells
  const token = await login(email)
  const org = await call('POST', '/api/v1/foundation/organizations', { name: `Collab ${email}` }, token)
  return { token, org: org.id }
}

const stamp = Date.now().toString(36)
const builder = await user(`collab-${stamp}@example.com`)
const PAGES_PER_PROJECT = 200
const projects = []
const pageIds = []
for (let i = 0; i < pages; i++) {
  if (i % PAGES_PER_PROJECT === 0) {
    projects.push(await call('POST', '/api/v1/studio/projects', { organization_id: builder.org, name: `Collab ${stamp} ${projects.length + 1}` }, builder.token))
  }
  const page = await call('POST', `/api/v1/studio/projects/${projects.at(-1).id}/pages`, { name: `Collab ${i + 1}`, document: INITIAL_PAGE }, builder.token)
  pageIds.push(page.id)
}
const project = projects[0]
const share = await call('POST', `/api/v1/studio/projects/${project.id}/share-links`, {}, builder.token)
const foreign = await user(`collab-other-${stamp}@example.com`)

console.log(JSON.stringify({
  ws_base: `${base.replace(/^http/, 'ws')}/api/v1/collab/pages`,
  http_base: base,
  project_id: project.id,
  page_id: pageIds[0],
  page_ids: pageIds,
  tokens: [builder.token, await login(`collab-${stamp}@example.com`)],
  share_token: share.token,
  foreign_token: foreign.token
}))
