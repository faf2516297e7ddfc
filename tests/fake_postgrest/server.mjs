// tests/fake_postgrest/server.mjs -- a PostgREST-compatible fake for the
// osiris tests, backed by a real PostgreSQL through the `pg` package.
//
// It serves the subset of the Supabase REST API (PostgREST v12) that
// osiris and the official postgrest-js client use:
//   GET/HEAD /rest/v1/              OpenAPI-ish root (key checked)
//   GET/HEAD /rest/v1/<table>       select=, filters, order=, limit=, offset=,
//                                   Prefer: count=exact, Accept: vnd.pgrst.object
//   POST     /rest/v1/<table>       JSON array or object; columns=; on_conflict=;
//                                   Prefer: return=minimal|representation,
//                                   resolution=merge-duplicates|ignore-duplicates
//   DELETE   /rest/v1/<table>       filters (required, like Supabase's safeupdate)
// Filters: col=[not.]op.value with eq neq gt gte lt lte like ilike is in.
// Schemas: Accept-Profile (GET/HEAD) / Content-Profile (others), default public.
// Errors use PostgREST's shape {code, details, hint, message} and status codes:
// 401 bad key (PGRST301), 404 unknown table (PGRST205), 406 unknown schema
// (PGRST106), 409 unique/foreign key violations (23505/23503), 400 others.
//
// Configuration (environment, so that no secret is on the command line):
//   FAKE_POSTGREST_DSN      postgres connection string (else the PG* variables)
//   FAKE_POSTGREST_KEYS     comma-separated API keys accepted (required)
//   FAKE_POSTGREST_SCHEMAS  exposed schemas [public]
// Command line: node server.mjs [--port N] (0: a free port).  Prints one JSON
// line {"port":N} on stdout once listening.  Stops on SIGTERM/SIGINT.
//
// Test knobs (no key needed; only on 127.0.0.1):
//   POST /__fake/fail  {"nth":N,"status":503|429|0,"times":1,"retry_after":S}
//        the N-th API request counted since the last reset (and the times-1
//        after it) fails with that status; status 0 drops the connection.
//   POST /__fake/reset  clears the counter, the fail plans and the log
//   GET  /__fake/log    {"count":N,"requests":[{n,method,path,status,prefer,profile}]}
//        (header values other than Prefer/Profile are never logged).
import http from 'node:http';
import pg from 'pg';

const args = process.argv.slice(2);
let port = 0;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
}
const keys = (process.env.FAKE_POSTGREST_KEYS || '').split(',').filter(Boolean);
if (!keys.length) {
  console.error('fake_postgrest: FAKE_POSTGREST_KEYS is required');
  process.exit(2);
}
const schemas = (process.env.FAKE_POSTGREST_SCHEMAS || 'public').split(',').filter(Boolean);
const pool = new pg.Pool({
  connectionString: process.env.FAKE_POSTGREST_DSN || undefined,
  max: 4,
  options: '-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3',
});
pool.on('error', () => {}); // an idle client dropped by the server

const state = { count: 0, plans: [], log: [] };

class ApiError extends Error {
  constructor(status, code, message, details = null, hint = null) {
    super(message);
    Object.assign(this, { status, code, details, hint });
  }
}

