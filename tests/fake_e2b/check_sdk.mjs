#!/usr/bin/env node
// Checks the fake E2B service (server.mjs) with the official `e2b` JS SDK, plus a few
// raw-protocol checks of what the SDK hides (envelopes, keepalives, 401/502 shapes).
// Starts its own fake on a random port and always stops it. Last line: "N passed, N failed".
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
let passed = 0, failed = 0;
let fake = null;
const stateDir = fs.mkdtempSync('/tmp/fake-e2b-check-');

function stopFake() {
  if (fake && fake.exitCode === null) { try { fake.kill('SIGTERM'); } catch { /* gone */ } }
}
process.on('exit', () => { stopFake(); try { fs.rmSync(stateDir, { recursive: true, force: true }); } catch { /* */ } });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopFake(); process.exit(130); });

async function startFake() {
  fake = spawn(process.execPath, [path.join(here, 'server.mjs'), '--port', '0', '--state-dir', stateDir, '--parent-pid', String(process.pid)],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FAKE_E2B_API_KEY: '', E2B_API_KEY: 'e2b_' + 'ab'.repeat(20), FAKE_E2B_LEAK_CANARY: 'canary' } });
  const line = await new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error('fake did not start in 60 s')), 60000);
    fake.stdout.on('data', (c) => {
      buf += c;
      const i = buf.indexOf('\n');
      if (i >= 0) { clearTimeout(t); resolve(buf.slice(0, i)); }
    });
    fake.on('exit', (code) => reject(new Error('fake exited early: ' + code)));
  });
  fake.stdout.resume();
  return JSON.parse(line);
}

async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`);
  }
}
function assert(c, msg) { if (!c) throw new Error('assertion failed: ' + msg); }
function eq(a, b, msg) { if (a !== b) throw new Error(`${msg}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`); }
async function rejects(p, cls, msg) {
  try { await p; } catch (e) {
    if (cls && !(e instanceof cls)) throw new Error(`${msg}: expected ${cls.name}, got ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
    return e;
  }
  throw new Error(`${msg}: expected a rejection`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Polls fn (50 ms apart) until it returns a truthy value, which it returns;
// ms is an upper bound for a stuck fake only, never what makes a check pass.
async function waitFor(fn, what, ms = 30000) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`gave up after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}
// A shell loop that waits until the test creates FILE (sbx.files.write): a
// command held at a known point instead of one that sleeps "long enough".
const gate = (file) => `while [ ! -e ${file} ]; do sleep 0.05; done`;

const info = await startFake();
const base = `http://127.0.0.1:${info.port}`;
// Exactly what a client has to set: the SDK (and osiris) read these.
process.env.E2B_API_KEY = info.api_key;
process.env.E2B_API_URL = base;
process.env.E2B_SANDBOX_URL = base;
delete process.env.E2B_DOMAIN;
delete process.env.E2B_DEBUG;

const e2b = await import('e2b');
const { Sandbox, CommandExitError, TimeoutError, AuthenticationError, RateLimitError, NotFoundError } = e2b;
const sdkVersion = JSON.parse(fs.readFileSync(path.join(here, 'node_modules/e2b/package.json'), 'utf8')).version;
console.log(`fake on ${base} (namespace: ${info.namespace}), e2b SDK ${sdkVersion}`);

async function fakeGet(p) { const r = await fetch(base + p); return r.json(); }
async function fakePost(p, body) {
  const r = await fetch(base + p, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}) });
  return r.json();
}
function envelope(obj) {
  const p = Buffer.from(JSON.stringify(obj));
  const b = Buffer.alloc(5 + p.length);
  b.writeUInt32BE(p.length, 1);
  p.copy(b, 5);
  return b;
}
function parseEnvelopes(buf) {
  const out = [];
  let o = 0;
  while (o + 5 <= buf.length) {
    const f = buf[o], n = buf.readUInt32BE(o + 1);
    if (o + 5 + n > buf.length) break;
    out.push({ flags: f, msg: JSON.parse(buf.subarray(o + 5, o + 5 + n).toString()) });
    o += 5 + n;
  }
  return { envs: out, rest: buf.length - o };
}

