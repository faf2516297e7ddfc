// tests/fake_graphql/check_client.mjs -- checks the fake GraphQL server
// with graphql-request, a GraphQL client from npm: queries with variables,
// cursor pagination over nodes and edges, the four auth modes (and wrong
// credentials), errors in a 200 response, the fail knob (429/503 with
// Retry-After, a dropped connection) and the request log.  Starts
// server.mjs on a free loopback port, always stops it, and prints
// "N passed, N failed" last (exit 1 on any failure).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { GraphQLClient, ClientError, gql } from 'graphql-request';

const here = path.dirname(fileURLToPath(import.meta.url));
let passed = 0, failed = 0;
const ok = (cond, msg, extra) => {
  if (cond) passed++;
  else { failed++; console.error(`FAIL: ${msg}${extra !== undefined ? ' -- ' + JSON.stringify(extra) : ''}`); }
};
const eq = (a, b, msg) => ok(JSON.stringify(a) === JSON.stringify(b), msg, { expected: b, got: a });
const rnd = () => Math.random().toString(36).slice(2);
const TOKEN = 'tok-' + rnd(), USER = 'u-' + rnd(), PASS = 'p-' + rnd(), KEY = 'k-' + rnd();

async function expectError(p) {
  try { await p; return null; } catch (e) { return e; }
}

