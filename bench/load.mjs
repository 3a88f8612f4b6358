// Server throughput under load: edge-oauth's worker against @cloudflare/workers-oauth-provider
// (bench/peers/workers-oauth-provider/, an auto-approving minimal worker), both under
// `wrangler dev` on 127.0.0.1, in one run.
//
// Flows: client credentials (ours only: the peer has no such grant; Bearer and DPoP), the
// code exchange with PKCE (codes minted beforehand, untimed, through each server's own
// /authorize), refresh rotation (one chain per concurrent client: each refresh uses the
// token the previous one returned) and /userinfo with a Bearer access token. The code
// exchange and refresh of demo-spa sign the ID token RS256 (OIDC's default for a client
// that registers no algorithm: an RSA-2048 signature, about 35 times the CPU of a P-256 one
// in `openssl speed`); `authorization_code_es256` (ours only) is the same exchange for a
// client registered for ES256 ID tokens, to show what that signature costs.
// Concurrency 1, 32 and 64. Rounds alternate between the two servers (A B B A ...), so that
// machine noise hits both alike; every round reports requests per second, p50, p99 and
// errors, and each flow and concurrency the median of the per-round ratios. A round with
// any error does not count: its figure is marked and the flow fails the check.
//
// CPU per request: the CPU time (utime + stime from /proc) of each server's workerd
// processes over its rounds, divided by the requests, for each of the two processes of a
// wrangler dev: the one that runs the worker (an upper bound of the worker's own CPU: it
// includes the runtime's HTTP handling and the local KV and Durable Object simulation) and
// wrangler's proxy in front of it (the same code for both servers, not part of a Worker's
// CPU time on Workers). The worker's process is also given without V8's helper threads:
// its main thread, which runs the isolate (reported, not checked).
//
// The runtime's floor (reported, not checked): after the rounds of each flow and
// concurrency, one round of the same size and concurrency, after the same quiet time and
// warm-up, on a third `wrangler dev` that runs bench/peers/floor/ (a worker that reads the
// body and answers a fixed 400 invalid_grant at once). Its CPU per request in the worker's
// process is what any request costs there before grant logic: the runtime's HTTP handling
// and wrangler dev's own forwarding, none of which is a Worker's CPU time on Workers. Each
// concurrency gives the CPU of its floor rounds over their requests (one round at
// concurrency 1 is too few 10 ms ticks of /proc on its own). `--no-floor` leaves it out.
//
// Output: a table, bench-results/server-{timestamp}.json and bench-results/server.svg.
// `--check` exits 1 when a goal is missed: at least the peer's throughput at concurrency
// 32 and 64 for every flow both have, zero errors anywhere, and CPU per request of every
// token flow at most 2 ms in our worker's workerd process.
//
// Before each timed round a server gets 5.5 s without requests, untimed (bench/keepalive.mjs:
// wrangler dev's ProxyWorker answers a POST that meets a keep-alive connection closed after
// 5 s idle with `503 Your worker restarted mid-request`). Then, still untimed, it gets a
// warm-up of unknown-code exchanges at the round's concurrency (warmUp; `--cold` leaves it
// out), so that a round measures a server under steady load, not one waking from the idle
// time (new connections, state shards starting anew). The resident memory of each
// server's workerd processes is recorded before and after.
//
// Bounded: a fixed number of requests per round (--requests N scales it, at most 2000),
// a per-request timeout of 10 s and a time limit for the whole run (--max-seconds, default
// 600); both servers are stopped at the end, also on failure.
//
//   npm run bench -- server [--check] [--rounds R] [--requests N] [--flows a,b] [--levels 1,32,64] [--cold] [--no-floor]

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { freePort, startWranglerDev } from '../scripts/lib/dev.mjs';
import { buildClient, keys } from '../scripts/lib/tenant.mjs';
import { API, USER_PASSWORD, authorize, basic, startServer } from '../tests/e2e/harness.mjs';
import { renderChart } from './chart.mjs';
import { quietSince } from './keepalive.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..');
const PEER_CONFIG = join(HERE, 'peers', 'workers-oauth-provider', 'wrangler.toml');
const FLOOR_CONFIG = join(HERE, 'peers', 'floor', 'wrangler.toml');

const argv = process.argv.slice(2).filter((a) => a !== 'server');
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const check = argv.includes('--check');
const rounds = Math.min(Math.max(Number(opt('rounds', 2)) || 2, 1), 6);
const scale = Math.min(Math.max(Number(opt('requests', 0)) || 0, 0), 2000);
const levels = opt('levels', '1,32,64').split(',').map(Number).filter((c) => Number.isInteger(c) && c >= 1 && c <= 128);
const ALL_FLOWS = ['client_credentials', 'client_credentials_dpop', 'authorization_code', 'authorization_code_es256', 'refresh_token', 'userinfo'];
const flows = opt('flows', ALL_FLOWS.join(',')).split(',').filter((f) => ALL_FLOWS.includes(f));
const maxSeconds = Math.min(Math.max(Number(opt('max-seconds', 600)) || 600, 30), 1800);
const TIMEOUT_MS = 10000;
const TOKEN_FLOWS = new Set(['client_credentials', 'client_credentials_dpop', 'authorization_code', 'authorization_code_es256', 'refresh_token']);
const PEERLESS = new Set(['client_credentials', 'client_credentials_dpop', 'authorization_code_es256']);
/**
 * Token flows that repeat another with a different client setting: checked on their own,
 * but left out of the summary's CPU per token request, so that it stays over the same
 * flows as before they existed.
 */
