// Helpers shared by the interop harness (interop.mjs) and the benchmark (bench/collab.mjs):
// the page document's Y.Doc mapping, connecting a y-websocket client, waiting for a condition.
// bench/collab.mjs imports the npm packages through this file, so that they resolve from
// tests/collab/node_modules.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

export { Y, WebsocketProvider, WebSocket, syncProtocol, awarenessProtocol, encoding, decoding }

export const INITIAL_PAGE = {
  type: 'page',
  props: {},
  children: [{ type: 'heading', props: { text: 'Hello', level: 1 } }]
}

export const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/** Polls `predicate` (may be async) every 10 ms until it is truthy; throws after `ms`. */
export async function waitFor (predicate, ms, what) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await predicate()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** A prop value as Socle maps it: strings are Y.Text, objects Y.Map, arrays Y.Array. */
export function propToY (value) {
  if (typeof value === 'string') return new Y.Text(value)
  if (Array.isArray(value)) {
    const array = new Y.Array()
    array.push(value.map(propToY))
    return array
  }
  if (value !== null && typeof value === 'object') {
    const map = new Y.Map()
    for (const [k, v] of Object.entries(value)) map.set(k, propToY(v))
    return map
  }
  return value
}

/** Fills `target` (a Y.Map, e.g. doc.getMap('page')) with a page node's JSON; keys absent
 * from the JSON (props, children) stay absent. */
export function fillNode (target, node) {
  for (const key of ['type', 'id', 'name']) if (node[key] !== undefined) target.set(key, node[key])
  if (node.props) target.set('props', propToY(node.props))
  if (node.children) {
    const children = new Y.Array()
    children.push(node.children.map(nodeToY))
    target.set('children', children)
  }
  return target
}

export const nodeToY = node => fillNode(new Y.Map(), node)

export const pageJson = doc => doc.getMap('page').toJSON()

/** The first heading node (a Y.Map) among the page's children. */
export function heading (doc) {
  const children = doc.getMap('page').get('children')
  return children?.toArray().find(child => child instanceof Y.Map && child.get('type') === 'heading')
}

/** The heading's props.text Y.Text. */
export const headingText = doc => heading(doc)?.get('props')?.get('text')

/**
 * A y-websocket client on a fresh Y.Doc; resolves once synced. `params` are the URL query
 * parameters ({token} or {share}). The BroadcastChannel is off: in one Node process it would
 * let clients of the same room talk to each other without the server.
 */
export async function connect (wsBase, room, params, { timeout = 5000, awareness } = {}) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(wsBase, room, doc, {
    params, WebSocketPolyfill: WebSocket, disableBc: true, awareness
  })
  let lastError = ''
  provider.on('connection-error', event => { lastError = event?.message ?? 'connection error' })
  provider.on('connection-close', event => { if (event && !lastError) lastError = `closed with code ${event.code}` })
  try {
    await waitFor(() => provider.synced, timeout, `sync with ${wsBase}/${room}`)
  } catch (e) {
    provider.destroy()
    throw new Error(`${e.message}${lastError ? ` (${lastError})` : ''}`)
  }
  return { doc, provider, awareness: provider.awareness }
}

/** The reference server starts rooms empty: the first client writes the initial page. */
export function seedIfEmpty (doc, page = INITIAL_PAGE) {
  const root = doc.getMap('page')
  if (root.size === 0) doc.transact(() => fillNode(root, page))
}
