// Load generator for the collaboration benchmark (driven by bench/collab.sh). Every editor is a
// real Yjs client on its own Y.Doc, applying what it receives: a WebSocket speaking the
// y-protocols sync and awareness messages as y-websocket does, minus y-websocket's own costs
// (encoding every applied remote update again), so that one Node process can drive 50 editors.
// Prints one JSON line. Needs tests/collab's packages (cd tests/collab && npm ci).
//
//   node bench/collab.mjs edit  --url WS_BASE --room ROOM [--token T] --editors N [--duration 10]
//        [--warmup 1] [--rate 0 | --room-rate R] [--window 16] [--seed] [--server-pid PID] [--label NAME]
//     Each editor types one character at a time at the end of the page's first heading text
//     (doc.getMap("page") → children[0] → props → text). --rate R: R edits/s per editor;
//     0: as fast as the window allows; --room-rate R: R edits/s in the room, shared evenly
//     by the editors. --window W: at most W of an editor's edits not yet
//     applied by every other editor. Measured: deliveries (an edit applied by one receiver)
//     per second, and fan-out latency (from the sender's insert to each receiver's apply;
//     one process, one clock) p50/p99/max.
//   node bench/collab.mjs rooms --url WS_BASE (--room-list a,b,... | --rooms R --room PREFIX)
//        [--token T] [--seed] --server-pid PID
//     Opens R rooms with one connection each; the server's resident memory (VmRSS) before
//     and after gives bytes per open room (its one connection included).
//   node bench/collab.mjs conns --url WS_BASE --room ROOM --conns C [--token T] [--seed] --server-pid PID
//     Opens one connection (the room is loaded), then C more: bytes per connection.
//   node bench/collab.mjs report RESULTS.jsonl
//     Markdown tables of the medians over rounds of the JSON lines collected by collab.sh.
// --seed: the room starts empty (the reference server): the first client writes the page.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import {
  Y, WebSocket, syncProtocol, awarenessProtocol, encoding, decoding, seedIfEmpty, headingText, sleep, waitFor
} from '../tests/collab/lib.mjs'

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    room: { type: 'string' },
    'room-list': { type: 'string' },
    token: { type: 'string' },
    editors: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
    rate: { type: 'string', default: '0' },
    'room-rate': { type: 'string' },
    window: { type: 'string', default: '16' },
    rooms: { type: 'string', default: '100' },
    conns: { type: 'string', default: '200' },
    seed: { type: 'boolean', default: false },
    'server-pid': { type: 'string' },
    'gc-signal': { type: 'string' },
    label: { type: 'string', default: '' }
  }
})
const mode = positionals[0] ?? 'edit'
const params = opt.token ? { token: opt.token } : {}

