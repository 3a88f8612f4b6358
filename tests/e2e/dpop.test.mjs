// End to end: DPoP (RFC 9449) against the real worker under `wrangler dev`. oauth4webapi's
// DPoP handle (a WebCrypto P-256 key pair) is the client for the full code + PKCE + DPoP
// flow with nonce round trips, refresh and userinfo (the interop test "oauth4webapi's DPoP
// handle as the client against our worker"); hostile proofs are crafted with jose and
// node:crypto. Rule numbers refer to ../shared/vectors/rules.md (section E).

import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import { buildApi, buildGrant, keys } from '../../scripts/lib/tenant.mjs';
import { API, USER_PASSWORD, authorize, basic, form, startServer, tokenRequest } from './harness.mjs';

const STRICT_API = 'https://dpop-required.example.com';
const insecure = { [oauth.allowInsecureRequests]: true };
let srv;
let as;
let jwks;
const T = () => srv.tenant;
const tokenUrl = () => `${srv.url}/oauth/token`;

before(async () => {
  srv = await startServer({
    seed: ({ records }) => {
      // An API whose tokens must be DPoP-bound, with a client grant for demo-m2m.
      const strict = buildApi({ identifier: STRICT_API, scopes: ['read:items'], allowOfflineAccess: true, dpop: 'required' });
      records.set(keys.api(STRICT_API), strict);
      records.set(keys.grant('demo-m2m', STRICT_API), buildGrant(records.get(keys.client('demo-m2m')), strict, ['read:items']));
    },
  });
  const issuer = new URL(srv.issuer);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oidc' }));
  jwks = jose.createLocalJWKSet(await (await fetch(as.jwks_uri)).json());
});

after(async () => {
  await srv?.stop();
});

// ---------------------------------------------------------------- helpers

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const webCryptoKeyPair = () => crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);

/** A P-256 key for hand-made proofs: the jose key pair, its public JWK and thumbprint. */
async function joseKey() {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  return { privateKey, publicKey, jwk, privateJwk: await jose.exportJWK(privateKey), jkt: await jose.calculateJwkThumbprint(jwk) };
}

/** A DPoP proof signed with `key`; every member can be overridden. */
async function proof(key, {
  htm = 'POST', htu = tokenUrl(), iat = now(), jti = b64url(randomBytes(16)), nonce, ath, header = {},
} = {}) {
  const payload = { htm, htu, iat, jti };
  if (nonce !== undefined) payload.nonce = nonce;
  if (ath !== undefined) payload.ath = ath;
  return new jose.SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk, ...header }).sign(key.privateKey);
}

/** `ath`: base64url(SHA-256(access token)). */
const athOf = (token) => b64url(createHash('sha256').update(token).digest());

function assertNoStore(res) {
  assert.equal(res.headers.get('cache-control'), 'no-store', 'Cache-Control: no-store');
}

/**
 * 400 with the RFC 6749 JSON error, no-store, and a DPoP-Nonce when the client must send
 * nonces (`nonce: false`: a client that need not, which is handed none, RFC 9449 §11.3).
 */
