// Concurrency under load: 64 refresh chains rotating side by side and 64 simultaneous code
// exchanges against one `wrangler dev`, every answer a 200 (no 503 from a worker restarted
// mid-request, no 500), every rotation a new token; and POST bursts after idle gaps just
// under the runtime's 5 s keep-alive timeout, the pattern of the bench's interleaved
// rounds, which meets wrangler dev's keep-alive race (bench/keepalive.mjs): without the
// bench's quiet time before a burst, that test fails with `503 Your worker restarted
// mid-request`. The full
// comparison with workers-oauth-provider is `npm run bench -- server` (bench/load.mjs).
// Run it with `node --test bench/load.test.mjs`: a load test, so not part of `npm test`.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { API, USER_PASSWORD, authorize, basic, form, startServer } from '../tests/e2e/harness.mjs';
import { quietSince } from './keepalive.mjs';

const CHAINS = 64;
const STEPS = 4;
let srv;

// E2E_LOAD_STORE=kv runs the same load against the KV-only store.
const vars = process.env.E2E_LOAD_STORE === 'kv' ? { STORE: 'kv' } : {};
before(async () => { srv = await startServer({ rateLimit: 100000, vars }); });
after(async () => { await srv?.stop(); });

async function codeBody() {
  const verifier = randomBytes(32).toString('base64url');
  const redirectUri = `${srv.url}/`;
  const r = await authorize(srv.url, {
    response_type: 'code', client_id: 'demo-spa', redirect_uri: redirectUri, scope: 'openid offline_access', audience: API,
    state: 's', nonce: 'n', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  }, { username: srv.tenant.user.email, password: USER_PASSWORD });
  const code = new URL(r.location).searchParams.get('code');
  return form({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: 'demo-spa', code_verifier: verifier });
}

async function post(body) {
  const res = await fetch(`${srv.url}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, signal: AbortSignal.timeout(20000),
  });
  const text = await res.text();
  return { status: res.status, text };
}

/** `n` results of `fn()`, `width` at a time. */
async function pooled(n, width, fn) {
  const out = [];
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) { next += 1; out.push(await fn()); }
  }));
  return out;
}

test('load_64_simultaneous_code_exchanges_all_200', async () => {
  const bodies = await pooled(CHAINS, 8, codeBody);
  await quietSince(performance.now()); // bench/keepalive.mjs
  const results = await Promise.all(bodies.map(post));
  const failed = results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text.slice(0, 120)}`);
  assert.deepEqual(failed, [], `${failed.length} of ${results.length} code exchanges failed`);
});

test('load_64_refresh_chains_rotating_at_once_all_200', async () => {
  const bodies = await pooled(CHAINS, 8, codeBody);
  await quietSince(performance.now()); // bench/keepalive.mjs
  const starts = await Promise.all(bodies.map(post));
  const failedStarts = starts.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text.slice(0, 100)}`);
  assert.deepEqual(failedStarts, [], 'every chain starts');
  const failures = [];
  const seen = new Set();
  await Promise.all(starts.map(async (r) => {
    let rt = JSON.parse(r.text).refresh_token;
    for (let i = 0; i < STEPS; i++) {
      const res = await post(form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: rt }));
      if (res.status !== 200) { failures.push(`${res.status} ${res.text.slice(0, 120)}`); return; }
      const next = JSON.parse(res.text).refresh_token;
      assert.notEqual(next, rt, 'rotation returns a new refresh token');
      assert.ok(!seen.has(next), 'no two rotations return the same token');
      seen.add(next);
      rt = next;
    }
  }));
  assert.deepEqual(failures, [], `${failures.length} refreshes failed`);
  assert.equal(seen.size, CHAINS * STEPS);
});

/** One POST over a new connection (so only wrangler's proxy-to-worker leg pools). */
async function postOnce(path, body, headers = {}) {
  try {
    const res = await fetch(`${srv.url}${path}`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', connection: 'close', ...headers }, body,
      signal: AbortSignal.timeout(20000),
    });
    return { status: res.status, text: await res.text() };
  } catch (e) {
    return { status: 0, text: String(e) };
  }
}

// POST bursts after idle gaps of 4.6 to 4.9 s meet wrangler dev's keep-alive race
// (bench/keepalive.mjs): without `quietSince` before each burst this failed, 49 of 256
// client-credentials POSTs answered `503 Your worker restarted mid-request` (no reload, no
// file change; workerd logged `Connection reset by peer`). A wave of cheap requests before
// each burst was not enough either (13 of 64 chain starts failed after one). With the
// quiet time every burst runs on fresh connections.
test('load_post_bursts_after_idle_gaps_near_the_keepalive_timeout_all_200', async () => {
  const m2m = srv.tenant['demo-m2m'];
  const auth = { authorization: basic(m2m.client_id, m2m.client_secret) };
  const body = form({ grant_type: 'client_credentials', audience: API });
  const failures = [];
  let last = performance.now();
  for (const gap of [4.6, 4.7, 4.8, 4.9, 4.6, 4.7, 4.8, 4.9]) {
    await quietSince(last);
    const results = await Promise.all(Array.from({ length: 32 }, () => postOnce('/oauth/token', body, auth)));
    last = performance.now();
    failures.push(...results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text.slice(0, 100)}`));
    await new Promise((resolve) => { setTimeout(resolve, gap * 1000); });
  }
  assert.deepEqual(failures, [], `${failures.length} of 256 POSTs failed`);
});
