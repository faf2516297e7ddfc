// tests/fake_postgrest/check_client.mjs -- checks the fake PostgREST with
// the official @supabase/postgrest-js client: select with filters, insert,
// upsert with onConflict, delete, error shapes, schemas, the fail knob.
// Starts server.mjs on a free loopback port against the test PostgreSQL
// (FAKE_POSTGREST_DSN, else OSIRIS_TEST_PG_*), always stops it, and prints
// "N passed, N failed" last (exit 1 on any failure).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pg from 'pg';
import { PostgrestClient } from '@supabase/postgrest-js';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const dsn = env.FAKE_POSTGREST_DSN ||
  (env.OSIRIS_TEST_PG_PORT
    ? `postgresql://${encodeURIComponent(env.OSIRIS_TEST_PG_USER)}:${encodeURIComponent(env.OSIRIS_TEST_PG_PASSWORD)}@${env.OSIRIS_TEST_PG_HOST}:${env.OSIRIS_TEST_PG_PORT}/${env.OSIRIS_TEST_PG_DB}`
    : '');
let passed = 0, failed = 0;
const ok = (cond, msg, extra) => {
  if (cond) passed++;
  else { failed++; console.error(`FAIL: ${msg}${extra !== undefined ? ' -- ' + JSON.stringify(extra) : ''}`); }
};
const eq = (a, b, msg) => ok(JSON.stringify(a) === JSON.stringify(b), msg, { expected: b, got: a });