const qi = (name) => '"' + String(name).replace(/"/g, '""') + '"';

function send(res, status, body, headers = {}) {
  const text = body === undefined || body === null ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const h = { ...headers };
  if (text) h['Content-Type'] = 'application/json; charset=utf-8';
  res.writeHead(status, h);
  res.end(res.req.method === 'HEAD' ? undefined : text);
  return status;
}

function sendError(res, e) {
  return send(res, e.status, { code: e.code, details: e.details ?? null, hint: e.hint ?? null, message: e.message });
}

// SQLSTATE -> HTTP status, as PostgREST maps them.
function pgStatus(code) {
  if (!code) return 500;
  if (code === '23505' || code === '23503') return 409;
  if (code === '42P01') return 404;
  if (code === '42501') return 403;
  if (code === '25006') return 405;
  if (code === '21000') return 400;
  if (code === '53400' || code.startsWith('08')) return 503;
  if (/^(22|23|42)/.test(code)) return 400;
  if (code.startsWith('P0')) return 400;
  return 500;
}

function pgError(e) {
  if (e instanceof ApiError) return e;
  return new ApiError(pgStatus(e.code), e.code || 'PGRST000', e.message, e.detail ?? null, e.hint ?? null);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 64 * 1024 * 1024) reject(new ApiError(413, 'PGRST413', 'Payload too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function checkAuth(req) {
  const apikey = req.headers['apikey'];
  if (!apikey) {
    throw new ApiError(401, 'PGRST301', 'No API key found in request', null,
      'No `apikey` request header or url param was found.');
  }
  if (!keys.includes(apikey)) {
    throw new ApiError(401, 'PGRST301', 'Invalid API key', null,
      'Double check your Supabase `anon` or `service_role` API key.');
  }
  const auth = req.headers['authorization'];
  if (auth !== undefined) {
    const m = /^Bearer (.+)$/i.exec(auth);
    if (!m || !keys.includes(m[1])) throw new ApiError(401, 'PGRST301', 'JWSError JWSInvalidSignature');
  }
}

async function tableInfo(client, schema, table) {
  if (!schemas.includes(schema)) {
    throw new ApiError(406, 'PGRST106', `The schema must be one of the following: ${schemas.join(', ')}`);
  }
  const rel = qi(schema) + '.' + qi(table);
  const r = await client.query(
    `SELECT c.oid::int AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r','v','m','p','f')`, [schema, table]);
  if (!r.rows.length) {
    throw new ApiError(404, 'PGRST205', `Could not find the table '${schema}.${table}' in the schema cache`, null,
      null);
  }
  const oid = r.rows[0].oid;
  const cols = await client.query(
    `SELECT attname FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [oid]);
  const pk = await client.query(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1 AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`, [oid]);
  return { rel, schema, table, columns: cols.rows.map((x) => x.attname), pk: pk.rows.map((x) => x.attname) };
}

function checkColumn(info, col) {
  if (!info.columns.includes(col)) {
    throw new ApiError(400, '42703', `column ${info.table}.${col} does not exist`);
  }
}

// "a,b,\"c,d\"" -> ["a","b","c,d"] (PostgREST list syntax).
function parseList(s) {
  const out = [];
  let i = 0;
  while (i <= s.length) {
    let v = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        v += s[i++];
      }
      i++; // closing quote
    } else {
      while (i < s.length && s[i] !== ',') v += s[i++];
    }
    out.push(v);
    if (s[i] === ',') i++;
    else break;
  }
  return out;
}

const OPS = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=', like: 'LIKE', ilike: 'ILIKE' };

function buildWhere(info, params, values) {
  const parts = [];
  for (const [key, raw] of params) {
    if (['select', 'order', 'limit', 'offset', 'columns', 'on_conflict'].includes(key)) continue;
    checkColumn(info, key);
    let expr = raw, neg = false;
    if (expr.startsWith('not.')) { neg = true; expr = expr.slice(4); }
    const dot = expr.indexOf('.');
    if (dot < 0) throw new ApiError(400, 'PGRST100', `"failed to parse filter (${raw})" (line 1, column 1)`);
    const op = expr.slice(0, dot), val = expr.slice(dot + 1);
    let sql;
    if (OPS[op]) {
      values.push(op === 'like' || op === 'ilike' ? val.replace(/\*/g, '%') : val);
      sql = `${qi(key)} ${OPS[op]} $${values.length}`;
    } else if (op === 'is') {
      const m = { null: 'NULL', true: 'TRUE', false: 'FALSE', unknown: 'UNKNOWN' }[val.toLowerCase()];
      if (!m) throw new ApiError(400, 'PGRST100', `"failed to parse filter (${raw})" (line 1, column 1)`);
      sql = `${qi(key)} IS ${m}`;
    } else if (op === 'in') {
      const m = /^\((.*)\)$/s.exec(val);
      if (!m) throw new ApiError(400, 'PGRST100', `"failed to parse filter (${raw})" (line 1, column 1)`);
      const items = m[1] === '' ? [] : parseList(m[1]);
      values.push(items);
      sql = `${qi(key)} = ANY($${values.length})`;
    } else {
      throw new ApiError(400, 'PGRST100', `"failed to parse filter (${raw})" (line 1, column 1)`, null,
        `unknown operator ${op}`);
    }
    parts.push(neg ? `NOT (${sql})` : sql);
  }
  return parts.length ? ' WHERE ' + parts.join(' AND ') : '';
}

function buildSelect(info, sel) {
  if (!sel || sel === '*') return '*';
  return sel.split(',').map((item) => {
    item = item.trim();
    if (item === '*') return '*';
    if (item.includes('(')) throw new ApiError(400, 'PGRST100', 'embedded resources are not supported by the fake');
    let alias = null, col = item, cast = null;
    const colon = item.indexOf(':');
    if (colon > 0 && item[colon + 1] !== ':') { alias = item.slice(0, colon); col = item.slice(colon + 1); }
    const cc = col.indexOf('::');
    if (cc > 0) { cast = col.slice(cc + 2); col = col.slice(0, cc); if (!/^[a-z0-9_ ]+$/i.test(cast)) throw new ApiError(400, 'PGRST100', 'bad cast'); }
    checkColumn(info, col);
    return qi(col) + (cast ? '::' + cast : '') + (alias ? ' AS ' + qi(alias) : cast ? ' AS ' + qi(col) : '');
  }).join(', ');
}

