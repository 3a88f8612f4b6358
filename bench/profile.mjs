// Where the worker's CPU goes: a V8 CPU profile of the isolate over a bounded load round,
// per flow, taken through the Chrome DevTools Protocol of `wrangler dev`'s inspector.
//
// The worker runs as in the e2e suite (tests/e2e/harness.mjs: seeded tenant, Durable Object
// store, 127.0.0.1). The bundle is worker/build as `worker-build --release` leaves it: it
// keeps the wasm name section (worker-build runs wasm-opt with --debuginfo and wasm-bindgen
// demangles the names), so the profile names the Rust functions. For each flow the script
// prepares its inputs (codes through /authorize, refresh chains, access tokens; untimed,
// not profiled), then Profiler.start, `--requests` requests at `--concurrency`, Profiler.stop.
// The profile's samples give each function's self time (sampling interval `--interval` µs);
// the summary groups them by function and by crate (the first path segment of a demangled
// Rust name; JS functions by their script; "(program)", "(idle)", "(garbage collector)" as
// V8 reports them). Durable Object calls run in the same isolate, so they are included.
//
// Method of every number: self time = samples of the function × their time deltas, summed
// over the profiled round; "% busy" is that over all non-idle samples; "per request" is the
// non-idle sampled time over the requests of the round (wall clock of the isolate's thread
// while it runs JS or wasm: a profile of one isolate, not the process's CPU time).
//
// After each flow it reads the size of the isolate's WebAssembly memories
// (Runtime.queryObjects), to see whether the worker's memory keeps growing.
//
// With --peer the same is done for the peer of the server bench instead
// (@cloudflare/workers-oauth-provider in bench/peers/workers-oauth-provider/, flows
// authorization_code, refresh_token and userinfo), so that both isolates' profiles can be
// set side by side; its JS is grouped by script and function.
//
// Output: a table per flow, bench-results/profile-<flow>.cpuprofile (open it in Chrome
// DevTools) and bench-results/profile-<time>.json with the summaries (with --peer:
// profile-peer-<flow>.cpuprofile and profile-peer-<time>.json).
//
//   node bench/profile.mjs [--flows authorization_code,refresh_token,userinfo,client_credentials_dpop]
//                          [--requests 200] [--concurrency 8] [--interval 100] [--top 25] [--peer]
//
// Bounded: at most 2000 requests per flow, a 10 s timeout per request, 300 s for the run;
// the server is stopped at the end, also on failure. Talks to 127.0.0.1 only.

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { freePort, startWranglerDev } from '../scripts/lib/dev.mjs';
import { API, USER_PASSWORD, authorize, basic, form, startServer } from '../tests/e2e/harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const peer = argv.includes('--peer');
const PEER_FLOWS = ['authorization_code', 'refresh_token', 'userinfo'];
const ALL_FLOWS = peer ? PEER_FLOWS : ['authorization_code', 'refresh_token', 'userinfo', 'client_credentials', 'client_credentials_dpop'];
const flows = opt('flows', peer ? PEER_FLOWS.join(',') : 'authorization_code,refresh_token,userinfo,client_credentials_dpop').split(',').filter((f) => ALL_FLOWS.includes(f));
const requests = Math.min(Math.max(Number(opt('requests', 200)) || 200, 8), 2000);
const concurrency = Math.min(Math.max(Number(opt('concurrency', 8)) || 8, 1), 64);
const intervalUs = Math.min(Math.max(Number(opt('interval', 100)) || 100, 50), 10000);
const top = Math.min(Math.max(Number(opt('top', 25)) || 25, 5), 200);
const deadline = setTimeout(() => { console.error('!!! profile: 300 s limit reached'); process.exit(1); }, 300000);

// The DevTools Protocol over a WebSocket: Node's own (22+), else the `ws` package that
// wrangler's miniflare brings.
const WebSocketImpl = globalThis.WebSocket ?? createRequire(join(REPO, 'node_modules', 'miniflare', 'package.json'))('ws');

/** The --inspector-port of the `wrangler dev` that serves `port` (from /proc). */
function inspectorPort(port) {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      const p = cmd.indexOf('--port');
      const i = cmd.indexOf('--inspector-port');
      if (p >= 0 && i >= 0 && cmd[p + 1] === String(port)) return Number(cmd[i + 1]);
    } catch { /* gone */ }
  }
  throw new Error(`no wrangler dev with --port ${port}`);
}