const VARIANT_FLOWS = new Set(['authorization_code_es256']);
/** The flows that redeem codes minted just before each row of rounds. */
const CODE_FLOWS = new Set(['authorization_code', 'authorization_code_es256']);
/**
 * The SPA client of `authorization_code_es256`: demo-spa's settings, registered for ES256 ID
 * tokens (OIDC Registration: id_token_signed_response_alg; RS256 when it is omitted, as for
 * demo-spa). Its exchange signs both tokens with P-256 instead of the ID token with RSA-2048.
 */
const ES256_SPA = 'bench-spa-es256';
const cold = argv.includes('--cold');
const withFloor = !argv.includes('--no-floor');
const WARM_UP_REQUESTS = 512;

/** Requests per round at concurrency `c`. */
const perRound = (c) => (scale ? Math.max(scale, c) : c === 1 ? 40 : c * 5);

const deadline = Date.now() + maxSeconds * 1000;
const overTime = () => Date.now() > deadline;

// ------------------------------------------------------------------------------ HTTP

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
/** port -> performance.now() of the last answer from that server (bench/keepalive.mjs). */
const lastUse = new Map();

/** One request over a kept-alive socket; resolves { status, body, ms } (status 0: network error). */
function send(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve) => {
    const t = performance.now();
    const u = new URL(url);
    const done = (r) => { lastUse.set(u.port, performance.now()); resolve(r); };
    const req = httpRequest({
      host: '127.0.0.1', port: u.port, path: u.pathname + u.search, method, agent, timeout: TIMEOUT_MS,
      headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => done({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: performance.now() - t }));
      res.on('error', (e) => done({ status: 0, body: String(e), ms: performance.now() - t }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => done({ status: 0, body: String(e.message ?? e), ms: performance.now() - t }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (o) => new URLSearchParams(o).toString();
const json = (r) => { try { return JSON.parse(r.body); } catch { return undefined; } };

/** Runs `jobs` (functions returning a send() promise) with `c` in flight at a time. */
async function load(jobs, c) {
  const results = new Array(jobs.length);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(c, jobs.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= jobs.length) return;
      results[i] = await jobs[i]();
    }
  }));
  return { results, seconds: (performance.now() - t0) / 1000 };
}

/** Runs `n` sequential chains of `fn(chain)` (each step awaits the last) with `c` chains. */
async function chains(states, steps, fn) {
  const results = [];
  const t0 = performance.now();
  await Promise.all(states.map(async (state) => {
    for (let i = 0; i < steps; i++) {
      const r = await fn(state);
      results.push(r);
    }
  }));
  return { results, seconds: (performance.now() - t0) / 1000 };
}

// ------------------------------------------------------------------------------ CPU

/**
 * utime + stime (seconds) of the workerd processes in the process group of the wrangler dev
 * on `port`: `{ all, worker, proxy }`. wrangler dev runs two: its proxy (the ProxyWorker,
 * listening on `port`: `--socket-addr=entry=127.0.0.1:<port>`) and the one that runs the
 * worker (its own socket on a port of its choosing). `worker` is the second one, `proxy`
 * the first, `all` both.
 */
function workerdCpu(port) {
  const ticks = 100; // USER_HZ on Linux
  let leader = null;
  const procs = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      const fields = statFields(readFileSync(`/proc/${pid}/stat`, 'latin1'));
      procs.push({ pid, cmd, pgrp: fields[2], cpu: cpuSeconds(fields, ticks) });
      const p = cmd.indexOf('--port');
      if (cmd.includes('dev') && p >= 0 && cmd[p + 1] === String(port)) leader = fields[2];
    } catch { /* gone */ }
  }
  if (!leader) return null;
  const workerd = procs.filter((p) => p.pgrp === leader && p.cmd.some((a) => a.includes('workerd')));
  const isProxy = (p) => p.cmd.includes(`--socket-addr=entry=127.0.0.1:${port}`);
  const sum = (ps) => ps.reduce((s, p) => s + p.cpu, 0);
  const proxy = workerd.filter(isProxy);
  const worker = workerd.filter((p) => !isProxy(p));
  // Without exactly one of each the split is unknown: only `all` is given.
  const split = proxy.length === 1 && worker.length === 1;
  return {
    all: sum(workerd),
    worker: split ? sum(worker) : null,
    proxy: split ? sum(proxy) : null,
    isolate: split ? mainThreadCpu(worker[0].pid, ticks) : null,
  };
}

/** The fields of a /proc stat line after the command name (state is [0]). */
const statFields = (stat) => stat.slice(stat.lastIndexOf(')') + 2).split(' ');
/** utime + stime of stat fields, in seconds. */
const cpuSeconds = (fields, ticks) => (Number(fields[11]) + Number(fields[12])) / ticks;

/**
 * The CPU seconds of a process's main thread (/proc/<pid>/task/<pid>/stat), which in the
 * worker's workerd runs the isolate, its event loop and the local storage simulation; its
 * other threads are V8's helpers (compilation, garbage collection). `null` when it cannot
 * be read.
 */
function mainThreadCpu(pid, ticks) {
  try {
    return cpuSeconds(statFields(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'latin1')), ticks);
  } catch {
    return null;
  }
}

/** `after - before` of one member of two workerdCpu readings (null when either lacks it). */
function cpuDelta(before, after, key) {
  const b = before?.[key];
  const a = after?.[key];
  return typeof a === 'number' && typeof b === 'number' ? a - b : null;
}

/** Resident memory (MiB) of the workerd processes of the wrangler dev on `port`, largest first. */
function workerdRss(port) {
  let leader = null;
  const procs = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const pgrp = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2];
      const p = cmd.indexOf('--port');
      if (cmd.includes('dev') && p >= 0 && cmd[p + 1] === String(port)) leader = pgrp;
      if (cmd.some((a) => a.includes('workerd'))) {
        const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
        procs.push({ pid, pgrp, mib: rss ? Number(rss[1]) / 1024 : 0 });
      }
    } catch { /* gone */ }
  }
  return procs.filter((p) => p.pgrp === leader).map((p) => Math.round(p.mib)).sort((a, b) => b - a);
}

