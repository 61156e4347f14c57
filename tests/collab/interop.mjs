// Interop harness: official Yjs clients (yjs + y-websocket) against Socle's collaboration
// server. Prints one JSON line per scenario, exits 1 if any failed.
//
//   COLLAB_CONFIG=config.json node interop.mjs      # or: node interop.mjs config.json
//   node interop.mjs --reference                    # against @y/websocket-server, started here
//   node interop.mjs --mock                         # against mock-socle.mjs (checks the harness)
//
// COLLAB_CONFIG holds the config itself (JSON text) or a path to it:
//   { "ws_base": "ws://127.0.0.1:PORT/api/v1/collab/pages", "http_base": "http://127.0.0.1:PORT",
//     "project_id": "...", "page_id": "...", "tokens": ["tokA", "tokB"], "share_token": "...",
//     "foreign_token": "... (optional: a user of another organization, expects 404)",
//     "scenarios": ["converge", ...] (optional: all, in the order below) }
// The page starts as {"type":"page","props":{},"children":[{"type":"heading","props":{"text":"Hello","level":1}}]}.
// --reference skips the Socle-only scenarios and steps (auth, presence, query-awareness,
// read-only, REST, repair) and seeds the page itself, since the reference starts rooms empty.
import { readFileSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as awarenessProtocol from 'y-protocols/awareness'
import { Y, WebSocket, sleep, waitFor, connect, seedIfEmpty, nodeToY, pageJson, heading, headingText } from './lib.mjs'

const REFERENCE = process.argv.includes('--reference')
const SOCLE_ONLY = new Set(['read_only', 'rest_write', 'invalid_repaired', 'unauthorized'])

// ---- scenarios; each gets `s` (its scope: s.client(...) connects and is cleaned up after) ----

const scenarios = {
  async converge (s) {
    const a = await s.client('A', 0)
    const b = await s.client('B', 1)
    check(headingText(a.doc) instanceof Y.Text, `no heading with a Y.Text props.text after sync: ${JSON.stringify(pageJson(a.doc))}`)
    // Concurrent: all four edits are made before either client hears from the other.
    const ta = headingText(a.doc)
    ta.insert(ta.length, ' world')
    headingText(b.doc).insert(0, 'Oh, ')
    a.doc.getMap('page').get('props').set('title', new Y.Text('T'))
    const child = { type: 'text', props: { text: 'body' } }
    b.doc.getMap('page').get('children').push([nodeToY(child)])
    const started = Date.now()
    await waitFor(() => isDeepStrictEqual(pageJson(a.doc), pageJson(b.doc)) &&
      headingText(a.doc).toString().includes('Oh, Hello world'), 5000, 'A and B to converge')
    const page = pageJson(a.doc)
    check(page.props.title === 'T', `title is ${JSON.stringify(page.props.title)}`)
    check(page.children.some(c => isDeepStrictEqual(c, child)), 'the new child is missing')
    return { converged_ms: Date.now() - started, heading: headingText(a.doc).toString() }
  },

  async awareness (s) {
    const a = await s.client('A', 0)
    const b = await s.client('B', 1)
    const ann = { user: { name: 'Ann', color: '#ff0000' }, cursor: { anchor: 1 } }
    a.awareness.setLocalState(ann)
    await waitFor(() => isDeepStrictEqual(b.awareness.getStates().get(a.doc.clientID), ann), 3000, "B to see A's state")
    const detail = {}
    if (!REFERENCE) {
      const url = `${config.http_base}/api/v1/collab/pages/${config.page_id}/presence`
      const items = await waitFor(async () => {
        const body = await http('GET', url, config.tokens[1])
        return body.items?.some(i => i.state?.user?.name === 'Ann' && i.client_id === a.doc.clientID) && body.items
      }, 3000, 'GET /presence to list Ann')
      detail.presence_items = items.length
      detail.query_awareness = await queryAwareness(a.doc.clientID)
    }
    a.provider.destroy() // a clean goodbye: the client itself sends a null state first
    let started = Date.now()
    await waitFor(() => !b.awareness.getStates().has(a.doc.clientID), 10000, "B to drop A's state after A left")
    detail.removed_after_leave_ms = Date.now() - started
    // An abrupt end (no goodbye message): only the server can tell B.
    const c = await s.client('C', 0)
    c.awareness.setLocalState({ user: { name: 'Cid' } })
    await waitFor(() => b.awareness.getStates().get(c.doc.clientID)?.user?.name === 'Cid', 3000, "B to see C's state")
    c.provider.shouldConnect = false
    c.provider.ws.terminate()
    started = Date.now()
    await waitFor(() => !b.awareness.getStates().has(c.doc.clientID), 10000, "B to drop C's state after C's socket died")
    detail.removed_after_drop_ms = Date.now() - started
    return detail
  },

  async late_joiner (s) {
    const a = await s.client('A', 0)
    const b = await s.client('B', 1)
    const text = headingText(a.doc)
    text.insert(text.length, '!')
    // Once B has A's edit, the server has it: C must get it in its initial sync.
    await waitFor(() => isDeepStrictEqual(pageJson(a.doc), pageJson(b.doc)), 3000, "B to get A's edit")
    const c = await s.client('C', 1)
    check(isDeepStrictEqual(pageJson(c.doc), pageJson(a.doc)), `C's state after sync differs: ${JSON.stringify(pageJson(c.doc))}`)
    return { bytes: Y.encodeStateAsUpdate(c.doc).length }
  },

  async persisted (s) {
    const a = await s.client('A', 0)
    const b = await s.client('B', 1)
    const text = headingText(a.doc)
    text.insert(text.length, '.')
    await waitFor(() => isDeepStrictEqual(pageJson(a.doc), pageJson(b.doc)), 3000, "B to get A's edit")
    const last = pageJson(a.doc)
    s.closeAll()
    await sleep(500)
    const d = await s.client('D', 0)
    check(isDeepStrictEqual(pageJson(d.doc), last), `D got ${JSON.stringify(pageJson(d.doc))}, expected ${JSON.stringify(last)}`)
    return {}
  },

  async read_only (s) {
    const a = await s.client('A', 0)
    const r = await s.client('R', { share: config.share_token })
    check(isDeepStrictEqual(pageJson(r.doc), pageJson(a.doc)), 'R did not get the state')
    // Live updates still reach the viewer.
    const mark = `~${Math.random().toString(36).slice(2, 8)}`
    headingText(a.doc).insert(headingText(a.doc).length, mark)
    await waitFor(() => headingText(r.doc).toString().includes(mark), 3000, "R to see A's edit")
    // R's edit as an update message...
    const online = `RO-ONLINE-${mark}`
    headingText(r.doc).insert(0, online)
    // ...and one made offline, which reaches the server in R's sync step 2 on reconnection.
    await sleep(200)
    r.provider.disconnect()
    const offline = `RO-OFFLINE-${mark}`
    headingText(r.doc).insert(0, offline)
    r.provider.connect()
    const resynced = await waitFor(() => r.provider.synced, 3000, 'R to sync again').catch(() => false)
    await sleep(1000)
    const leaked = doc => [online, offline].filter(m => JSON.stringify(pageJson(doc)).includes(m))
    check(leaked(a.doc).length === 0, `A saw R's edits: ${leaked(a.doc)}`)
    const f = await s.client('F', 1)
    check(leaked(f.doc).length === 0, `a fresh client saw R's edits: ${leaked(f.doc)}`)
    return { r_resynced_after_offline_edit: resynced }
  },

  async rest_write (s) {
    const a = await s.client('A', 0)
    const url = `${config.http_base}/api/v1/studio/projects/${config.project_id}/pages/${config.page_id}`
    const page = await http('GET', url, config.tokens[0])
    const document = page.document
    const node = document.children.find(c => c.type === 'heading')
    node.props.text = 'From REST'
    let method = 'PUT'
    let res = await http(method, url, config.tokens[0], { document }, true)
    if (res.status === 405) res = await http(method = 'PATCH', url, config.tokens[0], { document }, true)
    check(res.ok, `${method} answered ${res.status}: ${await res.text()}`)
    const started = Date.now()
    await waitFor(() => headingText(a.doc)?.toString() === 'From REST', 5000, 'A to see "From REST"')
    return { method, ms: Date.now() - started, whole_document_equal: isDeepStrictEqual(pageJson(a.doc), document) }
  },

  async invalid_repaired (s) {
    const a = await s.client('A', 0)
    const b = await s.client('B', 1)
    const levels = doc => pageJson(doc).children.filter(c => c.type === 'heading').map(c => c.props.level)
    const valid = level => level === undefined || (Number.isInteger(level) && level >= 1 && level <= 6)
    const seenByB = []
    const watch = () => { for (const l of levels(b.doc)) if (!valid(l)) seenByB.push(l) }
    watch()
    b.doc.getMap('page').observeDeep(watch)
    const before = heading(a.doc).get('props').get('level')
    heading(a.doc).get('props').set('level', 99)
    check(heading(a.doc).get('props').get('level') === 99, 'local set failed')
    const started = Date.now()
    await waitFor(() => levels(a.doc).every(valid), 5000, "A's level to be repaired")
    const repairedMs = Date.now() - started
    await waitFor(() => isDeepStrictEqual(pageJson(a.doc), pageJson(b.doc)), 3000, 'A and B to converge')
    await sleep(300)
    check(seenByB.length === 0, `B observed invalid levels ${seenByB}`)
    return { before, after: heading(a.doc).get('props').get('level'), repaired_ms: repairedMs }
  },

  async unauthorized () {
    const room = `${config.ws_base}/${config.page_id}`
    const got = {
      no_token: await upgradeStatus(room),
      bogus_token: await upgradeStatus(`${room}?token=bogus`)
    }
    const want = { no_token: 401, bogus_token: 401 }
    if (config.foreign_token) {
      got.other_org = await upgradeStatus(`${room}?token=${encodeURIComponent(config.foreign_token)}`)
      want.other_org = 404
    }
    check(isDeepStrictEqual(got, want), `expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`)
    return got
  }
}

const TIMEOUTS = { awareness: 30000, read_only: 15000 }

// ---- helpers ----

function check (condition, message) {
  if (!condition) throw new Error(message)
}

async function http (method, url, token, body, raw = false) {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined
  })
  if (raw) return res
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`)
  try { return JSON.parse(text) } catch { throw new Error(`${method} ${url}: not JSON: ${text.slice(0, 200)}`) }
}

/** The HTTP status of a WebSocket upgrade: 101 if it opened, else the refusal's status. */
function upgradeStatus (url) {
  return new Promise(resolve => {
    const ws = new WebSocket(url)
    ws.on('unexpected-response', (req, res) => { resolve(res.statusCode); req.destroy() })
    ws.on('open', () => { resolve(101); ws.terminate() })
    ws.on('error', e => resolve(`error: ${e.message}`))
  })
}

/**
 * A raw client (tokens[1]) sends query-awareness (message type 3) once the greeting is over and
 * must be answered with an awareness message holding `clientId`'s state.
 */
async function queryAwareness (clientId) {
  const ws = new WebSocket(`${config.ws_base}/${config.page_id}?token=${encodeURIComponent(config.tokens[1])}`)
  const received = [] // awareness payloads, in order
  ws.on('message', data => {
    const decoder = decoding.createDecoder(new Uint8Array(data))
    if (decoding.readVarUint(decoder) === 1) received.push(decoding.readVarUint8Array(decoder))
  })
  const holdsAnn = payload => {
    const awareness = new awarenessProtocol.Awareness(new Y.Doc())
    awarenessProtocol.applyAwarenessUpdate(awareness, payload, 'server')
    awareness.destroy()
    return awareness.getStates().get(clientId)?.user?.name === 'Ann'
  }
  try {
    await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject) })
    await sleep(300)
    const before = received.length
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 3)
    ws.send(encoding.toUint8Array(encoder))
    await waitFor(() => received.slice(before).some(holdsAnn), 3000, 'an answer to query-awareness')
    return 'answered'
  } finally {
    ws.terminate()
  }
}

/** A free TCP port on 127.0.0.1. */
function freePort () {
  return new Promise(resolve => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Starts a Node server (PORT, HOST from the environment); resolves with its first output line. */
async function startServer (script) {
  const port = await freePort()
  const bin = fileURLToPath(new URL(script, import.meta.url))
  const child = spawn(process.execPath, [bin], { env: { ...process.env, HOST: '127.0.0.1', PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise((resolve, reject) => {
    child.stdout.once('data', d => resolve(String(d).split('\n')[0]))
    child.on('exit', code => reject(new Error(`${script} exited with ${code}`)))
  })
  return { port, child, line }
}

function loadConfig () {
  const arg = process.argv.slice(2).find(a => !a.startsWith('--'))
  const source = process.env.COLLAB_CONFIG ?? (arg && readFileSync(arg, 'utf8'))
  if (!source) return null
  return JSON.parse(source.trim().startsWith('{') ? source : readFileSync(source, 'utf8'))
}

// ---- main ----

let config = loadConfig()
let server = null
if (!config && REFERENCE) {
  server = await startServer('./node_modules/@y/websocket-server/src/server.js')
  config = { ws_base: `ws://127.0.0.1:${server.port}/api/v1/collab/pages`, tokens: ['a', 'b'] }
} else if (!config && process.argv.includes('--mock')) {
  server = await startServer('./mock-socle.mjs')
  config = JSON.parse(server.line)
} else if (!config) {
  console.error('usage: COLLAB_CONFIG=config.json node interop.mjs  |  node interop.mjs --reference  |  node interop.mjs --mock')
  process.exit(2)
}
if (REFERENCE) config.page_id ??= `interop-${Date.now()}`