function assertDpopError(res, error, descriptionPart, what, { nonce = true } = {}) {
  assert.equal(res.status, 400, `${what}: status (body ${res.text})`);
  assert.equal(res.json?.error, error, `${what}: error (${res.text})`);
  if (descriptionPart) assert.match(res.json.error_description, descriptionPart, `${what}: error_description`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assertNoStore(res);
  if (nonce) assert.ok(res.headers.get('dpop-nonce'), `${what}: a DPoP-Nonce header`);
  else assert.equal(res.headers.get('dpop-nonce'), null, `${what}: no DPoP-Nonce for a client that need not send one`);
}

async function verifyBound(accessToken, jkt, audience) {
  const { payload } = await jose.jwtVerify(accessToken, jwks, { issuer: srv.issuer, audience, typ: 'at+jwt', algorithms: ['ES256'] });
  assert.deepEqual(payload.cnf, { jkt }, 'the access token carries cnf.jkt of the proof key');
  return payload;
}

/** /authorize + login for `clientId`; returns what the exchange needs. */
async function getCode({ clientId = 'demo-spa', redirectUri = `${srv.url}/`, scope = 'openid email offline_access read:items', extra = {} } = {}) {
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const verifier = oauth.generateRandomCodeVerifier();
  const r = await authorize(srv.url, {
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state, nonce, audience: API,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  }, { username: T().user.email, password: USER_PASSWORD });
  assert.equal(r.status, 303, `login redirects (${r.html?.slice(0, 300)})`);
  return { location: new URL(r.location), state, nonce, verifier, redirectUri };
}

const spa = { client_id: 'demo-spa', id_token_signed_response_alg: 'RS256' };

/** The code exchange through oauth4webapi with `dpop`, retrying once on use_dpop_nonce. */
async function exchangeWithHandle(c, dpop, { client = spa, auth = oauth.None(), expectNonceChallenge } = {}) {
  const params = oauth.validateAuthResponse(as, client, c.location, c.state);
  const request = () => oauth.authorizationCodeGrantRequest(as, client, auth, params, c.redirectUri, c.verifier, { ...insecure, DPoP: dpop });
  let res = await request();
  let challenged = false;
  try {
    return { tokens: await oauth.processAuthorizationCodeResponse(as, client, res, { expectedNonce: c.nonce }), res, challenged };
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    challenged = true;
    assert.equal(res.status, 400);
    assert.ok(res.headers.get('dpop-nonce'), 'use_dpop_nonce comes with a DPoP-Nonce');
  }
  if (expectNonceChallenge !== undefined) assert.equal(challenged, expectNonceChallenge, 'nonce challenge');
  res = await request();
  return { tokens: await oauth.processAuthorizationCodeResponse(as, client, res, { expectedNonce: c.nonce }), res, challenged };
}

const m2mAuth = () => ({ authorization: basic('demo-m2m', T()['demo-m2m'].client_secret) });
const ccRequest = (headers = {}, audience = API) => tokenRequest(srv.url, form({ grant_type: 'client_credentials', audience }), { headers: { ...m2mAuth(), ...headers } });

// ---------------------------------------------------------------- discovery

test('RFC 9449 §5.1: discovery lists dpop_signing_alg_values_supported ES256', () => {
  assert.deepEqual(as.dpop_signing_alg_values_supported, ['ES256']);
});

// ---------------------------------------------------------------- oauth4webapi as the client

describe('oauth4webapi DPoP handle as the client (interop)', () => {
  let keyPair;
  let dpop;
  let tokens;
  let jkt;

  test('code + PKCE + DPoP: use_dpop_nonce round trip, then a DPoP-bound token set (rules 70, 71, 79, 82)', async () => {
    keyPair = await webCryptoKeyPair();
    dpop = oauth.DPoP(spa, keyPair);
    jkt = await dpop.calculateThumbprint();
    const c = await getCode({ extra: { dpop_jkt: jkt } });
    const out = await exchangeWithHandle(c, dpop, { expectNonceChallenge: true });
    tokens = out.tokens;
    assert.equal(out.challenged, true, 'a public client is asked for a nonce first');
    assert.equal(tokens.token_type, 'dpop');
    assert.ok(out.res.headers.get('dpop-nonce'), 'the success carries the next nonce');
    assertNoStore(out.res);
    const claims = await verifyBound(tokens.access_token, jkt, API);
    assert.equal(claims.client_id, 'demo-spa');
    assert.ok(tokens.refresh_token && tokens.id_token);
  });

  test('userinfo with the DPoP scheme, ath and the bound key (RFC 9449 §7)', async () => {
    const res = await oauth.userInfoRequest(as, spa, tokens.access_token, { ...insecure, DPoP: dpop });
    const info = await oauth.processUserInfoResponse(as, spa, T().user.user_id, res);
    assert.equal(info.email, T().user.email);
  });

  test('refresh with the same key: no second nonce challenge (the handle cached it), DPoP again', async () => {
    const res = await oauth.refreshTokenGrantRequest(as, spa, oauth.None(), tokens.refresh_token, { ...insecure, DPoP: dpop });
    assert.equal(res.status, 200, 'the cached nonce is accepted');
    assert.ok(res.headers.get('dpop-nonce'));
    const next = await oauth.processRefreshTokenResponse(as, spa, res);
    assert.equal(next.token_type, 'dpop');
    await verifyBound(next.access_token, jkt, API);
    tokens = next;
  });

  test('refresh with the wrong key is invalid_grant and does not revoke the family (rule 33)', async () => {
    const other = await joseKey();
    const nonceRes = await tokenRequest(srv.url, form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: tokens.refresh_token }), {
      headers: { dpop: await proof(other) },
    });
    assertDpopError(nonceRes, 'use_dpop_nonce', /nonce/, 'first a nonce');
    const nonce = nonceRes.headers.get('dpop-nonce');
    const wrong = await tokenRequest(srv.url, form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: tokens.refresh_token }), {
      headers: { dpop: await proof(other, { nonce }) },
    });
    assertDpopError(wrong, 'invalid_grant', /does not match the key the refresh token is bound to/, 'wrong key');
    const bearer = await tokenRequest(srv.url, form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: tokens.refresh_token }));
    assert.equal(bearer.status, 400);
    assert.equal(bearer.json.error, 'invalid_grant', 'no proof: invalid_grant');
    // The right key still refreshes: the family is intact.
    const res = await oauth.refreshTokenGrantRequest(as, spa, oauth.None(), tokens.refresh_token, { ...insecure, DPoP: dpop });
    const next = await oauth.processRefreshTokenResponse(as, spa, res);
    assert.equal(next.token_type, 'dpop');
  });

  test('a bound token used as a Bearer token at /userinfo: 401 WWW-Authenticate DPoP error="invalid_token" (RFC 9449 §7.2)', async () => {
    const res = await fetch(as.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(res.status, 401);
    const challenge = res.headers.get('www-authenticate');
    assert.match(challenge, /^DPoP /);
    assert.match(challenge, /error="invalid_token"/);
    assert.match(challenge, /algs="ES256"/);
    assertNoStore(res);
  });

  test('client_credentials (confidential client: no nonce needed) through the handle', async () => {
    const m2m = { client_id: 'demo-m2m' };
    const handle = oauth.DPoP(m2m, await webCryptoKeyPair());
    const res = await oauth.clientCredentialsGrantRequest(as, m2m, oauth.ClientSecretBasic(T()['demo-m2m'].client_secret), { audience: API }, { ...insecure, DPoP: handle });
    assert.equal(res.status, 200);
    const out = await oauth.processClientCredentialsResponse(as, m2m, res);
    assert.equal(out.token_type, 'dpop');
    await verifyBound(out.access_token, await handle.calculateThumbprint(), API);
  });
});

