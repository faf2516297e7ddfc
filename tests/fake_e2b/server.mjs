#!/usr/bin/env node
/* ======================================================================
 * fake_e2b: a fake E2B service (control plane + envd) for osiris tests
 *
 * Written from /work/shared/spec/e2b-api.md (E2B API at JS SDK 2.45 / envd
 * 0.6.13). Node >= 20, no dependencies beyond node: built-ins. One process,
 * one loopback port, serving the control plane AND envd of every sandbox.
 *
 * README
 * ------
 * Start:   node tests/fake_e2b/server.mjs [--port N] [--state-dir DIR] [--parent-pid PID]
 *          (or FAKE_E2B_PORT / FAKE_E2B_STATE_DIR / FAKE_E2B_PARENT_PID; port 0 = random).
 *          The FIRST stdout line is JSON: {"port":N,"state_dir":"...","api_key":"...",
 *          "api_url":"http://127.0.0.1:N","sandbox_url":"http://127.0.0.1:N","namespace":true}.
 *          Logs go to stderr (FAKE_E2B_LOG=1 for one line per request).
 *          SIGTERM/SIGINT or POST /_fake/shutdown: kills every sandbox process and exits.
 *          With --parent-pid it also exits when that process disappears.
 *
 * Addressing (what a client must do):
 *   E2B_API_KEY     = the key printed in the first line (default e2b_ + "fa4e"x10;
 *                     FAKE_E2B_API_KEY=k1,k2 sets the accepted keys, "*" accepts any
 *                     key with the e2b_ prefix). Sent as X-API-Key (case-insensitive).
 *   E2B_API_URL     = http://127.0.0.1:<port>   (control plane: /sandboxes, /v2/sandboxes)
 *   E2B_SANDBOX_URL = http://127.0.0.1:<port>   (envd: /health, /files, /process.Process/*,
 *                                                /filesystem.Filesystem/*)
 *   Every envd request must carry `E2b-Sandbox-Id: <sandboxID>` (the SDK always sends it,
 *   plus `E2b-Sandbox-Port: 49983`); alternatively a Host header `49983-<id>.<anything>`
 *   routes to that sandbox. A request with neither is a control-plane request.
 *   envd auth: `X-Access-Token: <envdAccessToken from create>` (all RPCs; /files takes the
 *   header or a v1_ signature). E2B_DOMAIN alone is not enough: the SDK then uses https.
 *   E2B_DEBUG=true does not work either: the SDK then never calls the API.
 *
 * Sandboxes: <state_dir>/<sandboxID>/{home/user,tmp,root}. File-API paths /home/user/..,
 *   /tmp/.., /root/.. map there (relative paths and ~/ are relative to the user's home);
 *   anything else is refused (400 / invalid_argument) so no byte lands outside the
 *   sandbox dir. Processes run as the fake's user (root) with a clean environment (PATH,
 *   HOME, USER, LOGNAME + create envVars + request envs; the fake's own environment,
 *   E2B_API_KEY included, never reaches them), in their own process group, inside a
 *   private mount namespace (`unshare --mount`) where a tmpfs covers /home and the
 *   sandbox dirs are bind-mounted on /home/user, /tmp and /root. Without root/unshare
 *   (FAKE_E2B_NAMESPACE=0 or auto-detect failure) they run unconfined with cwd/HOME
 *   mapped to the host paths (absolute /home/user paths then do not work).
 *   Sandbox dirs are kept after delete/expiry so tests can grep them; an auto-created
 *   state dir is removed at shutdown unless FAKE_E2B_KEEP_STATE=1.
 *
 * Knobs: env at start, or POST /_fake/config with a JSON object (merged; GET returns it):
 *   split_output     FAKE_E2B_SPLIT=0|1    (default 1) cut every pipe read at random byte
 *                    boundaries (mid-line, mid-UTF-8); 0 = one event per read (<= 32 KiB)
 *   chunk_max        FAKE_E2B_CHUNK_MAX    (default 4096) largest data event when splitting
 *   slice_writes     FAKE_E2B_SLICE=0|1    (default 1) write each envelope in two pieces
 *   keepalive_ms     FAKE_E2B_KEEPALIVE_MS (default null = Keepalive-Ping-Interval header
 *                    seconds, 90 s when missing) interval of keepalive events on a quiet stream
 *   honor_connect_timeout FAKE_E2B_HONOR_CONNECT_TIMEOUT (default 1): Connect-Timeout-Ms on
 *                    Start kills the process (SIGKILL) and ends the stream deadline_exceeded
 *   default_timeout_s (15) TTL when POST /sandboxes has no timeout (v2: 300 s and secure on by
 *                    default); max_timeout_s FAKE_E2B_MAX_TIMEOUT_S
 *                    (3600) -> 400 above it; max_concurrent (100) -> 429 above it
 *   fail_create      FAKE_E2B_FAIL_CREATE="1,3" or "2:503": the Nth POST /sandboxes (counted
 *                    from 1 since start or POST /_fake/reset) fails with 429 (or the status)
 *   fail_stream_after_bytes FAKE_E2B_FAIL_STREAM_AFTER_BYTES=K: a Start/Connect stream breaks
 *                    after exactly K bytes of process output (K=0: at the first output byte)
 *   fail_stream_mode FAKE_E2B_FAIL_STREAM_MODE: "reset" (socket destroyed, default), "eof"
 *                    (body ends cleanly with no end-stream envelope), "502" (like eof, and every
 *                    later envd request of that sandbox gets the proxy's 502; the process keeps
 *                    running until DELETE/TTL)
 *   fail_stream_times FAKE_E2B_FAIL_STREAM_TIMES (default 1; -1 = every stream) then disarms
 *   fail_stream_rpc  FAKE_E2B_FAIL_STREAM_RPC: null (default) = Start and Connect streams can
 *                    break; "Start" or "Connect" = only that method's streams (the cut never
 *                    stops the process: it keeps running, its output discarded while detached)
 *   fail_rpc         FAKE_E2B_FAIL_RPC='{"Connect":2,"List":-1}' (default {}): the next N calls
 *                    (-1 = every call) of that process.Process/filesystem.Filesystem method
 *                    answer fail_rpc_status (FAKE_E2B_FAIL_RPC_STATUS, default 503,
 *                    {"code":N,"message":..}) before any RPC handling, as a proxy would
 *   hold_rpc         FAKE_E2B_HOLD_RPC='["Connect"]' (default []): calls of these methods that
 *                    fail_rpc lets through wait unanswered (no headers yet), as behind a slow
 *                    proxy, until the method leaves the list (POST /_fake/config
 *                    {"hold_rpc":[]}); then they are handled as if they had just arrived (a
 *                    sandbox gone meanwhile answers the proxy's 502).  Tests use it to order
 *                    a client's call after an event of their choosing.  GET /_fake/state
 *                    shows them in held_rpcs [{method,sandbox,since}] and counts rpc_held
 *   fail_download_times FAKE_E2B_FAIL_DOWNLOAD_TIMES (default 0; -1 = every call): the next N
 *                    GET /files answer fail_download_status (default 503)
 *   retain_ended_ms  FAKE_E2B_RETAIN_ENDED_MS (default 60000): how long Connect still finds an
 *                    ended process (start + end events replayed); after that, or with 0 at
 *                    once, Connect answers not_found as envd does once it forgot the process
 *   templates        null = every templateID exists; or an array of the existing ones (404)
 *   list_inject      (default null) hostile-sandbox tests: an array of EntryInfo-like objects
 *                    appended to ListDir answers, as a compromised envd could; in `path`,
 *                    {dir} is the listed directory and {parent} its parent; missing fields get
 *                    a regular file's (type FILE_TYPE_FILE, size "0", mode 0644)
 *   list_inject_match (default null = every ListDir) only listings whose path ends with this
 *   file_body_pad_bytes (default 0) hostile-sandbox tests: GET /files of a regular file sends
 *                    this many extra bytes ("x") after the file, more than its size says
 *   file_body_pad_match (default null = every path) only paths containing this substring
 *   envd_version     FAKE_E2B_ENVD_VERSION ("0.6.13"); domain FAKE_E2B_DOMAIN (null)
 *
 * Control endpoints (no auth):
 *   GET  /_fake/state   {port,state_dir,namespace,config,counters,live:[..],deleted:[..],
 *                        uploads:[{sandboxID,path,size,sha256,content_type,at}],
 *                        processes:[{sandboxID,pid,tag,cmd,args,envs,cwd,user,stdin,
 *                        connect_timeout_ms,keepalive_interval,connect_protocol_version,
 *                        started_at,ended_at,exit_code,signal,killed_by}],
 *                        requests:[last 2000: method,path,sandbox,status,ms,connect_timeout_ms],
 *                        held_rpcs:[{method,sandbox,since}] (hold_rpc)}
 *                        counters.max_live: the most sandboxes alive at once since start or
 *                        reset (reset starts it at the number alive then); counters.live: now
 *                        killed_by: connect-timeout | SendSignal | fake-control | deleted | expired
 *                        (kept in memory only: process envs may hold secrets, nothing of
 *                        it is written to disk)
 *   POST /_fake/config  merge knobs;  POST /_fake/reset  clear logs + counters
 *   POST /_fake/sandboxes/<id>/expire   TTL expiry now (processes killed, streams cut,
 *                                       API 404, envd 502)
 *   POST /_fake/sandboxes/<id>/signal   {"signal":"SIGKILL"} to every running process
 *   POST /_fake/shutdown
 *
 * Self-check: tests/fake_e2b/run.sh (installs the pinned `e2b` SDK into node_modules when
 *   missing, runs check_sdk.mjs against a fresh fake; last line "N passed, N failed").
 *
 * Control plane: POST /sandboxes and POST /v2/sandboxes (201; SDK 2.51 uses v2), GET
 *   /sandboxes, GET /v2/sandboxes, GET/DELETE /sandboxes/<id>, POST
 *   /sandboxes/<id>/{timeout,refreshes,connect}, POST /v2/sandboxes/<id>/connect, GET
 *   /sandboxes/<id>/metrics ([]), GET /health. Errors {"code":N,"message":..}.
 * envd: GET /health (204), GET/POST /files, process.Process/{Start,Connect,List,SendInput,
 *   CloseStdin,SendSignal}, filesystem.Filesystem/{Stat,ListDir,MakeDir,Remove,Move};
 *   others -> unimplemented. JSON codec only (Connect envelopes for streams).
 * Deviations from real E2B: pause/resume and PTY resize are absent (a pty Start runs with
 *   pipes and reports output as "pty" data); SendSignal signals the whole process group;
 *   owner/group are always reported as "user"; no xattr metadata on disk (echoed back only).
 * ====================================================================== */

