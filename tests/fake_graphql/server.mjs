// tests/fake_graphql/server.mjs -- a GraphQL server for the osiris
// graphql.extractor tests, built on graphql-js (the reference
// implementation: schema, validation and execution are graphql-js's own).
//
// It follows:
//   - the GraphQL specification, section 7 "Response" (a map with "data"
//     and, when a field or the request failed, "errors": [{message,
//     locations, path}]), https://spec.graphql.org/October2021/#sec-Response
//   - GraphQL over HTTP (draft), https://graphql.github.io/graphql-over-http/draft/ :
//     POST with Content-Type application/json and a body {query,
//     variables?, operationName?}; with Accept application/json a
//     well-formed request is answered 200 even when it has errors; a body
//     that is not a GraphQL request is 400;
//   - the Relay Cursor Connections specification,
//     https://relay.dev/graphql/connections.htm : first/after arguments,
//     edges { cursor node }, pageInfo { hasNextPage endCursor }; `items`
//     also offers the `nodes` shortcut (as GitHub's API does).
//
// Data: 25 items (id i1..i25); prices are integral on items 1-10 and
// fractional after (a Float column whose first page looks integral), and
// `ref` (a JSON scalar) is an integer on items 1-10 and text after.
//
// Auth, per path (values from the environment, never on the command line):
//   /graphql          none
//   /bearer/graphql   Authorization: Bearer $FAKE_GRAPHQL_TOKEN
//   /basic/graphql    Authorization: Basic base64($FAKE_GRAPHQL_USER:$FAKE_GRAPHQL_PASSWORD)
//   /apikey/graphql   <$FAKE_GRAPHQL_API_KEY_HEADER, default X-API-Key>: $FAKE_GRAPHQL_API_KEY
// A missing or wrong credential is 401 {"errors":[{"message":...}]}.
//
// Command line: node server.mjs [--port N] (0: a free port).  Prints one
// JSON line {"port":N} on stdout once listening.  Stops on SIGTERM/SIGINT.
//
// Test knobs (no credential needed; loopback only):
//   POST /__fake/fail  {"nth":N,"status":503|429|0,"times":1,"retry_after":S}
//        the N-th GraphQL request counted since the last reset (and the
//        times-1 after it) fails with that status; status 0 drops the
//        connection.
//   POST /__fake/reset  clears the counter, the fail plans and the log
//   GET  /__fake/log    {"count":N,"requests":[{n,path,status,auth,variables,
//        operation,user_agent,content_type}]} (credential values are never logged)
import http from 'node:http';
import { buildSchema, graphql, GraphQLError } from 'graphql';

const args = process.argv.slice(2);
let port = 0;
for (let i = 0; i < args.length; i++) if (args[i] === '--port') port = Number(args[++i]);

const env = process.env;
const creds = {
  token: env.FAKE_GRAPHQL_TOKEN || '',
  user: env.FAKE_GRAPHQL_USER || '',
  password: env.FAKE_GRAPHQL_PASSWORD || '',
  apiKey: env.FAKE_GRAPHQL_API_KEY || '',
  apiKeyHeader: (env.FAKE_GRAPHQL_API_KEY_HEADER || 'X-API-Key').toLowerCase(),
};

const schema = buildSchema(`
  scalar JSON

  type Query {
    "Items in id order, cursor-paginated."
    items(first: Int = 10, after: String, minQty: Int): ItemConnection!
    "The same items in the edges/node shape only."
    products(first: Int = 10, after: String): ProductConnection!
    "One item by id."
    item(id: ID!): Item
    "A field that fails with the given message (an error in a 200 response)."
    boom(message: String = "boom"): [Item!]
    "Echoes the variables it got, for variable tests."
    echo(text: String, n: Int, flag: Boolean): Echo!
  }

  type ItemConnection {
    nodes: [Item!]!
    edges: [ItemEdge!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }
  type ProductConnection {
    edges: [ItemEdge!]!
    pageInfo: PageInfo!
  }
  type ItemEdge {
    cursor: String!
    node: Item!
  }
  type PageInfo {
    hasNextPage: Boolean!
    endCursor: String
  }
  type Item {
    id: ID!
    name: String!
    qty: Int
    price: Float
    active: Boolean!
    tags: [String!]!
    createdAt: String!
    owner: Owner
    ref: JSON
  }
  type Owner {
    login: String!
    address: Address
  }
  type Address {
    city: String
    zip: String
  }
  type Echo {
    text: String
    n: Int
    flag: Boolean
  }
`);
schema.getType('JSON').serialize = (v) => v; // any JSON value as it is

const ITEMS = Array.from({ length: 25 }, (_, k) => {
  const i = k + 1;
  return {
    id: `i${i}`,
    name: i === 3 ? 'Zoë "three", with comma' : `item ${i}`,
    qty: i % 7 === 0 ? null : i * 2,
    price: i <= 10 ? i * 10 : i * 10 + 0.5,
    active: i % 2 === 1,
    tags: i % 5 === 0 ? [] : [`t${i}`, 'x'],
    createdAt: `2024-01-${String(i).padStart(2, '0')}T12:00:00Z`,
    owner: i % 4 === 0 ? null : { login: `user${i % 3}`, address: i % 3 === 0 ? null : { city: `City ${i % 3}`, zip: `1000${i % 3}` } },
    ref: i <= 10 ? i : `R-${i}`,
  };
});