function buildOrder(info, order) {
  if (!order) return '';
  return ' ORDER BY ' + order.split(',').map((term) => {
    const [col, ...mods] = term.split('.');
    checkColumn(info, col);
    let s = qi(col);
    for (const m of mods) {
      if (m === 'asc') s += ' ASC';
      else if (m === 'desc') s += ' DESC';
      else if (m === 'nullsfirst') s += ' NULLS FIRST';
      else if (m === 'nullslast') s += ' NULLS LAST';
      else throw new ApiError(400, 'PGRST100', `"failed to parse order (${term})" (line 1, column 1)`);
    }
    return s;
  }).join(', ');
}

function intParam(params, name) {
  const v = params.get(name);
  if (v === null) return null;
  if (!/^\d+$/.test(v)) throw new ApiError(400, 'PGRST100', `"failed to parse ${name} (${v})" (line 1, column 1)`);
  return Number(v);
}

function prefer(req) {
  const out = {};
  for (const part of String(req.headers['prefer'] || '').split(',')) {
    const [k, v] = part.trim().split('=');
    if (k) out[k] = v ?? true;
  }
  return out;
}

async function handleGet(req, res, client, info, params) {
  const values = [];
  const where = buildWhere(info, params, values);
  const sel = buildSelect(info, params.get('select'));
  const order = buildOrder(info, params.get('order'));
  const limit = intParam(params, 'limit'), offset = intParam(params, 'offset');
  let sql = `SELECT ${sel} FROM ${info.rel}${where}${order}`;
  if (limit !== null) sql += ` LIMIT ${limit}`;
  if (offset !== null) sql += ` OFFSET ${offset}`;
  const r = await client.query(`SELECT coalesce(json_agg(t), '[]')::text AS body, count(*)::int AS n FROM (${sql}) t`, values);
  const { body, n } = r.rows[0];
  const p = prefer(req);
  let total = '*';
  if (p.count === 'exact') {
    const c = await client.query(`SELECT count(*)::int AS n FROM ${info.rel}${where}`, values);
    total = String(c.rows[0].n);
  }
  const first = offset || 0;
  const headers = { 'Content-Range': n ? `${first}-${first + n - 1}/${total}` : `*/${total}` };
  if (String(req.headers['accept'] || '').includes('application/vnd.pgrst.object+json')) {
    if (n !== 1) {
      throw new ApiError(406, 'PGRST116', 'JSON object requested, multiple (or no) rows returned',
        `The result contains ${n} rows`);
    }
    return send(res, 200, body.trim().slice(1, -1), headers); // json_agg of one row: [<row>]
  }
  return send(res, 200, body, headers);
}

async function handlePost(req, res, client, info, params, raw) {
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new ApiError(400, 'PGRST102', 'Empty or invalid json', null, null);
  }
  const rows = Array.isArray(parsed) ? parsed : [parsed];
  const arrayText = Array.isArray(parsed) ? raw : '[' + raw + ']';
  if (rows.some((x) => x === null || typeof x !== 'object' || Array.isArray(x))) {
    throw new ApiError(400, 'PGRST102', 'All object keys must match');
  }
  let cols;
  if (params.get('columns')) {
    cols = params.get('columns').split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  } else {
    cols = rows.length ? Object.keys(rows[0]) : [];
    const sig = [...cols].sort().join('\u0000');
    for (const r of rows) {
      if (Object.keys(r).sort().join('\u0000') !== sig) throw new ApiError(400, 'PGRST102', 'All object keys must match');
    }
  }
  for (const c of cols) {
    if (!info.columns.includes(c)) {
      throw new ApiError(400, 'PGRST204', `Could not find the '${c}' column of '${info.table}' in the schema cache`);
    }
  }
  const p = prefer(req);
  const wantRows = p.return === 'representation';
  if (!rows.length || !cols.length) {
    return send(res, 201, wantRows ? '[]' : null);
  }
  const collist = cols.map(qi).join(', ');
  let sql = `INSERT INTO ${info.rel} (${collist}) SELECT ${collist} FROM json_populate_recordset(NULL::${info.rel}, $1::json)`;
  if (p.resolution === 'merge-duplicates' || p.resolution === 'ignore-duplicates') {
    const target = params.get('on_conflict') ? params.get('on_conflict').split(',').map((c) => c.trim()) : info.pk;
    if (!target.length) throw new ApiError(400, '42P10', 'there is no unique or exclusion constraint matching the ON CONFLICT specification');
    target.forEach((c) => checkColumn(info, c));
    const upd = cols.filter((c) => !target.includes(c));
    sql += ` ON CONFLICT (${target.map(qi).join(', ')}) DO `;
    sql += p.resolution === 'ignore-duplicates' || !upd.length ? 'NOTHING' :
      'UPDATE SET ' + upd.map((c) => `${qi(c)} = EXCLUDED.${qi(c)}`).join(', ');
  }
  if (wantRows) {
    const r = await client.query(`WITH ins AS (${sql} RETURNING *) SELECT coalesce(json_agg(ins), '[]')::text AS body FROM ins`, [arrayText]);
    return send(res, 201, r.rows[0].body);
  }
  await client.query(sql, [arrayText]);
  return send(res, 201, null);
}