// ------------------------------------------------------------------------------ servers

async function startPeer() {
  const dir = mkdtempSync(join(tmpdir(), 'edge-oauth-peer-'));
  const port = await freePort();
  const srv = await startWranglerDev({ port, persistTo: join(dir, 'state'), extraArgs: ['--config', PEER_CONFIG], timeoutMs: 120000 });
  const redirectUri = `${srv.url}/cb`;
  const r = await send(`${srv.url}/bench/client`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirectUri }) });
  const clientId = json(r)?.client_id;
  if (!clientId) throw new Error(`peer: client registration failed: ${r.status} ${r.body}`);
  return {
    name: 'workers-oauth-provider',
    url: srv.url,
    port,
    stop: async () => { await srv.stop(); rmSync(dir, { recursive: true, force: true }); },
    output: () => srv.output(),
    /** A code and the body that redeems it (untimed). */
    async code() {
      const verifier = randomBytes(32).toString('base64url');
      const q = form({
        response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'read offline_access', state: 's',
        code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
      });
      const res = await send(`${srv.url}/authorize?${q}`);
      const code = res.headers?.location && new URL(res.headers.location).searchParams.get('code');
      if (!code) throw new Error(`peer /authorize: ${res.status} ${res.body.slice(0, 300)}`);
      return form({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier });
    },
    refreshBody: (rt) => form({ grant_type: 'refresh_token', refresh_token: rt, client_id: clientId }),
    warmBody: () => unknownCodeBody(clientId, redirectUri),
  };
}

/** The runtime's floor: bench/peers/floor/ under its own `wrangler dev` (see the top). */
async function startFloor() {
  const dir = mkdtempSync(join(tmpdir(), 'edge-oauth-floor-'));
  const port = await freePort();
  const srv = await startWranglerDev({ port, persistTo: join(dir, 'state'), extraArgs: ['--config', FLOOR_CONFIG], timeoutMs: 120000 })
    .catch((e) => { rmSync(dir, { recursive: true, force: true }); throw e; });
  // Its readiness polls count for the quiet time before its first round (bench/keepalive.mjs).
  lastUse.set(String(port), performance.now());
  return {
    name: 'runtime floor',
    url: srv.url,
    port,
    stop: async () => { await srv.stop(); rmSync(dir, { recursive: true, force: true }); },
    warmBody: () => unknownCodeBody('floor', `${srv.url}/`),
    output: () => srv.output(),
  };
}

/**
 * One round of the floor at concurrency `c`, of the flow's round size, after the same quiet
 * time and warm-up as the servers' rounds: its rps and the CPU per request of its worker's
 * process. An answer other than the floor's 400 invalid_grant is an error.
 */
async function floorRound(floor, c) {
  await quietSince(lastUse.get(String(floor.port)));
  const warmUpErrors = cold ? [] : await warmUp(floor, c);
  const url = `${floor.url}/oauth/token`;
  const before = workerdCpu(floor.port);
  const { results, seconds } = await load(Array.from({ length: perRound(c) }, () => () => send(url, { method: 'POST', headers: FORM, body: floor.warmBody() })), c);
  const after = workerdCpu(floor.port);
  const cpuMs = (k) => { const d = cpuDelta(before, after, k); return d === null ? null : d * 1000; };
  const per = (k) => { const d = cpuMs(k); return d === null ? null : d / results.length; };
  const bad = [...warmUpErrors, ...results.filter((r) => !(r.status === 400 && json(r)?.error === 'invalid_grant'))];
  return {
    requests: results.length, rps: results.length / seconds, errors: bad.length,
    errorSamples: [...new Set(bad.map((r) => `${r.status} ${r.body.replace(/\s+/g, ' ').slice(0, 120)}`))].slice(0, 3),
    workerCpuMs: cpuMs('worker'), isolateThreadCpuMs: cpuMs('isolate'),
    workerCpuMsPerRequest: per('worker'), isolateThreadCpuMsPerRequest: per('isolate'),
  };
}

async function startOurs() {
  const srv = await startServer({
    rateLimit: 1000000,
    seed: ({ records, origin }) => {
      const spa = buildClient({ type: 'spa', clientId: ES256_SPA, name: 'Bench SPA, ES256 ID tokens', redirectUris: [`${origin}/`], origins: [origin], idTokenAlg: 'ES256' });
      records.set(keys.client(ES256_SPA), spa.record);
    },
  });
  const redirectUri = `${srv.url}/`;
  const m2m = srv.tenant['demo-m2m'];
  return {
    name: 'edge-oauth',
    url: srv.url,
    port: srv.port,
    stop: () => srv.stop(),
    output: () => srv.output(),
    /** A code for `clientId` (demo-spa unless given) and the body that redeems it (untimed). */
    async code(clientId = 'demo-spa') {
      const verifier = randomBytes(32).toString('base64url');
      const r = await authorize(srv.url, {
        response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'openid offline_access', audience: API,
        state: 's', nonce: 'n', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
      }, { username: srv.tenant.user.email, password: USER_PASSWORD });
      // authorize() goes through the global fetch, not send(): its answers count for the
      // quiet time before a burst (bench/keepalive.mjs) all the same, or a burst could start
      // while wrangler dev closes the connections that the minting left idle.
      lastUse.set(String(srv.port), performance.now());
      const code = r.location && new URL(r.location).searchParams.get('code');
      if (!code) throw new Error(`edge-oauth /authorize: ${r.status} ${r.html?.slice(0, 300)}`);
      return form({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier });
    },
    refreshBody: (rt) => form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: rt }),
    warmBody: () => unknownCodeBody('demo-spa', redirectUri),
    ccHeaders: { ...FORM, authorization: basic(m2m.client_id, m2m.client_secret) },
    ccBody: form({ grant_type: 'client_credentials', audience: API }),
  };
}

