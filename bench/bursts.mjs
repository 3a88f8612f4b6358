// Code-exchange bursts against one worker under `wrangler dev`: a fast way to look for
// `503 Your worker restarted mid-request` and stalled requests, without the peer.
//
// Each round mints `--requests` codes through /authorize (8 at a time, untimed), waits
// `--quiet` ms without any request (bench/keepalive.mjs: 5500 by default, so a burst never
// meets a keep-alive connection in wrangler dev's 5 s race), then exchanges them all at
// `--concurrency` and prints the round: requests, 503s, network errors, other failures,
// requests slower than 3 s, the maximum latency and requests per second; each failed or
// slow request is printed with its index in the burst. The totals come last.
//
// Bounded: at most 50 rounds of at most 2000 requests, a 15 s timeout per request and a
// time limit for the run (30 min); the server is stopped at the end, also on failure.
//
//   node bench/bursts.mjs [--rounds 10] [--requests 640] [--concurrency 64] [--quiet 5500]

import { createHash, randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { API, USER_PASSWORD, authorize, startServer } from '../tests/e2e/harness.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback, min, max) => {
  const i = args.indexOf(`--${name}`);
  const n = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: an integer from ${min} to ${max}`);
  return n;
};
const rounds = opt('rounds', 10, 1, 50);
const requests = opt('requests', 640, 1, 2000);
const concurrency = opt('concurrency', 64, 1, 256);
const quiet = opt('quiet', 5500, 0, 60000);
const TIMEOUT_MS = 15000;
const SLOW_MS = 3000;

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** One POST to /oauth/token: { status, body, ms } (status 0: network error). */
function exchange(port, body) {
  return new Promise((resolve) => {
    const t = performance.now();
    const req = httpRequest({
      host: '127.0.0.1', port, path: '/oauth/token', method: 'POST', agent, timeout: TIMEOUT_MS,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), ms: performance.now() - t }));
      res.on('error', (e) => resolve({ status: 0, body: String(e), ms: performance.now() - t }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: String(e.message ?? e), ms: performance.now() - t }));
    req.end(body);
  });
}

/** Runs `jobs` with `c` in flight at a time; resolves their results in order. */
async function pool(jobs, c) {
  const out = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(c, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  }));
  return out;
}

const srv = await startServer({ rateLimit: 1000000 });
const stopAt = setTimeout(async () => {
  console.log('time limit reached');
  await srv.stop();
  process.exit(2);
}, 30 * 60 * 1000);
const redirectUri = `${srv.url}/`;
async function code() {
  const verifier = randomBytes(32).toString('base64url');
  const r = await authorize(srv.url, {
    response_type: 'code', client_id: 'demo-spa', redirect_uri: redirectUri, scope: 'openid offline_access', audience: API,
    state: 's', nonce: 'n', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  }, { username: srv.tenant.user.email, password: USER_PASSWORD });
  const c = r.location && new URL(r.location).searchParams.get('code');
  if (!c) throw new Error(`/authorize: ${r.status} ${r.html?.slice(0, 300)}`);
  return new URLSearchParams({ grant_type: 'authorization_code', code: c, redirect_uri: redirectUri, client_id: 'demo-spa', code_verifier: verifier }).toString();
}

const total = { requests: 0, e503: 0, network: 0, other: 0, slow: 0, max: 0, roundsWithErrors: 0 };
try {
  console.log(`${rounds} rounds of ${requests} code exchanges at concurrency ${concurrency}, ${quiet} ms quiet before each (${srv.url})`);
  for (let r = 1; r <= rounds; r++) {
    const bodies = await pool(Array.from({ length: requests }, () => code), 8);
    await new Promise((resolve) => { setTimeout(resolve, quiet); });
    const t0 = performance.now();
    const res = await pool(bodies.map((b) => () => exchange(srv.port, b)), concurrency);
    const seconds = (performance.now() - t0) / 1000;
    const count = (f) => res.filter(f).length;
    const row = {
      e503: count((x) => x.status === 503),
      network: count((x) => x.status === 0),
      other: count((x) => x.status !== 200 && x.status !== 503 && x.status !== 0),
      slow: count((x) => x.ms > SLOW_MS),
      max: Math.max(...res.map((x) => x.ms)),
    };
    console.log(`round ${r}: ${res.length} requests, 503: ${row.e503}, network errors: ${row.network}, other failures: ${row.other}, slower than ${SLOW_MS / 1000} s: ${row.slow}, max ${row.max.toFixed(0)} ms, ${(res.length / seconds).toFixed(0)} requests/s`);
    res.forEach((x, i) => {
      if (x.status !== 200 || x.ms > SLOW_MS) console.log(`  request ${i}: ${x.status} after ${x.ms.toFixed(0)} ms ${x.status === 200 ? '' : x.body.replace(/\s+/g, ' ').slice(0, 100)}`);
    });
    total.requests += res.length;
    total.e503 += row.e503;
    total.network += row.network;
    total.other += row.other;
    total.slow += row.slow;
    total.max = Math.max(total.max, row.max);
    if (row.e503 + row.network + row.other > 0) total.roundsWithErrors += 1;
  }
  console.log(`total: ${total.requests} requests in ${rounds} rounds, 503: ${total.e503}, network errors: ${total.network}, other failures: ${total.other}, slower than ${SLOW_MS / 1000} s: ${total.slow}, rounds with errors: ${total.roundsWithErrors}, max ${total.max.toFixed(0)} ms`);
} finally {
  clearTimeout(stopAt);
  await srv.stop();
}