let server;
try {
  server = spawn(process.execPath, [path.join(here, 'server.mjs'), '--port', '0'], {
    env: { ...process.env, FAKE_GRAPHQL_TOKEN: TOKEN, FAKE_GRAPHQL_USER: USER, FAKE_GRAPHQL_PASSWORD: PASS,
      FAKE_GRAPHQL_API_KEY: KEY, FAKE_GRAPHQL_API_KEY_HEADER: 'X-Shop-Key' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await Promise.race([
    once(server.stdout, 'data'),
    new Promise((_, rej) => setTimeout(() => rej(new Error('fake did not start')), 10000)),
  ]);
  const base = `http://127.0.0.1:${JSON.parse(String(line)).port}`;
  const knob = (p, body) => fetch(base + p, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json());
  const open = new GraphQLClient(`${base}/graphql`);

  // a query with variables, nodes + pageInfo
  const Q = gql`query Items($first: Int!, $after: String) {
    items(first: $first, after: $after) { nodes { id name price ref owner { login address { city } } tags }
      pageInfo { hasNextPage endCursor } totalCount } }`;
  let d = await open.request(Q, { first: 10 });
  eq(d.items.nodes.length, 10, 'first page: 10 nodes');
  eq(d.items.nodes[0], { id: 'i1', name: 'item 1', price: 10, ref: 1, owner: { login: 'user1', address: { city: 'City 1' } }, tags: ['t1', 'x'] }, 'first node');
  eq(d.items.pageInfo.hasNextPage, true, 'hasNextPage on page 1');
  eq(d.items.totalCount, 25, 'totalCount');
  // follow the cursor to the end
  const ids = d.items.nodes.map((x) => x.id);
  let pages = 1;
  while (d.items.pageInfo.hasNextPage) {
    d = await open.request(Q, { first: 10, after: d.items.pageInfo.endCursor });
    ids.push(...d.items.nodes.map((x) => x.id));
    pages++;
  }
  eq(pages, 3, 'three pages of 10');
  eq(ids.length, 25, '25 ids in all');
  eq(ids[24], 'i25', 'last id');
  eq(new Set(ids).size, 25, 'no id twice');
  eq(d.items.nodes[4].price, 250.5, 'fractional price after item 10');
  eq(d.items.nodes[4].ref, 'R-25', 'text ref after item 10');

  // edges/node shape
  d = await open.request(gql`{ products(first: 2) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`);
  eq(d.products.edges.map((e) => e.node.id), ['i1', 'i2'], 'edges/node');
  eq(d.products.pageInfo.endCursor, d.products.edges[1].cursor, 'endCursor is the last edge cursor');

  // variables of each scalar kind
  d = await open.request(gql`query E($t: String, $n: Int, $f: Boolean) { echo(text: $t, n: $n, flag: $f) { text n flag } }`, { t: 'hé', n: 7, f: true });
  eq(d.echo, { text: 'hé', n: 7, flag: true }, 'variables echoed');
  d = await open.request(gql`query M($m: Int) { items(first: 100, minQty: $m) { totalCount } }`, { m: 40 });
  eq(d.items.totalCount, 5, 'minQty filter (qty 40..50 without the nulls)');

  // an error in a 200 response
  let e = await expectError(open.request(gql`{ boom(message: "kaputt") { id } }`));
  ok(e instanceof ClientError, 'boom: ClientError');
  eq(e && e.response.status, 200, 'boom: HTTP 200');
  eq(e && e.response.errors.map((x) => x.message), ['kaputt'], 'boom: the message');
  // a validation error
  e = await expectError(open.request(gql`{ nosuchfield }`));
  ok(e instanceof ClientError && /nosuchfield/.test(e.response.errors[0].message), 'validation error names the field');

  // the four auth modes
  d = await new GraphQLClient(`${base}/bearer/graphql`, { headers: { Authorization: `Bearer ${TOKEN}` } }).request(gql`{ item(id: "i2") { id } }`);
  eq(d.item.id, 'i2', 'bearer: ok');
  e = await expectError(new GraphQLClient(`${base}/bearer/graphql`, { headers: { Authorization: 'Bearer wrong' } }).request(gql`{ item(id: "i2") { id } }`));
  eq(e && e.response.status, 401, 'bearer: wrong token is 401');
  eq(e && e.response.errors[0].message, 'invalid credentials', 'bearer: wrong token message');
  e = await expectError(new GraphQLClient(`${base}/bearer/graphql`).request(gql`{ item(id: "i2") { id } }`));
  eq(e && e.response.errors[0].message, 'authentication required', 'bearer: missing token');
  const basic = 'Basic ' + Buffer.from(`${USER}:${PASS}`).toString('base64');
  d = await new GraphQLClient(`${base}/basic/graphql`, { headers: { Authorization: basic } }).request(gql`{ item(id: "i3") { name } }`);
  eq(d.item.name, 'Zoë "three", with comma', 'basic: ok');
  e = await expectError(new GraphQLClient(`${base}/basic/graphql`, { headers: { Authorization: 'Basic ' + Buffer.from(`${USER}:x`).toString('base64') } }).request(gql`{ item(id: "i3") { name } }`));
  eq(e && e.response.status, 401, 'basic: wrong password is 401');
  d = await new GraphQLClient(`${base}/apikey/graphql`, { headers: { 'X-Shop-Key': KEY } }).request(gql`{ item(id: "i4") { owner { login } } }`);
  eq(d.item.owner, null, 'api_key: ok (item 4 has no owner)');
  e = await expectError(new GraphQLClient(`${base}/apikey/graphql`, { headers: { 'X-API-Key': KEY } }).request(gql`{ item(id: "i4") { id } }`));
  eq(e && e.response.status, 401, 'api_key: the key under another header name is 401');

  // the fail knob and the log
  await knob('/__fake/reset', {});
  await knob('/__fake/fail', { nth: 2, status: 429, times: 1, retry_after: 3 });
  await knob('/__fake/fail', { nth: 3, status: 503, times: 1 });
  await knob('/__fake/fail', { nth: 4, status: 0, times: 1 });
  d = await open.request(gql`{ item(id: "i1") { id } }`);
  eq(d.item.id, 'i1', 'request 1 passes');
  e = await expectError(open.request(gql`{ item(id: "i1") { id } }`));
  eq(e && e.response.status, 429, 'request 2: injected 429');
  const raw = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"query":"{ item(id: \\"i1\\") { id } }"}' });
  eq(raw.status, 503, 'request 3: injected 503');
  e = await expectError(open.request(gql`{ item(id: "i1") { id } }`));
  ok(e && !(e instanceof ClientError), 'request 4: connection dropped (a network error)');
  d = await new GraphQLClient(`${base}/bearer/graphql`, { headers: { Authorization: `Bearer ${TOKEN}` } }).request(gql`query Op($x: Int) { echo(n: $x) { n } }`, { x: 5 });
  eq(d.echo.n, 5, 'request 5 passes again');
  const log = await knob('/__fake/log');
  eq(log.count, 5, 'the counter');
  eq(log.requests.map((r) => r.status), [200, 429, 503, 0, 200], 'statuses logged');
  eq(log.requests[4].auth, 'ok', 'auth logged as ok');
  eq(log.requests[4].variables, { x: 5 }, 'variables logged');
  ok(!JSON.stringify(log).includes(TOKEN), 'the log holds no credential');
  const retry = await knob('/__fake/fail', { nth: 6, status: 429, retry_after: 2 }).then(() =>
    fetch(`${base}/graphql`, { method: 'POST', body: '{"query":"{ item(id: \\"i1\\") { id } }"}' }));
  eq(retry.headers.get('retry-after'), '2', 'Retry-After sent');
} catch (err) {
  failed++;
  console.error('FAIL: ' + (err && err.stack || err));
} finally {
  if (server) server.kill('SIGTERM');
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
