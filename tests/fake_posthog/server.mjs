// tests/fake_posthog/server.mjs -- a fake of PostHog's query API for the
// osiris tests (posthog.extractor).  Node built-ins only, so the end-to-end
// tests need no npm install; check_reference.mjs checks it against PostHog's
// own HogQL parser (@posthog/hogql-parser) and the reference's examples.
//
// Written from PostHog's published API reference (see README.md):
//   POST /api/projects/:project_id/query/   (also without the trailing /)
//     Authorization: Bearer <personal API key>   (scope query:read)
//     body {"query": {"kind": "HogQLQuery", "query": "<HogQL>"}, ...}
//     200 {"results": [[...], ...], "columns": [...], "types": [[name, type], ...],
//          "hasMore": bool, "limit": n, "offset": n, "query": "<HogQL>",
//          "hogql": "<HogQL>", "is_cached": false}
//   Errors in PostHog's (DRF) shape {"type", "code", "detail", "attr"}:
//     401 not_authenticated (no key) / authentication_failed (bad key),
//     404 not_found (project),
//     400 invalid_input (body, kind, HogQL syntax or unknown table/column),
//     429 throttled (with Retry-After), 5xx injected.
//
// HogQL subset understood (what posthog.extractor sends): one SELECT with a
// column list or *, FROM one of events / persons / sessions /
// person_distinct_ids, WHERE with AND / OR / parentheses over comparisons
// (= == != < <= > >=, IN (...)) of columns with string / number literals
// and toDateTime('...') / toDateTime64('...', p[, tz]), ORDER BY columns
// ASC|DESC, LIMIT n [OFFSET m].  Anything else is a 400 syntax error.
// hasMore: the fake reads limit + 1 rows, as PostHog's runner does, and
// says whether the extra row exists.
//
// Configuration (environment, so no secret is on a command line):
//   FAKE_POSTHOG_KEYS     comma-separated API keys accepted (required)
//   FAKE_POSTHOG_PROJECT  the project id served [1]
//   FAKE_POSTHOG_DATA     JSON file {"events":[...], "persons":[...], ...}
// Command line: node server.mjs [--port N]; prints {"port":N} once listening.
//
// Test knobs (no key; loopback only):
//   POST /__fake/fail   {"nth":N,"status":429|500|503|0,"times":1,"retry_after":S}
//                       the N-th query since the last reset (and times-1 more)
//                       fails; status 0 drops the connection
//   POST /__fake/data   {"table":"events","rows":[...],"append":true}
//   POST /__fake/reset  clears the counter, the fail plans and the log
//   GET  /__fake/log    {"count":N,"requests":[{n,method,path,status,query,auth}]}
//                       auth is "ok", "bad" or "none": the key is never logged.
// A CONNECT request (a client that uses this server as its https proxy) is
// logged as {method:"CONNECT", path:"<host:port>"} and held unanswered, so a
// test can see which host a client wanted without any network.
import http from 'node:http';
import fs from 'node:fs';

const args = process.argv.slice(2);
let port = 0;
for (let i = 0; i < args.length; i++) if (args[i] === '--port') port = Number(args[++i]);
const keys = (process.env.FAKE_POSTHOG_KEYS || '').split(',').filter(Boolean);
if (!keys.length) {
  console.error('fake_posthog: FAKE_POSTHOG_KEYS is required');
  process.exit(2);
}
const project = process.env.FAKE_POSTHOG_PROJECT || '1';

// The tables and their HogQL column types (as the API reports them).
const SCHEMA = {
  events: [['uuid', 'UUID'], ['event', 'String'], ['timestamp', "DateTime64(6, 'UTC')"],
    ['distinct_id', 'String'], ['person_id', 'UUID'], ['properties', 'String'],
    ['elements_chain', 'String'], ['created_at', "DateTime64(6, 'UTC')"]],
  persons: [['id', 'UUID'], ['created_at', "DateTime64(3, 'UTC')"], ['properties', 'String'],
    ['is_identified', 'Bool']],
  sessions: [['session_id', 'String'], ['distinct_id', 'String'],
    ['$start_timestamp', "DateTime64(6, 'UTC')"], ['$end_timestamp', "DateTime64(6, 'UTC')"],
    ['$session_duration', 'Int64'], ['$pageview_count', 'Int64'],
    ['$entry_current_url', 'Nullable(String)'], ['$is_bounce', 'Bool']],
  person_distinct_ids: [['distinct_id', 'String'], ['person_id', 'UUID']],
};
const data = { events: [], persons: [], sessions: [], person_distinct_ids: [] };
if (process.env.FAKE_POSTHOG_DATA) {
  const d = JSON.parse(fs.readFileSync(process.env.FAKE_POSTHOG_DATA, 'utf8'));
  for (const t of Object.keys(data)) if (Array.isArray(d[t])) data[t] = d[t];
}
const state = { count: 0, plans: [], log: [] };

