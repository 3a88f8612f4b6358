// Latency of the authorization server under `wrangler dev` (workerd + local KV) on
// 127.0.0.1, in one server run:
// - the code exchange (POST /oauth/token, authorization_code + PKCE, ID + refresh token);
// - client credentials for the same confidential client (demo-m2m, client_secret_basic)
//   without and with a DPoP proof, interleaved, so the difference of the medians is the
//   latency DPoP adds (proof verification, the jti read and write in KV, cnf.jkt and the
//   DPoP-Nonce header). Proofs are made with jose before each request is timed.
// Logins that make codes are not timed. Bounded: N requests of each kind (default 30),
// then the server stops.
//
// With --stores: two servers at once, one on the Durable Object store (the default) and
// one on the KV-only store (STORE=kv), and the median latency of a code exchange and of a
// refresh on each, interleaved request by request (N of each, default 30).
//
//   node bench/server.mjs [N]
//   node bench/server.mjs --stores [N]

import { createHash, randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { API, USER_PASSWORD, authorize, basic, form, startServer, tokenRequest } from '../tests/e2e/harness.mjs';

const args = process.argv.slice(2);
const stores = args.includes('--stores');
const nArg = args.find((a) => /^\d+$/.test(a));
const n = Math.min(Math.max(Number(nArg ?? 30) || 30, 5), 300);
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => { const s = sorted(xs); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const quantile = (xs, q) => sorted(xs)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const row = (name, xs) => `  ${name.padEnd(44)} median ${median(xs).toFixed(2).padStart(6)} ms   p10 ${quantile(xs, 0.1).toFixed(2).padStart(6)}   p90 ${quantile(xs, 0.9).toFixed(2).padStart(6)}   (n=${xs.length})`;

/** A code from a real, untimed login at `srv`, and the body that redeems it. */
async function codeBody(srv) {
  const verifier = randomBytes(32).toString('base64url');
  const redirectUri = `${srv.url}/`;
  const r = await authorize(srv.url, {
    response_type: 'code', client_id: 'demo-spa', redirect_uri: redirectUri, scope: 'openid offline_access', audience: API,
    state: 's', nonce: 'n', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  }, { username: srv.tenant.user.email, password: USER_PASSWORD });
  const code = new URL(r.location).searchParams.get('code');
  return form({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: 'demo-spa', code_verifier: verifier });
}

async function timed(srv, body) {
  const t = performance.now();
  const res = await tokenRequest(srv.url, body);
  const ms = performance.now() - t;
  if (res.status !== 200) throw new Error(`${srv.url}: ${res.status} ${res.text}`);
  return { ms, json: res.json };
}

if (stores) {
  const [durable, kv] = await Promise.all([startServer({ vars: {} }), startServer({ vars: { STORE: 'kv' } })]);
  try {
    const servers = { durable, kv };
    const times = { durable: { code: [], refresh: [] }, kv: { code: [], refresh: [] } };
    const rts = {};
    for (let i = 0; i < n + 3; i++) {
      // Alternate which store goes first so drift affects both alike.
      const order = i % 2 ? ['durable', 'kv'] : ['kv', 'durable'];
      for (const name of order) {
        const body = await codeBody(servers[name]); // not timed
        const { ms, json } = await timed(servers[name], body);
        if (i >= 3) times[name].code.push(ms);
        rts[name] = json.refresh_token;
      }
      for (const name of order) {
        const { ms, json } = await timed(servers[name], form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: rts[name] }));
        if (i >= 3) times[name].refresh.push(ms);
        rts[name] = json.refresh_token;
      }
    }
    console.log('\nDurable Object store against KV-only store under wrangler dev, interleaved, sequential requests:');
    for (const name of ['durable', 'kv']) {
      console.log(row(`${name}: code exchange`, times[name].code));
      console.log(row(`${name}: refresh`, times[name].refresh));
    }
  } finally {
    await Promise.all([durable.stop(), kv.stop()]);
  }
  process.exit(0);
}

const srv = await startServer();
try {
  // Client credentials, Bearer and DPoP interleaved.
  const m2m = srv.tenant['demo-m2m'];
  const headers = { authorization: basic(m2m.client_id, m2m.client_secret) };
  const ccBody = form({ grant_type: 'client_credentials', audience: API });
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  const jwk = await jose.exportJWK(publicKey);
  const proof = () => new jose.SignJWT({
    htm: 'POST', htu: `${srv.url}/oauth/token`, iat: Math.floor(Date.now() / 1000), jti: randomBytes(16).toString('base64url'),
  }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).sign(privateKey);
  const clientCredentials = async (dpop) => {
    const h = dpop ? { ...headers, dpop: await proof() } : headers; // not timed
    const t = performance.now();
    const res = await tokenRequest(srv.url, ccBody, { headers: h });
    const ms = performance.now() - t;
    const want = dpop ? 'DPoP' : 'Bearer';
    if (res.status !== 200 || res.json.token_type !== want) throw new Error(`client_credentials (${want}): ${res.status} ${res.text}`);
    return ms;
  };
  for (let i = 0; i < 5; i++) { await clientCredentials(false); await clientCredentials(true); } // warm-up
  const bearer = [];
  const dpop = [];
  for (let i = 0; i < n; i++) {
    // Alternate which goes first so drift affects both alike.
    if (i % 2) { bearer.push(await clientCredentials(false)); dpop.push(await clientCredentials(true)); } else { dpop.push(await clientCredentials(true)); bearer.push(await clientCredentials(false)); }
  }

  // Code exchanges (each code comes from a real, untimed login).
  const codeTimes = [];
  for (let i = 0; i < n + 3; i++) {
    const verifier = randomBytes(32).toString('base64url');
    const redirectUri = `${srv.url}/`;
    const r = await authorize(srv.url, {
      response_type: 'code', client_id: 'demo-spa', redirect_uri: redirectUri, scope: 'openid offline_access', audience: API,
      state: 's', nonce: 'n', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }, { username: srv.tenant.user.email, password: USER_PASSWORD });
    const code = new URL(r.location).searchParams.get('code');
    const t = performance.now();
    const res = await tokenRequest(srv.url, form({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: 'demo-spa', code_verifier: verifier }));
    const ms = performance.now() - t;
    if (res.status !== 200) throw new Error(`authorization_code: ${res.status} ${res.text}`);
    if (i >= 3) codeTimes.push(ms); // the first three warm up
  }

  console.log(`\nauthorization server under wrangler dev, ${srv.url}, sequential requests:`);
  console.log(row('code exchange (authorization_code + PKCE)', codeTimes));
  console.log(row('client credentials, Bearer', bearer));
  console.log(row('client credentials, DPoP (proof, jti in KV)', dpop));
  console.log(`  latency DPoP adds to a token request: ${(median(dpop) - median(bearer)).toFixed(2)} ms (difference of the medians)`);
} finally {
  await srv.stop();
}