import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import os from 'node:os';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

const ENVD_PORT = 49983;
const CLIENT_ID = '6532622b';
const DEFAULT_API_KEY = 'e2b_' + 'fa4e'.repeat(10);
const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAX_READ = 32 * 1024;            // envd emits at most one 32 KiB pipe read per event
const UNARY_LIMIT = 16 << 20;
const MULTIPART_LIMIT = 1 << 30;
const TOKEN_401 = 'unauthorized access, please provide a valid access token or method signing if supported';

/* ---------------------------------------------------------------- config */

function envBool(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  return !/^(0|false|no|off)$/i.test(v);
}
function envNum(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  return Number.isFinite(n) ? n : dflt;
}
function parseFailCreate(v) {
  // "1,3" -> {1:429,3:429}; "2:503" -> {2:503}; arrays and objects from JSON too
  const out = {};
  if (v == null || v === '') return out;
  if (Array.isArray(v)) { for (const n of v) out[String(n)] = 429; return out; }
  if (typeof v === 'object') { for (const [k, s] of Object.entries(v)) out[String(k)] = Number(s) || 429; return out; }
  if (typeof v === 'number') { out[String(v)] = 429; return out; }
  for (const part of String(v).split(',')) {
    const [n, s] = part.trim().split(':');
    if (n) out[n] = Number(s) || 429;
  }
  return out;
}

const args = process.argv.slice(2);
function argOpt(name) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : undefined;
}

const cfg = {
  api_keys: (process.env.FAKE_E2B_API_KEY || DEFAULT_API_KEY).split(',').map((s) => s.trim()).filter(Boolean),
  split_output: envBool('FAKE_E2B_SPLIT', true),
  chunk_max: envNum('FAKE_E2B_CHUNK_MAX', 4096),
  slice_writes: envBool('FAKE_E2B_SLICE', true),
  keepalive_ms: process.env.FAKE_E2B_KEEPALIVE_MS ? envNum('FAKE_E2B_KEEPALIVE_MS', null) : null,
  honor_connect_timeout: envBool('FAKE_E2B_HONOR_CONNECT_TIMEOUT', true),
  default_timeout_s: 15,
  max_timeout_s: envNum('FAKE_E2B_MAX_TIMEOUT_S', 3600),
  max_concurrent: envNum('FAKE_E2B_MAX_CONCURRENT', 100),
  fail_create: parseFailCreate(process.env.FAKE_E2B_FAIL_CREATE),
  fail_stream_after_bytes: process.env.FAKE_E2B_FAIL_STREAM_AFTER_BYTES ? envNum('FAKE_E2B_FAIL_STREAM_AFTER_BYTES', null) : null,
  fail_stream_mode: process.env.FAKE_E2B_FAIL_STREAM_MODE || 'reset',
  fail_stream_times: envNum('FAKE_E2B_FAIL_STREAM_TIMES', 1),
  fail_stream_rpc: process.env.FAKE_E2B_FAIL_STREAM_RPC || null,
  fail_rpc: process.env.FAKE_E2B_FAIL_RPC ? JSON.parse(process.env.FAKE_E2B_FAIL_RPC) : {},
  hold_rpc: process.env.FAKE_E2B_HOLD_RPC ? JSON.parse(process.env.FAKE_E2B_HOLD_RPC) : [],
  fail_rpc_status: envNum('FAKE_E2B_FAIL_RPC_STATUS', 503),
  fail_download_times: envNum('FAKE_E2B_FAIL_DOWNLOAD_TIMES', 0),
  fail_download_status: envNum('FAKE_E2B_FAIL_DOWNLOAD_STATUS', 503),
  retain_ended_ms: envNum('FAKE_E2B_RETAIN_ENDED_MS', 60000),
  templates: null,
  list_inject: null,
  list_inject_match: null,
  file_body_pad_bytes: 0,
  file_body_pad_match: null,
  envd_version: process.env.FAKE_E2B_ENVD_VERSION || '0.6.13',
  domain: process.env.FAKE_E2B_DOMAIN || null,
  log: envBool('FAKE_E2B_LOG', false),
};

function applyConfig(patch) {
  for (const [k, v] of Object.entries(patch || {})) {
    if (!(k in cfg)) throw new Error(`unknown knob '${k}'`);
    if (k === 'fail_create') cfg.fail_create = parseFailCreate(v);
    else if (k === 'api_keys') cfg.api_keys = Array.isArray(v) ? v.map(String) : String(v).split(',');
    else if (k === 'fail_rpc') cfg.fail_rpc = v && typeof v === 'object' ? { ...v } : {};
    else if (k === 'hold_rpc') cfg.hold_rpc = Array.isArray(v) ? v.map(String) : v ? [String(v)] : [];
    else cfg[k] = v;
  }
  releaseHeldRpcs();
}

// Calls parked by hold_rpc: {method, sandbox, since, go(proceed)}.
const heldRpcs = [];
function rpcHeld(method) { return cfg.hold_rpc.includes(method); }
function releaseHeldRpcs() {
  for (const h of [...heldRpcs]) {
    if (rpcHeld(h.method)) continue;
    heldRpcs.splice(heldRpcs.indexOf(h), 1);
    // a timer, not a microtask: whatever the fake scheduled before the release (the
    // forgetting of an ended process, retain_ended_ms) happens before the call goes on
    setTimeout(() => h.go(true), 0);
  }
}

/* ----------------------------------------------------------------- state */

let stateDir = argOpt('--state-dir') || process.env.FAKE_E2B_STATE_DIR || '';
let stateDirAuto = false;
if (!stateDir) { stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-e2b-')); stateDirAuto = true; }
fs.mkdirSync(stateDir, { recursive: true });
stateDir = fs.realpathSync(stateDir);
process.umask(0o022); // envd creates files 0666 & ~umask = 0644

const sandboxes = new Map();   // id -> sandbox (live and dead)
let uploads = [];
let procLog = [];
let requestLog = [];
let counters = { creates: 0, create_failures: 0, deletes: 0, expired: 0, stream_failures: 0, rpc_failures: 0, rpc_held: 0, download_failures: 0, max_live: 0 };
let createSeq = 0;
let useNamespace = false;

function log(...a) { if (cfg.log) process.stderr.write('[fake-e2b] ' + a.join(' ') + '\n'); }
function warn(...a) { process.stderr.write('[fake-e2b] ' + a.join(' ') + '\n'); }
function nowIso(ms = Date.now()) { return new Date(ms).toISOString(); }

/* ------------------------------------------------------------ http utils */

class HttpError extends Error {
  constructor(status, message, extra) { super(message); this.status = status; this.extra = extra; }
}

function sendJson(res, status, obj, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  const body = obj === undefined ? '' : JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
function sendEmpty(res, status) {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}
function apiError(res, status, message, extra) { sendJson(res, status, { code: status, message, ...(extra || {}) }); }

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > limit) { reject(new HttpError(413, 'request body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new HttpError(400, 'request aborted')));
  });
}
async function readJson(req, limit = UNARY_LIMIT) {
  const buf = await readBody(req, limit);
  if (buf.length === 0) return {};
  try { return JSON.parse(buf.toString('utf8')); } catch (e) { throw new HttpError(400, 'invalid JSON body: ' + e.message); }
}
/* --------------------------------------------------------------- sandbox */

function newSandboxId() {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = 'i';
  const b = crypto.randomBytes(20);
  for (let i = 0; i < 20; i++) s += abc[b[i] % abc.length];
  return s;
}

function sandboxPublic(s, detail) {
  const o = {
    templateID: s.templateID,
    sandboxID: s.id,
    alias: s.templateID,
    clientID: CLIENT_ID,
    envdVersion: cfg.envd_version,
    domain: s.domain,
  };
  if (!detail) {
    if (s.secure) o.envdAccessToken = s.token;
    o.trafficAccessToken = null;
    return o;
  }
  Object.assign(o, {
    startedAt: nowIso(s.startedAt), endAt: nowIso(s.endAt),
    cpuCount: 2, memoryMB: 1024, diskSizeMB: 10240,
    metadata: s.metadata, state: 'running',
    lifecycle: { autoResume: false, onTimeout: s.autoPause ? 'pause' : 'kill' },
  });
  if (s.secure) o.envdAccessToken = s.token;
  return o;
}

function scheduleExpiry(s) {
  clearTimeout(s.timer);
  const ms = Math.max(0, s.endAt - Date.now());
  // setTimeout caps at 2^31-1 ms; re-arm for longer TTLs
  s.timer = setTimeout(() => {
    if (s.state !== 'running') return;
    if (Date.now() + 5 < s.endAt) scheduleExpiry(s); else killSandbox(s, 'expired');
  }, Math.min(ms, 0x7fffffff));
}

function killSandbox(s, reason) {
  if (s.state !== 'running') return;
  s.state = reason;
  s.endedAt = Date.now();
  clearTimeout(s.timer);
  if (reason === 'expired') counters.expired++; else counters.deletes++;
  // Streams are cut without end event or end-stream envelope, before the processes die,
  // so that no end event reaches a client (as at a real TTL kill).
  for (const st of [...s.streams]) st.cut('reset');
  for (const p of s.procs.values()) if (!p.done) killProc(p, 'SIGKILL', reason);
  // background children of processes that already ended still live in those groups
  for (const g of s.pgids) { try { process.kill(-g, 'SIGKILL'); } catch { /* group gone */ } }
  log('sandbox', s.id, reason);
}

function liveCount() { let n = 0; for (const s of sandboxes.values()) if (s.state === 'running') n++; return n; }

/* ---------------------------------------------------------- control plane */

function checkApiKey(req, res) {
  const key = req.headers['x-api-key'];
  if (!key) { apiError(res, 401, 'Invalid API key, please visit https://e2b.dev/docs/api-key to get your API key.'); return false; }
  if (!String(key).startsWith('e2b_')) { apiError(res, 401, 'Invalid API key format'); return false; }
  if (!cfg.api_keys.includes('*') && !cfg.api_keys.includes(key)) { apiError(res, 401, 'Invalid API key'); return false; }
  return true;
}

function lookupSandboxApi(res, rawId) {
  const id = String(rawId).split('-')[0];
  if (!/^[a-z0-9]+$/.test(id)) { apiError(res, 400, 'Invalid sandbox ID'); return null; }
  const s = sandboxes.get(id);
  if (!s || s.state !== 'running') { apiError(res, 404, `Sandbox "${id}" doesn't exist or you don't have access to it`); return null; }
  return s;
}

function validTimeout(res, t, field = 'Timeout') {
  if (typeof t !== 'number' || !Number.isFinite(t)) { apiError(res, 400, `${field} must be a number`); return false; }
  if (t <= 0) { apiError(res, 400, `${field} must be greater than 0`); return false; }
  if (t > cfg.max_timeout_s) { apiError(res, 400, `${field} cannot be greater than ${Math.floor(cfg.max_timeout_s / 3600)} hours`); return false; }
  return true;
}

function strMap(v) {
  const o = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) o[k] = String(x);
  return o;
}

