// Median latency of the authorization server under `wrangler dev` (workerd + local KV) on
// 127.0.0.1: the code exchange (POST /oauth/token, authorization_code + PKCE) and a
// client-credentials request (client_secret_basic). Each login that makes a code is not
// timed. Bounded: N requests of each kind (default 30), then the server is stopped.
//
//   node bench/server.mjs [N]

import { createHash, randomBytes } from 'node:crypto';
import { API, USER_PASSWORD, authorize, basic, form, startServer, tokenRequest } from '../tests/e2e/harness.mjs';

const n = Math.min(Math.max(Number(process.argv[2] ?? 30) || 30, 5), 200);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const timed = async (fn) => { const t = performance.now(); const r = await fn(); return [performance.now() - t, r]; };

const srv = await startServer();
try {
  const m2m = srv.tenant['demo-m2m'];
  const cc = () => tokenRequest(srv.url, form({ grant_type: 'client_credentials', audience: API }), { headers: { authorization: basic(m2m.client_id, m2m.client_secret) } });
  for (let i = 0; i < 3; i++) await cc(); // warm-up
  const ccTimes = [];
  for (let i = 0; i < n; i++) {
    const [ms, res] = await timed(cc);
    if (res.status !== 200) throw new Error(`client_credentials: ${res.status} ${res.text}`);
    ccTimes.push(ms);
  }

  const codeTimes = [];
  for (let i = 0; i < n + 3; i++) {
    const verifier = randomBytes(32).toString('base64url');
    const redirectUri = `${srv.url}/`;
    const r = await authorize(srv.url, {
      response_type: 'code', client_id: 'demo-spa', redirect_uri: redirectUri, scope: 'openid offline_access', audience: API,
      state: 's', nonce: 'n', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }, { username: srv.tenant.user.email, password: USER_PASSWORD });
    const code = new URL(r.location).searchParams.get('code');
    const [ms, res] = await timed(() => tokenRequest(srv.url, form({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: 'demo-spa', code_verifier: verifier })));
    if (res.status !== 200) throw new Error(`authorization_code: ${res.status} ${res.text}`);
    if (i >= 3) codeTimes.push(ms); // the first three warm up
  }
  console.log(`wrangler dev on 127.0.0.1, ${n} requests each (sequential):`);
  console.log(`  code exchange (authorization_code + PKCE, ID token + refresh token): median ${median(codeTimes).toFixed(1)} ms`);
  console.log(`  client credentials (client_secret_basic):                          median ${median(ccTimes).toFixed(1)} ms`);
} finally {
  await srv.stop();
}
