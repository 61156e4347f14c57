// A stand-in for Socle's collaboration contract, only to check the harness itself: tokens
// (401/404), read-only share links, the heading-level repair, presence, REST GET/PUT of the page.
// One page, in memory. Not a model of Socle's internals.
//
//   PORT=4321 node mock-socle.mjs   # then: COLLAB_CONFIG=<the JSON it prints> node interop.mjs
import http from 'node:http'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'
import { WebSocketServer } from 'ws'
import { Y, fillNode, heading, INITIAL_PAGE } from './lib.mjs'

const PORT = Number(process.env.PORT ?? 4321)
const PAGE = 'page-1'
const USERS = { tokA: 'user-a', tokB: 'user-b' }
const SHARE = 'shr_mock'
const FOREIGN = 'tokF'

const doc = new Y.Doc()
fillNode(doc.getMap('page'), INITIAL_PAGE)
const awareness = new awarenessProtocol.Awareness(doc)
awareness.setLocalState(null)
const conns = new Map() // ws -> { user, readOnly, ids: Set<clientId> }

const frame = (type, write) => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, type)
  write(e)
  return encoding.toUint8Array(e)
}
const broadcast = (message, except) => { for (const ws of conns.keys()) if (ws !== except) ws.send(message) }

// Updates are relayed to everyone but their origin; a repaired one (merged with its repair,
// in one transaction) to everyone, its sender included.
let repaired = false
doc.on('update', (update, origin) => {
  broadcast(frame(0, e => syncProtocol.writeUpdate(e, update)), repaired ? null : origin)
})
awareness.on('update', ({ added, updated, removed }, origin) => {
  const ws = conns.get(origin)
  if (ws) { added.forEach(id => ws.ids.add(id)); removed.forEach(id => ws.ids.delete(id)) }
  broadcast(frame(1, e => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [...added, ...updated, ...removed]))))
})

const validLevel = l => l === undefined || (Number.isInteger(l) && l >= 1 && l <= 6)
function applyChecked (update, origin) {
  const before = heading(doc)?.get('props')?.get('level')
  repaired = false
  doc.transact(() => {
    Y.applyUpdate(doc, update, origin)
    const props = heading(doc)?.get('props')
    if (props && !validLevel(props.get('level'))) {
      props.set('level', validLevel(before) ? before : 1)
      repaired = true
    }
  }, origin)
  repaired = false
}

function onMessage (ws, data) {
  const decoder = decoding.createDecoder(new Uint8Array(data))
  const type = decoding.readVarUint(decoder)
  if (type === 0) {
    const sub = decoding.readVarUint(decoder)
    if (sub === syncProtocol.messageYjsSyncStep1) {
      const sv = decoding.readVarUint8Array(decoder)
      ws.send(frame(0, e => syncProtocol.writeSyncStep2(e, doc, sv)))
    } else if (!conns.get(ws).readOnly) { // step 2 or update
      applyChecked(decoding.readVarUint8Array(decoder), ws)
    }
  } else if (type === 1) {
    awarenessProtocol.applyAwarenessUpdate(awareness, decoding.readVarUint8Array(decoder), ws)
  } else if (type === 3) {
    ws.send(frame(1, e => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [...awareness.getStates().keys()]))))
  }
}

/** Applies a page JSON to the Y.Doc: texts are edited in place, everything else replaced. */
function patchNode (ymap, json) {
  const props = ymap.get('props')
  for (const [k, v] of Object.entries(json.props ?? {})) {
    const cur = props.get(k)
    if (cur instanceof Y.Text && typeof v === 'string') {
      if (cur.toString() !== v) { cur.delete(0, cur.length); cur.insert(0, v) }
    } else if (JSON.stringify(cur?.toJSON?.() ?? cur) !== JSON.stringify(v)) {
      props.set(k, typeof v === 'string' ? new Y.Text(v) : v)
    }
  }
  const children = ymap.get('children')
  if (!children) return
  if (children.length === (json.children ?? []).length) {
    json.children.forEach((c, i) => patchNode(children.get(i), c))
  } else {
    children.delete(0, children.length)
    children.push(json.children.map(c => fillNode(new Y.Map(), c)))
  }
}

const wss = new WebSocketServer({ noServer: true })
const auth = req => USERS[(req.headers.authorization ?? '').replace(/^Bearer /, '')]
const json = (res, status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)) }

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x')
  if (!auth(req)) return json(res, 401, { error: 'unauthorized' })
  if (url.pathname === `/api/v1/collab/pages/${PAGE}/presence`) {
    const items = [...conns.values()].flatMap(c => [...c.ids].map(id => ({ client_id: id, user_id: c.user, state: awareness.getStates().get(id) })))
    return json(res, 200, { items })
  }
  if (url.pathname === `/api/v1/studio/projects/proj-1/pages/${PAGE}`) {
    if (req.method === 'PUT') {
      let body = ''
      for await (const chunk of req) body += chunk
      doc.transact(() => patchNode(doc.getMap('page'), JSON.parse(body).document), 'rest')
    }
    return json(res, 200, { id: PAGE, document: doc.getMap('page').toJSON() })
  }
  json(res, 404, { error: 'not found' })
})

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://x')
  const token = url.searchParams.get('token')
  const refuse = status => socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-length: 0\r\n\r\n`)
  const readOnly = !token && url.searchParams.get('share') === SHARE
  if (!USERS[token] && !readOnly && token !== FOREIGN) return refuse(401)
  if (url.pathname !== `/api/v1/collab/pages/${PAGE}` || token === FOREIGN) return refuse(404)
  wss.handleUpgrade(req, socket, head, ws => {
    conns.set(ws, { user: USERS[token] ?? null, readOnly, ids: new Set() })
    ws.on('message', data => onMessage(ws, data))
    ws.on('close', () => {
      const ids = [...conns.get(ws).ids]
      conns.delete(ws)
      awarenessProtocol.removeAwarenessStates(awareness, ids, null)
    })
    ws.send(frame(0, e => syncProtocol.writeSyncStep1(e, doc)))
    if (awareness.getStates().size > 0) {
      ws.send(frame(1, e => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [...awareness.getStates().keys()]))))
    }
  })
})

server.listen(PORT, '127.0.0.1', () => {
  console.log(JSON.stringify({
    ws_base: `ws://127.0.0.1:${PORT}/api/v1/collab/pages`,
    http_base: `http://127.0.0.1:${PORT}`,
    project_id: 'proj-1',
    page_id: PAGE,
    tokens: Object.keys(USERS),
    share_token: SHARE,
    foreign_token: FOREIGN
  }))
})