const cursorOf = (i) => Buffer.from(`cursor:${i}`).toString('base64');
const indexOf = (cursor) => {
  const m = /^cursor:(\d+)$/.exec(Buffer.from(String(cursor), 'base64').toString());
  if (!m) throw new GraphQLError(`invalid cursor: ${cursor}`);
  return Number(m[1]);
};

function page(list, first, after) {
  if (first < 0 || first > 100) throw new GraphQLError('first must be between 0 and 100');
  const start = after == null ? 0 : indexOf(after) + 1;
  const slice = list.slice(start, start + first);
  const edges = slice.map((node, k) => ({ cursor: cursorOf(start + k), node }));
  return {
    nodes: slice,
    edges,
    totalCount: list.length,
    pageInfo: {
      hasNextPage: start + first < list.length,
      endCursor: edges.length ? edges[edges.length - 1].cursor : null,
    },
  };
}

const root = {
  items: ({ first, after, minQty }) =>
    page(minQty == null ? ITEMS : ITEMS.filter((x) => x.qty != null && x.qty >= minQty), first, after),
  products: ({ first, after }) => page(ITEMS, first, after),
  item: ({ id }) => ITEMS.find((x) => x.id === id) || null,
  boom: ({ message }) => {
    throw new GraphQLError(message);
  },
  echo: (a) => ({ text: a.text ?? null, n: a.n ?? null, flag: a.flag ?? null }),
};

const state = { count: 0, plans: [], log: [] };

function authOf(req, path) {
  const h = req.headers;
  if (path === '/graphql') return 'none';
  if (path === '/bearer/graphql') {
    const a = h.authorization || '';
    if (!a) return 'missing';
    return creds.token && a === `Bearer ${creds.token}` ? 'ok' : 'bad';
  }
  if (path === '/basic/graphql') {
    const a = h.authorization || '';
    if (!a) return 'missing';
    const want = 'Basic ' + Buffer.from(`${creds.user}:${creds.password}`).toString('base64');
    return creds.user && a === want ? 'ok' : 'bad';
  }
  if (path === '/apikey/graphql') {
    const v = h[creds.apiKeyHeader];
    if (v === undefined) return 'missing';
    return creds.apiKey && v === creds.apiKey ? 'ok' : 'bad';
  }
  return 'unknown';
}

function send(res, status, obj, extra = {}) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const path = url.pathname;
  try {
    if (path.startsWith('/__fake/')) {
      const ra = req.socket.remoteAddress || '';
      if (!(ra === '127.0.0.1' || ra === '::1' || ra === '::ffff:127.0.0.1')) return send(res, 403, { error: 'loopback only' });
      if (path === '/__fake/reset' && req.method === 'POST') {
        await readBody(req);
        Object.assign(state, { count: 0, plans: [], log: [] });
        return send(res, 200, { ok: true });
      }
      if (path === '/__fake/fail' && req.method === 'POST') {
        const p = JSON.parse((await readBody(req)) || '{}');
        state.plans.push({ nth: Number(p.nth), status: Number(p.status ?? 503), times: Number(p.times ?? 1), retry_after: p.retry_after });
        return send(res, 200, { ok: true });
      }
      if (path === '/__fake/log' && req.method === 'GET') return send(res, 200, { count: state.count, requests: state.log });
      return send(res, 404, { error: 'unknown knob' });
    }
    if (!['/graphql', '/bearer/graphql', '/basic/graphql', '/apikey/graphql'].includes(path)) {
      return send(res, 404, { errors: [{ message: `no GraphQL endpoint at ${path}` }] });
    }
    const n = ++state.count;
    const entry = {
      n, path, status: 0, auth: authOf(req, path), variables: null, operation: null,
      user_agent: req.headers['user-agent'] || null, content_type: req.headers['content-type'] || null,
    };
    state.log.push(entry);
    const raw = await readBody(req);
    const plan = state.plans.find((p) => n >= p.nth && n < p.nth + p.times);
    if (plan) {
      entry.status = plan.status;
      if (plan.status === 0) {
        req.socket.destroy();
        return;
      }
      const extra = plan.retry_after !== undefined ? { 'Retry-After': String(plan.retry_after) } : {};
      return send(res, plan.status, { errors: [{ message: `injected HTTP ${plan.status}` }] }, extra);
    }
    if (req.method !== 'POST') {
      entry.status = 405;
      return send(res, 405, { errors: [{ message: 'POST only' }] }, { Allow: 'POST' });
    }
    if (entry.auth === 'missing' || entry.auth === 'bad') {
      entry.status = 401;
      return send(res, 401, { errors: [{ message: entry.auth === 'missing' ? 'authentication required' : 'invalid credentials' }] },
        { 'WWW-Authenticate': path === '/basic/graphql' ? 'Basic realm="fake"' : 'Bearer' });
    }
    let params;
    try {
      params = JSON.parse(raw);
    } catch {
      entry.status = 400;
      return send(res, 400, { errors: [{ message: 'the body is not JSON' }] });
    }
    if (!params || typeof params.query !== 'string') {
      entry.status = 400;
      return send(res, 400, { errors: [{ message: 'the body has no "query" string' }] });
    }
    entry.variables = params.variables ?? null;
    entry.operation = params.operationName ?? null;
    const result = await graphql({
      schema, source: params.query, rootValue: root,
      variableValues: params.variables ?? undefined, operationName: params.operationName ?? undefined,
    });
    entry.status = 200;
    return send(res, 200, result);
  } catch (e) {
    return send(res, 500, { errors: [{ message: `fake: ${e.message}` }] });
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