// ---------------------------------------------------------------- dpop_jkt

describe('dpop_jkt binds the code to the key (RFC 9449 §10, rule 76)', () => {
  test('another key or no proof is invalid_grant; the bound key then succeeds', async () => {
    const bound = oauth.DPoP(spa, await webCryptoKeyPair());
    const c = await getCode({ extra: { dpop_jkt: await bound.calculateThumbprint() } });
    const base = { grant_type: 'authorization_code', client_id: 'demo-spa', code: c.location.searchParams.get('code'), redirect_uri: c.redirectUri, code_verifier: c.verifier };
    const none = await tokenRequest(srv.url, form(base));
    assert.equal(none.status, 400);
    assert.equal(none.json.error, 'invalid_grant');
    assert.match(none.json.error_description, /dpop_jkt/);
    const other = await joseKey();
    const first = await tokenRequest(srv.url, form(base), { headers: { dpop: await proof(other) } });
    const mismatch = await tokenRequest(srv.url, form(base), { headers: { dpop: await proof(other, { nonce: first.headers.get('dpop-nonce') }) } });
    assertDpopError(mismatch, 'invalid_grant', /does not match dpop_jkt/, 'other key');
    const { tokens } = await exchangeWithHandle(c, bound);
    assert.equal(tokens.token_type, 'dpop');
  });

  test('PAR with a DPoP header: its key becomes dpop_jkt (RFC 9449 §10.1)', async () => {
    const web = { client_id: 'demo-web', id_token_signed_response_alg: 'RS256' };
    const auth = oauth.ClientSecretBasic(T()['demo-web'].client_secret);
    const handle = oauth.DPoP(web, await webCryptoKeyPair());
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const redirectUri = `${srv.url}/callback`;
    const parRes = await oauth.pushedAuthorizationRequest(as, web, auth, {
      response_type: 'code', redirect_uri: redirectUri, scope: 'openid', state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }, { ...insecure, DPoP: handle });
    assert.equal(parRes.status, 201);
    assert.equal(parRes.headers.get('dpop-nonce'), null, 'a confidential client need not send nonces and is handed none');
    const { request_uri: requestUri } = await oauth.processPushedAuthorizationResponse(as, web, parRes);
    const r = await authorize(srv.url, { client_id: 'demo-web', request_uri: requestUri }, { username: T().user.email, password: USER_PASSWORD });
    assert.equal(r.status, 303);
    const c = { location: new URL(r.location), state, verifier, redirectUri, nonce: undefined };
    const other = await joseKey();
    const wrong = await tokenRequest(srv.url, form({
      grant_type: 'authorization_code', code: c.location.searchParams.get('code'), redirect_uri: redirectUri, code_verifier: verifier,
    }), { headers: { authorization: basic('demo-web', T()['demo-web'].client_secret), dpop: await proof(other) } });
    assertDpopError(wrong, 'invalid_grant', /does not match dpop_jkt/, 'other key after PAR', { nonce: false });
    const params = oauth.validateAuthResponse(as, web, c.location, state);
    const res = await oauth.authorizationCodeGrantRequest(as, web, auth, params, redirectUri, verifier, { ...insecure, DPoP: handle });
    const tokens = await oauth.processAuthorizationCodeResponse(as, web, res);
    assert.equal(tokens.token_type, 'dpop');
  });
});