async function controlPlane(req, res, url) {
  const p = url.pathname.replace(/\/+$/, '') || '/';
  if (p === '/health' && req.method === 'GET') { sendJson(res, 200, { message: 'Health check successful' }); return; }
  if (!checkApiKey(req, res)) return;

  // SDK <= 2.45 creates with POST /sandboxes (secure:true sent); 2.51 uses POST /v2/sandboxes
  // and omits secure/timeout: there envd tokens are always on and the TTL defaults to 300 s.
  const v2 = p.startsWith('/v2/');
  if ((p === '/sandboxes' || p === '/v2/sandboxes') && req.method === 'POST') {
    let body;
    try { body = await readJson(req); } catch (e) { apiError(res, 400, 'Error when parsing request: ' + e.message); return; }
    if (!body || typeof body !== 'object' || Array.isArray(body)) { apiError(res, 400, 'Error when parsing request'); return; }
    const n = ++createSeq;
    counters.creates++;
    const inj = cfg.fail_create[String(n)];
    if (inj) {
      counters.create_failures++;
      if (inj === 429) apiError(res, 429, `you have reached the maximum number of concurrent E2B sandboxes (${cfg.max_concurrent}). If you need more, please contact us at 'https://e2b.dev/docs/getting-help' (fake_e2b: injected on create #${n})`);
      else apiError(res, inj, `fake_e2b: injected failure on create #${n}`, inj === 504 ? { error_code: 'sandbox_placement_timeout' } : {});
      return;
    }
    const templateID = body.templateID;
    if (typeof templateID !== 'string' || !templateID) { apiError(res, 400, 'templateID is required'); return; }
    if (Array.isArray(cfg.templates) && !cfg.templates.includes(templateID)) { apiError(res, 404, `template '${templateID}' not found`); return; }
    const timeout = body.timeout === undefined || body.timeout === null ? (v2 ? 300 : cfg.default_timeout_s) : body.timeout;
    if (!validTimeout(res, timeout)) return;
    if (liveCount() >= cfg.max_concurrent) {
      counters.create_failures++;
      apiError(res, 429, `you have reached the maximum number of concurrent E2B sandboxes (${cfg.max_concurrent})`);
      return;
    }
    let id;
    do id = newSandboxId(); while (sandboxes.has(id));
    const dir = path.join(stateDir, id);
    for (const d of ['home/user', 'tmp', 'root']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
    fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
    const now = Date.now();
    const s = {
      id, templateID, dir,
      secure: v2 ? body.secure !== false : body.secure === true,
      token: crypto.randomBytes(24).toString('hex'),
      envVars: strMap(body.envVars), metadata: strMap(body.metadata),
      autoPause: body.autoPause === true,
      allowInternetAccess: body.allow_internet_access,
      domain: cfg.domain,
      startedAt: now, endAt: now + timeout * 1000,
      state: 'running', envdBroken: false,
      procs: new Map(), pgids: new Set(), streams: new Set(), timer: null,
    };
    sandboxes.set(id, s);
    counters.max_live = Math.max(counters.max_live, liveCount());
    scheduleExpiry(s);
    log('create', id, templateID, 'ttl', timeout);
    sendJson(res, 201, sandboxPublic(s, false));
    return;
  }

  if ((p === '/sandboxes' || p === '/v2/sandboxes') && req.method === 'GET') {
    let list = [...sandboxes.values()].filter((s) => s.state === 'running');
    const md = url.searchParams.get('metadata');
    if (md) {
      const want = new URLSearchParams(md);
      list = list.filter((s) => [...want].every(([k, v]) => s.metadata[k] === v));
    }
    const st = url.searchParams.get('state');
    if (st && !st.split(',').includes('running')) list = [];
    const lim = Number(url.searchParams.get('limit'));
    const total = list.length;
    if (lim > 0) list = list.slice(0, lim);
    const out = list.map((s) => {
      const o = sandboxPublic(s, true);
      delete o.envdAccessToken;
      return o;
    });
    sendJson(res, 200, out, { 'X-Total-Running': String(total) });
    return;
  }

  const m = p.match(/^\/sandboxes\/([^/]+)(?:\/([a-z]+))?$/) || p.match(/^\/v2\/sandboxes\/([^/]+)\/(connect)$/);
  if (m) {
    const [, rawId, sub] = m;
    if (!sub && req.method === 'GET') {
      const s = lookupSandboxApi(res, rawId); if (!s) return;
      sendJson(res, 200, sandboxPublic(s, true)); return;
    }
    if (!sub && req.method === 'DELETE') {
      const s = lookupSandboxApi(res, rawId); if (!s) return;
      killSandbox(s, 'deleted');
      sendEmpty(res, 204); return;
    }
    if (sub === 'metrics' && req.method === 'GET') {
      const s = lookupSandboxApi(res, rawId); if (!s) return;
      sendJson(res, 200, []); return;
    }
    if (req.method === 'POST' && (sub === 'timeout' || sub === 'refreshes' || sub === 'connect')) {
      let body;
      try { body = await readJson(req); } catch (e) { apiError(res, 400, 'Error when parsing request: ' + e.message); return; }
      const s = lookupSandboxApi(res, rawId); if (!s) return;
      if (sub === 'timeout') {
        if (!validTimeout(res, body.timeout)) return;
        s.endAt = Date.now() + body.timeout * 1000;
        scheduleExpiry(s);
        sendEmpty(res, 204); return;
      }
      if (sub === 'refreshes') {
        let d = body.duration === undefined ? 15 : Number(body.duration);
        if (!Number.isFinite(d) || d < 0 || d > 3600) { apiError(res, 400, 'Duration must be between 0 and 3600 seconds'); return; }
        if (d < 15) d = 15;
        s.endAt = Math.max(s.endAt, Date.now() + d * 1000);
        scheduleExpiry(s);
        sendEmpty(res, 204); return;
      }
      // connect: only ever extends the TTL
      const t = body.timeout === undefined || body.timeout === null ? cfg.default_timeout_s : body.timeout;
      if (!validTimeout(res, t)) return;
      s.endAt = Math.max(s.endAt, Date.now() + t * 1000);
      scheduleExpiry(s);
      sendJson(res, 200, sandboxPublic(s, false)); return;
    }
  }
  apiError(res, 404, `fake_e2b: no control-plane route ${req.method} ${p}`);
}

/* ------------------------------------------------------------ envd paths */

const ROOTS = ['/home/user', '/tmp', '/root'];

function homeOf(user) { return user === 'root' ? '/root' : '/home/user'; }

// virtual sandbox path -> {vpath, host}; throws HttpError(400) for paths outside the roots
function resolvePath(s, p, user) {
  if (typeof p !== 'string' || p === '') throw new HttpError(400, 'path is required');
  if (p.includes('\0')) throw new HttpError(400, 'invalid path');
  let v = p;
  if (v === '~') v = homeOf(user);
  else if (v.startsWith('~/')) v = homeOf(user) + v.slice(1);
  else if (!v.startsWith('/')) v = homeOf(user) + '/' + v;
  v = path.posix.normalize(v);
  if (v.length > 1 && v.endsWith('/')) v = v.slice(0, -1);
  for (const r of ROOTS) {
    if (v === r || v.startsWith(r + '/')) return { vpath: v, host: path.join(s.dir, v) };
  }
  throw new HttpError(400, `path '${v}' is outside the fake sandbox's filesystem (only ${ROOTS.join(', ')} exist)`);
}

// the real path of an existing host path must stay inside the sandbox dir (no symlink escapes)
function insideSandbox(s, hostPath) {
  let real;
  try { real = fs.realpathSync(hostPath); } catch { return true; }
  return real === s.dir || real.startsWith(s.dir + path.sep);
}

function hostToVirtual(s, hostPath) { return '/' + path.relative(s.dir, hostPath).split(path.sep).join('/'); }

function goMode(st) {
  let m = st.mode & 0o777;
  if (st.isDirectory()) m |= 0x80000000;
  if (st.isSymbolicLink()) m |= 0x8000000;
  return m >>> 0;
}
function permString(st) {
  const t = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'L' : '-';
  const rwx = 'rwxrwxrwx';
  let s = t;
  for (let i = 0; i < 9; i++) s += (st.mode & (1 << (8 - i))) ? rwx[i] : '-';
  return s;
}
function entryInfo(s, hostPath, st) {
  const type = st.isDirectory() ? 'FILE_TYPE_DIRECTORY' : st.isSymbolicLink() ? 'FILE_TYPE_SYMLINK' : st.isFile() ? 'FILE_TYPE_FILE' : 'FILE_TYPE_UNSPECIFIED';
  const vp = hostToVirtual(s, hostPath);
  const e = {
    name: path.posix.basename(vp), type, path: vp, size: String(st.size),
    mode: goMode(st), permissions: permString(st), owner: 'user', group: 'user',
    modifiedTime: st.mtime.toISOString(),
  };
  if (st.isSymbolicLink()) { try { e.symlinkTarget = fs.readlinkSync(hostPath); } catch { /* raced */ } }
  return e;
}

/* -------------------------------------------------------------- envd auth */

function basicUser(req) {
  const h = req.headers.authorization;
  if (!h) return { user: 'user' };
  const m = /^Basic\s+(.+)$/i.exec(h);
  if (!m) return { error: 'invalid authorization header' };
  const dec = Buffer.from(m[1], 'base64').toString('utf8');
  const user = dec.split(':')[0];
  if (user !== 'user' && user !== 'root') return { error: `invalid username: '${user}'` };
  return { user };
}

function signatureOk(s, url, op, user) {
  const sig = url.searchParams.get('signature');
  if (!sig) return false;
  const exp = url.searchParams.get('signature_expiration');
  if (exp && Number(exp) < Date.now() / 1000) return false;
  const raw = `${url.searchParams.get('path') || ''}:${op}:${user}:${s.token}` + (exp ? `:${exp}` : '');
  const want = 'v1_' + crypto.createHash('sha256').update(raw).digest('base64').replace(/=+$/, '');
  return sig === want;
}

/* ------------------------------------------------------------ envd router */

function routeEnvd(req) {
  const host = String(req.headers.host || '').replace(/:\d+$/, '');
  const label = host.split('.')[0];
  const hm = /^(\d+)-([a-z0-9]+)(?:-[a-z0-9]+)?$/.exec(label);
  const isProxyHost = host.startsWith('sandbox.') || host === 'localhost' || /^[\d.]+$/.test(host) || host.startsWith('[');
  if (hm && host.includes('.') && !isProxyHost) return { id: hm[2], port: Number(hm[1]) };
  const hid = req.headers['e2b-sandbox-id'];
  if (hid) {
    const port = req.headers['e2b-sandbox-port'] ? Number(req.headers['e2b-sandbox-port']) : ENVD_PORT;
    return { id: String(hid).split('-')[0], port };
  }
  return null;
}

async function envd(req, res, url, route) {
  const s = sandboxes.get(route.id);
  if (!s || s.state !== 'running' || s.envdBroken) {
    sendJson(res, 502, { sandboxId: route.id, message: 'The sandbox was not found', code: 502 });
    return;
  }
  if (route.port !== ENVD_PORT) {
    sendJson(res, 502, { sandboxId: route.id, message: 'The sandbox is running but port is not open', port: route.port, code: 502 });
    return;
  }
  req.sandbox = s;
  const p = url.pathname;
  if (p === '/health') { if (req.method === 'GET') sendEmpty(res, 204); else sendEmpty(res, 405); return; }
  if (p === '/files') {
    if (req.method !== 'GET' && req.method !== 'POST') { apiError(res, 405, 'method not allowed'); return; }
    const op = req.method === 'GET' ? 'read' : 'write';
    const username = url.searchParams.get('username');
    const tok = req.headers['x-access-token'];
    if (s.secure) {
      if (tok !== undefined) {
        if (tok !== s.token) { apiError(res, 401, 'access token present in header but does not match'); return; }
      } else if (!signatureOk(s, url, op, username || '')) {
        apiError(res, 401, TOKEN_401); return;
      }
    }
    if (username && username !== 'user' && username !== 'root') {
      apiError(res, 401, `error looking up user '${username}': user: unknown user ${username}`); return;
    }
    const user = username || 'user';
    if (req.method === 'GET' && cfg.fail_download_times !== 0) {
      if (cfg.fail_download_times > 0) cfg.fail_download_times--;
      counters.download_failures++;
      apiError(res, cfg.fail_download_status, 'fake_e2b: injected download failure');
      return;
    }
    if (req.method === 'GET') await filesGet(req, res, url, s, user);
    else await filesPost(req, res, url, s, user);
    return;
  }
  const rm = /^\/([a-z]+)\.([A-Za-z]+)\/([A-Za-z]+)$/.exec(p);
  if (rm) {
    if (s.secure && req.headers['x-access-token'] !== s.token) { apiError(res, 401, TOKEN_401); return; }
    await rpc(req, res, s, `${rm[1]}.${rm[2]}`, rm[3]);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('404 page not found\n');
}

/* ------------------------------------------------------------------ files */

const MIME = {
  '.txt': 'text/plain; charset=utf-8', '.json': 'application/json', '.jsonl': 'application/octet-stream',
  '.csv': 'text/csv; charset=utf-8', '.html': 'text/html; charset=utf-8', '.yaml': 'application/octet-stream',
  '.gz': 'application/gzip', '.tgz': 'application/gzip', '.tar': 'application/x-tar', '.zip': 'application/zip',
};

async function filesGet(req, res, url, s, user) {
  let r;
  try { r = resolvePath(s, url.searchParams.get('path'), user); } catch (e) { apiError(res, e.status || 400, e.message); return; }
  let st;
  try { st = fs.statSync(r.host); } catch { apiError(res, 404, `path '${r.vpath}' does not exist`); return; }
  if (st.isDirectory()) { apiError(res, 400, `path '${r.vpath}' is a directory`); return; }
  if (!insideSandbox(s, r.host)) { apiError(res, 400, `path '${r.vpath}' resolves outside the sandbox`); return; }
  const base = path.posix.basename(r.vpath);
  const headers = {
    'Content-Type': MIME[path.extname(base).toLowerCase()] || 'application/octet-stream',
    'Content-Disposition': `inline; filename="${base.replace(/"/g, '\\"')}"`,
    'Last-Modified': st.mtime.toUTCString(),
    'Accept-Ranges': 'bytes',
  };
  const ae = String(req.headers['accept-encoding'] || '');
  const encs = ae.split(',').map((x) => x.trim().split(';')[0].trim().toLowerCase()).filter(Boolean);
  const gzip = encs.includes('gzip') && !/gzip\s*;\s*q=0(\.0*)?\s*(,|$)/i.test(ae);
  if (encs.length && !gzip && !encs.includes('identity') && !encs.includes('*')) {
    apiError(res, 406, 'no supported content encoding'); return;
  }
  // file_body_pad_bytes: a body longer than the file (hostile-sandbox tests; never with Range)
  const padN = Math.max(0, Number(cfg.file_body_pad_bytes) || 0);
  const pad = padN > 0 && !req.headers.range && (!cfg.file_body_pad_match || r.vpath.includes(cfg.file_body_pad_match)) ? padN : 0;
  const source = (opts) => (pad ? async function* () { yield* fs.createReadStream(r.host, opts); yield Buffer.alloc(pad, 'x'); } : fs.createReadStream(r.host, opts));
  if (gzip) {
    res.writeHead(200, { ...headers, 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' });
    try { await pipeline(source(), zlib.createGzip(), res); } catch { res.destroy(); }
    return;
  }
  let start = 0, end = st.size - 1, status = 200;
  const range = req.headers.range;
  if (range && st.size > 0) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(String(range).trim());
    if (!m || (m[1] === '' && m[2] === '')) { res.writeHead(416, { 'Content-Range': `bytes */${st.size}` }); res.end(); return; }
    if (m[1] === '') { start = Math.max(0, st.size - Number(m[2])); }
    else { start = Number(m[1]); if (m[2] !== '') end = Math.min(end, Number(m[2])); }
    if (start > end || start >= st.size) { res.writeHead(416, { 'Content-Range': `bytes */${st.size}` }); res.end(); return; }
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
  }
  headers['Content-Length'] = (st.size === 0 ? 0 : end - start + 1) + pad;
  res.writeHead(status, headers);
  if (st.size === 0 && !pad) { res.end(); return; }
  if (st.size === 0) { res.end(Buffer.alloc(pad, 'x')); return; }
  try { await pipeline(source({ start, end }), res); } catch { res.destroy(); }
}

function openForWrite(s, r) {
  let st = null;
  try { st = fs.lstatSync(r.host); } catch { /* new file */ }
  if (st && st.isDirectory()) throw new HttpError(400, `path '${r.vpath}' is a directory`);
  const dir = path.dirname(r.host);
  try { fs.mkdirSync(dir, { recursive: true, mode: 0o755 }); } catch (e) {
    throw new HttpError(e.code === 'ENOSPC' ? 507 : 400, e.code === 'ENOSPC' ? 'not enough disk space available' : `error creating directory for '${r.vpath}': ${e.message}`);
  }
  if (!insideSandbox(s, dir)) throw new HttpError(400, `path '${r.vpath}' resolves outside the sandbox`);
  try {
    // O_NOFOLLOW: a symlink planted by a process must not redirect bytes out of the sandbox
    return fs.openSync(r.host, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o666);
  } catch (e) {
    if (e.code === 'ENOSPC') throw new HttpError(507, 'not enough disk space available');
    throw new HttpError(400, `error opening file '${r.vpath}': ${e.message}`);
  }
}

function metadataFromHeaders(req) {
  const md = {};
  for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-metadata-')) md[k.slice(11)] = String(v);
  return Object.keys(md).length ? md : undefined;
}

function recordUpload(s, vpath, size, sha256, ct) {
  uploads.push({ sandboxID: s.id, path: vpath, size, sha256, content_type: ct, at: nowIso() });
}

async function filesPost(req, res, url, s, user) {
  const ct = String(req.headers['content-type'] || '').toLowerCase();
  const md = metadataFromHeaders(req);
  const qpath = url.searchParams.get('path');
  try {
    if (ct.startsWith('application/octet-stream')) {
      if (!qpath) throw new HttpError(400, 'path is required for application/octet-stream uploads');
      const r = resolvePath(s, qpath, user);
      const fd = openForWrite(s, r);
      const hash = crypto.createHash('sha256');
      let size = 0;
      const tap = new Transform({ transform(c, _e, cb) { hash.update(c); size += c.length; cb(null, c); } });
      const ce = String(req.headers['content-encoding'] || '').toLowerCase();
      const stages = [req];
      if (ce === 'gzip') stages.push(zlib.createGunzip());
      else if (ce && ce !== 'identity') { fs.closeSync(fd); throw new HttpError(400, `unsupported Content-Encoding '${ce}'`); }
      stages.push(tap, fs.createWriteStream(null, { fd }));
      try { await pipeline(...stages); } catch (e) {
        if (e.code === 'ENOSPC') throw new HttpError(507, 'not enough disk space available');
        throw new HttpError(400, 'error writing file: ' + e.message);
      }
      recordUpload(s, r.vpath, size, hash.digest('hex'), 'application/octet-stream');
      const out = { path: r.vpath, name: path.posix.basename(r.vpath), type: 'file' };
      if (md) out.metadata = md;
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(JSON.stringify([out]));
      return;
    }
    if (ct.startsWith('multipart/form-data')) {
      const bm = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(req.headers['content-type']);
      if (!bm) throw new HttpError(400, 'multipart boundary missing');
      let body = await readBody(req, MULTIPART_LIMIT);
      if (String(req.headers['content-encoding'] || '').toLowerCase() === 'gzip') body = zlib.gunzipSync(body);
      const parts = parseMultipart(body, bm[1] || bm[2]);
      const files = parts.filter((x) => x.name === 'file');
      if (files.length === 0) throw new HttpError(400, 'no file parts in multipart body');
      const seen = new Set();
      const targets = files.map((f) => {
        const r = resolvePath(s, qpath || f.filename, user);
        if (seen.has(r.vpath)) throw new HttpError(400, `duplicate path '${r.vpath}' in one request`);
        seen.add(r.vpath);
        return { r, data: f.data };
      });
      const out = [];
      for (const t of targets) {
        const fd = openForWrite(s, t.r);
        try { fs.writeSync(fd, t.data); } catch (e) {
          throw new HttpError(e.code === 'ENOSPC' ? 507 : 500, e.code === 'ENOSPC' ? 'not enough disk space available' : e.message);
        } finally { fs.closeSync(fd); }
        recordUpload(s, t.r.vpath, t.data.length, crypto.createHash('sha256').update(t.data).digest('hex'), 'multipart/form-data');
        const o = { path: t.r.vpath, name: path.posix.basename(t.r.vpath), type: 'file' };
        if (md) o.metadata = md;
        out.push(o);
      }
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(JSON.stringify(out));
      return;
    }
    throw new HttpError(400, `unsupported Content-Type '${ct}': use application/octet-stream or multipart/form-data`);
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    req.resume();
    apiError(res, e.status, e.message);
  }
}

function parseMultipart(body, boundary) {
  const delim = Buffer.from('--' + boundary);
  const parts = [];
  let pos = body.indexOf(delim);
  if (pos < 0) throw new HttpError(400, 'malformed multipart body');
  for (;;) {
    pos += delim.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break;            // closing "--"
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const hEnd = body.indexOf('\r\n\r\n', pos);
    if (hEnd < 0) throw new HttpError(400, 'malformed multipart part headers');
    const headers = body.subarray(pos, hEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), hEnd + 4);
    if (next < 0) throw new HttpError(400, 'unterminated multipart part');
    const data = body.subarray(hEnd + 4, next);
    const cd = /content-disposition:([^\r\n]*)/i.exec(headers);
    const name = cd && /\bname="([^"]*)"/i.exec(cd[1]);
    const fn = cd && /\bfilename="((?:[^"\\]|\\.)*)"/i.exec(cd[1]);
    let filename = fn ? fn[1].replace(/\\(.)/g, '$1') : undefined;
    if (filename) filename = filename.replace(/%22/g, '"').replace(/%0A/gi, '\n').replace(/%0D/gi, '\r');
    parts.push({ name: name ? name[1] : undefined, filename, data: Buffer.from(data) });
    pos = next + 2;
  }
  return parts;
}

