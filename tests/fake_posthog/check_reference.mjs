// tests/fake_posthog/check_reference.mjs -- checks the fake PostHog query API
// (server.mjs) two ways, since PostHog publishes no client library that can
// query (posthog-node and posthog-js capture events and evaluate flags):
//  1. reference_examples.json: request/response pairs written from PostHog's
//     API reference, replayed against the fake (status, body shape, fields).
//  2. PostHog's own HogQL parser (@posthog/hogql-parser, the WebAssembly build
//     of the parser PostHog runs): every query osiris's posthog.extractor
//     sends (from real runs of the osiris binary, $OSIRIS or ../../osiris,
//     over the four data types, paged, with event_types) must parse, and the
//     rows the fake answered must be the rows the official AST selects from
//     the same data (WHERE, ORDER BY, LIMIT evaluated here over the AST).
// Starts the fake on a free loopback port and always stops it; prints
// "N passed, N failed" last (exit 1 on any failure).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import createHogQLParser from '@posthog/hogql-parser';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
let passed = 0, failed = 0;
const ok = (cond, msg, extra) => {
  if (cond) passed++;
  else { failed++; console.error(`FAIL: ${msg}${extra !== undefined ? ' -- ' + JSON.stringify(extra).slice(0, 600) : ''}`); }
};

const KEY = 'phx_check_' + Math.random().toString(36).slice(2);
const PROJECT = '4242';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'osiris-fake-posthog-'));
const dataPath = path.join(work, 'data.json');
// The same data set as the e2e tests (tests/fake_posthog/lib.sh).
const gen = spawnSync('bash', ['-c', `PY=python3; . "${here}/lib.sh"; ph_gen_data "$1"`, '_', dataPath]);
if (gen.status !== 0) { console.error(String(gen.stderr)); console.log('0 passed, 1 failed'); process.exit(1); }
const data = JSON.parse(fs.readFileSync(dataPath, 'utf8'));


async function post(p, auth, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (auth === 'key') headers.Authorization = `Bearer ${KEY}`;
  if (auth === 'bad') headers.Authorization = 'Bearer phx_not_a_key';
  const r = await fetch(base + p, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: r.status, headers: r.headers, body: await r.json() };
}

// ------------------------------------------------------------ 1. the reference
async function replayExamples() {
  const ex = JSON.parse(fs.readFileSync(path.join(here, 'reference_examples.json'), 'utf8')).examples;
  for (const e of ex) {
    await fetch(base + '/__fake/reset', { method: 'POST', body: '{}' });
    if (e.fail) await fetch(base + '/__fake/fail', { method: 'POST', body: JSON.stringify({ nth: 1, ...e.fail }) });
    const r = await post(e.request.path.replace('{project}', PROJECT), e.request.auth, e.request.body);
    const want = e.response;
    ok(r.status === want.status, `${e.name}: HTTP ${want.status}`, { got: r.status, body: r.body });
    if (want.status === 200) {
      ok(Array.isArray(r.body.results) && r.body.results.every((row) => Array.isArray(row) && row.length === r.body.columns.length),
        `${e.name}: results are rows of column values`);
      ok(JSON.stringify(r.body.columns) === JSON.stringify(want.columns), `${e.name}: columns`, r.body.columns);
      ok(r.body.results.length === want.rows, `${e.name}: ${want.rows} rows`, r.body.results.length);
      ok(Array.isArray(r.body.types) && r.body.types.length === r.body.columns.length, `${e.name}: a type per column`);
      ok(typeof r.body.hasMore === 'boolean', `${e.name}: hasMore is a boolean`);
      if ('hasMore' in want) ok(r.body.hasMore === want.hasMore, `${e.name}: hasMore ${want.hasMore}`);
      if (want.types) ok(JSON.stringify(r.body.types) === JSON.stringify(want.types), `${e.name}: types`, r.body.types);
      if (want.first) ok(JSON.stringify(r.body.results[0]) === JSON.stringify(want.first), `${e.name}: first row`, r.body.results[0]);
    } else {
      for (const k of ['type', 'code']) if (want[k]) ok(r.body[k] === want[k], `${e.name}: ${k} ${want[k]}`, r.body);
      ok(typeof r.body.detail === 'string' && r.body.detail.length > 0 && 'attr' in r.body, `${e.name}: DRF error shape`, r.body);
      if (want.retry_after) ok(r.headers.get('retry-after') === want.retry_after, `${e.name}: Retry-After`);
    }
  }
}