// ---- server-side readings from /proc ----
const status = (pid, key) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${key}:\\s+(\\d+)`))[1]) * 1024
const rss = pid => status(pid, 'VmRSS')
/** CPU seconds (user + system) the process has used; clock ticks are 1/100 s on Linux. */
const cpuSeconds = pid => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}
const serverPid = opt['server-pid']

const REMOTE = 'remote'
const frame = (type, write) => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, type)
  write(e)
  return encoding.toUint8Array(e)
}

/**
 * One editor: a Y.Doc synced over one WebSocket. Remote updates are applied with origin
 * REMOTE; local edits go through edit(), which sends the transaction's update (the 'update'
 * listener is attached for that transaction only, so remote updates are not re-encoded).
 */
class Editor {
  constructor (room) {
    this.doc = new Y.Doc()
    this.awareness = new awarenessProtocol.Awareness(this.doc)
    this.synced = false
    const query = new URLSearchParams(params).toString()
    this.ws = new WebSocket(`${opt.url}/${encodeURIComponent(room)}${query ? `?${query}` : ''}`)
    this.ws.on('error', e => { this.error = e.message })
    this.ws.on('unexpected-response', (_req, res) => { this.error = `HTTP ${res.statusCode}` })
    this.ws.on('open', () => {
      this.ws.send(frame(0, e => syncProtocol.writeSyncStep1(e, this.doc)))
      this.awareness.setLocalState({ user: { name: `editor ${this.doc.clientID}` } })
      this.ws.send(frame(1, e => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.doc.clientID]))))
    })
    this.ws.on('message', data => this.receive(data))
  }

  receive (data) {
    const decoder = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    const type = decoding.readVarUint(decoder)
    if (type === 0) {
      const reply = encoding.createEncoder()
      encoding.writeVarUint(reply, 0)
      const sub = syncProtocol.readSyncMessage(decoder, reply, this.doc, REMOTE)
      if (encoding.length(reply) > 1) this.ws.send(encoding.toUint8Array(reply))
      if (sub === syncProtocol.messageYjsSyncStep2) this.synced = true
    } else if (type === 1) {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), REMOTE)
    } else if (type === 3) {
      this.ws.send(frame(1, e => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...this.awareness.getStates().keys()]))))
    }
  }

  edit (change) {
    const send = update => this.ws.send(frame(0, e => syncProtocol.writeUpdate(e, update)))
    this.doc.on('update', send)
    try { this.doc.transact(change) } finally { this.doc.off('update', send) }
  }

  close () {
    this.awareness.destroy()
    this.ws.terminate()
  }
}

async function openClient (room) {
  const c = new Editor(room)
  await waitFor(() => c.synced || c.error, 15000, `sync with ${opt.url}/${room}`)
  if (!c.synced) throw new Error(`${opt.url}/${room}: ${c.error}`)
  if (opt.seed) c.edit(() => seedIfEmpty(c.doc))
  return c
}

/** Opens clients in batches of `batch` at a time. */
async function openMany (rooms, batch = 20) {
  const clients = []
  for (let i = 0; i < rooms.length; i += batch) clients.push(...await Promise.all(rooms.slice(i, i + batch).map(openClient)))
  return clients
}

/** Server RSS once the server is idle (under 2% CPU) and its RSS stable over half a second. */
async function settledRss () {
  if (opt['gc-signal']) { // a garbage-collected server that collects on this signal
    process.kill(Number(serverPid), opt['gc-signal'])
    await sleep(500)
  }
  let last = rss(serverPid)
  let cpu = cpuSeconds(serverPid)
  for (let i = 0; i < 60; i++) {
    await sleep(500)
    const [nowRss, nowCpu] = [rss(serverPid), cpuSeconds(serverPid)]
    if (Math.abs(nowRss - last) < 64 * 1024 && nowCpu - cpu < 0.01) return nowRss
    last = nowRss
    cpu = nowCpu
  }
  return last
}

const percentile = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null
const round = (x, digits = 2) => x === null ? null : Number(x.toFixed(digits))

const MAX_TEXT = Number(opt['max-text'] ?? 2000)

async function edit () {
  const n = Number(opt.editors)
  const window = Number(opt.window)
  const roomRate = opt['room-rate'] ? Number(opt['room-rate']) : null
  const rate = roomRate ? roomRate / n : Number(opt.rate)
  const editors = []
  for (let i = 0; i < n; i++) {
    const c = await openClient(opt.room)
    editors.push(Object.assign(c, { inflight: 0, sent: new Map(), throttled: 0 }))
  }
  await waitFor(() => editors.every(e => headingText(e.doc)), 10000, 'every editor to have the heading text')
  const byClient = new Map(editors.map(e => [e.doc.clientID, e]))

  let measuring = false
  let sending = true
  let deliveries = 0 // in the measured window
  let edits = 0
  const latencies = []
  for (const receiver of editors) {
    receiver.doc.on('afterTransaction', tr => {
      if (tr.origin !== REMOTE) return
      const now = performance.now()
      for (const [client, to] of tr.afterState) {
        const sender = byClient.get(client)
        if (!sender || sender === receiver) continue
        for (let clock = tr.beforeState.get(client) ?? 0; clock < to; clock++) {
          const edit = sender.sent.get(clock)
          if (!edit) continue
          if (measuring) deliveries++
          if (edit.measured) latencies.push(now - edit.t)
          if (--edit.remaining === 0) {
            sender.sent.delete(clock)
            sender.inflight--
            if (rate === 0) pump(sender)
          }
        }
      }
    })
  }
  const type = e => {
    const text = headingText(e.doc)
    const clock = Y.getState(e.doc.store, e.doc.clientID)
    e.sent.set(clock, { t: performance.now(), remaining: n - 1, measured: measuring })
    e.inflight++
    if (measuring) edits++
    // Typing at the end while the start is trimmed keeps the text at most MAX_TEXT long, so
    // the page stays valid (Socle refuses a text prop over 10,000 characters) however long
    // the run is.
    e.edit(() => {
      text.insert(text.length, String.fromCharCode(97 + (clock % 26)))
      if (text.length > MAX_TEXT) text.delete(0, text.length - MAX_TEXT)
    })
  }
  const pump = e => {
    while (sending && e.inflight < window) type(e)
  }
  const timers = []
  if (rate === 0) {
    editors.forEach(pump)
  } else {
    for (const e of editors) {
      // a random phase, so that the editors do not all type in the same millisecond
      timers.push(setTimeout(() => timers.push(setInterval(() => {
        if (!sending) return
        if (e.inflight < window) type(e)
        else if (measuring) e.throttled++
      }, 1000 / rate)), Math.random() * 1000 / rate))
    }
  }
  await sleep(Number(opt.warmup) * 1000)
  const cpu0 = process.cpuUsage()
  const server0 = serverPid ? cpuSeconds(serverPid) : null
  const t0 = performance.now()
  measuring = true
  await sleep(Number(opt.duration) * 1000)
  measuring = false
  const elapsed = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const serverCpu = serverPid ? cpuSeconds(serverPid) - server0 : null
  sending = false
  timers.forEach(clearInterval)
  // Drain: every measured edit should reach every other editor.
  const drained = await waitFor(() => editors.every(e => e.inflight === 0), 10000, 'drain').then(() => true, () => false)
  const lost = editors.reduce((sum, e) => sum + [...e.sent.values()].reduce((s, x) => s + (x.measured ? x.remaining : 0), 0), 0)
  const texts = new Set(editors.map(e => headingText(e.doc).toString()))
  const sorted = Float64Array.from(latencies).sort()
  const result = {
    mode: 'edit',
    label: opt.label,
    editors: n,
    rate_per_editor: round(rate, 3),
    room_rate: roomRate ?? round(rate * n, 3),
    window,
    seconds: round(elapsed),
    edits_per_s: round(edits / elapsed, 0),
    deliveries_per_s: round(deliveries / elapsed, 0),
    latency_ms: {
      p50: round(percentile(sorted, 0.5), 3),
      p99: round(percentile(sorted, 0.99), 3),
      max: round(sorted.length ? sorted[sorted.length - 1] : null, 3),
      samples: sorted.length
    },
    drained,
    undelivered: lost,
    converged: texts.size === 1,
    text_length: headingText(editors[0].doc).length,
    throttled_ticks: editors.reduce((s, e) => s + e.throttled, 0),
    client_cpu_percent: round((cpu.user + cpu.system) / 1e4 / elapsed, 0),
    server_cpu_percent: serverCpu === null ? null : round(serverCpu * 100 / elapsed, 0),
    // what the server spends per delivery, whichever side the limit is on
    server_cpu_us_per_delivery: serverCpu === null || !deliveries ? null : round(serverCpu * 1e6 / deliveries, 2),
    server_rss_bytes: serverPid ? rss(serverPid) : null
  }
  editors.forEach(e => e.close())
  return result
}

// Memory: the server's RSS before, after the first half and after the second half; the
// second half's growth (the marginal cost) leaves out one-time costs such as a heap growing.
async function measureGrowth (targets) {
  const half = Math.floor(targets.length / 2)
  const before = await settledRss()
  const clients = await openMany(targets.slice(0, half))
  const middle = await settledRss()
  clients.push(...await openMany(targets.slice(half)))
  const after = await settledRss()
  clients.forEach(c => c.close())
  return {
    rss_before: before,
    rss_middle: middle,
    rss_after: after,
    per_item: Math.round((after - before) / targets.length),
    per_item_marginal: Math.round((after - middle) / (targets.length - half))
  }
}

async function rooms () {
  const names = opt['room-list'] ? opt['room-list'].split(',') : Array.from({ length: Number(opt.rooms) }, (_, i) => `${opt.room}-${i}`)
  const { per_item: perRoom, per_item_marginal: marginal, ...rss } = await measureGrowth(names)
  return { mode: 'rooms', label: opt.label, rooms: names.length, ...rss, bytes_per_room: perRoom, bytes_per_room_marginal: marginal }
}

async function conns () {
  const first = await openClient(opt.room) // the room is loaded before measuring
  const { per_item: perConn, per_item_marginal: marginal, ...rss } = await measureGrowth(Array(Number(opt.conns)).fill(opt.room))
  first.close()
  return { mode: 'conns', label: opt.label, conns: Number(opt.conns), ...rss, bytes_per_conn: perConn, bytes_per_conn_marginal: marginal }
}

// ---- report: medians over rounds, as Markdown ----
function report (path) {
  const rows = readFileSync(path, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line))
  const median = xs => {
    const s = xs.filter(x => x !== null && x !== undefined).sort((a, b) => a - b)
    return s.length ? s[Math.floor((s.length - 1) / 2)] : null
  }
  const groups = new Map()
  for (const r of rows) {
    const key = JSON.stringify([r.mode, r.label, r.editors ?? null, r.room_rate ?? null])
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key).push(r)
  }
  const pick = (mode, filter = () => true) => [...groups.values()].filter(g => g[0].mode === mode && filter(g[0]))
  const fmt = (x, unit = '') => x === null || x === undefined ? '-' : `${x}${unit}`
  const out = []
  const editRows = (title, filter) => {
    const gs = pick('edit', filter).sort((a, b) => a[0].editors - b[0].editors || a[0].label.localeCompare(b[0].label))
    if (!gs.length) return
    out.push(`### ${title}`, '', '| editors | server | deliveries/s | edits/s | p50 | p99 | max | server CPU | server CPU per delivery | load generator CPU | rounds | all delivered |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    for (const g of gs) {
      const m = f => median(g.map(f))
      out.push(`| ${g[0].editors} | ${g[0].label} | ${fmt(m(r => r.deliveries_per_s))} | ${fmt(m(r => r.edits_per_s))} | ${fmt(m(r => r.latency_ms.p50), ' ms')} | ${fmt(m(r => r.latency_ms.p99), ' ms')} | ${fmt(m(r => r.latency_ms.max), ' ms')} | ${fmt(m(r => r.server_cpu_percent), '%')} | ${fmt(m(r => r.server_cpu_us_per_delivery), ' µs')} | ${fmt(m(r => r.client_cpu_percent), '%')} | ${g.length} | ${g.every(r => r.drained && r.converged) ? 'yes' : 'NO'} |`)
    }
    out.push('')
  }
  // Round by round (the servers run alternately, so round i of each saw the same machine):
  // the p99 moves between rounds more than between servers, so a median alone can mislead.
  const headToHead = rate => {
    const runs = label => rows.filter(r => r.mode === 'edit' && r.room_rate === rate && r.label === label)
    const [ref, socle] = [runs('reference'), runs('socle')]
    if (!ref.length || !socle.length) return
    const sizes = [...new Set(socle.map(r => r.editors))].sort((a, b) => a - b)
    out.push(`p99 round by round at ${rate} edits/s:`, '', '| editors | reference | Socle | rounds where Socle\'s p99 is lower |', '| --- | --- | --- | --- |')
    for (const n of sizes) {
      const a = ref.filter(r => r.editors === n).map(r => r.latency_ms.p99)
      const b = socle.filter(r => r.editors === n).map(r => r.latency_ms.p99)
      const k = Math.min(a.length, b.length)
      const lower = [...Array(k).keys()].filter(i => b[i] < a[i]).length
      out.push(`| ${n} | ${a.join(' / ')} ms | ${b.join(' / ')} ms | ${lower} of ${k} |`)
    }
    out.push('')
  }
  editRows(`Throughput: every editor types as fast as its window of ${rows.find(r => r.mode === 'edit')?.window} unacknowledged edits allows`, r => r.room_rate === 0)
  const rates = [...new Set(rows.filter(r => r.mode === 'edit' && r.room_rate > 0).map(r => r.room_rate))]
  for (const rate of rates) {
    editRows(`Fan-out latency: ${rate} edits/s in the room, shared by its editors`, r => r.room_rate === rate)
    headToHead(rate)
  }
  const mem = [...pick('rooms'), ...pick('conns')]
  if (mem.length) {
    out.push('### Memory (server RSS growth; marginal: the second half of the rooms or connections)', '',
      '| server | per open room (1 connection) | marginal | per connection | marginal | rooms / connections |', '| --- | --- | --- | --- | --- | --- |')
    for (const label of [...new Set(mem.map(g => g[0].label))]) {
      const r = pick('rooms', x => x.label === label)[0] ?? []
      const c = pick('conns', x => x.label === label)[0] ?? []
      const kib = (g, f) => g.length ? `${(median(g.map(f)) / 1024).toFixed(1)} KiB` : '-'
      out.push(`| ${label} | ${kib(r, x => x.bytes_per_room)} | ${kib(r, x => x.bytes_per_room_marginal)} | ${kib(c, x => x.bytes_per_conn)} | ${kib(c, x => x.bytes_per_conn_marginal)} | ${r[0]?.rooms ?? '-'} / ${c[0]?.conns ?? '-'} |`)
    }
    out.push('')
  }
  return out.join('\n')
}

if (mode === 'report') {
  console.log(report(positionals[1]))
  process.exit(0)
}
if (!opt.url || (!opt.room && !opt['room-list'])) {
  console.error('usage: see the head of bench/collab.mjs')
  process.exit(2)
}
if (mode !== 'edit' && !serverPid) {
  console.error(`${mode} needs --server-pid`)
  process.exit(2)
}
const run = { edit, rooms, conns }[mode]
if (!run) throw new Error(`unknown mode ${mode}`)
console.log(JSON.stringify(await run()))
process.exit(0)