class ApiError extends Error {
  constructor(status, type, code, detail, extraHeaders = {}) {
    super(detail);
    Object.assign(this, { status, type, code, detail, extraHeaders });
  }
}
const syntax = (msg) => new ApiError(400, 'validation_error', 'invalid_input', msg);

// ------------------------------------------------------------ HogQL subset
function tokenize(q) {
  const toks = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= q.length) throw syntax('Syntax error: unterminated string');
        if (q[i] === '\\') { s += q[i + 1]; i += 2; continue; }
        if (q[i] === "'") { if (q[i + 1] === "'") { s += "'"; i += 2; continue; } i++; break; }
        s += q[i++];
      }
      toks.push({ t: 'str', v: s });
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(q.slice(i));
    if (num && !/[A-Za-z_$]/.test(q[i - 1] || '')) { toks.push({ t: 'num', v: Number(num[0]) }); i += num[0].length; continue; }
    const id = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(q.slice(i));
    if (id) { toks.push({ t: 'id', v: id[0] }); i += id[0].length; continue; }
    const op = /^(==|!=|<=|>=|<>|[=<>(),*])/.exec(q.slice(i));
    if (op) { toks.push({ t: 'op', v: op[0] }); i += op[0].length; continue; }
    throw syntax(`Syntax error at offset ${i}: unexpected character '${c}'`);
  }
  return toks;
}

function parseSelect(q) {
  const toks = tokenize(q);
  let p = 0;
  const peek = () => toks[p];
  const kw = (w) => peek() && peek().t === 'id' && peek().v.toUpperCase() === w;
  const take = () => toks[p++];
  const expect = (w) => {
    if (!kw(w)) throw syntax(`Syntax error: expected ${w} at token ${p}`);
    p++;
  };
  const isOp = (v) => peek() && peek().t === 'op' && peek().v === v;
  expect('SELECT');
  const cols = [];
  for (;;) {
    const t = take();
    if (!t || (t.t !== 'id' && !(t.t === 'op' && t.v === '*'))) throw syntax('Syntax error in the column list');
    cols.push(t.v);
    if (!isOp(',')) break;
    p++;
  }
  expect('FROM');
  const tt = take();
  if (!tt || tt.t !== 'id') throw syntax('Syntax error: expected a table');
  const out = { cols, table: tt.v, where: null, order: [], limit: null, offset: 0 };

  function value() {
    const t = take();
    if (!t) throw syntax('Syntax error: unexpected end of query');
    if (t.t === 'str' || t.t === 'num') return { k: 'const', v: t.v };
    if (t.t === 'id' && isOp('(')) {
      p++;
      const a = [];
      while (!isOp(')')) { a.push(value()); if (isOp(',')) p++; }
      p++;
      const name = t.v;
      if (name !== 'toDateTime' && name !== 'toDateTime64') throw syntax(`Unsupported function ${name}`);
      if (!a.length || a[0].k !== 'const' || typeof a[0].v !== 'string') throw syntax(`${name} needs a string`);
      const us = parseTs(a[0].v);
      if (us === null) throw syntax(`${name}: cannot parse '${a[0].v}'`);
      return { k: 'const', v: us, ts: true };
    }
    if (t.t === 'id') return { k: 'col', v: t.v };
    throw syntax(`Syntax error near '${t.v}'`);
  }
  function comparison() {
    if (isOp('(')) { p++; const e = orExpr(); if (!isOp(')')) throw syntax('Syntax error: missing )'); p++; return e; }
    const l = value();
    if (kw('IN')) {
      p++;
      if (!isOp('(')) throw syntax('Syntax error: IN needs (');
      p++;
      const list = [];
      while (!isOp(')')) { list.push(value()); if (isOp(',')) p++; }
      p++;
      return { k: 'in', l, list };
    }
    const o = take();
    if (!o || o.t !== 'op' || !['=', '==', '!=', '<>', '<', '<=', '>', '>='].includes(o.v)) throw syntax('Syntax error: expected a comparison');
    return { k: 'cmp', op: o.v, l, r: value() };
  }
  function andExpr() { let e = comparison(); while (kw('AND')) { p++; e = { k: 'and', a: e, b: comparison() }; } return e; }
  function orExpr() { let e = andExpr(); while (kw('OR')) { p++; e = { k: 'or', a: e, b: andExpr() }; } return e; }

  if (kw('WHERE')) { p++; out.where = orExpr(); }
  if (kw('ORDER')) {
    p++; expect('BY');
    for (;;) {
      const c = take();
      if (!c || c.t !== 'id') throw syntax('Syntax error in ORDER BY');
      let dir = 1;
      if (kw('ASC')) p++; else if (kw('DESC')) { p++; dir = -1; }
      out.order.push({ col: c.v, dir });
      if (!isOp(',')) break;
      p++;
    }
  }
  if (kw('LIMIT')) { p++; const n = take(); if (!n || n.t !== 'num') throw syntax('LIMIT needs a number'); out.limit = n.v; }
  if (kw('OFFSET')) { p++; const n = take(); if (!n || n.t !== 'num') throw syntax('OFFSET needs a number'); out.offset = n.v; }
  if (p !== toks.length) throw syntax(`Syntax error: unexpected '${toks[p].v}'`);
  return out;
}