/**
 * `n` codes from `srv` for the client of `flow`, minted 8 at a time (untimed). A server
 * idle for 4 s or more first gets the rest of its quiet time: its pooled connections may
 * be closing (bench/keepalive.mjs), and a POST written onto one is a 503 from wrangler's
 * proxy.
 */
async function mintCodes(srv, n, flow = 'authorization_code') {
  const used = lastUse.get(String(srv.port));
  if (used !== undefined && performance.now() - used >= 4000) await quietSince(used);
  const out = [];
  const { results } = await load(Array.from({ length: n }, () => () => (flow === 'authorization_code_es256' ? srv.code(ES256_SPA) : srv.code())), 8);
  out.push(...results);
  return out;
}

// ------------------------------------------------------------------------------ flows

/**
 * An exchange of a code the server never issued: its answer is `400 invalid_grant`. The code
 * has the peer's three-part shape (`user:grant:secret`), so that the peer looks its grant
 * up in KV as it does for a real code, instead of refusing the shape before any lookup.
 */
function unknownCodeBody(clientId, redirectUri) {
  const part = () => randomBytes(12).toString('base64url');
  return form({
    grant_type: 'authorization_code', code: `warm-up:${part()}:${part()}`,
    redirect_uri: redirectUri, client_id: clientId, code_verifier: randomBytes(32).toString('base64url'),
  });
}

/**
 * The untimed warm-up right before a timed round (after the quiet time, so that the round
 * runs on the connections it leaves): WARM_UP_REQUESTS exchanges of unknown codes at the
 * round's concurrency, the same for both servers. Each looks its code up (the peer in KV,
 * ours in the code's state shard), so ours touches nearly every state shard (a random
 * key's shard: each of the 64 is missed with probability (63/64)^512, 0.03%). Without it a
 * round measures a server waking from the quiet time and the code minting before it: the
 * connections are new, and under wrangler dev a state shard left idle for 10-20 s took
 * 3-4 ms more on its first call than on the next (a probe with the server kept busy
 * meanwhile), and a burst meets up to 64 of them at once on the one thread. In a probe of
 * 400 code exchanges at concurrency 32 after 11 s idle (4 rounds each, medians) no warm-up
 * gave 371 req/s and a p99 of 186 ms, a warm-up that reaches no store (no `code`) 409 and
 * 124 ms, this one 430 and 98 ms. A server under steady load has neither cost. `--cold`
 * leaves the warm-up out. Returns the answers that were not the expected 400.
 */
async function warmUp(srv, c) {
  const url = `${srv.url}/oauth/token`;
  const { results } = await load(Array.from({ length: WARM_UP_REQUESTS }, () => () => send(url, { method: 'POST', headers: FORM, body: srv.warmBody() })), c);
  return results.filter((r) => !(r.status === 400 && json(r)?.error === 'invalid_grant'));
}

const ok = (r, want = 200) => r.status === want;

