// The page every server serves at `/` (servers/page.ts): it opens the server's transport with the
// browser's own API and shows the ticker with its own latency readout. With `?bench` it is a measuring
// client (load/clients/browser.ts): it keeps what a Node client keeps (seq, ts, receive instant) and
// hands it over in batches through the `pbReport` binding the generator exposes.
// Plain ES2022 for the browser: no build step, no CDN.

const cfg = JSON.parse(document.getElementById('pb-config').textContent)
const q = new URLSearchParams(location.search)
const bench = q.has('bench')
/** keep every update's text (tests compare them byte for byte with a Node client's) */
const keep = q.has('keep')
const base = (cfg.server || location.origin).replace(/\/$/, '')
const stream = q.get('stream')
const interval = Number(q.get('interval') || cfg.pollIntervalMs)
/** the page's clock: the suite's clock on one host (lib/clock.ts) */
const now = () => performance.timeOrigin + performance.now()
/**
 * How often the records go to the generator. A hand-over costs Chromium about 3.5 ms of CPU (measured:
 * one every 250 ms put 1.4% of a core on a WebSocket page that cost 2.8% without), so it is rare; the
 * receive instants are taken when updates arrive, not when they are handed over
 */
const FLUSH_MS = 1000
const RECONNECT_MS = 1000

/** seq, ts, receivedMs per update, flat; [scheduledMs, lagMs] per short poll; events */
let updates = []
let lags = []
let events = []
const state = { opened: 0, subscribed: false, lastSeq: undefined, received: 0, errors: 0 }
window.__pb = { state, texts: [], events: [] }

function event(type, detail) {
  const e = { type, atMs: now(), ...detail }
  if (bench) {
    events.push(e)
    // the ramp waits on these, and a refused resume must be accounted before the updates that follow it:
    // they do not wait for the next hand-over
    if (type === 'open' || type === 'subscribed' || type === 'refused') setTimeout(flush, 0)
  }
  window.__pb.events.push(e)
  render.status()
}

function subscribed() {
  if (state.subscribed) return
  state.subscribed = true
  event('subscribed')
}

/** One update's JSON text, received at `receivedMs`. */
function onUpdate(text, receivedMs) {
  let u
  try {
    u = JSON.parse(text)
  } catch {
    event('corrupt', { message: `not JSON: ${text.slice(0, 80)}` })
    return
  }
  const ok =
    typeof u.seq === 'number' &&
    typeof u.ts === 'number' &&
    typeof u.sym === 'string' &&
    typeof u.px === 'number' &&
    (cfg.payloadBytes === undefined || text.length === cfg.payloadBytes)
  if (!ok) {
    event('corrupt', { message: `not an update of ${cfg.payloadBytes} B: ${text.slice(0, 80)}` })
    return
  }
  if (bench) updates.push(u.seq, u.ts, receivedMs)
  if (keep) window.__pb.texts.push(text)
  if (state.lastSeq === undefined || u.seq > state.lastSeq) state.lastSeq = u.seq
  state.received++
  render.update(u, receivedMs - u.ts)
}

/**
 * A gap signal (`{"type":"gap","from":N,"first":M}` as SSE data or a WebSocket message, or a poll's
 * `pb-gap: from=N; first=M`): the server no longer held N+1 .. M-1. Handed over as an event.
 */
function onGap(from, first) {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(first) || first <= from) {
    event('error', { message: `malformed gap signal: from ${from}, first ${first}` })
    return
  }
  if (state.lastSeq === undefined || first - 1 > state.lastSeq) state.lastSeq = first - 1
  event('gap', { from, first })
}

function onGapJson(text) {
  let g
  try {
    g = JSON.parse(text)
  } catch {}
  onGap(g?.from, g?.first)
}

/** The server refused our resume point (past its newest seq: it restarted): start afresh. */
function refused() {
  state.lastSeq = undefined
  event('refused')
}

function withQuery(extra) {
  const p = new URLSearchParams()
  if (stream !== null) p.set('stream', stream)
  for (const [k, v] of Object.entries(extra)) p.set(k, String(v))
  const s = p.toString()
  return `${base}${cfg.path}${s ? `?${s}` : ''}`
}

/** The objects of a poll answer (`[{...},{...}]`) as the exact text the server sent. */
function splitArray(body) {
  const out = []
  let depth = 0
  let start = -1
  let inString = false
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b && depth++ === 0) start = i
    else if (c === 0x7d && --depth === 0) out.push(body.slice(start, i + 1))
  }
  return out
}

/** One GET of a poll: accounts the answer, learns where the stream is; false on a failure. */
async function pollOnce(since) {
  const res = await fetch(withQuery(since === undefined ? {} : { since }), { cache: 'no-store' })
  const receivedAt = () => now()
  if (res.status === 200) {
    const body = await res.text()
    const at = receivedAt()
    const gap = /^\s*from=(\d+)\s*;\s*first=(\d+)\s*$/.exec(res.headers.get('pb-gap') ?? '')
    if (gap) onGap(Number(gap[1]), Number(gap[2]))
    for (const text of splitArray(body)) onUpdate(text, at)
  } else if (res.status === 204) {
    const seq = res.headers.get('pb-seq')
    if (seq === null) throw new Error('204 without a readable pb-seq header (CORS must expose it)')
    if (state.lastSeq === undefined) state.lastSeq = Number(seq)
  } else {
    if (res.status === 400 && since !== undefined && res.headers.get('pb-seq') !== null) refused()
    throw new Error(`HTTP ${res.status}`)
  }
  subscribed()
}