// ISO 8601 / ClickHouse text to microseconds since the epoch (naive = UTC).
function parseTs(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) return null;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0));
  let us = BigInt(ms) * 1000n + BigInt(((m[7] || '') + '000000').slice(0, 6));
  if (m[8] && m[8] !== 'Z') {
    const z = m[8].replace(':', '');
    const off = (+z.slice(1, 3) * 60 + +z.slice(3, 5)) * 60 * 1000000;
    us -= BigInt(z[0] === '-' ? -off : off);
  }
  return us;
}
// How the API prints a DateTime64 value: ISO with microseconds and offset.
function fmtTs(us) {
  const ms = Number(us / 1000n);
  const d = new Date(ms - (ms % 1000));
  const frac = String(us % 1000000n).padStart(6, '0');
  return d.toISOString().slice(0, 19) + '.' + frac + '+00:00';
}

function evaluate(e, row, types) {
  const val = (x) => {
    if (x.k === 'const') return x.v;
    if (!(x.v in types)) throw new ApiError(400, 'validation_error', 'invalid_input', `Unable to resolve field: ${x.v}`);
    const v = row[x.v];
    if (v === null || v === undefined) return null;
    return types[x.v].includes('DateTime') ? parseTs(v) : v;
  };
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  switch (e.k) {
    case 'and': return evaluate(e.a, row, types) && evaluate(e.b, row, types);
    case 'or': return evaluate(e.a, row, types) || evaluate(e.b, row, types);
    case 'in': { const l = val(e.l); return e.list.some((x) => val(x) === l); }
    case 'cmp': {
      const l = val(e.l), r = val(e.r);
      if (l === null || r === null) return false;
      const c = cmp(l, r);
      return { '=': c === 0, '==': c === 0, '!=': c !== 0, '<>': c !== 0, '<': c < 0, '<=': c <= 0, '>': c > 0, '>=': c >= 0 }[e.op];
    }
  }
  return false;
}

function runQuery(hogql) {
  const q = parseSelect(hogql);
  const schema = SCHEMA[q.table];
  if (!schema) throw new ApiError(400, 'validation_error', 'invalid_input', `Unknown table "${q.table}".`);
  const types = Object.fromEntries(schema);
  const cols = q.cols.length === 1 && q.cols[0] === '*' ? schema.map((c) => c[0]) : q.cols;
  for (const c of cols) if (!(c in types)) throw new ApiError(400, 'validation_error', 'invalid_input', `Unable to resolve field: ${c}`);
  let rows = data[q.table].filter((r) => !q.where || evaluate(q.where, r, types));
  if (q.order.length) {
    const key = (r, c) => (types[c].includes('DateTime') ? (r[c] == null ? null : parseTs(r[c])) : r[c]);
    rows = rows.slice().sort((a, b) => {
      for (const o of q.order) {
        const x = key(a, o.col), y = key(b, o.col);
        if (x < y) return -o.dir;
        if (x > y) return o.dir;
      }
      return 0;
    });
  }
  const limit = q.limit === null ? 100 : q.limit; // the API's default LIMIT
  const page = rows.slice(q.offset, q.offset + limit + 1);
  const hasMore = page.length > limit;
  const results = page.slice(0, limit).map((r) => cols.map((c) => {
    const v = r[c];
    if (v === undefined || v === null) return null;
    if (types[c].includes('DateTime')) return fmtTs(parseTs(v));
    if (c === 'properties' && typeof v === 'object') return JSON.stringify(v);
    return v;
  }));
  return { results, columns: cols, types: cols.map((c) => [c, types[c]]), hasMore, limit, offset: q.offset,
    query: hogql, hogql, is_cached: false };
}