if (REFERENCE) { // the reference starts rooms empty; write the initial page once
  const seeder = await connect(config.ws_base, config.page_id, {})
  seedIfEmpty(seeder.doc)
  await sleep(200)
  seeder.provider.destroy()
}

let failed = 0
for (const name of config.scenarios ?? Object.keys(scenarios)) {
  if (REFERENCE && SOCLE_ONLY.has(name)) {
    console.log(JSON.stringify({ scenario: name, ok: null, skipped: true, detail: 'Socle only' }))
    continue
  }
  const providers = []
  const scope = {
    async client (name, who) {
      const params = typeof who === 'number' ? { token: config.tokens[who] } : who
      const c = await connect(config.ws_base, config.page_id, params).catch(e => { throw new Error(`${name}: ${e.message}`) })
      providers.push(c.provider)
      return c
    },
    closeAll () { for (const p of providers.splice(0)) p.destroy() }
  }
  let ok = false
  let detail
  let timer
  try {
    const run = scenarios[name]
    check(run, `unknown scenario ${name}`)
    const ms = TIMEOUTS[name] ?? 10000
    const timeout = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`scenario timed out after ${ms} ms`)), ms) })
    const running = run(scope)
    running.catch(() => {}) // still settles after a timeout; its error no longer matters
    detail = await Promise.race([running, timeout])
    ok = true
  } catch (e) {
    detail = e.message
    failed++
  } finally {
    clearTimeout(timer)
    scope.closeAll()
  }
  console.log(JSON.stringify({ scenario: name, ok, detail }))
}
server?.child.kill()
process.exit(failed ? 1 : 0)