// ---------------------------------------------------------------- hostile proofs

describe('every §4.3 check at the token endpoint, with hostile proofs (rules 56-68)', () => {
  let key;
  before(async () => { key = await joseKey(); });

  test('a good proof binds the client_credentials token; Bearer stays Bearer', async () => {
    const res = await ccRequest({ dpop: await proof(key) });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.token_type, 'DPoP');
    assert.equal(res.headers.get('dpop-nonce'), null, 'a confidential client need not send nonces and is handed none');
    await verifyBound(res.json.access_token, key.jkt, API);
    const bearer = await ccRequest();
    assert.equal(bearer.json.token_type, 'Bearer');
  });

  test('jti replay is invalid_dpop_proof (rule 68, 78)', async () => {
    const p = await proof(key);
    assert.equal((await ccRequest({ dpop: p })).status, 200);
    assertDpopError(await ccRequest({ dpop: p }), 'invalid_dpop_proof', /jti has already been used/, 'replay', { nonce: false });
  });

  test('htu, htm and iat violations (rules 63, 64, 66)', async () => {
    const cases = [
      [{ htu: `${srv.url}/oauth/par` }, /htu does not match/, 'htu: another endpoint'],
      [{ htu: `${srv.url}/oauth/token/` }, /htu does not match/, 'htu: trailing slash'],
      [{ htu: `http://localhost:${srv.port}/oauth/token` }, /htu does not match/, 'htu: another host'],
      [{ htm: 'GET' }, /htm does not match/, 'htm GET'],
      [{ htm: 'post' }, /htm does not match/, 'htm lower case'],
      [{ iat: now() - 120 }, /iat is too old/, 'iat two minutes old'],
      [{ iat: now() + 60 }, /iat is in the future/, 'iat a minute ahead'],
    ];
    for (const [opts, why, what] of cases) assertDpopError(await ccRequest({ dpop: await proof(key, opts) }), 'invalid_dpop_proof', why, what, { nonce: false });
    // htu is compared after RFC 3986 normalisation: case, default port, %-escapes.
    const normalised = await proof(key, { htu: `HTTP://127.0.0.1:${srv.port}/oauth/%74oken` });
    assert.equal((await ccRequest({ dpop: normalised })).status, 200);
  });

  test('alg none, HS256 and a private key in the jwk are refused (rules 54, 60, 62)', async () => {
    const payload = { htm: 'POST', htu: tokenUrl(), iat: now(), jti: b64url(randomBytes(16)) };
    const enc = (o) => b64url(JSON.stringify(o));
    const none = `${enc({ alg: 'none', typ: 'dpop+jwt', jwk: key.jwk })}.${enc(payload)}.`;
    assertDpopError(await ccRequest({ dpop: none }), 'invalid_dpop_proof', /alg is not allowed/, 'alg none', { nonce: false });
    const secret = randomBytes(32);
    const hsInput = `${enc({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: b64url(secret) } })}.${enc({ ...payload, jti: 'hs' })}`;
    const hs = `${hsInput}.${b64url(createHmac('sha256', secret).update(hsInput).digest())}`;
    assertDpopError(await ccRequest({ dpop: hs }), 'invalid_dpop_proof', /alg is not allowed/, 'HS256', { nonce: false });
    const withD = await proof(key, { header: { jwk: key.privateJwk } });
    assertDpopError(await ccRequest({ dpop: withD }), 'invalid_dpop_proof', /must not contain a private key/, 'private jwk', { nonce: false });
    const typ = await proof(key, { header: { typ: 'JWT' } });
    assertDpopError(await ccRequest({ dpop: typ }), 'invalid_dpop_proof', /typ must be dpop\+jwt/, 'typ JWT', { nonce: false });
    const other = await joseKey();
    const [h, p] = (await proof(key)).split('.');
    const [, , s] = (await proof(other)).split('.');
    assertDpopError(await ccRequest({ dpop: `${h}.${p}.${s}` }), 'invalid_dpop_proof', /signature is invalid/, 'foreign signature', { nonce: false });
    assertDpopError(await ccRequest({ dpop: 'not a jws' }), 'invalid_dpop_proof', /malformed|more than one/, 'garbage', { nonce: false });
  });

  test('two DPoP headers are refused (rule 56)', async () => {
    const [a, b] = [await proof(key), await proof(key)];
    const res = await fetch(tokenUrl(), {
      method: 'POST',
      headers: [['content-type', 'application/x-www-form-urlencoded'], ['authorization', m2mAuth().authorization], ['dpop', a], ['dpop', b]],
      body: form({ grant_type: 'client_credentials', audience: API }),
    });
    const text = await res.text();
    assertDpopError({ status: res.status, headers: res.headers, json: JSON.parse(text), text }, 'invalid_dpop_proof', /more than one DPoP header/, 'two headers', { nonce: false });
  });

  test('error descriptions never echo the proof', async () => {
    const p = await proof(key, { htm: 'PUT' });
    const res = await ccRequest({ dpop: p });
    assert.ok(!res.text.includes(p.slice(0, 30)));
  });
});