// ------------------------------------------------------------------ HTTP
function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req) {
  const chunks = [];
  let n = 0;
  for await (const c of req) { n += c.length; if (n > 16 << 20) throw syntax('body too large'); chunks.push(c); }
  return Buffer.concat(chunks).toString('utf8');
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const entry = { n: 0, method: req.method, path: url.pathname, status: 0, query: null, auth: 'none' };
  try {
    if (url.pathname.startsWith('/__fake/')) {
      const body = req.method === 'POST' ? JSON.parse((await readBody(req)) || '{}') : {};
      if (url.pathname === '/__fake/reset') { state.count = 0; state.plans = []; state.log = []; for (const h of held.splice(0)) h.destroy(); return send(res, 200, {}); }
      if (url.pathname === '/__fake/fail') { state.plans.push({ nth: body.nth, status: body.status, times: body.times || 1, retry_after: body.retry_after }); return send(res, 200, {}); }
      if (url.pathname === '/__fake/log') return send(res, 200, { count: state.count, requests: state.log });
      if (url.pathname === '/__fake/data') {
        if (!(body.table in data)) return send(res, 400, { detail: 'unknown table' });
        data[body.table] = body.append ? data[body.table].concat(body.rows) : body.rows;
        return send(res, 200, { rows: data[body.table].length });
      }
      return send(res, 404, { detail: 'Not found.' });
    }
    state.log.push(entry);
    const m = /^\/api\/projects\/([^/]+)\/query\/?$/.exec(url.pathname);
    if (!m) throw new ApiError(404, 'invalid_request', 'not_found', 'Not found.');
    if (req.method !== 'POST') throw new ApiError(405, 'invalid_request', 'method_not_allowed', `Method "${req.method}" not allowed.`);
    const auth = req.headers.authorization || '';
    const bm = /^Bearer (.+)$/.exec(auth);
    entry.auth = bm ? (keys.includes(bm[1]) ? 'ok' : 'bad') : 'none';
    if (entry.auth === 'none')
      throw new ApiError(401, 'authentication_error', 'not_authenticated', 'Authentication credentials were not provided.');
    if (entry.auth !== 'ok')
      throw new ApiError(401, 'authentication_error', 'authentication_failed',
        'Personal API key found in request Authorization header is invalid.');
    if (m[1] !== project) throw new ApiError(404, 'invalid_request', 'not_found', 'Not found.');
    entry.n = ++state.count;
    let body;
    try { body = JSON.parse(await readBody(req)); } catch { throw new ApiError(400, 'parse_error', 'parse_error', 'JSON parse error'); }
    const query = body && body.query;
    if (!query || typeof query !== 'object') throw new ApiError(400, 'validation_error', 'invalid_input', 'query: Field required');
    if (query.kind !== 'HogQLQuery') throw new ApiError(400, 'validation_error', 'invalid_input', `Unsupported query kind: ${query.kind}`);
    entry.query = query.query;
    const plan = state.plans.find((pl) => entry.n >= pl.nth && entry.n < pl.nth + pl.times);
    if (plan) {
      if (plan.status === 0) { entry.status = 0; req.socket.destroy(); return; }
      const h = plan.retry_after !== undefined ? { 'Retry-After': String(plan.retry_after) } : {};
      if (plan.status === 429)
        throw new ApiError(429, 'throttled_error', 'throttled', `Request was throttled. Expected available in ${plan.retry_after ?? 1} seconds.`, h);
      throw new ApiError(plan.status, 'server_error', 'error', 'A server error occurred.', h);
    }
    if (typeof query.query !== 'string') throw new ApiError(400, 'validation_error', 'invalid_input', 'query.query: Field required');
    const out = runQuery(query.query);
    entry.status = 200;
    entry.rows = out.results.length;
    return send(res, 200, out);
  } catch (e) {
    if (e instanceof ApiError) {
      entry.status = e.status;
      return send(res, e.status, { type: e.type, code: e.code, detail: e.detail, attr: null }, e.extraHeaders);
    }
    entry.status = 500;
    return send(res, 500, { type: 'server_error', code: 'error', detail: String(e && e.message), attr: null });
  }
});

// A client using us as its https proxy: note the host it wanted and hold
// the tunnel unanswered (a test then stops the client at that known point;
// /__fake/reset closes held sockets).
const held = [];
server.on('connect', (req, socket) => {
  state.log.push({ n: 0, method: 'CONNECT', path: req.url, status: 0, query: null, auth: 'none' });
  socket.on('error', () => {});
  held.push(socket);
});

server.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { for (const h of held) h.destroy(); server.close(); process.exit(0); });