/** A DevTools Protocol session: `send(method, params)` resolves the result. */
async function devtools(port) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const url = list[0]?.webSocketDebuggerUrl;
  if (!url?.startsWith('ws://127.0.0.1:')) throw new Error(`unexpected inspector target ${JSON.stringify(list)}`);
  const ws = new WebSocketImpl(url);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = (e) => reject(new Error(`inspector: ${e.message ?? e}`)); });
  let id = 0;
  const pending = new Map();
  const contexts = [];
  ws.onmessage = (ev) => {
    const msg = JSON.parse(typeof ev.data === 'string' ? ev.data : ev.data.toString());
    if (msg.method === 'Runtime.executionContextCreated') contexts.push(msg.params.context.id);
    const p = msg.id !== undefined && pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
    else p.resolve(msg.result);
  };
  return {
    send: (method, params = {}) => new Promise((resolve, reject) => {
      const n = ++id;
      pending.set(n, { resolve, reject, method });
      ws.send(JSON.stringify({ id: n, method, params }));
      setTimeout(() => { if (pending.delete(n)) reject(new Error(`${method}: no answer in 60 s`)); }, 60000);
    }),
    close: () => ws.close(),
    /** Execution context ids seen since Runtime.enable. */
    contexts,
  };
}

async function send(url, init = {}) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10000) });
  return { status: res.status, text: await res.text() };
}

async function pooled(jobs, width) {
  const out = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= jobs.length) return;
      out[i] = await jobs[i]();
    }
  }));
  return out;
}

/** The crate (or script) a profiled function belongs to. */
function owner(frame) {
  const name = frame.functionName || '(anonymous)';
  if (name.startsWith('(')) return name;
  if (frame.url && !frame.url.includes('wasm')) return `js: ${frame.url.split('/').pop()}`;
  // Demangled Rust: `crate::path::fn`, `<crate::T as other::Trait>::fn`, `core::ptr::...`.
  // (Names of the standard library carry a crate hash: `<dlmalloc[e24a...]::...`.)
  const m = name.replace(/^<+/, '').replace(/\[[0-9a-f]+\]/g, '').match(/^([A-Za-z_][A-Za-z0-9_]*)::/);
  if (m) return m[1];
  return frame.url ? 'wasm (unnamed)' : `js: ${name}`;
}