/* -------------------------------------------------------------- connect */

const CONNECT_STATUS = {
  canceled: 499, unknown: 500, invalid_argument: 400, deadline_exceeded: 504, not_found: 404,
  already_exists: 409, permission_denied: 403, resource_exhausted: 429, failed_precondition: 400,
  aborted: 409, out_of_range: 400, unimplemented: 501, internal: 500, unavailable: 503,
  data_loss: 500, unauthenticated: 401,
};
class RpcError extends Error { constructor(code, message) { super(message); this.code = code; } }

function envelope(flags, obj) {
  const p = Buffer.from(JSON.stringify(obj), 'utf8');
  const b = Buffer.alloc(5 + p.length);
  b[0] = flags;
  b.writeUInt32BE(p.length, 1);
  p.copy(b, 5);
  return b;
}

function parseOneEnvelope(buf) {
  if (buf.length < 5) throw new RpcError('invalid_argument', 'protocol error: incomplete envelope');
  const flags = buf[0];
  const len = buf.readUInt32BE(1);
  if (flags & 0x01) throw new RpcError('internal', 'protocol error: compressed envelope without Connect-Content-Encoding');
  if (flags !== 0) throw new RpcError('invalid_argument', `protocol error: unexpected envelope flags ${flags}`);
  if (5 + len !== buf.length) throw new RpcError('invalid_argument', `protocol error: envelope length ${len} does not match body of ${buf.length - 5} bytes (exactly one envelope expected)`);
  try { return JSON.parse(buf.subarray(5).toString('utf8') || '{}'); } catch (e) {
    throw new RpcError('invalid_argument', 'unmarshal message: ' + e.message);
  }
}