/** One round of `flow` at concurrency `c` on `srv`: { results, seconds }. */
async function round(srv, flow, c, prepared) {
  const n = perRound(c);
  const url = `${srv.url}/oauth/token`;
  if (flow === 'client_credentials') {
    return load(Array.from({ length: n }, () => () => send(url, { method: 'POST', headers: srv.ccHeaders, body: srv.ccBody })), c);
  }
  if (flow === 'client_credentials_dpop') {
    const proofs = await Promise.all(Array.from({ length: n }, () => new jose.SignJWT({
      htm: 'POST', htu: url, iat: Math.floor(Date.now() / 1000), jti: randomBytes(16).toString('base64url'),
    }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: prepared.dpopJwk }).sign(prepared.dpopKey)));
    return load(proofs.map((p) => () => send(url, { method: 'POST', headers: { ...srv.ccHeaders, dpop: p }, body: srv.ccBody })), c);
  }
  if (CODE_FLOWS.has(flow)) {
    const bodies = prepared.codes[srv.name].splice(0, n);
    if (bodies.length < n) throw new Error(`${srv.name}: out of minted codes`);
    return load(bodies.map((b) => () => send(url, { method: 'POST', headers: FORM, body: b })), c);
  }
  if (flow === 'refresh_token') {
    const states = prepared.chains[srv.name].slice(0, c);
    return chains(states, Math.ceil(n / c), async (state) => {
      const r = await send(url, { method: 'POST', headers: FORM, body: srv.refreshBody(state.rt) });
      const t = ok(r) && json(r);
      if (t?.refresh_token) { state.rt = t.refresh_token; state.at = t.access_token; }
      return r;
    });
  }
  if (flow === 'userinfo') {
    const tokens = prepared.chains[srv.name].map((s) => s.at);
    return load(Array.from({ length: n }, (_, i) => () => send(`${srv.url}/userinfo`, { headers: { authorization: `Bearer ${tokens[i % tokens.length]}` } })), c);
  }
  throw new Error(`unknown flow ${flow}`);
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => { const s = sorted(xs); return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const quantile = (xs, q) => { const s = sorted(xs); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };

function summarize({ results, seconds }) {
  const errors = results.filter((r) => !ok(r));
  const samples = [...new Set(errors.map((r) => `${r.status} ${r.body.replace(/\s+/g, ' ').slice(0, 120)}`))].slice(0, 3);
  return {
    requests: results.length,
    seconds,
    rps: results.length / seconds,
    p50: quantile(results.map((r) => r.ms), 0.5),
    p99: quantile(results.map((r) => r.ms), 0.99),
    errors: errors.length,
    errorSamples: samples,
  };
}

// ------------------------------------------------------------------------------ run

const started = new Date();
console.log(`server bench: flows ${flows.join(', ')}; concurrency ${levels.join(', ')}; ${rounds} round(s) per server; starting both servers...`);
const [ours, peer, floor] = await Promise.all([startOurs(), startPeer(), withFloor ? startFloor().catch((e) => {
  // Reported, not checked: a floor that does not start leaves its figures out, not the run.
  console.log(`!!! the runtime floor did not start, its figures are left out: ${e.message ?? e}`);
  return null;
}) : null]);
// `wrangler dev` reloads a worker whose bundle or assets change (a build in this checkout,
// `npm start`, the e2e harness): every request in flight is then answered `503 Your worker
// restarted mid-request` (wrangler's proxy; only GET and HEAD are retried). The bench
// watches the files and says so. (The same 503 without any reload is the keep-alive race
// of bench/keepalive.mjs.)
const changed = [];
const watchers = [join(REPO, 'worker', 'build'), join(REPO, 'www')].map((dir) => {
  try {
    return watch(dir, { recursive: true }, (_event, file) => changed.push(join(dir, String(file))));
  } catch { return null; }
});
const servers = [ours, peer];
let failed = false;
const report = { started: started.toISOString(), method: 'interleaved rounds (A B, then B A), one run; rps = requests / wall time of the round',
  warmUp: cold ? 'none (--cold)' : `${WARM_UP_REQUESTS} exchanges of unknown codes at the round concurrency, untimed, right before each timed round`, machine: 'shared, 2 cores', rounds, levels, flows, results: [], cpu: {} };
try {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  const prepared = { dpopKey: privateKey, dpopJwk: await jose.exportJWK(publicKey), codes: {}, chains: {} };
  const maxC = Math.max(...levels);
  const needsChains = flows.includes('refresh_token') || flows.includes('userinfo');
  for (const srv of servers) {
    const want = (flows.includes('authorization_code') ? 1 : 0) + (needsChains ? maxC : 0);
    process.stdout.write(`  ${srv.name}: minting ${want} codes through /authorize to start refresh chains (untimed)... `);
    const codes = await mintCodes(srv, want);
    // Refresh chains start from codes of their own.
    const chainCodes = codes.splice(0, needsChains ? maxC : 0);
    const { results } = await load(chainCodes.map((b) => () => send(`${srv.url}/oauth/token`, { method: 'POST', headers: FORM, body: b })), 8);
    prepared.chains[srv.name] = results.map((r) => {
      const t = json(r);
      if (!ok(r) || !t?.refresh_token) throw new Error(`${srv.name}: chain start failed: ${r.status} ${r.body.slice(0, 200)}`);
      return { rt: t.refresh_token, at: t.access_token };
    });
    prepared.codes[srv.name] = codes;
    console.log('done');
  }
  // Warm-up (untimed): a few of each flow on each server.
  for (const srv of servers) {
    for (const flow of flows) {
      if (PEERLESS.has(flow) && srv === peer) continue;
      if (flow === 'authorization_code') {
        const body = prepared.codes[srv.name].shift();
        await send(`${srv.url}/oauth/token`, { method: 'POST', headers: FORM, body });
      } else if (flow === 'authorization_code_es256') {
        const [body] = await mintCodes(srv, 1, flow);
        await send(`${srv.url}/oauth/token`, { method: 'POST', headers: FORM, body });
      } else {
        await round(srv, flow, 1, prepared).catch(() => {});
      }
    }
  }
  report.rssMiBStart = Object.fromEntries(servers.map((s) => [s.name, workerdRss(s.port)]));
  const cpuStart = Object.fromEntries(servers.map((s) => [s.name, workerdCpu(s.port)]));
  const tokenRequests = Object.fromEntries(servers.map((s) => [s.name, 0]));
  const allRequests = Object.fromEntries(servers.map((s) => [s.name, 0]));
  const KINDS = ['all', 'worker', 'proxy', 'isolate'];
  const zero = () => Object.fromEntries(KINDS.map((k) => [k, 0]));
  const cpuTokenOnly = Object.fromEntries(servers.map((s) => [s.name, zero()]));
  let roundNo = 0;
  for (const c of levels) {
    for (const flow of flows) {
      if (overTime()) { console.log(`\n!!! time limit (${maxSeconds} s) reached: the remaining rounds are skipped`); failed = true; break; }
      const entry = { flow, concurrency: c, requestsPerRound: perRound(c), rounds: [] };
      for (let r = 0; r < rounds; r++) {
        const order = roundNo++ % 2 ? [peer, ours] : [ours, peer];
        const row = {};
        // Codes live a minute: each row's are minted just before it (untimed), for both
        // servers first, so that one's quiet time below overlaps the other's round.
        if (CODE_FLOWS.has(flow)) {
          for (const srv of order) {
            if (!(PEERLESS.has(flow) && srv === peer)) prepared.codes[srv.name] = await mintCodes(srv, perRound(c), flow);
          }
        }
        for (const srv of order) {
          if (PEERLESS.has(flow) && srv === peer) continue;
          // wrangler dev's keep-alive race (bench/keepalive.mjs): no burst on connections
          // that may be closing.
          const waitStart = performance.now();
          await quietSince(lastUse.get(String(srv.port)));
          const quietWaitMs = performance.now() - waitStart;
          const beforeWarmUp = workerdCpu(srv.port);
          const warmUpErrors = cold ? [] : await warmUp(srv, c);
          const before = workerdCpu(srv.port);
          const s = summarize(await round(srv, flow, c, prepared));
          const after = workerdCpu(srv.port);
          // The warm-up's own CPU (the worker's process) is reported apart, not in the round's.
          const warmUpCpu = cpuDelta(beforeWarmUp, before, 'worker');
          s.warmUp = cold ? null : {
            requests: WARM_UP_REQUESTS,
            workerCpuMsPerRequest: warmUpCpu === null ? null : (warmUpCpu * 1000) / WARM_UP_REQUESTS,
            // An unexpected answer in the warm-up fails the round too, and is shown apart.
            errors: warmUpErrors.length,
            errorSamples: [...new Set(warmUpErrors.map((r) => `${r.status} ${r.body.replace(/\s+/g, ' ').slice(0, 120)}`))].slice(0, 3),
          };
          s.errors += warmUpErrors.length;
          const delta = Object.fromEntries(KINDS.map((k) => [k, cpuDelta(before, after, k)]));
          const perRequest = (k) => (delta[k] === null ? null : (delta[k] * 1000) / s.requests);
          s.cpuMsPerRequest = perRequest('all');
          s.workerCpuMsPerRequest = perRequest('worker');
          s.proxyCpuMsPerRequest = perRequest('proxy');
          s.isolateThreadCpuMsPerRequest = perRequest('isolate');
          s.quietWaitMs = quietWaitMs;
          row[srv.name] = s;
          allRequests[srv.name] += s.requests;
          if (TOKEN_FLOWS.has(flow) && !VARIANT_FLOWS.has(flow)) {
            tokenRequests[srv.name] += s.requests;
            // A reading that lacks a member makes the total of that member unknown.
            for (const k of KINDS) cpuTokenOnly[srv.name][k] = delta[k] === null ? NaN : cpuTokenOnly[srv.name][k] + delta[k];
          }
        }
        entry.rounds.push(row);
      }
      if (floor) entry.floor = await floorRound(floor, c);
      const valid = (name) => entry.rounds.every((row) => row[name] && row[name].errors === 0);
      entry.errors = Object.fromEntries(servers.map((s) => [s.name, entry.rounds.reduce((n, row) => n + (row[s.name]?.errors ?? 0), 0)]));
      entry.medianRps = Object.fromEntries(servers.map((s) => [s.name, median(entry.rounds.map((row) => row[s.name]?.rps).filter(Number.isFinite))]));
      entry.ratio = PEERLESS.has(flow) ? null : median(entry.rounds.map((row) => row[ours.name].rps / row[peer.name].rps));
      entry.counts = { [ours.name]: valid(ours.name), [peer.name]: PEERLESS.has(flow) ? null : valid(peer.name) };
      // Workerd CPU per request of this flow over its rounds (the worker's process, and all).
      entry.cpuMsPerRequest = Object.fromEntries(servers.filter((s) => entry.rounds.some((row) => row[s.name])).map((s) => {
        const rs = entry.rounds.map((row) => row[s.name]).filter(Boolean);
        const n = rs.reduce((t, x) => t + x.requests, 0);
        const per = (key) => (rs.every((x) => x[key] !== null) ? rs.reduce((t, x) => t + x[key] * x.requests, 0) / n : null);
        return [s.name, { worker: per('workerCpuMsPerRequest'), isolateThread: per('isolateThreadCpuMsPerRequest'), all: per('cpuMsPerRequest') }];
      }));
      report.results.push(entry);
      printEntry(entry);
    }
  }
  // The runtime's floor per concurrency, over the flows' floor rounds without errors.
  if (floor) {
    report.floor = { method: 'bench/peers/floor/ (reads the body, answers a fixed 400 invalid_grant) under its own wrangler dev: one round after the rounds of each flow at that concurrency, the same size, quiet time and warm-up; CPU = utime+stime (/proc) of its worker process (isolateThread: its main thread) over the round / requests; per concurrency the CPU summed over those rounds / their requests, rps the median; reported, not checked', levels: {} };
    for (const c of levels) {
      const fs = report.results.filter((e) => e.concurrency === c && e.floor && e.floor.errors === 0).map((e) => e.floor);
      if (!fs.length) continue;
      // CPU summed over the rounds (/proc counts 10 ms ticks: one round of 40 requests alone
      // would be coarse), requests per second the median.
      const n = fs.reduce((t, f) => t + f.requests, 0);
      const sum = (k) => (fs.every((f) => f[k] !== null) ? fs.reduce((t, f) => t + f[k], 0) / n : null);
      report.floor.levels[c] = { rounds: fs.length, requests: n, rps: median(fs.map((f) => f.rps)), workerCpuMsPerRequest: sum('workerCpuMs'), isolateThreadCpuMsPerRequest: sum('isolateThreadCpuMs') };
    }
  }
  const cpuEnd = Object.fromEntries(servers.map((s) => [s.name, workerdCpu(s.port)]));
  report.rssMiBEnd = Object.fromEntries(servers.map((s) => [s.name, workerdRss(s.port)]));
  for (const s of servers) {
    const perToken = (k) => (tokenRequests[s.name] && Number.isFinite(cpuTokenOnly[s.name][k]) ? (cpuTokenOnly[s.name][k] * 1000) / tokenRequests[s.name] : null);
    const all = cpuDelta(cpuStart[s.name], cpuEnd[s.name], 'all');
    report.cpu[s.name] = {
      method: "utime+stime (/proc). Per token request: over the timed rounds of the token flows (without authorization_code_es256, a variant of the code exchange) / their requests; msPerRequest: from before the first round to after the last (with the untimed code minting and warm-ups between rounds) / the timed requests; each round's warm-up CPU is in its warmUp member. worker: the workerd process that runs the worker (with the runtime's HTTP handling and the local KV and Durable Object simulation: an upper bound of the worker's own CPU); isolateThread: that process's main thread, which runs the isolate (without V8's helper threads); proxy: wrangler dev's proxy workerd in front of it (the same for both servers); all: both",
      timedRequests: allRequests[s.name],
      msPerRequest: all === null || !allRequests[s.name] ? null : (all * 1000) / allRequests[s.name],
      msPerTokenRequest: perToken('all'),
      workerMsPerTokenRequest: perToken('worker'),
      proxyMsPerTokenRequest: perToken('proxy'),
      isolateThreadMsPerTokenRequest: perToken('isolate'),
    };
  }
} catch (e) {
  failed = true;
  console.error(`\n!!! server bench failed: ${e.stack ?? e}`);
} finally {
  // With errors, keep what the servers logged (wrangler dev's output) for the diagnosis.
  for (const srv of servers) {
    if (report.results.some((e) => e.errors?.[srv.name])) {
      mkdirSync(join(REPO, 'bench-results'), { recursive: true });
      writeFileSync(join(REPO, 'bench-results', `server-${srv.name}.log`), srv.output());
      console.log(`!!! ${srv.name} had errors: its wrangler dev output is in bench-results/server-${srv.name}.log`);
    }
  }
  if (floor && report.results.some((e) => e.floor?.errors)) {
    mkdirSync(join(REPO, 'bench-results'), { recursive: true });
    writeFileSync(join(REPO, 'bench-results', 'server-runtime-floor.log'), floor.output());
    console.log('!!! the runtime floor had unexpected answers: its wrangler dev output is in bench-results/server-runtime-floor.log');
  }
  for (const w of watchers) w?.close();
  await Promise.all([...servers, ...(floor ? [floor] : [])].map((s) => s.stop().catch(() => {})));
  agent.destroy();
}
report.filesChangedDuringRun = [...new Set(changed)].slice(0, 20);
if (changed.length) {
  failed = true;
  console.log(`\n!!! THE WORKER'S FILES CHANGED DURING THE RUN (${report.filesChangedDuringRun.join(', ')}): wrangler dev reloaded it, and requests in flight got 503 "Your worker restarted mid-request". THIS RUN DOES NOT COUNT: build first, and run no build in this checkout while the bench runs.`);
}
const restarts = (pick) => report.results.flatMap((e) => e.rounds.flatMap((row) => Object.values(row).flatMap(pick))).filter((x) => x.includes('restarted mid-request'));
const why = (where) => (changed.length ? 'wrangler dev reloaded a worker during the run (see above)' : `no file changed, so wrangler dev's keep-alive race (bench/keepalive.mjs) hit inside the ${where}`);
if (restarts((x) => x.errorSamples).length) console.log(`!!! 503 "Your worker restarted mid-request" in a timed round: ${why('round')}.`);
if (restarts((x) => x.warmUp?.errorSamples ?? []).length) console.log(`!!! 503 "Your worker restarted mid-request" in the untimed warm-up before a round (the round fails with it): ${why('warm-up')}.`);

function fmt(s) {
  if (!s) return '—';
  const mark = s.errors ? ` !! ${s.errors} ERRORS` : '';
  return `${s.rps.toFixed(0).padStart(5)} req/s  p50 ${s.p50.toFixed(1).padStart(6)}  p99 ${s.p99.toFixed(1).padStart(7)} ms${mark}`;
}

function printEntry(e) {
  console.log(`\n${e.flow}, concurrency ${e.concurrency} (${e.requestsPerRound} requests per round):`);
  e.rounds.forEach((row, i) => {
    console.log(`  round ${i + 1}  edge-oauth ${fmt(row[ours.name])}   workers-oauth-provider ${fmt(row[peer.name])}`);
    for (const srv of servers) for (const sample of row[srv.name]?.errorSamples ?? []) console.log(`      ${srv.name} error: ${sample}`);
    for (const srv of servers) for (const sample of row[srv.name]?.warmUp?.errorSamples ?? []) console.log(`      ${srv.name} error in the untimed warm-up before the round: ${sample}`);
  });
  if (e.ratio !== null) console.log(`  median ratio edge-oauth / workers-oauth-provider: ${e.ratio.toFixed(2)}x`);
  const cpuOf = (name) => { const c = e.cpuMsPerRequest?.[name]; return c ? `${c.worker?.toFixed(2) ?? '—'} ms (worker's process; ${c.isolateThread?.toFixed(2) ?? '—'} on its isolate's thread), ${c.all?.toFixed(2) ?? '—'} ms (with the proxy)` : '—'; };
  console.log(`  workerd CPU per request: edge-oauth ${cpuOf(ours.name)}${e.ratio !== null ? `; workers-oauth-provider ${cpuOf(peer.name)}` : ''}`);
  if (e.floor) console.log(`  runtime floor (bench/peers/floor, a fixed 400 at once): ${e.floor.rps.toFixed(0)} req/s, ${e.floor.workerCpuMsPerRequest?.toFixed(2) ?? '—'} ms per request (worker's process; ${e.floor.isolateThreadCpuMsPerRequest?.toFixed(2) ?? '—'} on its isolate's thread)${e.floor.errors ? `, !!! ${e.floor.errors} unexpected answers: not counted` : ''}`);
  for (const sample of e.floor?.errorSamples ?? []) console.log(`      runtime floor answer: ${sample}`);
  for (const srv of servers) {
    if (e.counts[srv.name] === false) console.log(`  !!! ${srv.name}: ${e.errors[srv.name]} ERRORS in ${e.flow} at concurrency ${e.concurrency}: THIS FIGURE DOES NOT COUNT`);
  }
}

// ------------------------------------------------------------------------------ goals, output

const goals = [];
for (const e of report.results) {
  for (const srv of [ours, peer]) {
    if (e.errors[srv.name]) goals.push({ goal: `zero errors: ${srv.name}, ${e.flow}, concurrency ${e.concurrency}`, met: false, value: e.errors[srv.name] });
  }
  if (e.ratio !== null && e.concurrency >= 32) {
    goals.push({ goal: `>= peer throughput: ${e.flow}, concurrency ${e.concurrency}`, met: e.ratio >= 1 && e.counts[ours.name] && e.counts[peer.name], value: e.ratio });
  }
}
// CPU: every token flow on its own (not an average over flows), measured on the workerd
// process that runs the worker: wrangler's proxy in front of it is not part of a Worker's
// CPU time on Workers (and is the same for both servers).
for (const flow of TOKEN_FLOWS) {
  const entries = report.results.filter((e) => e.flow === flow);
  if (!entries.length) continue;
  const values = entries.map((e) => e.cpuMsPerRequest?.[ours.name]?.worker ?? null);
  const worst = values.includes(null) ? null : Math.max(...values);
  goals.push({ goal: `CPU per request <= 2 ms: ${flow} (the worker's workerd process, an upper bound; the largest over the concurrency levels)`, met: worst !== null && worst <= 2, value: worst ?? undefined });
}
if (report.results.length === 0) goals.push({ goal: 'the bench ran', met: false });
report.goals = goals;
report.failed = failed;

// The worker bundle wrangler uploads (entry module, shim, JS glue, wasm), gzipped, against the Workers
// Free plan's 3 MB limit (gzip level 9 here; wrangler's own figure is within a few KB).
const bundleFiles = [join(REPO, 'worker', 'entry.mjs'), ...['worker/shim.mjs', 'index.js', 'index_bg.wasm'].map((f) => join(REPO, 'worker', 'build', f))];
try {
  const raw = bundleFiles.reduce((n, f) => n + readFileSync(f).length, 0);
  const gz = bundleFiles.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
  report.bundle = { bytes: raw, gzipBytes: gz, limitGzipBytes: 3 * 1024 * 1024 };
  goals.push({ goal: 'worker bundle <= 3 MB gzipped (Workers Free)', met: gz <= 3 * 1024 * 1024, value: gz / 1024 / 1024 });
} catch { /* not built */ }

console.log('\nsummary (median requests per second over the rounds; ratio = median of per-round ratios):');
console.log(`  ${'flow'.padEnd(26)} ${'conc'.padStart(4)} ${'edge-oauth'.padStart(11)} ${'peer'.padStart(8)} ${'ratio'.padStart(7)}  errors (ours/peer)`);
for (const e of report.results) {
  const r = e.ratio === null ? '   (ours only)' : `${e.ratio.toFixed(2)}x`.padStart(7);
  console.log(`  ${e.flow.padEnd(26)} ${String(e.concurrency).padStart(4)} ${e.medianRps[ours.name].toFixed(0).padStart(11)} ${Number.isFinite(e.medianRps[peer.name]) ? e.medianRps[peer.name].toFixed(0).padStart(8) : '       —'} ${r}  ${e.errors[ours.name]}/${e.ratio === null ? '—' : e.errors[peer.name]}`);
}
for (const [name, c] of Object.entries(report.cpu)) {
  const ms = (v) => (typeof v === 'number' ? `${v.toFixed(2)} ms` : '—');
  if (!c.timedRequests) {
    console.log(`  workerd CPU (${name}): no timed request in these flows`);
    continue;
  }
  console.log(`  workerd CPU (${name}) per token request: ${ms(c.workerMsPerTokenRequest)} in the worker's process (${ms(c.isolateThreadMsPerTokenRequest)} on its isolate's thread), ${ms(c.proxyMsPerTokenRequest)} in wrangler's proxy, ${ms(c.msPerTokenRequest)} in all; ${ms(c.msPerRequest)} per request of any flow, all processes (/proc utime+stime)`);
}
if (report.floor) {
  const parts = Object.entries(report.floor.levels).map(([c, f]) => `c${c} ${f.workerCpuMsPerRequest?.toFixed(2) ?? '—'} ms (${f.isolateThreadCpuMsPerRequest?.toFixed(2) ?? '—'} on its thread, ${f.rps.toFixed(0)} req/s)`);
  console.log(`  runtime floor (bench/peers/floor: a fixed 400 at once; reported, not checked), per request in its worker's process: ${parts.join('; ') || '—'}`);
}
for (const s of servers) {
  if (report.rssMiBEnd?.[s.name]) console.log(`  workerd RSS (${s.name}): ${report.rssMiBStart[s.name].join('+')} MiB before the rounds, ${report.rssMiBEnd[s.name].join('+')} MiB after`);
}
if (report.bundle) console.log(`  worker bundle: ${(report.bundle.bytes / 1024).toFixed(0)} KiB, ${(report.bundle.gzipBytes / 1024).toFixed(0)} KiB gzipped (limit 3072 KiB)`);
const missed = goals.filter((g) => !g.met);
if (missed.length) {
  console.log('\n!!! GOALS MISSED:');
  for (const g of missed) console.log(`!!!   ${g.goal}${g.value !== undefined ? ` (${typeof g.value === 'number' ? g.value.toFixed(2) : g.value})` : ''}`);
} else {
  console.log('\nall goals met');
}

const outDir = join(REPO, 'bench-results');
mkdirSync(outDir, { recursive: true });
const stamp = started.toISOString().replace(/[:.]/g, '-');
writeFileSync(join(outDir, `server-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(outDir, 'server.svg'), renderChart(report));
console.log(`\nwrote bench-results/server-${stamp}.json and bench-results/server.svg`);
process.exit(failed || (check && missed.length) ? 1 : 0);