if (!dsn) {
  console.error('check_client: no PostgreSQL (set FAKE_POSTGREST_DSN or OSIRIS_TEST_PG_*)');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const KEY = 'check-key-' + Math.random().toString(36).slice(2);
const db = new pg.Client({ connectionString: dsn });
let server;
try {
  await db.connect();
  await db.query(`DROP TABLE IF EXISTS pgjs_items; DROP SCHEMA IF EXISTS pgjs_s CASCADE;
    CREATE TABLE pgjs_items (id bigint PRIMARY KEY, name text NOT NULL, qty int, price numeric(12,2),
      seen timestamp, tags text);
    CREATE SCHEMA pgjs_s; CREATE TABLE pgjs_s.things (k text PRIMARY KEY, v int);`);

  server = spawn(process.execPath, [path.join(here, 'server.mjs'), '--port', '0'], {
    env: { ...env, FAKE_POSTGREST_DSN: dsn, FAKE_POSTGREST_KEYS: KEY, FAKE_POSTGREST_SCHEMAS: 'public,pgjs_s' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await Promise.race([
    once(server.stdout, 'data'),
    new Promise((_, rej) => setTimeout(() => rej(new Error('fake did not start')), 10000)),
  ]);
  const port = JSON.parse(String(line)).port;
  const base = `http://127.0.0.1:${port}`;
  const client = new PostgrestClient(`${base}/rest/v1`, { headers: { apikey: KEY, Authorization: `Bearer ${KEY}` } });
  const bad = new PostgrestClient(`${base}/rest/v1`, { headers: { apikey: 'wrong', Authorization: 'Bearer wrong' } });

  // insert with representation
  let r = await client.from('pgjs_items').insert([
    { id: 1, name: 'apple', qty: 3, price: 1.25, seen: '2024-01-31T12:34:56.123456', tags: 'a,b' },
    { id: 2, name: 'pear', qty: null, price: 0.5, seen: null, tags: 'x "q"' },
    { id: 3, name: 'plum', qty: 7, price: 10, seen: '2024-02-29T00:00:00', tags: null },
  ]).select();
  eq(r.status, 201, 'insert: 201');
  eq(r.error, null, 'insert: no error');
  eq(r.data && r.data.map((x) => x.name), ['apple', 'pear', 'plum'], 'insert: representation rows');
  eq(r.data && r.data[0].seen, '2024-01-31T12:34:56.123456', 'insert: timestamp representation');

  // insert minimal
  r = await client.from('pgjs_items').insert({ id: 4, name: 'fig', qty: 1, price: 2 });
  eq(r.status, 201, 'insert object, return=minimal: 201');
  eq(r.data, null, 'insert minimal: no body');

  // selects
  r = await client.from('pgjs_items').select('id,name').eq('name', 'pear');
  eq(r.data, [{ id: 2, name: 'pear' }], 'select eq');
  r = await client.from('pgjs_items').select('id').in('id', [1, 3, 99]).order('id');
  eq(r.data, [{ id: 1 }, { id: 3 }], 'select in');
  r = await client.from('pgjs_items').select('id').not('id', 'in', '(1,3)').order('id');
  eq(r.data, [{ id: 2 }, { id: 4 }], 'select not.in');
  r = await client.from('pgjs_items').select('id').order('id', { ascending: false }).limit(2);
  eq(r.data, [{ id: 4 }, { id: 3 }], 'order desc + limit');
  r = await client.from('pgjs_items').select('id').gt('qty', 2).order('id');
  eq(r.data, [{ id: 1 }, { id: 3 }], 'select gt');
  r = await client.from('pgjs_items').select('id').is('qty', null);
  eq(r.data, [{ id: 2 }], 'select is.null');
  r = await client.from('pgjs_items').select('id').in('tags', ['x "q"', 'a,b']).order('id');
  eq(r.data, [{ id: 1 }, { id: 2 }], 'select in with quoted values');
  r = await client.from('pgjs_items').select('*', { count: 'exact', head: true });
  eq(r.count, 4, 'count=exact with head');
  r = await client.from('pgjs_items').select('name').eq('id', 3).single();
  eq(r.data, { name: 'plum' }, 'single()');
  r = await client.from('pgjs_items').select('price').eq('id', 1).single();
  eq(r.data, { price: 1.25 }, 'numeric as JSON number');

  // errors
  r = await client.from('pgjs_items').insert({ id: 1, name: 'dup' });
  eq(r.status, 409, 'duplicate: 409');
  eq(r.error && r.error.code, '23505', 'duplicate: code 23505');
  ok(r.error && /already exists/.test(r.error.details) && /duplicate key/.test(r.error.message),
    'duplicate: details and message', r.error);
  ok(r.error && 'hint' in r.error, 'error has hint field', r.error);
  r = await client.from('pgjs_items').insert({ id: 9, name: null });
  eq([r.status, r.error && r.error.code], [400, '23502'], 'not null violation: 400 / 23502');
  r = await client.from('no_such_table').select();
  eq([r.status, r.error && r.error.code], [404, 'PGRST205'], 'unknown table: 404 / PGRST205');
  ok(r.error && /Could not find the table/.test(r.error.message), 'unknown table message', r.error);
  r = await bad.from('pgjs_items').select();
  eq([r.status, r.error && r.error.code], [401, 'PGRST301'], 'wrong key: 401 / PGRST301');
  ok(r.error && typeof r.error.message === 'string' && !r.error.message.includes('wrong'), 'wrong key message', r.error);
  r = await client.from('pgjs_items').select('nope');
  eq([r.status, r.error && r.error.code], [400, '42703'], 'unknown column: 400 / 42703');

  // upsert
  r = await client.from('pgjs_items').upsert([{ id: 2, name: 'pear2', qty: 5 }, { id: 5, name: 'kiwi', qty: 0 }],
    { onConflict: 'id' });
  eq(r.status, 201, 'upsert: 201');
  const row2 = await db.query('SELECT name, qty FROM pgjs_items WHERE id = 2');
  eq(row2.rows[0], { name: 'pear2', qty: 5 }, 'upsert updated the row (checked in PostgreSQL)');
  r = await client.from('pgjs_items').upsert({ id: 5, name: 'ignored' }, { onConflict: 'id', ignoreDuplicates: true });
  const row5 = await db.query('SELECT name FROM pgjs_items WHERE id = 5');
  eq([r.status, row5.rows[0].name], [201, 'kiwi'], 'upsert ignoreDuplicates keeps the row');
  r = await client.from('pgjs_items').upsert({ id: 6, name: 'x' }, { onConflict: 'name' });
  eq([r.status, r.error && r.error.code], [400, '42P10'], 'upsert on a non-unique column: 42P10');

  // delete
  r = await client.from('pgjs_items').delete().eq('id', 4);
  eq(r.status, 204, 'delete eq: 204');
  r = await client.from('pgjs_items').delete().in('id', [1, 3]).select('id');
  eq(r.data && r.data.map((x) => x.id).sort(), [1, 3], 'delete in with representation');
  r = await client.from('pgjs_items').delete();
  eq([r.status, r.error && r.error.code], [400, '21000'], 'delete without filter refused');
  const left = await db.query('SELECT id FROM pgjs_items ORDER BY id');
  eq(left.rows.map((x) => Number(x.id)), [2, 5], 'rows left after deletes (checked in PostgreSQL)');

  // schemas
  r = await client.schema('pgjs_s').from('things').insert({ k: 'a', v: 1 });
  eq(r.status, 201, 'insert into a non-public schema');
  r = await client.schema('pgjs_s').from('things').select();
  eq(r.data, [{ k: 'a', v: 1 }], 'select from a non-public schema');
  r = await client.schema('nope').from('things').select();
  eq([r.status, r.error && r.error.code], [406, 'PGRST106'], 'unknown schema: 406 / PGRST106');

  // fail knob (postgrest-js itself retries idempotent requests on 503)
  await fetch(`${base}/__fake/reset`, { method: 'POST' });
  await fetch(`${base}/__fake/fail`, { method: 'POST', body: JSON.stringify({ nth: 2, status: 503, retry_after: 0 }) });
  const a = await client.from('pgjs_items').select('id');
  const b = await client.from('pgjs_items').select('id');
  eq([a.status, b.status], [200, 200], 'fail knob: the client retried the injected 503');
  let log = await (await fetch(`${base}/__fake/log`)).json();
  eq(log.requests.map((x) => x.status), [200, 503, 200], 'fail knob: request log shows the 503');
  ok(!JSON.stringify(log).includes(KEY), 'request log holds no key');
  await fetch(`${base}/__fake/reset`, { method: 'POST' });
  await fetch(`${base}/__fake/fail`, { method: 'POST', body: JSON.stringify({ nth: 1, status: 429 }) });
  r = await client.from('pgjs_items').select('id').retry(false);
  eq([r.status, r.error && r.error.code], [429, 'PGRST429'], 'fail knob: 429 without client retries');
  await fetch(`${base}/__fake/reset`, { method: 'POST' });
} catch (e) {
  failed++;
  console.error('FAIL: exception:', e && e.stack ? e.stack : e);
} finally {
  if (server) { server.kill('SIGTERM'); await once(server, 'exit').catch(() => {}); }
  await db.query('DROP TABLE IF EXISTS pgjs_items; DROP SCHEMA IF EXISTS pgjs_s CASCADE').catch(() => {});
  await db.end().catch(() => {});
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