function headerTimeoutMs(req) {
  const v = req.headers['connect-timeout-ms'];
  if (v === undefined) return 0;
  return /^\d{1,10}$/.test(String(v)) ? Number(v) : 0;
}
function keepaliveMs(req) {
  if (cfg.keepalive_ms != null && cfg.keepalive_ms > 0) return cfg.keepalive_ms;
  const v = Number(req.headers['keepalive-ping-interval']);
  return Number.isFinite(v) && v > 0 ? v * 1000 : 90000;
}

// One server-streaming response: 200 + envelopes + exactly one end-stream envelope.
class RpcStream {
  constructor(req, res, s, kind) {
    this.res = res; this.sbx = s; this.kind = kind;
    this.closed = false; this.outBytes = 0; this.proc = null; this.blocked = false;
    res.writeHead(200, { 'Content-Type': 'application/connect+json' });
    if (res.socket) res.socket.setNoDelay(true);
    s.streams.add(this);
    res.on('close', () => this._cleanup());
    this.kaMs = keepaliveMs(req);
    this.kaTimer = setTimeout(() => this._keepalive(), this.kaMs);
  }
  _write(buf) {
    if (this.closed) return;
    let ok;
    if (cfg.slice_writes && buf.length > 1) {
      const k = 1 + Math.floor(Math.random() * (buf.length - 1));
      ok = this.res.write(buf.subarray(0, k));
      ok = this.res.write(buf.subarray(k)) && ok;
    } else ok = this.res.write(buf);
    if (!ok && !this.blocked) {
      this.blocked = true;
      if (this.proc) this.proc.setBlocked(this, true);
      this.res.once('drain', () => { this.blocked = false; if (this.proc) this.proc.setBlocked(this, false); });
    }
  }
  _keepalive() {
    if (this.closed) return;
    this._write(envelope(0, { event: { keepalive: {} } }));
    this.kaTimer = setTimeout(() => this._keepalive(), this.kaMs);
  }
  event(ev) { this._write(envelope(0, { event: ev })); }
  data(key, chunk) {
    if (this.closed) return;
    const K = cfg.fail_stream_after_bytes;
    const armed = cfg.fail_stream_rpc == null || cfg.fail_stream_rpc === this.kind;
    if (K != null && K >= 0 && armed && cfg.fail_stream_times !== 0 && this.outBytes + chunk.length > K) {
      const head = Math.max(0, K - this.outBytes);
      if (head > 0) this.event({ data: { [key]: chunk.subarray(0, head).toString('base64') } });
      this.outBytes += head;
      if (cfg.fail_stream_times > 0) cfg.fail_stream_times--;
      counters.stream_failures++;
      const mode = cfg.fail_stream_mode;
      log('injected stream failure', mode, this.kind, 'after', this.outBytes, 'bytes');
      if (mode === '502') this.sbx.envdBroken = true;
      // let the partial data reach the socket before breaking it
      const res = this.res;
      this._cleanup();
      if (mode === 'reset') setTimeout(() => res.destroy(), 20); else res.end();
      return;
    }
    this.outBytes += chunk.length;
    this.event({ data: { [key]: chunk.toString('base64') } });
    this.kaTimer.refresh();
  }
  finish(err) {
    if (this.closed) return;
    this._write(envelope(2, err ? { error: { code: err.code, message: err.message } } : {}));
    this.res.end();
    this._cleanup();
  }
  cut(mode) {
    if (this.closed) return;
    const res = this.res;
    this._cleanup();
    if (mode === 'eof') res.end(); else res.destroy();
  }
  _cleanup() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.kaTimer);
    clearTimeout(this.deadline);
    this.sbx.streams.delete(this);
    if (this.proc) this.proc.detach(this);
  }
}