// ---------------------------------------------------------------- per-API policy, userinfo, CORS

describe('per-API policy, /userinfo and CORS', () => {
  test('an API with dpop: required refuses Bearer requests with invalid_dpop_proof', async () => {
    const bearer = await ccRequest({}, STRICT_API);
    assert.equal(bearer.status, 400);
    assert.equal(bearer.json.error, 'invalid_dpop_proof');
    assert.match(bearer.json.error_description, /DPoP proof is required for this API/);
    assertNoStore(bearer);
    const key = await joseKey();
    const ok = await ccRequest({ dpop: await proof(key) }, STRICT_API);
    assert.equal(ok.status, 200, ok.text);
    await verifyBound(ok.json.access_token, key.jkt, STRICT_API);
  });

  test('/userinfo: ath, htm, htu and key-binding violations are 401 with a DPoP challenge (rule 67, 85)', async () => {
    const key = await joseKey();
    const c = await getCode();
    const base = { grant_type: 'authorization_code', client_id: 'demo-spa', code: c.location.searchParams.get('code'), redirect_uri: c.redirectUri, code_verifier: c.verifier };
    const first = await tokenRequest(srv.url, form(base), { headers: { dpop: await proof(key) } });
    assert.equal(first.json.error, 'use_dpop_nonce');
    const res = await tokenRequest(srv.url, form(base), { headers: { dpop: await proof(key, { nonce: first.headers.get('dpop-nonce') }) } });
    assert.equal(res.status, 200, res.text);
    const at = res.json.access_token;
    const userinfo = `${srv.url}/userinfo`;
    const call = async (dpopProof, method = 'GET') => {
      const r = await fetch(userinfo, { method, headers: { authorization: `DPoP ${at}`, ...(dpopProof ? { dpop: dpopProof } : {}) } });
      return { status: r.status, challenge: r.headers.get('www-authenticate'), json: await r.json(), headers: r.headers };
    };
    const ok = await call(await proof(key, { htm: 'GET', htu: userinfo, ath: athOf(at) }));
    assert.equal(ok.status, 200);
    assert.equal(ok.json.sub, T().user.user_id);
    const cases = [
      [await proof(key, { htm: 'GET', htu: userinfo, ath: athOf('another token') }), 'invalid_dpop_proof', 'ath mismatch'],
      [await proof(key, { htm: 'GET', htu: userinfo }), 'invalid_dpop_proof', 'ath missing'],
      [await proof(key, { htm: 'POST', htu: userinfo, ath: athOf(at) }), 'invalid_dpop_proof', 'htm POST on GET'],
      [await proof(key, { htm: 'GET', htu: tokenUrl(), ath: athOf(at) }), 'invalid_dpop_proof', 'htu of the token endpoint'],
      [await proof(await joseKey(), { htm: 'GET', htu: userinfo, ath: athOf(at) }), 'invalid_token', 'another key'],
      [undefined, 'invalid_dpop_proof', 'no proof'],
    ];
    for (const [p, error, what] of cases) {
      const r = await call(p);
      assert.equal(r.status, 401, what);
      assert.equal(r.json.error, error, what);
      assert.match(r.challenge, new RegExp(`^DPoP .*error="${error}"`), `${what}: challenge`);
      assert.match(r.challenge, /algs="ES256"/, what);
      assert.equal(r.headers.get('cache-control'), 'no-store', what);
    }
    const post = await call(await proof(key, { htm: 'POST', htu: userinfo, ath: athOf(at) }), 'POST');
    assert.equal(post.status, 200, 'POST with htm POST');
  });

  test('CORS: the DPoP request header is allowed, DPoP-Nonce and WWW-Authenticate are exposed (rule 84)', async () => {
    const origin = srv.url;
    const pre = await fetch(tokenUrl(), {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, dpop' },
    });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /DPoP/i);
    const key = await joseKey();
    const res = await tokenRequest(srv.url, form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: 'nope' }), { headers: { origin, dpop: await proof(key) } });
    assert.equal(res.json.error, 'use_dpop_nonce');
    assert.equal(res.headers.get('access-control-allow-origin'), origin);
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase();
    assert.ok(exposed.includes('dpop-nonce') && exposed.includes('www-authenticate'), exposed);
  });
});
