// HTTP redirects, through Node's own fetch against two servers on 127.0.0.1 (two ports: two
// origins). TokenClient's requests to the authorization server never follow one (a 307
// would hand the refresh token, the client's credentials and the DPoP proof to its
// target, and take the target's answer as the server's); fetchWithDpop follows them as
// fetch does, but keeps no nonce of another origin under the one it called (RFC 9449 §9).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { edge } from './support.mjs';

const { DpopKey, TokenClient, fetchWithDpop } = edge;

/** A server whose answers `route(req, body)` gives (`{ status, headers, body }`); it records each request. */
async function start(route) {
  const seen = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, path: req.url, headers: req.headers, body });
      const answer = route(req, body);
      res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '');
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { origin: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(done); }) };
}

const nonceOf = (proof) => (proof ? JSON.parse(Buffer.from(proof.split('.')[1], 'base64url')).nonce : undefined);
const json = (value, headers = {}) => ({ status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }, body: JSON.stringify(value) });

let as;
let other;
before(async () => {
  other = await start((req) => {
    if (req.url === '/challenge') return { status: 401, headers: { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'OTHER-RETRY' } };
    return json({ access_token: 'stolen', token_type: 'DPoP', expires_in: 60, refresh_token: 'rt-x', request_uri: 'urn:x', device_code: 'd', user_code: 'U', verification_uri: 'https://x/' }, { 'dpop-nonce': 'OTHER-NONCE' });
  });
  as = await start((req) => {
    if (req.url === '/same/old') return { status: 307, headers: { location: '/same/new' } };
    if (req.url === '/same/new') return { status: 200, headers: { 'dpop-nonce': 'AS-NONCE' }, body: 'ok' };
    if (req.url === '/away/challenge') return { status: 307, headers: { location: `${other.origin}/challenge` } };
    return { status: 307, headers: { location: `${other.origin}/collect`, 'dpop-nonce': 'REDIRECT-NONCE' } };
  });
});
after(async () => {
  await as?.close();
  await other?.close();
});

test('rfc9700_4_11: token, PAR, revocation and device requests never follow a redirect, and a redirect target never sees them', async () => {
  other.seen.length = 0;
  const dpopKey = await DpopKey.generateNonExtractable();
  const client = new TokenClient({
    tokenEndpoint: `${as.origin}/oauth/token`,
    clientId: 'spa',
    clientSecret: 'secret',
    dpopKey,
    revocationEndpoint: `${as.origin}/oauth/revoke`,
    pushedAuthorizationRequestEndpoint: `${as.origin}/oauth/par`,
    deviceAuthorizationEndpoint: `${as.origin}/oauth/device/code`,
  });
  for (const [what, call] of [
    ['refresh', () => client.refresh('rt-secret-1')],
    ['exchangeCode', () => client.exchangeCode({ code: 'c-1', redirectUri: 'https://app.example/cb', codeVerifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' })],
    ['clientCredentials', () => client.clientCredentials()],
    ['revoke', () => client.revoke('rt-secret-1')],
    ['pushAuthorizationRequest', () => client.pushAuthorizationRequest({ redirectUri: 'https://app.example/cb', codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' })],
    ['deviceAuthorization', () => client.deviceAuthorization()],
  ]) {
    await assert.rejects(call(), { code: 'FETCH_FAILED' }, what);
  }
  assert.deepEqual(other.seen, [], 'the redirect target received nothing');
  // The redirect's DPoP-Nonce was not taken either: the next proof carries none.
  await client.refresh('rt-secret-2').catch(() => {});
  assert.equal(nonceOf(as.seen.at(-1).headers.dpop), undefined);
});

test('rfc9449_9: fetchWithDpop keeps the nonce of a same-origin redirect, but none of another origin, and retries no challenge of it', async () => {
  const dpopKey = await DpopKey.generateNonExtractable();
  const options = { accessToken: 'at-1', dpopKey };
  // Redirected to another origin: its answer comes back, its nonce is kept for no origin.
  other.seen.length = 0;
  const away = await fetchWithDpop(`${as.origin}/away/api`, {}, options);
  assert.equal(away.status, 200);
  assert.ok(away.url.startsWith(other.origin));
  await fetchWithDpop(`${as.origin}/away/api`, {}, options);
  assert.equal(nonceOf(as.seen.at(-1).headers.dpop), undefined, 'the other origin\'s nonce is not sent to the origin called');
  other.seen.length = 0;
  await fetchWithDpop(`${other.origin}/api`, {}, options);
  assert.equal(nonceOf(other.seen[0].headers.dpop), undefined, 'nor kept for the other origin, which answered a proof not meant for it');
  // Its use_dpop_nonce challenge is returned, not retried.
  other.seen.length = 0;
  const challenged = await fetchWithDpop(`${as.origin}/away/challenge`, {}, options);
  assert.equal(challenged.status, 401);
  assert.equal(other.seen.length, 1, 'no retry');
  // Within one origin, the nonce of the answer is the origin's.
  const same = await fetchWithDpop(`${as.origin}/same/old`, {}, options);
  assert.equal(await same.text(), 'ok');
  await fetchWithDpop(`${as.origin}/same/old`, {}, options);
  assert.equal(nonceOf(as.seen.at(-2).headers.dpop), 'AS-NONCE');
});