async function rpc(req, res, s, service, method) {
  const key = `${service}/${method}`;
  const streaming = key === 'process.Process/Start' || key === 'process.Process/Connect' || key === 'filesystem.Filesystem/WatchDir';
  const unary = UNARY[key];
  if (!streaming && !unary) {
    if (['process.Process/StreamInput', 'process.Process/Update', 'filesystem.Filesystem/CreateWatcher',
      'filesystem.Filesystem/GetWatcherEvents', 'filesystem.Filesystem/RemoveWatcher'].includes(key)) {
      sendJson(res, 501, { code: 'unimplemented', message: `${key} is not implemented by fake_e2b` });
    } else sendJson(res, 404, { code: 'unimplemented', message: `${key} is not implemented` });
    return;
  }
  if (req.method !== 'POST') { res.writeHead(405, { Allow: 'POST' }); res.end(); return; }
  const ct = String(req.headers['content-type'] || '').toLowerCase();
  const want = streaming ? 'application/connect+json' : 'application/json';
  if (ct.split(';')[0].trim() !== want) {
    res.writeHead(415, { 'Content-Type': 'text/plain' });
    res.end(`fake_e2b: ${key} needs Content-Type ${want}, got '${ct}'`);
    req.resume();
    return;
  }
  const left = Number(cfg.fail_rpc[method] || 0);
  if (left !== 0) {
    if (left > 0) cfg.fail_rpc[method] = left - 1;
    counters.rpc_failures++;
    req.resume();
    apiError(res, cfg.fail_rpc_status, `fake_e2b: injected ${method} failure`);
    return;
  }
  const auth = basicUser(req);
  let body;
  try { body = await readBody(req, UNARY_LIMIT); } catch (e) { sendJson(res, 400, { code: 'invalid_argument', message: e.message }); return; }
  if (rpcHeld(method)) {
    counters.rpc_held++;
    const proceed = await new Promise((resolve) => {
      const h = { method, sandbox: s.id, since: nowIso(), go: resolve };
      heldRpcs.push(h);
      res.on('close', () => {
        const i = heldRpcs.indexOf(h);
        if (i >= 0) { heldRpcs.splice(i, 1); resolve(false); }
      });
    });
    if (!proceed || res.destroyed) return;
    if (s.state !== 'running' || s.envdBroken) {
      sendJson(res, 502, { sandboxId: s.id, message: 'The sandbox was not found', code: 502 });
      return;
    }
  }
  if (streaming) {
    const st = new RpcStream(req, res, s, method);
    try {
      if (auth.error) throw new RpcError('unauthenticated', auth.error);
      const msg = parseOneEnvelope(body);
      if (key === 'process.Process/Start') startProcess(req, st, s, msg, auth.user);
      else if (key === 'process.Process/Connect') connectProcess(req, st, s, msg);
      else throw new RpcError('unimplemented', 'WatchDir is not implemented by fake_e2b');
    } catch (e) {
      st.finish(e instanceof RpcError ? e : new RpcError('internal', e.message));
    }
    return;
  }
  try {
    if (auth.error) throw new RpcError('unauthenticated', auth.error);
    let msg;
    try { msg = body.length ? JSON.parse(body.toString('utf8')) : {}; } catch (e) { throw new RpcError('invalid_argument', 'unmarshal message: ' + e.message); }
    const out = unary(s, msg || {}, auth.user);
    sendJson(res, 200, out);
  } catch (e) {
    if (!(e instanceof RpcError)) {
      if (e instanceof HttpError) e = new RpcError('invalid_argument', e.message);
      else e = new RpcError('internal', e.message);
    }
    sendJson(res, CONNECT_STATUS[e.code] || 500, { code: e.code, message: e.message });
  }
}

/* -------------------------------------------------------------- processes */

const SIG_DESC = { SIGKILL: 'killed', SIGTERM: 'terminated', SIGINT: 'interrupt', SIGHUP: 'hangup', SIGPIPE: 'broken pipe', SIGSEGV: 'segmentation fault', SIGABRT: 'aborted', SIGQUIT: 'quit', SIGBUS: 'bus error', SIGUSR1: 'user defined signal 1', SIGUSR2: 'user defined signal 2', SIGALRM: 'alarm clock' };

// The wrapper runs inside a fresh mount namespace: a tmpfs hides the host's /home, then the
// sandbox dirs appear at /home/user, /tmp and /root. The sandbox dir is held open as fd 3 and
// the bind sources are taken through /proc/self/fd/3, so a state dir under /tmp, /root or
// /home is not hidden by an earlier mount. Positional: sandbox_dir cwd cmd args...
const NS_WRAP = 'exec 3<"$1" || exit 125; ' +
  'mount -t tmpfs -o mode=755 fake-e2b /home && mkdir -p /home/user && ' +
  'mount --bind /proc/self/fd/3/home/user /home/user && mount --bind /proc/self/fd/3/tmp /tmp && ' +
  'mount --bind /proc/self/fd/3/root /root || exit 125; exec 3<&-; ' +
  'cd "$2" || exit 125; shift 2; exec "$@"';
const PLAIN_WRAP = 'cd "$1" || exit 125; shift; exec "$@"';

function selectProc(s, msg) {
  const sel = (msg && msg.process) || {};
  if (sel.pid !== undefined && sel.pid !== null) return s.procs.get(Number(sel.pid));
  if (sel.tag !== undefined) { for (const p of s.procs.values()) if (p.tag === sel.tag && !p.reaped) return p; }
  return undefined;
}

function killProc(p, sig, by) {
  if (p.done || !p.child) return;
  if (by && !p.killedBy) p.killedBy = by;
  try { process.kill(-p.pid, sig); } catch { try { p.child.kill(sig); } catch { /* gone */ } }
}

class Proc {
  constructor(s, child, conf, tag, stdinOn, ptyOn, rec) {
    this.sbx = s; this.child = child; this.pid = child.pid; this.config = conf; this.tag = tag;
    this.stdinOn = stdinOn; this.pty = ptyOn; this.rec = rec;
    this.streams = new Set(); this.blockedBy = new Set();
    this.done = false; this.exit = null; this.endEvent = null; this.killedBy = null; this.reaped = false;
  }
  attach(st) { st.proc = this; this.streams.add(st); }
  detach(st) { this.streams.delete(st); this.setBlocked(st, false); }
  setBlocked(st, on) {
    const before = this.blockedBy.size;
    if (on) this.blockedBy.add(st); else this.blockedBy.delete(st);
    const after = this.blockedBy.size;
    if (before === 0 && after > 0) { this.child.stdout.pause(); this.child.stderr.pause(); }
    if (before > 0 && after === 0) { this.child.stdout.resume(); this.child.stderr.resume(); }
  }
  output(key, buf) {
    if (this.pty) key = 'pty';
    for (let off = 0; off < buf.length;) {
      const rem = buf.length - off;
      let n;
      if (cfg.split_output) n = 1 + Math.floor(Math.random() * Math.min(rem, Math.max(1, cfg.chunk_max | 0), MAX_READ));
      else n = Math.min(rem, MAX_READ);
      const chunk = buf.subarray(off, off + n);
      off += n;
      // output produced while no stream is attached is discarded, as in envd
      for (const st of [...this.streams]) st.data(key, chunk);
    }
  }
  finish() {
    if (this.done) return;
    this.done = true;
    const { code, signal } = this.exit || { code: null, signal: 'SIGKILL' };
    let end;
    if (signal) {
      const d = `signal: ${SIG_DESC[signal] || signal}`;
      end = { exitCode: -1, status: d, error: d };
    } else if (code === 0) end = { exited: true, status: 'exit status 0' };
    else end = { exitCode: code, exited: true, status: `exit status ${code}`, error: `exit status ${code}` };
    this.endEvent = end;
    clearTimeout(this.deadline);
    Object.assign(this.rec, { ended_at: nowIso(), exit_code: signal ? -1 : code, signal: signal || null, killed_by: this.killedBy });
    for (const st of [...this.streams]) { st.event({ end }); st.finish(); }
    this.streams.clear();
    // keep the end event around for Connect replays, then forget the process
    setTimeout(() => { this.reaped = true; if (this.sbx.procs.get(this.pid) === this) this.sbx.procs.delete(this.pid); },
      Math.max(0, Number(cfg.retain_ended_ms) || 0)).unref();
    log('process', this.pid, 'ended', JSON.stringify(end));
  }
}