// ------------------------------------------------------------ 2. the parser
function parseTs(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) return null;
  let us = BigInt(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0))) * 1000n +
    BigInt(((m[7] || '') + '000000').slice(0, 6));
  if (m[8] && m[8] !== 'Z') {
    const z = m[8].replace(':', '');
    const off = BigInt((+z.slice(1, 3) * 60 + +z.slice(3, 5)) * 60 * 1000000);
    us -= z[0] === '-' ? -off : off;
  }
  return us;
}
const TIME_COLS = new Set(['timestamp', 'created_at', '$start_timestamp', '$end_timestamp']);
function evalExpr(n, row) {
  switch (n.node) {
    case 'And': return n.exprs.every((x) => evalExpr(x, row));
    case 'Or': return n.exprs.some((x) => evalExpr(x, row));
    case 'Constant': return n.value;
    case 'Field': {
      const c = n.chain.join('.');
      const v = row[c];
      return v == null ? null : TIME_COLS.has(c) ? parseTs(v) : v;
    }
    case 'Call':
      if (n.name !== 'toDateTime') throw new Error('unexpected function ' + n.name);
      return parseTs(evalExpr(n.args[0], row));
    case 'Tuple': return n.exprs.map((x) => evalExpr(x, row));
    case 'CompareOperation': {
      const l = evalExpr(n.left, row), r = evalExpr(n.right, row);
      if (n.op === 'in') return r.includes(l);
      if (l === null || r === null) return false;
      return { '==': l === r, '!=': l !== r, '<': l < r, '<=': l <= r, '>': l > r, '>=': l >= r }[n.op];
    }
  }
  throw new Error('unexpected node ' + n.node);
}
function officialSelect(ast) {
  const table = ast.select_from.table.chain[0];
  let rows = data[table].filter((r) => !ast.where || evalExpr(ast.where, r));
  const order = (ast.order_by || []).map((o) => ({ c: o.expr.chain.join('.'), d: o.order === 'DESC' ? -1 : 1 }));
  const key = (r, c) => (TIME_COLS.has(c) ? parseTs(r[c]) : r[c]);
  rows.sort((a, b) => {
    for (const o of order) { const x = key(a, o.c), y = key(b, o.c); if (x < y) return -o.d; if (x > y) return o.d; }
    return 0;
  });
  const limit = ast.limit ? ast.limit.value : 100;
  return { table, rows: rows.slice(0, limit) };
}

async function officialParserCheck() {
  const parser = await createHogQLParser();
  const osiris = process.env.OSIRIS || path.join(root, 'osiris');
  if (!fs.existsSync(osiris)) { ok(false, `the osiris binary (${osiris}) is needed: make osiris`); return; }
  fs.writeFileSync(path.join(work, 'osiris_connections.yaml'),
    `connections:\n  posthog:\n    fake:\n      default: true\n      api_key: \${PH_CHECK_KEY}\n      project_id: "${PROJECT}"\n` +
    `      region: self_hosted\n      custom_base_url: ${base}\n`);
  await fetch(base + '/__fake/reset', { method: 'POST', body: '{}' });
  const runs = [
    ['events', 'initial_since: "2024-01-01T00:00:00Z"\n      event_types: [pageview, "it\'s"]'],
    ['events', 'initial_since: "2024-01-01T00:00:00Z"'],
    ['persons', 'initial_since: "2024-01-01T00:00:00Z"'],
    ['sessions', 'initial_since: "2024-01-01T00:00:00Z"'],
    ['person_distinct_ids', ''],
  ];
  for (const [type, extra] of runs) {
    const yaml = `oml_version: "0.1.0"\nname: check\nsteps:\n  - id: ev\n    component: posthog.extractor\n    mode: read\n` +
      `    config:\n      connection: "@posthog.fake"\n      data_type: ${type}\n      page_size: 100\n      ${extra}\n`;
    fs.writeFileSync(path.join(work, 'p.yaml'), yaml);
    const r = spawnSync(osiris, ['run', 'p.yaml'], { cwd: work, env: { ...process.env, PH_CHECK_KEY: KEY }, encoding: 'utf8' });
    ok(r.status === 0, `osiris run of ${type} succeeds`, r.stderr);
  }
  const log = await (await fetch(base + '/__fake/log')).json();
  const queries = log.requests.filter((q) => q.query);
  ok(queries.length >= 9, 'the runs sent their queries (every page)', queries.length);
  const seen = new Set();
  for (const q of queries) {
    const ast = JSON.parse(parser.parseSelect(q.query, true));
    ok(!ast.error, 'PostHog\'s parser accepts: ' + q.query, ast);
    if (ast.error) continue;
    seen.add(ast.select_from.table.chain[0]);
    // The fake's answer to the same query, and the official AST's selection.
    const mine = await post(`/api/projects/${PROJECT}/query/`, 'key', { query: { kind: 'HogQLQuery', query: q.query } });
    const want = officialSelect(ast);
    const keyCol = { events: 'uuid', persons: 'id', sessions: 'session_id', person_distinct_ids: 'distinct_id' }[want.table];
    const k = mine.body.columns.indexOf(keyCol);
    ok(JSON.stringify(mine.body.results.map((r) => r[k])) === JSON.stringify(want.rows.map((r) => r[keyCol])),
      'the fake selects what the official AST selects: ' + q.query.slice(0, 160));
    const cols = ast.select.length === 1 && ast.select[0].chain[0] === '*' ? null : ast.select.map((f) => f.chain.join('.'));
    if (cols) ok(JSON.stringify(mine.body.columns) === JSON.stringify(cols), 'columns as the official AST lists them', mine.body.columns);
  }
  ok(seen.size === 4, 'queries of all four tables checked', [...seen]);
}

// ------------------------------------------------------------ main
const server = spawn(process.execPath, [path.join(here, 'server.mjs'), '--port', '0'], {
  env: { ...process.env, FAKE_POSTHOG_KEYS: KEY, FAKE_POSTHOG_PROJECT: PROJECT, FAKE_POSTHOG_DATA: dataPath },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let base;
try {
  const [chunk] = await once(server.stdout, 'data');
  base = `http://127.0.0.1:${JSON.parse(String(chunk).split('\n')[0]).port}`;
  await replayExamples();
  await officialParserCheck();
} catch (e) {
  ok(false, 'check crashed', String(e && e.stack));
} finally {
  server.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