/** Self time per function and per crate, in ms. */
function summarize(profile, n) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const fns = new Map();
  const crates = new Map();
  let busy = 0;
  let idle = 0;
  for (const [id, ms] of self) {
    const f = byId.get(id).callFrame;
    if (f.functionName === '(idle)') { idle += ms; continue; }
    busy += ms;
    const key = `${f.functionName || '(anonymous)'}${f.url && !f.url.includes('wasm') ? ` [${f.url.split('/').pop()}:${f.lineNumber + 1}]` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + ms);
    const c = owner(f);
    crates.set(c, (crates.get(c) ?? 0) + ms);
  }
  const rank = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, ms, pct: (100 * ms) / busy, msPerRequest: ms / n }));
  // Everything that ran as wasm (the worker's Rust, its crates and wasm-bindgen's shims).
  let wasmMs = 0;
  for (const [id, ms] of self) {
    const f = byId.get(id).callFrame;
    if (f.url.startsWith('wasm://')) wasmMs += ms;
  }
  return { requests: n, busyMs: busy, idleMs: idle, busyMsPerRequest: busy / n, wasmMs, wasmMsPerRequest: wasmMs / n, wasmPct: (100 * wasmMs) / busy, crates: rank(crates), functions: rank(fns).slice(0, top) };
}

/**
 * The sizes (MiB) of the isolate's WebAssembly memories, found with Runtime.queryObjects
 * (the worker's memory is not reachable from globalThis); `null` if the runtime refuses.
 * dlmalloc never returns memory, so a size that keeps growing from flow to flow would be
 * a leak or an unbounded cache.
 */
async function wasmMemoryMiB(session) {
  try {
    const sizes = [];
    for (const contextId of [...new Set(session.contexts)]) {
      const proto = await session.send('Runtime.evaluate', { expression: 'WebAssembly.Memory.prototype', contextId });
      const found = await session.send('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId });
      const each = await session.send('Runtime.callFunctionOn', {
        objectId: found.objects.objectId, returnByValue: true,
        functionDeclaration: 'function () { return this.map((m) => m.buffer.byteLength / 1048576); }',
      });
      sizes.push(...each.result.value);
      // queryObjects sees every context of the isolate: one is enough.
      if (sizes.length) break;
    }
    return sizes.length ? sizes : null;
  } catch (e) {
    if (process.env.PROFILE_DEBUG) console.error(e);
    return null;
  }
}

/**
 * The peer of the server bench under `wrangler dev` (as bench/load.mjs starts it), with
 * the same `code()` / `refreshBody()` shape as ours below.
 */
async function startPeer() {
  const dir = mkdtempSync(join(tmpdir(), 'edge-oauth-peer-'));
  const port = await freePort();
  const config = join(HERE, 'peers', 'workers-oauth-provider', 'wrangler.toml');
  const srv = await startWranglerDev({ port, persistTo: join(dir, 'state'), extraArgs: ['--config', config], timeoutMs: 120000 });
  const redirectUri = `${srv.url}/cb`;
  const reg = await send(`${srv.url}/bench/client`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirectUri }) });
  const clientId = JSON.parse(reg.text).client_id;
  if (!clientId) throw new Error(`peer: client registration failed: ${reg.status} ${reg.text}`);
  return {
    url: srv.url,
    port,
    stop: async () => { await srv.stop(); rmSync(dir, { recursive: true, force: true }); },
    async code() {
      const verifier = randomBytes(32).toString('base64url');
      const q = form({
        response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'read offline_access', state: 's',
        code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
      });
      const res = await fetch(`${srv.url}/authorize?${q}`, { redirect: 'manual', signal: AbortSignal.timeout(10000) });
      await res.arrayBuffer();
      const code = res.headers.get('location') && new URL(res.headers.get('location')).searchParams.get('code');
      if (!code) throw new Error(`peer /authorize: ${res.status}`);
      return form({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier });
    },
    refreshBody: (rt) => form({ grant_type: 'refresh_token', refresh_token: rt, client_id: clientId }),
  };
}

const srv = peer ? await startPeer() : await startServer({ rateLimit: 1000000 });
const out = { started: new Date().toISOString(), server: peer ? 'workers-oauth-provider (bench/peers)' : 'edge-oauth', requests, concurrency, intervalUs, method: 'V8 CPU profile of the worker isolate (DevTools Profiler) over one round per flow; self time = sum of sample time deltas', flows: {} };
let failed = false;
let session;
try {
  session = await devtools(inspectorPort(srv.port));
  await session.send('Runtime.enable');
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: intervalUs });
  const tokenUrl = `${srv.url}/oauth/token`;
  const post = (body, headers = {}) => send(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  const codeBody = peer ? () => srv.code() : async () => {
    const verifier = randomBytes(32).toString('base64url');
    const r = await authorize(srv.url, {
      response_type: 'code', client_id: 'demo-spa', redirect_uri: `${srv.url}/`, scope: 'openid offline_access', audience: API,
      state: 's', nonce: 'n', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }, { username: srv.tenant.user.email, password: USER_PASSWORD });
    const code = new URL(r.location).searchParams.get('code');
    return form({ grant_type: 'authorization_code', code, redirect_uri: `${srv.url}/`, client_id: 'demo-spa', code_verifier: verifier });
  };
  const m2m = srv.tenant?.['demo-m2m'];
  const cc = m2m && { authorization: basic(m2m.client_id, m2m.client_secret) };
  const refreshBody = peer ? srv.refreshBody : (rt) => form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: rt });
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  const dpopJwk = await jose.exportJWK(publicKey);
  for (const flow of flows) {
    // Inputs first (untimed, outside the profile).
    let jobs;
    if (flow === 'authorization_code') {
      const bodies = await pooled(Array.from({ length: requests }, () => codeBody), 8);
      jobs = bodies.map((b) => () => post(b));
    } else if (flow === 'refresh_token' || flow === 'userinfo') {
      const starts = await pooled(Array.from({ length: concurrency }, () => async () => JSON.parse((await post(await codeBody())).text)), 8);
      if (flow === 'userinfo') {
        jobs = Array.from({ length: requests }, (_, i) => () => send(`${srv.url}/userinfo`, { headers: { authorization: `Bearer ${starts[i % starts.length].access_token}` } }));
      } else {
        // One chain per concurrent client: each refresh uses the token the last one returned.
        const steps = Math.ceil(requests / concurrency);
        jobs = starts.map((s) => async () => {
          const rs = [];
          for (let i = 0; i < steps; i++) {
            const r = await post(refreshBody(s.refresh_token));
            rs.push(r);
            if (r.status === 200) s.refresh_token = JSON.parse(r.text).refresh_token;
          }
          return rs;
        });
      }
    } else if (flow === 'client_credentials') {
      jobs = Array.from({ length: requests }, () => () => post(form({ grant_type: 'client_credentials', audience: API }), cc));
    } else {
      const proofs = await Promise.all(Array.from({ length: requests }, () => new jose.SignJWT({
        htm: 'POST', htu: tokenUrl, iat: Math.floor(Date.now() / 1000), jti: randomBytes(16).toString('base64url'),
      }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: dpopJwk }).sign(privateKey)));
      jobs = proofs.map((p) => () => post(form({ grant_type: 'client_credentials', audience: API }), { ...cc, dpop: p }));
    }
    // Warm the isolate (JIT, caches) with a few of the same requests... only where they are
    // repeatable; codes and refresh tokens are single-use, so those flows warm on their own.
    if (flow === 'userinfo' || flow === 'client_credentials') await pooled(jobs.slice(0, 8), 8);
    await session.send('Profiler.start');
    const t0 = performance.now();
    const results = (await pooled(jobs, flow === 'refresh_token' ? jobs.length : concurrency)).flat();
    const seconds = (performance.now() - t0) / 1000;
    const { profile } = await session.send('Profiler.stop');
    const errors = results.filter((r) => r.status !== 200);
    const s = summarize(profile, results.length);
    s.wasmMemoryMiB = await wasmMemoryMiB(session);
    s.seconds = seconds;
    s.errors = errors.length;
    s.errorSamples = [...new Set(errors.map((r) => `${r.status} ${r.text.slice(0, 120)}`))].slice(0, 3);
    out.flows[flow] = s;
    mkdirSync(join(REPO, 'bench-results'), { recursive: true });
    writeFileSync(join(REPO, 'bench-results', `profile-${peer ? 'peer-' : ''}${flow}.cpuprofile`), JSON.stringify(profile));
    console.log(`\n${flow}: ${s.requests} requests at concurrency ${concurrency} in ${seconds.toFixed(2)} s; isolate busy ${s.busyMs.toFixed(0)} ms = ${s.busyMsPerRequest.toFixed(2)} ms per request (sampled)${s.errors ? `  !!! ${s.errors} ERRORS: ${s.errorSamples.join(' | ')}` : ''}`);
    console.log(`  wasm (all Rust code and wasm-bindgen shims): ${s.wasmMsPerRequest.toFixed(2)} ms per request, ${s.wasmPct.toFixed(1)}% of busy; wasm memories after the round: ${s.wasmMemoryMiB ? s.wasmMemoryMiB.map((m) => `${m.toFixed(1)} MiB`).join(', ') : 'unknown'}`);
    console.log('  by crate / script (self time, % of busy, ms per request):');
    for (const c of s.crates.slice(0, 15)) console.log(`    ${c.name.padEnd(40)} ${c.ms.toFixed(1).padStart(8)} ms ${c.pct.toFixed(1).padStart(5)}% ${c.msPerRequest.toFixed(3).padStart(7)}`);
    console.log(`  top ${Math.min(top, s.functions.length)} functions (self time):`);
    for (const f of s.functions) console.log(`    ${f.name.slice(0, 110).padEnd(110)} ${f.ms.toFixed(1).padStart(8)} ms ${f.pct.toFixed(1).padStart(5)}%`);
    if (s.errors) failed = true;
  }
} catch (e) {
  failed = true;
  console.error(`!!! profile failed: ${e.stack ?? e}`);
} finally {
  session?.close();
  await srv.stop();
  clearTimeout(deadline);
}
const stamp = out.started.replace(/[:.]/g, '-');
const name = peer ? 'profile-peer' : 'profile';
writeFileSync(join(REPO, 'bench-results', `${name}-${stamp}.json`), `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nwrote bench-results/${name}-${stamp}.json and bench-results/${name}-<flow>.cpuprofile`);
process.exit(failed ? 1 : 0);