function startProcess(req, st, s, msg, user) {
  const pr = msg.process || {};
  const cmd = pr.cmd === undefined ? '' : String(pr.cmd);
  const argv = Array.isArray(pr.args) ? pr.args.map(String) : [];
  const envs = strMap(pr.envs);
  const tag = msg.tag === undefined || msg.tag === null ? undefined : String(msg.tag);
  const stdinOn = msg.stdin === undefined || msg.stdin === null ? true : msg.stdin === true;
  const ptyOn = !!msg.pty;
  const home = homeOf(user);
  const cwdV = pr.cwd === undefined || pr.cwd === null || pr.cwd === '' ? home : String(pr.cwd);
  let cwd;
  try { cwd = resolvePath(s, cwdV, user); } catch (e) { throw new RpcError('invalid_argument', `invalid cwd '${cwdV}': ${e.message}`); }
  let cst;
  try { cst = fs.statSync(cwd.host); } catch { cst = null; }
  if (!cst || !cst.isDirectory()) throw new RpcError('invalid_argument', `cwd '${cwd.vpath}' does not exist`);

  const env = { PATH: SANDBOX_PATH, HOME: home, USER: user, LOGNAME: user, ...s.envVars, ...envs };
  let child;
  if (useNamespace) {
    child = spawn('unshare', ['--mount', '--', '/bin/sh', '-c', NS_WRAP, 'sh', s.dir, cwd.vpath, cmd, ...argv],
    { env, cwd: s.dir, detached: true, stdio: [stdinOn ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  } else {
    const henv = { ...env, HOME: path.join(s.dir, home) };
    child = spawn('/bin/sh', ['-c', PLAIN_WRAP, 'sh', cwd.host, cmd, ...argv],
      { env: henv, cwd: s.dir, detached: true, stdio: [stdinOn ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  }
  if (!child.pid) {
    child.on('error', () => {});
    throw new RpcError('internal', 'failed to start process');
  }
  const timeoutMs = headerTimeoutMs(req);
  const rec = {
    sandboxID: s.id, pid: child.pid, tag: tag ?? null, cmd, args: argv, envs, cwd: cwd.vpath, user, stdin: stdinOn,
    connect_timeout_ms: req.headers['connect-timeout-ms'] === undefined ? null : timeoutMs,
    keepalive_interval: req.headers['keepalive-ping-interval'] ?? null,
    connect_protocol_version: req.headers['connect-protocol-version'] ?? null,
    started_at: nowIso(), ended_at: null, exit_code: null, signal: null, killed_by: null,
  };
  procLog.push(rec);
  const p = new Proc(s, child, { cmd, args: argv, envs, cwd: cwd.vpath }, tag, stdinOn, ptyOn, rec);
  s.procs.set(p.pid, p);
  s.pgids.add(p.pid);
  if (child.stdin) child.stdin.on('error', () => {}); // EPIPE after the process is gone
  child.on('error', (e) => warn('process error', e.message));
  child.stdout.on('data', (b) => p.output('stdout', b));
  child.stderr.on('data', (b) => p.output('stderr', b));
  child.on('exit', (code, signal) => {
    p.exit = { code, signal };
    // a background grandchild may hold the pipes open: don't wait for it forever
    const grace = () => {
      if (p.done) return;
      if (p.blockedBy.size > 0) { setTimeout(grace, 500); return; }
      child.stdout.destroy(); child.stderr.destroy();
      p.finish();
    };
    setTimeout(grace, 1000);
  });
  child.on('close', (code, signal) => { if (!p.exit) p.exit = { code, signal }; p.finish(); });
  p.attach(st);
  st.event({ start: { pid: p.pid } });
  log('start', s.id, p.pid, JSON.stringify([cmd, ...argv]), 'timeout', timeoutMs);
  if (timeoutMs > 0 && cfg.honor_connect_timeout) {
    // The deadline belongs to the process, not to the stream: the SDK aborts its side at the
    // same moment, and envd still kills the process when the context expires.
    p.deadline = setTimeout(() => {
      killProc(p, 'SIGKILL', 'connect-timeout');
      st.finish(new RpcError('deadline_exceeded', 'context deadline exceeded'));
    }, timeoutMs);
  }
}

function connectProcess(req, st, s, msg) {
  const p = selectProc(s, msg);
  if (!p || p.reaped) throw new RpcError('not_found', `process with ${msg.process && msg.process.tag !== undefined ? 'tag ' + msg.process.tag : 'pid ' + (msg.process && msg.process.pid)} not found`);
  st.event({ start: { pid: p.pid } });
  if (p.done) { st.event({ end: p.endEvent }); st.finish(); return; }
  p.attach(st);
  const timeoutMs = headerTimeoutMs(req);
  if (timeoutMs > 0 && cfg.honor_connect_timeout) {
    st.deadline = setTimeout(() => st.finish(new RpcError('deadline_exceeded', 'context deadline exceeded')), timeoutMs);
  }
}

function liveProc(s, msg) {
  const p = selectProc(s, msg);
  if (!p || p.done) {
    const sel = (msg && msg.process) || {};
    throw new RpcError('not_found', `process with ${sel.tag !== undefined ? 'tag ' + sel.tag : 'pid ' + sel.pid} not found`);
  }
  return p;
}

function sigFromEnum(v) {
  if (v === 'SIGNAL_SIGKILL' || v === 9 || v === '9') return 'SIGKILL';
  if (v === 'SIGNAL_SIGTERM' || v === 15 || v === '15') return 'SIGTERM';
  throw new RpcError('invalid_argument', `invalid signal ${JSON.stringify(v)}`);
}

/* ------------------------------------------------------- filesystem unary */

function rpcPath(s, p, user) {
  try { return resolvePath(s, p, user); } catch (e) { throw new RpcError('invalid_argument', e.message); }
}
function lstatOrNull(h) { try { return fs.lstatSync(h); } catch { return null; } }

function listDir(s, hostDir, depth, level, out) {
  let names;
  try { names = fs.readdirSync(hostDir).sort(); } catch { return; }
  for (const n of names) {
    const h = path.join(hostDir, n);
    const st = lstatOrNull(h);
    if (!st) continue;
    out.push(entryInfo(s, h, st));
    if (st.isDirectory() && level < depth) listDir(s, h, depth, level + 1, out);
  }
}

// list_inject: entries no real file backs, as a compromised envd could answer
function injectEntries(vdir, entries) {
  if (!Array.isArray(cfg.list_inject)) return;
  if (cfg.list_inject_match && !vdir.endsWith(cfg.list_inject_match)) return;
  for (const inj of cfg.list_inject) {
    const p = String(inj.path ?? '').split('{dir}').join(vdir).split('{parent}').join(path.posix.dirname(vdir));
    entries.push({
      name: path.posix.basename(p), type: 'FILE_TYPE_FILE', size: '0', mode: 0o644,
      permissions: '-rw-r--r--', owner: 'user', group: 'user', modifiedTime: nowIso(),
      ...inj, path: p,
    });
  }
}

const UNARY = {
  'process.Process/List': (s) => ({
    processes: [...s.procs.values()].filter((p) => !p.done).map((p) => {
      const o = { config: { cmd: p.config.cmd, args: p.config.args, envs: p.config.envs, cwd: p.config.cwd }, pid: p.pid };
      if (p.tag !== undefined) o.tag = p.tag;
      return o;
    }),
  }),
  'process.Process/SendInput': (s, msg) => {
    const p = liveProc(s, msg);
    const inp = msg.input || {};
    const b64 = inp.stdin ?? inp.pty;
    if (b64 === undefined) throw new RpcError('invalid_argument', 'input.stdin is required');
    if (!p.child.stdin || p.child.stdin.destroyed || p.child.stdin.writableEnded) throw new RpcError('failed_precondition', 'stdin is not enabled or already closed for this process');
    p.child.stdin.write(Buffer.from(String(b64), 'base64'));
    return {};
  },
  'process.Process/CloseStdin': (s, msg) => {
    const p = liveProc(s, msg);
    if (p.child.stdin && !p.child.stdin.writableEnded) p.child.stdin.end();
    return {};
  },
  'process.Process/SendSignal': (s, msg) => {
    const p = liveProc(s, msg);
    killProc(p, sigFromEnum(msg.signal), 'SendSignal');
    return {};
  },
  'filesystem.Filesystem/Stat': (s, msg, user) => {
    const r = rpcPath(s, msg.path, user);
    const st = lstatOrNull(r.host);
    if (!st) throw new RpcError('not_found', `file not found: ${r.vpath}`);
    return { entry: entryInfo(s, r.host, st) };
  },
  'filesystem.Filesystem/ListDir': (s, msg, user) => {
    const r = rpcPath(s, msg.path, user);
    let depth = Number(msg.depth || 0);
    if (!Number.isFinite(depth) || depth < 1) depth = 1;
    let st;
    try { st = fs.statSync(r.host); } catch { throw new RpcError('not_found', `directory not found: ${r.vpath}`); }
    if (!st.isDirectory()) throw new RpcError('invalid_argument', `path is not a directory: ${r.vpath}`);
    if (!insideSandbox(s, r.host)) throw new RpcError('invalid_argument', `path resolves outside the sandbox: ${r.vpath}`);
    const entries = [];
    listDir(s, r.host, depth, 1, entries);
    injectEntries(r.vpath, entries);
    return { entries };
  },
  'filesystem.Filesystem/MakeDir': (s, msg, user) => {
    const r = rpcPath(s, msg.path, user);
    const st = lstatOrNull(r.host);
    if (st && st.isDirectory()) throw new RpcError('already_exists', `directory already exists: ${r.vpath}`);
    if (st) throw new RpcError('invalid_argument', `path already exists but it is not a directory: ${r.vpath}`);
    try { fs.mkdirSync(r.host, { recursive: true, mode: 0o755 }); } catch (e) { throw new RpcError('invalid_argument', `error creating directory: ${e.message}`); }
    if (!insideSandbox(s, r.host)) throw new RpcError('invalid_argument', `path resolves outside the sandbox: ${r.vpath}`);
    return { entry: entryInfo(s, r.host, fs.lstatSync(r.host)) };
  },
  'filesystem.Filesystem/Remove': (s, msg, user) => {
    const r = rpcPath(s, msg.path, user);
    if (ROOTS.includes(r.vpath)) {
      // never remove a bind-mount root itself; empty it instead
      for (const n of fs.readdirSync(r.host)) fs.rmSync(path.join(r.host, n), { recursive: true, force: true });
      return {};
    }
    fs.rmSync(r.host, { recursive: true, force: true });
    return {};
  },
  'filesystem.Filesystem/Move': (s, msg, user) => {
    const a = rpcPath(s, msg.source, user);
    const b = rpcPath(s, msg.destination, user);
    if (!lstatOrNull(a.host)) throw new RpcError('not_found', `source file not found: ${a.vpath}`);
    fs.mkdirSync(path.dirname(b.host), { recursive: true, mode: 0o755 });
    if (!insideSandbox(s, path.dirname(b.host))) throw new RpcError('invalid_argument', `destination resolves outside the sandbox: ${b.vpath}`);
    try { fs.renameSync(a.host, b.host); } catch (e) { throw new RpcError('invalid_argument', `error renaming: ${e.message}`); }
    return { entry: entryInfo(s, b.host, fs.lstatSync(b.host)) };
  },
};

/* -------------------------------------------------------- fake endpoints */

function fakeState(server) {
  const live = [], deleted = [];
  for (const s of sandboxes.values()) {
    const o = {
      sandboxID: s.id, templateID: s.templateID, dir: s.dir, state: s.state,
      metadata: s.metadata, envVars: s.envVars, secure: s.secure,
      startedAt: nowIso(s.startedAt), endAt: nowIso(s.endAt), endedAt: s.endedAt ? nowIso(s.endedAt) : null,
      envd_broken: s.envdBroken,
      running_processes: [...s.procs.values()].filter((p) => !p.done).map((p) => p.pid),
      open_streams: s.streams.size,
    };
    (s.state === 'running' ? live : deleted).push(o);
  }
  return {
    port: server.address().port, state_dir: stateDir, namespace: useNamespace, config: cfg,
    counters: { ...counters, live: live.length }, live, deleted, uploads, processes: procLog, requests: requestLog,
    held_rpcs: heldRpcs.map(({ method, sandbox, since }) => ({ method, sandbox, since })),
  };
}

async function fakeControl(req, res, url, server) {
  const p = url.pathname;
  try {
    if (p === '/_fake/state' && req.method === 'GET') { sendJson(res, 200, fakeState(server)); return; }
    if (p === '/_fake/config') {
      if (req.method === 'POST') applyConfig(await readJson(req));
      sendJson(res, 200, cfg); return;
    }
    if (p === '/_fake/reset' && req.method === 'POST') {
      uploads = []; procLog = []; requestLog = [];
      counters = { creates: 0, create_failures: 0, deletes: 0, expired: 0, stream_failures: 0, rpc_failures: 0, rpc_held: 0, download_failures: 0, max_live: liveCount() };
      createSeq = 0;
      sendJson(res, 200, {}); return;
    }
    if (p === '/_fake/shutdown' && req.method === 'POST') { sendJson(res, 200, {}); setTimeout(() => shutdown(0), 10); return; }
    const m = /^\/_fake\/sandboxes\/([a-z0-9]+)\/(expire|signal)$/.exec(p);
    if (m && req.method === 'POST') {
      const body = await readJson(req);
      const s = sandboxes.get(m[1]);
      if (!s || s.state !== 'running') { apiError(res, 404, `sandbox ${m[1]} is not running`); return; }
      if (m[2] === 'expire') { s.endAt = Date.now(); killSandbox(s, 'expired'); sendJson(res, 200, {}); return; }
      const sig = String(body.signal || 'SIGKILL');
      const pids = [];
      for (const pr of s.procs.values()) if (!pr.done) { killProc(pr, sig, 'fake-control'); pids.push(pr.pid); }
      sendJson(res, 200, { signalled: pids }); return;
    }
    apiError(res, 404, 'unknown fake control endpoint');
  } catch (e) { apiError(res, 400, e.message); }
}

/* ------------------------------------------------------------------ main */

function detectNamespace() {
  const mode = (process.env.FAKE_E2B_NAMESPACE || 'auto').toLowerCase();
  if (/^(0|false|no|off)$/.test(mode)) return false;
  const probe = fs.mkdtempSync(path.join(stateDir, '.probe-'));
  try {
    for (const d of ['home/user', 'tmp', 'root']) fs.mkdirSync(path.join(probe, d), { recursive: true });
    fs.writeFileSync(path.join(probe, 'home/user/probe'), 'ok');
    const r = spawnSync('unshare', ['--mount', '--', '/bin/sh', '-c', NS_WRAP, 'sh', probe, '/home/user', '/bin/cat', '/home/user/probe'],
    { encoding: 'utf8', timeout: 10000 });
    const ok = r.status === 0 && r.stdout === 'ok';
    if (!ok && mode !== 'auto') throw new Error('FAKE_E2B_NAMESPACE=1 but unshare --mount failed: ' + (r.stderr || r.error));
    if (!ok) warn('mount namespaces unavailable, processes run unconfined:', (r.stderr || String(r.error || '')).trim());
    return ok;
  } finally { fs.rmSync(probe, { recursive: true, force: true }); }
}

let server;
let shuttingDown = false;
function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const s of sandboxes.values()) killSandbox(s, 'deleted');
  try { server.close(); } catch { /* not listening */ }
  if (stateDirAuto && !envBool('FAKE_E2B_KEEP_STATE', false)) {
    // give the killed processes a moment to release the directories
    setTimeout(() => { try { fs.rmSync(stateDir, { recursive: true, force: true }); } catch { /* best effort */ } process.exit(code); }, 100);
  } else setTimeout(() => process.exit(code), 50);
}

async function main() {
  useNamespace = detectNamespace();
  server = http.createServer(async (req, res) => {
    const t0 = Date.now();
    const url = new URL(req.url, 'http://fake');
    let route = null;
    res.on('finish', () => {
      const ent = { at: nowIso(t0), method: req.method, path: url.pathname, sandbox: route ? route.id : null, status: res.statusCode, ms: Date.now() - t0 };
      if (req.headers['connect-timeout-ms'] !== undefined) ent.connect_timeout_ms = req.headers['connect-timeout-ms'];
      if (req.headers['connect-protocol-version'] !== undefined) ent.connect_protocol_version = req.headers['connect-protocol-version'];
      requestLog.push(ent);
      if (requestLog.length > 2000) requestLog.splice(0, requestLog.length - 2000);
      log(req.method, req.url, res.statusCode, (route && route.id) || '');
    });
    try {
      if (url.pathname.startsWith('/_fake/')) { await fakeControl(req, res, url, server); return; }
      route = routeEnvd(req);
      if (route) await envd(req, res, url, route);
      else await controlPlane(req, res, url);
    } catch (e) {
      warn('internal error on', req.method, req.url, e && e.stack);
      if (!res.headersSent) apiError(res, e instanceof HttpError ? e.status : 500, e.message);
      else res.destroy();
    }
  });
  server.requestTimeout = 0;      // large uploads and long streams
  server.headersTimeout = 60000;
  server.keepAliveTimeout = 30000;
  const port = Number(argOpt('--port') ?? process.env.FAKE_E2B_PORT ?? 0);
  const host = argOpt('--host') || process.env.FAKE_E2B_HOST || '127.0.0.1';
  server.listen(port, host, () => {
    const a = server.address();
    const base = `http://${host}:${a.port}`;
    process.stdout.write(JSON.stringify({ port: a.port, state_dir: stateDir, api_key: cfg.api_keys[0], api_url: base, sandbox_url: base, namespace: useNamespace, pid: process.pid }) + '\n');
  });
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGHUP', () => shutdown(0));
  const ppid = Number(argOpt('--parent-pid') || process.env.FAKE_E2B_PARENT_PID || 0);
  if (ppid > 0) {
    setInterval(() => { try { process.kill(ppid, 0); } catch { shutdown(0); } }, 1000).unref();
  }
}

main().catch((e) => { warn('fatal:', e && e.stack); process.exit(1); });