async function handleDelete(req, res, client, info, params) {
  const values = [];
  const where = buildWhere(info, params, values);
  if (!where) throw new ApiError(400, '21000', 'DELETE requires a WHERE clause');
  const p = prefer(req);
  if (p.return === 'representation') {
    const r = await client.query(`WITH d AS (DELETE FROM ${info.rel}${where} RETURNING *) SELECT coalesce(json_agg(d), '[]')::text AS body FROM d`, values);
    return send(res, 200, r.rows[0].body);
  }
  await client.query(`DELETE FROM ${info.rel}${where}`, values);
  return send(res, 204, null);
}

async function handleApi(req, res, url) {
  checkAuth(req);
  const rest = url.pathname.slice('/rest/v1'.length);
  if (rest === '' || rest === '/') {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError(405, 'PGRST117', 'Unsupported HTTP method');
    return send(res, 200, { swagger: '2.0', info: { title: 'fake PostgREST', version: '12.0.0' }, paths: {} });
  }
  const table = decodeURIComponent(rest.slice(1));
  const read = req.method === 'GET' || req.method === 'HEAD';
  const schema = (read ? req.headers['accept-profile'] : req.headers['content-profile']) || 'public';
  const raw = read ? '' : await readBody(req);
  const client = await pool.connect();
  try {
    const info = await tableInfo(client, schema, table);
    const params = url.searchParams;
    if (read) return await handleGet(req, res, client, info, params);
    if (req.method === 'POST') return await handlePost(req, res, client, info, params, raw);
    if (req.method === 'DELETE') return await handleDelete(req, res, client, info, params);
    throw new ApiError(405, 'PGRST117', 'Unsupported HTTP method: ' + req.method);
  } catch (e) {
    throw pgError(e);
  } finally {
    client.release();
  }
}

async function handleControl(req, res, url) {
  if (url.pathname === '/__fake/reset') {
    state.count = 0; state.plans = []; state.log = [];
    return send(res, 200, { ok: true });
  }
  if (url.pathname === '/__fake/fail') {
    const plan = JSON.parse((await readBody(req)) || '{}');
    state.plans.push({ nth: Number(plan.nth), status: Number(plan.status ?? 503), times: Number(plan.times ?? 1),
      retry_after: plan.retry_after ?? null });
    return send(res, 200, { ok: true, plans: state.plans });
  }
  if (url.pathname === '/__fake/log') return send(res, 200, { count: state.count, requests: state.log });
  return send(res, 404, { message: 'unknown control path' });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname.startsWith('/__fake/')) {
    try { await handleControl(req, res, url); } catch (e) { send(res, 400, { message: String(e.message) }); }
    return;
  }
  const n = ++state.count;
  const entry = { n, method: req.method, path: url.pathname + url.search, status: 0,
    prefer: req.headers['prefer'] || null,
    profile: req.headers['content-profile'] || req.headers['accept-profile'] || null };
  state.log.push(entry);
  const plan = state.plans.find((p) => n >= p.nth && n < p.nth + p.times);
  if (plan) {
    if (plan.status === 0) { entry.status = 0; req.socket.destroy(); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') await readBody(req).catch(() => '');
    const h = plan.retry_after !== null ? { 'Retry-After': String(plan.retry_after) } : {};
    const body = plan.status === 429
      ? { code: 'PGRST429', details: null, hint: null, message: 'Too Many Requests (injected)' }
      : { code: 'PGRST503', details: null, hint: null, message: 'Service Unavailable (injected)' };
    entry.status = send(res, plan.status, body, h);
    return;
  }
  try {
    if (!url.pathname.startsWith('/rest/v1')) throw new ApiError(404, 'PGRST125', 'Invalid path specified in request URL');
    entry.status = await handleApi(req, res, url);
  } catch (e) {
    const err = e instanceof ApiError ? e : pgError(e);
    if (!res.headersSent) entry.status = sendError(res, err);
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});

function stop() {
  server.close();
  pool.end().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