/** One poll; the first answer opens the page's connection, a failure is reported and waited out. */
async function pollOrBackOff(since) {
  try {
    await pollOnce(since)
  } catch (err) {
    event('error', { message: String(err?.message ?? err) })
    await new Promise((r) => setTimeout(r, RECONNECT_MS))
    return false
  }
  if (state.opened === 0) {
    state.opened = 1
    event('open')
  }
  return true
}

const clients = {
  sse() {
    const es = new EventSource(withQuery({}))
    es.onopen = () => {
      if (state.opened++ > 0) event('reconnect')
      event('open')
      subscribed()
    }
    es.onmessage = (m) => onUpdate(m.data, now())
    es.addEventListener('gap', (m) => onGapJson(m.data))
    // the browser reconnects by itself after the server's `retry:` delay, sending Last-Event-ID
    es.onerror = () => event('error', { message: `EventSource error, readyState ${es.readyState}` })
    window.__pb.close = () => es.close()
  },

  websocket() {
    let ws
    let closed = false
    const open = () => {
      const since = state.lastSeq === undefined ? {} : { since: state.lastSeq }
      ws = new WebSocket(withQuery(since).replace(/^http/, 'ws'))
      ws.onopen = () => {
        if (state.opened++ > 0) event('reconnect')
        event('open')
        subscribed()
      }
      ws.onmessage = (m) =>
        typeof m.data === 'string' && m.data.startsWith('{"type":"gap"')
          ? onGapJson(m.data)
          : onUpdate(m.data, now())
      ws.onclose = (e) => {
        event('close', { code: e.code, reason: e.reason, wasClean: e.wasClean })
        if (e.code === 1008 && since.since !== undefined) refused()
        if (!closed) setTimeout(open, RECONNECT_MS)
      }
    }
    open()
    window.__pb.close = () => {
      closed = true
      ws.close(1000, 'page done')
    }
  },

  async 'long-poll'() {
    let closed = false
    window.__pb.close = () => {
      closed = true
    }
    while (!closed) if (!(await pollOrBackOff(state.lastSeq)) && !closed) event('reconnect')
  },

  'short-poll'() {
    // poll k leaves at epoch + phase x interval + k x interval (as load/clients/short-poll.ts); one
    // poll in flight at a time, a late one records how late it left
    const epoch = Number(q.get('epochMs') || now())
    let origin = epoch + Number(q.get('phase') || 0) * interval
    if (origin < now()) origin += Math.ceil((now() - origin) / interval) * interval
    let slot = 0
    let inFlight = false
    let pendingAt
    let timer
    const poll = async (scheduledMs) => {
      inFlight = true
      if (bench) lags.push(scheduledMs, now() - scheduledMs)
      if (!(await pollOrBackOff(state.lastSeq))) event('reconnect')
      inFlight = false
      if (pendingAt !== undefined) {
        const at = pendingAt
        pendingAt = undefined
        poll(at)
      }
    }
    const arm = () => {
      const at = origin + slot * interval
      timer = setTimeout(
        () => {
          slot++
          if (inFlight) pendingAt ??= at
          else poll(at)
          arm()
        },
        Math.max(0, at - now()),
      )
    }
    // the first poll leaves at once (to learn where the stream is); the schedule starts at the phase
    inFlight = true
    pollOrBackOff(undefined).then(() => {
      inFlight = false
    })
    arm()
    window.__pb.close = () => clearTimeout(timer)
  },
}

/** What a person sees: the newest price per symbol, and the latency of the last updates. */
const render = (() => {
  if (bench) return { update() {}, status() {} }
  const rows = new Map()
  const recent = []
  const $ = (id) => document.getElementById(id)
  let pending = false
  const draw = () => {
    pending = false
    const sorted = [...recent].sort((a, b) => a - b)
    const p = (f) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))]
    $('pb-latency').textContent = sorted.length
      ? `p50 ${p(0.5).toFixed(1)} ms · p99 ${p(0.99).toFixed(1)} ms (last ${sorted.length})`
      : 'waiting for the first update'
    $('pb-count').textContent = `${state.received} updates, newest seq ${state.lastSeq ?? '-'}`
    const body = $('pb-rows')
    for (const [sym, { px, ms, row }] of rows) {
      if (!row.isConnected) body.append(row)
      row.cells[0].textContent = sym
      row.cells[1].textContent = px.toFixed(2)
      row.cells[2].textContent = `${ms.toFixed(1)} ms`
    }
  }
  return {
    update(u, ms) {
      recent.push(ms)
      if (recent.length > 200) recent.shift()
      const r = rows.get(u.sym) ?? { row: document.createElement('tr') }
      if (!r.row.cells.length) for (let i = 0; i < 3; i++) r.row.insertCell()
      r.px = u.px
      r.ms = ms
      rows.set(u.sym, r)
      if (!pending) {
        pending = true
        requestAnimationFrame(draw)
      }
    },
    status() {
      const last = window.__pb.events[window.__pb.events.length - 1]
      if (last) $('pb-status').textContent = `${last.type}${last.message ? `: ${last.message}` : ''}`
    },
  }
})()

// hand what was measured to the generator in batches, not per update; at once when the connection opens
function flush() {
  if (typeof window.pbReport !== 'function') return
  if (updates.length === 0 && lags.length === 0 && events.length === 0) return
  const batch = { updates, lags, events }
  updates = []
  lags = []
  events = []
  window.pbReport(batch)
}
if (bench) setInterval(flush, FLUSH_MS)

const API = {
  'short-poll': `fetch() every ${interval} ms`,
  'long-poll': 'fetch(), held by the server until an update',
  sse: 'EventSource',
  websocket: 'WebSocket',
}
if (!bench) document.getElementById('pb-api').textContent = `${API[cfg.client] ?? '?'} → ${base}${cfg.path}`

const start = clients[cfg.client]
if (start) start()
else event('error', { message: `no browser client for ${cfg.transport}` })