let sbx;
try {
  await check('create sandbox (envs, metadata) and getInfo', async () => {
    sbx = await Sandbox.create({ envs: { FOO: 'from-create' }, metadata: { job: 'check' }, timeoutMs: 120000 });
    assert(/^i[a-z0-9]{20}$/.test(sbx.sandboxId), 'sandbox id shape ' + sbx.sandboxId);
    const inf = await sbx.getInfo();
    eq(inf.templateId, 'base', 'default template');
    eq(inf.metadata.job, 'check', 'metadata');
    const st = await fakeGet('/_fake/state');
    assert(st.live.some((s) => s.sandboxID === sbx.sandboxId), 'sandbox listed live');
    assert(await sbx.isRunning(), 'isRunning');
  });

  await check('files.write/read text (nested dirs created, relative path = home)', async () => {
    const w = await sbx.files.write('/home/user/dir/sub/hello.txt', 'héllo wörld\n');
    eq(w.path, '/home/user/dir/sub/hello.txt', 'write result path');
    eq(await sbx.files.read('/home/user/dir/sub/hello.txt'), 'héllo wörld\n', 'read back');
    eq(await sbx.files.read('dir/sub/hello.txt'), 'héllo wörld\n', 'relative read');
    const onDisk = fs.readFileSync(path.join(info.state_dir, sbx.sandboxId, 'home/user/dir/sub/hello.txt'), 'utf8');
    eq(onDisk, 'héllo wörld\n', 'bytes in the sandbox dir');
  });

  await check('files.write/read binary (multipart and octet-stream) + upload record sha256', async () => {
    const data = new Uint8Array(200000);
    for (let i = 0; i < data.length; i++) data[i] = i < 256 ? i : (i * 7919) & 255;
    await sbx.files.write('/home/user/bin/blob.bin', data.buffer);
    await sbx.files.write('/home/user/bin/blob2.bin', new Blob([data]).stream(), { useOctetStream: true });
    await sbx.files.write('/tmp/empty', '');
    for (const p of ['/home/user/bin/blob.bin', '/home/user/bin/blob2.bin']) {
      const back = await sbx.files.read(p, { format: 'bytes' });
      eq(back.length, data.length, 'length ' + p);
      assert(Buffer.from(back).equals(Buffer.from(data)), 'bytes equal ' + p);
    }
    eq((await sbx.files.read('/tmp/empty', { format: 'bytes' })).length, 0, 'empty file');
    const multi = await sbx.files.write([{ path: '/home/user/m/a.txt', data: 'A' }, { path: 'm/b c.txt', data: 'B' }]);
    eq(multi.map((x) => x.path).join(','), '/home/user/m/a.txt,/home/user/m/b c.txt', 'multi-file multipart paths');
    eq(await sbx.files.read('/home/user/m/b c.txt'), 'B', 'multi-file content');
    const sha = crypto.createHash('sha256').update(data).digest('hex');
    const st = await fakeGet('/_fake/state');
    const ups = st.uploads.filter((u) => u.path.startsWith('/home/user/bin/'));
    eq(ups.length, 2, 'two uploads recorded');
    assert(ups.every((u) => u.sha256 === sha && u.size === data.length), 'sha256 + size recorded');
    assert(ups.some((u) => u.content_type === 'application/octet-stream') && ups.some((u) => u.content_type === 'multipart/form-data'), 'both upload forms used');
  });

  await check('files: write outside the sandbox roots is refused', async () => {
    await rejects(sbx.files.write('/etc/fake-e2b-should-not-exist', 'x'), null, 'write /etc');
    assert(!fs.existsSync('/etc/fake-e2b-should-not-exist'), 'nothing written to the host /etc');
  });

  await check('commands.run: stdout, stderr, exit code 0, process sees /home/user', async () => {
    const r = await sbx.commands.run('echo out; echo err >&2; pwd; cat /home/user/dir/sub/hello.txt; echo "$FOO $BAR"', { envs: { BAR: 'from-run' } });
    eq(r.exitCode, 0, 'exit code');
    eq(r.stdout, 'out\n/home/user\nhéllo wörld\nfrom-create from-run\n', 'stdout');
    eq(r.stderr, 'err\n', 'stderr');
    const st = await fakeGet('/_fake/state');
    const rec = st.processes.find((p) => p.args[2] && p.args[2].startsWith('echo out'));
    assert(rec && rec.envs.BAR === 'from-run', 'process envs recorded');
    eq(rec.connect_timeout_ms, 60000, 'SDK default Connect-Timeout-Ms seen');
  });

  await check('process environment is clean (no fake/host variables, E2B_API_KEY absent)', async () => {
    const r = await sbx.commands.run('env');
    assert(!/E2B_API_KEY|FAKE_E2B_LEAK_CANARY/.test(r.stdout), 'leaked: ' + r.stdout);
    assert(/^HOME=\/home\/user$/m.test(r.stdout) && /^USER=user$/m.test(r.stdout), 'HOME/USER set');
  });

  await check('commands.run: 200k lines split mid-line reassemble exactly', async () => {
    const r = await sbx.commands.run('seq 1 200000');
    const want = Array.from({ length: 200000 }, (_, i) => String(i + 1)).join('\n') + '\n';
    eq(r.stdout.length, want.length, 'stdout length');
    assert(r.stdout === want, 'stdout content');
  });

  await check('commands.run: non-zero exit -> CommandExitError with code and stderr', async () => {
    const e = await rejects(sbx.commands.run('echo partial; echo boom >&2; exit 3'), CommandExitError, 'exit 3');
    eq(e.exitCode, 3, 'exitCode');
    eq(e.stderr, 'boom\n', 'stderr');
    eq(e.stdout, 'partial\n', 'stdout');
    const e2 = await rejects(sbx.commands.run('no-such-command-xyz'), CommandExitError, 'missing command');
    eq(e2.exitCode, 127, 'missing command exit code');
  });

  await check('commands.run: timeoutMs -> TimeoutError, process killed', async () => {
    const t0 = Date.now();
    await rejects(sbx.commands.run('sleep 30; echo never', { timeoutMs: 1000 }), TimeoutError, 'timeout');
    assert(Date.now() - t0 < 25000, 'timed out before the command could end by itself');
    // the stream ends at the deadline; the killed process's exit is recorded a little later
    const rec = await waitFor(async () => (await fakeGet('/_fake/state')).processes
      .find((p) => p.args[2] === 'sleep 30; echo never' && p.ended_at), 'the killed process to end');
    eq(rec.killed_by, 'connect-timeout', 'killed by the deadline');
    eq(rec.signal, 'SIGKILL', 'SIGKILLed');
  });

  await check('background command + list + kill', async () => {
    const h = await sbx.commands.run('sleep 60', { background: true });
    assert(h.pid > 0, 'pid');
    const procs = await sbx.commands.list();
    assert(procs.some((p) => p.pid === h.pid), 'listed');
    eq(await h.kill(), true, 'kill() true');
    const e = await rejects(h.wait(), CommandExitError, 'killed wait');
    eq(e.exitCode, -1, 'killed exit code');
    assert(!(await sbx.commands.list()).some((p) => p.pid === h.pid), 'gone from list');
    eq(await sbx.commands.kill(h.pid), false, 'second kill -> false (not_found)');
  });

  await check('stdin: sendStdin + closeStdin', async () => {
    const h = await sbx.commands.run('cat; echo " done"', { background: true, stdin: true });
    await h.sendStdin('abc');
    await h.sendStdin('def');
    await h.closeStdin();
    const r = await h.wait();
    eq(r.stdout, 'abcdef done\n', 'echoed stdin');
  });

  await check('commands.connect re-attaches to a running process', async () => {
    const h = await sbx.commands.run(`${gate('/home/user/late.go')}; echo late`, { background: true });
    await h.disconnect();
    const h2 = await sbx.commands.connect(h.pid);
    await sbx.files.write('/home/user/late.go', ''); // only now may it print
    const r = await h2.wait();
    eq(r.stdout, 'late\n', 'output after re-attach');
  });

  await check('filesystem: list, makeDir, exists, rename, remove, getInfo', async () => {
    eq(await sbx.files.makeDir('/home/user/newdir/a'), true, 'makeDir');
    eq(await sbx.files.makeDir('/home/user/newdir/a'), false, 'makeDir again -> false');
    await sbx.files.write('/home/user/newdir/a/f.txt', '12345');
    const ls = await sbx.files.list('/home/user/newdir', { depth: 2 });
    const f = ls.find((e) => e.path === '/home/user/newdir/a/f.txt');
    assert(f && f.type === 'file' && f.size === 5, 'listed file with size');
    assert(ls.some((e) => e.name === 'a' && e.type === 'dir'), 'listed dir');
    const gi = await sbx.files.getInfo('/home/user/newdir/a/f.txt');
    eq(gi.permissions, '-rw-r--r--', 'new file is 0644');
    eq(await sbx.files.exists('/home/user/newdir/a/f.txt'), true, 'exists');
    await sbx.files.rename('/home/user/newdir/a/f.txt', '/home/user/newdir/b/g.txt');
    eq(await sbx.files.read('/home/user/newdir/b/g.txt'), '12345', 'renamed');
    await sbx.files.remove('/home/user/newdir');
    eq(await sbx.files.exists('/home/user/newdir'), false, 'removed');
    await sbx.files.remove('/home/user/newdir'); // idempotent
    await rejects(sbx.files.list('/home/user/nope'), NotFoundError, 'list missing');
  });

  await check('setTimeout extends the TTL', async () => {
    const before = (await sbx.getInfo()).endAt.getTime();
    await sbx.setTimeout(600000);
    const after = (await sbx.getInfo()).endAt.getTime();
    assert(after > before + 60000, 'endAt moved');
  });

  await check('wrong API key -> AuthenticationError', async () => {
    await rejects(Sandbox.create({ apiKey: 'e2b_' + 'f'.repeat(40) }), AuthenticationError, 'create with wrong key');
    await rejects(Sandbox.kill(sbx.sandboxId, { apiKey: 'e2b_' + '0'.repeat(40) }), AuthenticationError, 'kill with wrong key');
  });

  await check('raw: 401 shapes (no token on RPC, wrong token on /files), 502 unknown sandbox', async () => {
    const h = { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983', 'Content-Type': 'application/json' };
    let r = await fetch(base + '/filesystem.Filesystem/Stat', { method: 'POST', headers: h, body: '{"path":"/home/user"}' });
    eq(r.status, 401, 'RPC without token');
    eq((await r.json()).code, 401, 'int code');
    r = await fetch(base + '/files?path=/home/user/x', { headers: { ...h, 'X-Access-Token': 'nope' } });
    eq(r.status, 401, 'files wrong token');
    r = await fetch(base + '/health', { headers: { 'E2b-Sandbox-Id': 'izzzzzzzzzzzzzzzzzzzz' } });
    eq(r.status, 502, 'unknown sandbox');
    eq((await r.json()).message, 'The sandbox was not found', '502 message');
    r = await fetch(base + '/sandboxes/izzzzzzzzzzzzzzzzzzzz', { headers: { 'X-API-Key': info.api_key } });
    eq(r.status, 404, 'API 404');
    eq((await r.json()).code, 404, 'API 404 body');
    // fetch cannot set Host; node:http can
    const status = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: info.port, path: '/health', headers: { Host: `49983-${sbx.sandboxId}.fake.test` } },
        (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
    });
    eq(status, 204, 'Host-label routing');
  });

  await check('raw: Start stream framing, keepalives, end without exitCode, mid-line chunks', async () => {
    await fakePost('/_fake/config', { keepalive_ms: 150, chunk_max: 16 });
    try {
      const r = await fetch(base + '/process.Process/Start', {
        method: 'POST',
        headers: {
          'E2b-Sandbox-Id': sbx.sandboxId, 'X-Access-Token': sbx.envdAccessToken ?? '',
          'Content-Type': 'application/connect+json', 'Connect-Protocol-Version': '1', 'Keepalive-Ping-Interval': '50',
        },
        body: envelope({ process: { cmd: '/bin/sh', args: ['-c', 'printf "line one\\nline two\\n"; sleep 0.6; printf "tail\\n"'] }, stdin: false }),
      });
      eq(r.status, 200, 'status');
      eq(r.headers.get('content-type'), 'application/connect+json', 'content type');
      const { envs, rest } = parseEnvelopes(Buffer.from(await r.arrayBuffer()));
      eq(rest, 0, 'no trailing bytes');
      assert(envs[0].msg.event.start.pid > 0, 'start first');
      const last = envs[envs.length - 1];
      eq(last.flags, 2, 'end-stream last');
      eq(JSON.stringify(last.msg), '{}', 'end-stream ok');
      const end = envs[envs.length - 2].msg.event.end;
      assert(end && end.exitCode === undefined && end.exited === true && end.status === 'exit status 0', 'clean end: ' + JSON.stringify(end));
      assert(envs.some((e) => e.msg.event && e.msg.event.keepalive), 'keepalive seen');
      const datas = envs.filter((e) => e.msg.event && e.msg.event.data).map((e) => Buffer.from(e.msg.event.data.stdout, 'base64').toString());
      eq(datas.join(''), 'line one\nline two\ntail\n', 'data reassembled');
      assert(datas.some((d) => !d.endsWith('\n')), 'some chunk split mid-line');
    } finally { await fakePost('/_fake/config', { keepalive_ms: null, chunk_max: 4096 }); }
  });

  await check('raw: bad cwd -> 200 + invalid_argument end-stream, no start event', async () => {
    const r = await fetch(base + '/process.Process/Start', {
      method: 'POST',
      headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'X-Access-Token': sbx.envdAccessToken ?? '', 'Content-Type': 'application/connect+json' },
      body: envelope({ process: { cmd: 'true', cwd: '/home/user/does/not/exist' } }),
    });
    eq(r.status, 200, 'status');
    const { envs } = parseEnvelopes(Buffer.from(await r.arrayBuffer()));
    eq(envs.length, 1, 'only end-stream');
    eq(envs[0].flags, 2, 'end-stream');
    eq(envs[0].msg.error.code, 'invalid_argument', 'code');
  });

  await check('injected stream failure after K bytes -> command fails, no hang', async () => {
    await fakePost('/_fake/config', { fail_stream_after_bytes: 1000, fail_stream_mode: 'reset', fail_stream_times: 1 });
    const t0 = Date.now();
    const e = await rejects(sbx.commands.run('seq 1 100000'), null, 'broken stream');
    assert(!(e instanceof CommandExitError), 'not an exit error: ' + e);
    assert(Date.now() - t0 < 10000, 'failed promptly');
    const st = await fakeGet('/_fake/state');
    eq(st.counters.stream_failures, 1, 'one injected failure');
    eq(st.config.fail_stream_times, 0, 'disarmed');
    eq((await sbx.commands.run('echo fine')).stdout, 'fine\n', 'next command works');
  });

  await check('Start stream cut (fail_stream_rpc Start): process keeps running, commands.connect(pid) re-attaches', async () => {
    await fakePost('/_fake/config', { fail_stream_after_bytes: 40, fail_stream_mode: 'reset', fail_stream_times: 1, fail_stream_rpc: 'Start' });
    try {
      // held after line 10 (past the cut at byte 40) until re-attached
      const cmd = `for i in $(seq 1 30); do echo "line $i" | tee -a /home/user/cut.log; if [ $i = 10 ]; then ${gate('/home/user/cut.go')}; fi; done; echo done`;
      const h = await sbx.commands.run(cmd, { background: true, timeoutMs: 0 });
      const e = await rejects(h.wait(), null, 'cut Start stream');
      assert(!(e instanceof CommandExitError), 'a cut is not an exit: ' + e);
      const h2 = await sbx.commands.connect(h.pid, { timeoutMs: 0 });
      eq(h2.pid, h.pid, 'same pid from the start event of Connect');
      await sbx.files.write('/home/user/cut.go', '');
      const r = await h2.wait();
      eq(r.exitCode, 0, 'exit code through Connect');
      assert(r.stdout.endsWith('line 30\ndone\n'), 'live output after re-attach: ' + JSON.stringify(r.stdout.slice(-40)));
      const full = Array.from({ length: 30 }, (_, i) => `line ${i + 1}\n`).join('');
      eq(await sbx.files.read('/home/user/cut.log'), full, 'the process ran to its end while detached');
      const st = await fakeGet('/_fake/state');
      eq(st.counters.stream_failures, 2, 'the Start stream was cut (one more injected failure)');
    } finally { await fakePost('/_fake/config', { fail_stream_after_bytes: null, fail_stream_rpc: null }); }
  });

  await check('Connect to an ended process: end replayed while retained, then not_found (NotFoundError)', async () => {
    const h = await sbx.commands.run('echo bye; exit 4', { background: true });
    const e = await rejects(h.wait(), CommandExitError, 'exit 4');
    eq(e.exitCode, 4, 'exit code');
    const h2 = await sbx.commands.connect(h.pid);
    const e2 = await rejects(h2.wait(), CommandExitError, 'replayed end');
    eq(e2.exitCode, 4, 'replayed exit code');
    eq(e2.stdout, '', 'Connect replays no output');
    await fakePost('/_fake/config', { retain_ended_ms: 0 });
    try {
      const h3 = await sbx.commands.run('true', { background: true });
      await h3.wait();
      // forgotten by a timer of 0 ms after the end: wait for it rather than bet on it
      const e3 = await waitFor(async () => {
        try { await (await sbx.commands.connect(h3.pid)).wait(); } catch (err) { if (err instanceof NotFoundError) return err; }
        return null;
      }, 'the ended process to be forgotten');
      assert(e3 instanceof NotFoundError, 'forgotten process');
      await rejects(sbx.commands.connect(999999), NotFoundError, 'unknown pid');
    } finally { await fakePost('/_fake/config', { retain_ended_ms: 60000 }); }
  });

  await check('injected RPC and download failures (fail_rpc, fail_download_times)', async () => {
    const h = await sbx.commands.run(`${gate('/home/user/rpc.go')}; echo ok`, { background: true, timeoutMs: 0 });
    await fakePost('/_fake/config', { fail_rpc: { Connect: 1, List: 1 }, fail_download_times: 1 });
    try {
      const ce = await rejects(sbx.commands.connect(h.pid), null, 'Connect answered 503');
      assert(/probably not running/.test(ce.message), 'the SDK reads a 503 as unavailable: ' + ce.message);
      const h2 = await sbx.commands.connect(h.pid);
      await sbx.files.write('/home/user/rpc.go', ''); // attached: now it may print
      const r = await h2.wait();
      eq(r.stdout, 'ok\n', 'the next Connect works');
      await rejects(sbx.commands.list(), null, 'List answered 503');
      assert(Array.isArray(await sbx.commands.list()), 'the next List works');
      await rejects(sbx.files.read('/home/user/cut.log'), null, 'download answered 503');
      assert((await sbx.files.read('/home/user/cut.log')).startsWith('line 1\n'), 'the next download works');
      const st = await fakeGet('/_fake/state');
      eq(st.counters.rpc_failures, 2, 'one Connect and one List failure counted');
      eq(st.counters.download_failures, 1, 'one download failure counted');
      eq(JSON.stringify(st.config.fail_rpc), '{"Connect":0,"List":0}', 'RPC failures disarmed');
    } finally { await fakePost('/_fake/config', { fail_rpc: {}, fail_download_times: 0 }); }
  });

  await check('fake control: SIGKILL every process of a sandbox (worker killed mid-run)', async () => {
    let started, out = '';
    const seen = new Promise((r) => { started = r; });
    const h = await sbx.commands.run('echo started; sleep 60', { background: true, timeoutMs: 0,
      onStdout: (d) => { out += d; if (out.includes('started\n')) started(); } }); // chunks split anywhere
    await seen; // it runs, its output is out: now kill it
    const r = await fakePost(`/_fake/sandboxes/${sbx.sandboxId}/signal`, { signal: 'SIGKILL' });
    assert(r.signalled.includes(h.pid), 'signalled the process');
    const e = await rejects(h.wait(), CommandExitError, 'killed');
    eq(e.exitCode, -1, 'exit code -1 for a signal');
    eq(e.stdout, 'started\n', 'output before the kill');
  });

  await check('fail_stream_mode 502: stream ends without end-stream, envd then answers 502', async () => {
    const s5 = await Sandbox.create();
    await fakePost('/_fake/config', { fail_stream_after_bytes: 0, fail_stream_mode: '502', fail_stream_times: 1 });
    try {
      const e = await rejects(s5.commands.run('echo hi'), null, 'stream broken');
      assert(!(e instanceof CommandExitError), 'not an exit: ' + e);
      eq(await s5.isRunning(), false, 'health now 502');
      const st = await fakeGet('/_fake/state');
      assert(st.live.some((x) => x.sandboxID === s5.sandboxId && x.envd_broken), 'API still lists it, envd broken');
    } finally {
      await fakePost('/_fake/config', { fail_stream_mode: 'reset' });
      eq(await Sandbox.kill(s5.sandboxId), true, 'DELETE still works');
    }
  });

  await check('sandbox.kill() -> deleted; envd 502 afterwards; Sandbox.kill again -> false', async () => {
    const h = await sbx.commands.run('sleep 60', { background: true });
    eq(await sbx.kill(), true, 'kill');
    // SIGKILL is delivered at once, the exit is seen a little later
    const d = await waitFor(async () => {
      const x = (await fakeGet('/_fake/state')).deleted.find((s) => s.sandboxID === sbx.sandboxId);
      return !x || x.running_processes.length === 0 ? x || 'none' : null;
    }, 'the killed processes to end');
    assert(d !== 'none' && d.state === 'deleted', 'recorded as deleted');
    eq(d.running_processes.length, 0, 'processes killed');
    const e = await rejects(h.wait(), null, 'background stream cut');
    assert(!(e instanceof CommandExitError), 'cut stream is not an exit');
    eq(await sbx.isRunning(), false, 'isRunning false');
    await rejects(sbx.commands.run('true'), null, 'commands on a dead sandbox');
    eq(await Sandbox.kill(sbx.sandboxId), false, 'second kill');
  });

  await check('Sandbox.kill(id) static', async () => {
    const s2 = await Sandbox.create();
    eq(await Sandbox.kill(s2.sandboxId), true, 'static kill');
    const st = await fakeGet('/_fake/state');
    assert(st.deleted.some((s) => s.sandboxID === s2.sandboxId), 'deleted');
  });

  await check('TTL expiry: processes killed, stream cut, API 404, envd 502', async () => {
    const s3 = await Sandbox.create({ timeoutMs: 2000 });
    const h = await s3.commands.run('sleep 60', { background: true, timeoutMs: 0 });
    const t0 = Date.now();
    const e = await rejects(h.wait(), null, 'stream cut at TTL');
    assert(!(e instanceof CommandExitError), 'no end event: ' + e);
    assert(Date.now() - t0 < 30000, 'cut by the TTL, long before sleep 60 could end');
    eq(await s3.isRunning(), false, 'isRunning false');
    await rejects(Sandbox.getInfo(s3.sandboxId), null, 'getInfo after expiry');
    const st = await fakeGet('/_fake/state');
    const d = st.deleted.find((s) => s.sandboxID === s3.sandboxId);
    assert(d && d.state === 'expired', 'recorded as expired');
    eq(await Sandbox.kill(s3.sandboxId), false, 'kill after expiry -> false');
  });

  await check('429 on the Nth create, then success', async () => {
    await fakePost('/_fake/reset');
    await fakePost('/_fake/config', { fail_create: [1] });
    await rejects(Sandbox.create(), RateLimitError, 'first create');
    const s4 = await Sandbox.create();
    assert(s4.sandboxId, 'second create succeeds');
    await s4.kill();
    const st = await fakeGet('/_fake/state');
    eq(st.counters.create_failures, 1, 'one failure counted');
    await fakePost('/_fake/config', { fail_create: {} });
  });

  await check('no live sandbox left, no secret in the upload record', async () => {
    const st = await fakeGet('/_fake/state');
    eq(st.live.length, 0, 'live sandboxes');
    assert(!JSON.stringify(st.uploads).includes('from-create'), 'env value not in uploads');
  });
} finally {
  stopFake();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
