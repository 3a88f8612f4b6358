// TokenClient's own checks around its requests, against a mock fetch: what the metadata
// advertises cannot be switched off by an undefined option (RFC 9207), options are checked
// before a code is spent, an ID token is checked on every grant that returns one (OIDC
// Core §3.1.3.7, §12.2), the authorization server's DPoP nonces are kept apart from the
// resource servers' (RFC 9449 §8.2, §9), and argument errors are EdgeOAuthErrors.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createSign, generateKeyPairSync } from 'node:crypto';

import * as jose from 'jose';

import { assertFails, edge, nowSeconds } from './support.mjs';

const { DpopKey, TokenClient, fetchWithDpop, parseServerMetadata } = edge;
const ISSUER = 'https://as.example/';
const TOKEN_ENDPOINT = 'https://as.example/oauth/token';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const EXCHANGE = { code: 'c-1', redirectUri: 'https://app.example/cb', codeVerifier: VERIFIER };

/**
 * Replaces the global fetch with `answer(url, init)` (a `Response`, or a value for
 * `Response.json`), and records every request as `METHOD url`.
 */
function mockFetch(answer) {
  const calls = [];
  globalThis.fetch = async (url, init = {}) => {
    calls.push({ method: init.method ?? 'GET', url: String(url), init });
    const r = await answer(String(url), init);
    return r instanceof Response ? r : Response.json(r);
  };
  return calls;
}

const metadataOf = (extra = {}) => parseServerMetadata(JSON.stringify({
  issuer: ISSUER,
  token_endpoint: TOKEN_ENDPOINT,
  authorization_endpoint: `${ISSUER}authorize`,
  jwks_uri: `${ISSUER}jwks`,
  response_types_supported: ['code'],
  ...extra,
}), ISSUER);

test('rfc9207_2_4: an undefined or null issuer / issParameterSupported option does not switch off the iss the metadata requires', () => {
  const metadata = metadataOf({ authorization_response_iss_parameter_supported: true });
  const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', metadata });
  const url = 'https://app.example/cb?code=c-1&state=s';
  for (const extra of [{}, { issuer: undefined }, { issParameterSupported: undefined }, { issuer: undefined, issParameterSupported: undefined }, { issuer: null, issParameterSupported: null }, { issParameterSupported: false }]) {
    assertFails(() => client.parseAuthorizationResponse(url, { state: 's', ...extra }), 'AUTHORIZATION_RESPONSE_ISS_MISSING');
  }
  // An undefined issuer is the client's: a mixed-up iss is still refused.
  assertFails(() => client.parseAuthorizationResponse(`${url}&iss=https%3A%2F%2Fevil.example%2F`, { state: 's', issuer: undefined }), 'AUTHORIZATION_RESPONSE_ISS_MISMATCH');
  assert.equal(client.parseAuthorizationResponse(`${url}&iss=${encodeURIComponent(ISSUER)}`, { state: 's', issuer: undefined }).code, 'c-1');
  // The option can ask for iss where the metadata does not.
  const plain = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', metadata: metadataOf() });
  assert.equal(plain.parseAuthorizationResponse(url, { state: 's', issParameterSupported: undefined }).code, 'c-1');
  assertFails(() => plain.parseAuthorizationResponse(url, { state: 's', issParameterSupported: true }), 'AUTHORIZATION_RESPONSE_ISS_MISSING');
  assertFails(() => plain.parseAuthorizationResponse(url, { state: 's', issParameterSupported: 'yes' }), 'ARGUMENT_INVALID');
});

// ----- exchangeCode: what needs no answer is checked before the code is spent -----------

const signing = await jose.generateKeyPair('ES256');
const JWKS = { keys: [{ ...(await jose.exportJWK(signing.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };

/** An ES256 ID token for the client `spa` of ISSUER, with `claims` on top. */
async function idToken(claims = {}, key = signing.privateKey) {
  const now = nowSeconds();
  return new jose.SignJWT({ iss: ISSUER, aud: 'spa', sub: 'user-1', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
    .sign(key);
}

/** A token endpoint answering `tokens` (plus whatever `routes` answers for other URLs). */
function server(tokens, routes = () => Response.json({ error: 'not_found' }, { status: 404 })) {
  return mockFetch((url, init) => (url === TOKEN_ENDPOINT ? { access_token: 'at-1', token_type: 'Bearer', expires_in: 300, refresh_token: 'rt-1', ...tokens } : routes(url, init)));
}

test('oidc_core_3_1_3_7: exchangeCode refuses its own bad options before the code is spent', async () => {
  const calls = server({ id_token: await idToken() });
  const bare = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', issuer: ISSUER });
  await assert.rejects(bare.exchangeCode({ ...EXCHANGE, verifySignature: true }), { code: 'ARGUMENT_INVALID', message: /jwksUri/ });
  for (const maxAge of ['60', -1, 1.5, Number.MAX_SAFE_INTEGER + 1]) {
    await assert.rejects(bare.exchangeCode({ ...EXCHANGE, maxAge }), { code: 'ARGUMENT_INVALID', message: /maxAge/ }, String(maxAge));
  }
  const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', issuer: ISSUER, jwksUri: `${ISSUER}jwks` });
  for (const jwks of [5, '{', '{"keys":{}}', { keys: 'k' }, []]) {
    await assert.rejects(client.exchangeCode({ ...EXCHANGE, verifySignature: true, jwks }), { code: 'ARGUMENT_INVALID', message: /jwks/ }, JSON.stringify(jwks));
  }
  assert.deepEqual(calls, [], 'no token request was sent');
  assert.equal(await bare.getTokens(), undefined);
  // A JWKS given as an option, or its JSON text, needs no jwksUri.
  for (const jwks of [JWKS, JSON.stringify(JWKS)]) {
    assert.equal((await bare.exchangeCode({ ...EXCHANGE, verifySignature: true, jwks })).idTokenClaims.sub, 'user-1');
  }
});

test('oidc_core_3_1_3_7: a JWKS fetch that fails after the exchange rejects with the unstored token set as err.tokens', async () => {
  const token = await idToken();
  const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', issuer: ISSUER, jwksUri: `${ISSUER}jwks` });
  for (const [jwksAnswer, code] of [
    [() => new Response('', { status: 503 }), 'ID_TOKEN_KEY_NOT_FOUND'],
    [() => { throw new TypeError('Failed to fetch'); }, 'FETCH_FAILED'],
  ]) {
    server({ id_token: token }, jwksAnswer);
    const err = await client.exchangeCode({ ...EXCHANGE, verifySignature: true }).catch((e) => e);
    assert.equal(err.code, code, err.message);
    assert.equal(err.tokens?.accessToken, 'at-1', 'the tokens the server issued are on the error');
    assert.equal(err.tokens.refreshToken, 'rt-1');
    assert.equal(err.tokens.idToken, token);
    assert.ok(!Object.keys(err).includes('tokens'), 'not enumerable: a logged error does not print them');
    assert.equal(await client.getTokens(), undefined, 'and not stored');
  }
  // A signature that does not verify: the same.
  server({ id_token: await idToken({}, (await jose.generateKeyPair('ES256')).privateKey) }, () => JWKS);
  const err = await client.exchangeCode({ ...EXCHANGE, verifySignature: true }).catch((e) => e);
  assert.equal(err.code, 'JWS_SIGNATURE_INVALID', err.message);
  assert.equal(err.tokens?.accessToken, 'at-1');
  assert.equal(await client.getTokens(), undefined);
});

test('oidc_core_3_1_3_7_item_13: exchangeCode({ maxAge }) needs the issuer, and an answer with an ID token', async () => {
  const now = nowSeconds();
  const calls = server({ id_token: await idToken({ auth_time: now - 86_400 }) });
  const bare = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa' });
  await assert.rejects(bare.exchangeCode({ ...EXCHANGE, maxAge: 60 }), { code: 'ARGUMENT_INVALID', message: /issuer/ });
  assert.deepEqual(calls, [], 'refused before the code is spent');
  const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', issuer: ISSUER });
  await assert.rejects(client.exchangeCode({ ...EXCHANGE, maxAge: 60 }), { code: 'ID_TOKEN_AUTH_TIME_TOO_OLD' });
  server({});
  const err = await client.exchangeCode({ ...EXCHANGE, maxAge: 60 }).catch((e) => e);
  assert.equal(err.code, 'TOKEN_RESPONSE_INVALID', err.message);
  assert.match(err.message, /max_age/);
  assert.equal(err.tokens?.accessToken, 'at-1');
  assert.equal(await client.getTokens(), undefined);
  server({ id_token: await idToken({ auth_time: now - 10 }) });
  assert.equal((await client.exchangeCode({ ...EXCHANGE, maxAge: 60 })).idTokenClaims.auth_time, now - 10);
  assert.equal((await client.getTokens()).accessToken, 'at-1');
});

// ----- DPoP nonces: the authorization server's apart from the resource servers' ---------

test('rfc9449_8_2_and_9: a token endpoint and a resource on one origin keep their own nonces: no request is rejected after the first challenge of each', async () => {
  const nonceOf = (proof) => JSON.parse(Buffer.from(proof.split('.')[1], 'base64url')).nonce;
  const log = [];
  mockFetch((url, init) => {
    const nonce = nonceOf(new Headers(init.headers).get('dpop'));
    const path = new URL(url).pathname;
    if (path === '/oauth/token' || path === '/oauth/par') {
      const ok = nonce === 'AS-1';
      log.push(`${path} ${nonce} ${ok ? 'ok' : 'rejected'}`);
      if (!ok) return Response.json({ error: 'use_dpop_nonce' }, { status: 400, headers: { 'dpop-nonce': 'AS-1' } });
      if (path === '/oauth/par') return Response.json({ request_uri: 'urn:ietf:params:oauth:request_uri:x', expires_in: 60 }, { status: 201, headers: { 'dpop-nonce': 'AS-1' } });
      return Response.json({ access_token: 'at-1', token_type: 'DPoP', refresh_token: 'rt-1', expires_in: 300 }, { headers: { 'dpop-nonce': 'AS-1' } });
    }
    const ok = nonce === 'RS-1';
    log.push(`${path} ${nonce} ${ok ? 'ok' : 'rejected'}`);
    if (!ok) return new Response('', { status: 401, headers: { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'RS-1' } });
    return Response.json({ sub: 'user-1' }, { headers: { 'dpop-nonce': 'RS-1' } });
  });
  for (const dpopKey of [DpopKey.generate(), await DpopKey.generateNonExtractable()]) {
    log.length = 0;
    const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', dpopKey, pushedAuthorizationRequestEndpoint: 'https://as.example/oauth/par' });
    await client.exchangeCode(EXCHANGE);
    await fetchWithDpop('https://as.example/userinfo', {}, { accessToken: 'at-1', dpopKey });
    await client.refresh('rt-1');
    await fetchWithDpop('https://as.example/userinfo', {}, { accessToken: 'at-1', dpopKey });
    await client.pushAuthorizationRequest({ redirectUri: 'https://app.example/cb', codeChallenge: edge.generatePkce().codeChallenge, state: 's' });
    await fetchWithDpop('https://as.example/api/items', { method: 'POST' }, { accessToken: 'at-1', dpopKey });
    assert.deepEqual(log, [
      '/oauth/token undefined rejected',
      '/oauth/token AS-1 ok',
      '/userinfo undefined rejected',
      '/userinfo RS-1 ok',
      '/oauth/token AS-1 ok',
      '/userinfo RS-1 ok',
      '/oauth/par AS-1 ok',
      '/api/items RS-1 ok',
    ], dpopKey.backend);
  }
});

// ----- argument errors are EdgeOAuthErrors, never a platform TypeError -------------------

test('URLs the platform cannot parse, a mistyped algorithms and a JWKS that is no JSON are EdgeOAuthErrors with a code', async () => {
  const calls = mockFetch(() => new Response('', { status: 404 }));
  for (const host of ['1.2.3.4.5', '999.1.1.1', 'xn--']) {
    const err = assertFails(() => new TokenClient({ tokenEndpoint: `https://${host}/oauth/token`, clientId: 'x' }), 'URL_INVALID', 'tokenEndpoint');
    assert.equal(err.name, 'EdgeOAuthError');
    const rejected = await TokenClient.discover(`https://${host}/`, { clientId: 'x' }).catch((e) => e);
    assert.equal(rejected.name, 'EdgeOAuthError', `discover ${host}: ${rejected}`);
    assert.equal(rejected.code, 'URL_INVALID', rejected.message);
  }
  assert.deepEqual(calls, [], 'nothing was fetched');
  const token = await idToken();
  const opts = { issuer: ISSUER, clientId: 'spa', jwks: JWKS };
  for (const algorithms of [5, 'ES256', [5], { 0: 'ES256', length: 1 }]) {
    const err = await edge.verifyIdToken(token, { ...opts, algorithms }).catch((e) => e);
    assert.equal(err.name, 'EdgeOAuthError', `${JSON.stringify(algorithms)}: ${err}`);
    assert.equal(err.code, 'ARGUMENT_INVALID');
    assert.match(err.message, /algorithms/);
  }
  assert.equal((await edge.verifyIdToken(token, { ...opts, algorithms: ['ES256'] })).sub, 'user-1');
  assert.equal((await edge.verifyIdToken(token, { ...opts, algorithms: null })).sub, 'user-1');
  const cyclic = { keys: [] };
  cyclic.self = cyclic;
  for (const jwks of [cyclic, { keys: [1n] }]) {
    const err = assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks }), 'ARGUMENT_INVALID', 'jwks');
    assert.equal(err.name, 'EdgeOAuthError');
  }
});

// ----- the issuer's JWKS: a bad document is the server's fault, a bad key is skipped -----

test('oidc_core_10_1_1: a jwks_uri that answers a document that is no JWK Set is ID_TOKEN_KEY_NOT_FOUND naming it, not an argument error', async () => {
  const token = await idToken();
  const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', issuer: ISSUER, jwksUri: `${ISSUER}jwks` });
  for (const body of ['<html>oops</html>', '{"keys":{}}', '[]', '']) {
    server({ id_token: token }, () => new Response(body, { status: 200, headers: { 'content-type': 'text/html' } }));
    const err = await client.exchangeCode({ ...EXCHANGE, verifySignature: true }).catch((e) => e);
    assert.equal(err.code, 'ID_TOKEN_KEY_NOT_FOUND', `${body}: ${err.code} ${err.message}`);
    assert.ok(err.message.includes(`${ISSUER}jwks`), err.message);
    assert.match(err.message, /JWK Set/);
    assert.equal(err.tokens?.accessToken, 'at-1');
  }
  server({ id_token: token }, () => JWKS);
  assert.equal((await client.exchangeCode({ ...EXCHANGE, verifySignature: true })).idTokenClaims.sub, 'user-1');
});

test('oidc_core_10_1_1: verifyIdToken skips a JWKS key WebCrypto cannot import, as validateIdTokenClaims does', async () => {
  const token = await idToken();
  const opts = { issuer: ISSUER, clientId: 'spa' };
  const bad = { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' };
  const good = { ...JWKS.keys[0], kid: undefined };
  const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url'));
  assert.equal(header.kid, 'k1');
  const unnamed = await new jose.SignJWT({ iss: ISSUER, aud: 'spa', sub: 'user-1', iat: nowSeconds(), exp: nowSeconds() + 300 })
    .setProtectedHeader({ alg: 'ES256' }).sign(signing.privateKey);
  for (const jwks of [{ keys: [bad, good] }, { keys: [good, bad] }]) {
    assert.equal((await edge.verifyIdToken(unnamed, { ...opts, jwks: JSON.parse(JSON.stringify(jwks)) })).sub, 'user-1');
    assert.equal(edge.validateIdTokenClaims(unnamed, { ...opts, jwks: JSON.parse(JSON.stringify(jwks)) }).sub, 'user-1');
  }
  assert.equal((await edge.verifyIdToken(token, { ...opts, jwks: { keys: [{ ...bad, kid: 'k1' }, JWKS.keys[0]] } })).sub, 'user-1');
  // Only keys that cannot be imported: no key can verify it, as the synchronous check says.
  await assert.rejects(edge.verifyIdToken(unnamed, { ...opts, jwks: { keys: [bad] } }), { code: 'ID_TOKEN_KEY_NOT_FOUND' });
  assertFails(() => edge.validateIdTokenClaims(unnamed, { ...opts, jwks: { keys: [bad] } }), 'ID_TOKEN_KEY_NOT_FOUND');
  // A key that imports but did not sign it: the signature is invalid.
  const other = await jose.exportJWK((await jose.generateKeyPair('ES256')).publicKey);
  await assert.rejects(edge.verifyIdToken(unnamed, { ...opts, jwks: { keys: [bad, other] } }), { code: 'JWS_SIGNATURE_INVALID' });
});

// ----- refresh: a returned ID token is checked (OIDC Core §12.2) ---------------------------

test('oidc_core_12_2: a refreshed ID token is checked as the code exchange checks it, and its sub must be the stored one', async () => {
  const now = nowSeconds();
  const store = new edge.MemoryTokenStore();
  const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', issuer: ISSUER, store });
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: 'spa', sub: 'user-1', iat: now, exp: now + 300 })).toString('base64url')}.`;
  for (const [token, code] of [
    [none, 'JWS_ALG_NOT_ALLOWED'],
    [await idToken({ iss: 'https://evil.example/' }), 'ID_TOKEN_ISS_MISMATCH'],
    [await idToken({ aud: 'other' }), 'ID_TOKEN_AUD_MISMATCH'],
    [await idToken({ aud: ['spa', 'other'], azp: 'other' }), ['ID_TOKEN_AZP_MISMATCH', 'ID_TOKEN_AUD_UNTRUSTED']],
    [await idToken({ sub: 'someone-else' }), 'ID_TOKEN_CLAIM_INVALID'],
  ]) {
    server({ id_token: await idToken() });
    await client.exchangeCode(EXCHANGE);
    assert.equal((await client.getTokens()).idTokenClaims.sub, 'user-1');
    const calls = server({ access_token: 'at-2', refresh_token: 'rt-2', id_token: token });
    const err = await client.refresh('rt-1').catch((e) => e);
    assert.ok([code].flat().includes(err.code), `${code}: ${err.code} ${err.message}`);
    if (err.code === 'ID_TOKEN_CLAIM_INVALID') assert.match(err.message, /sub/);
    assert.equal(calls.length, 1, 'the refresh was sent');
    assert.equal(err.tokens?.accessToken, 'at-2', 'the refused set is on the error');
    assert.equal(await client.getTokens(), undefined, 'not stored, and the session is over');
  }
  // Refused for its times only: the set is kept without the ID token.
  for (const [token, code] of [
    [await idToken({ exp: now - 3600, iat: now - 7200 }), 'ID_TOKEN_EXPIRED'],
    [await idToken({ iat: now + 3600, exp: now + 7200 }), 'ID_TOKEN_IAT_IN_FUTURE'],
  ]) {
    server({ id_token: await idToken() });
    await client.exchangeCode(EXCHANGE);
    server({ access_token: 'at-2', refresh_token: 'rt-2', id_token: token });
    const kept = await client.refresh('rt-1');
    assert.equal(kept.idToken, undefined, code);
    assert.equal(kept.idTokenClaims, undefined, code);
    assert.equal((await client.getTokens()).refreshToken, 'rt-2', code);
  }
  server({ id_token: await idToken() });
  await client.exchangeCode(EXCHANGE);
  // A valid one is returned with its claims, and stored.
  server({ access_token: 'at-2', refresh_token: 'rt-2', id_token: await idToken({ nonce: undefined }) });
  const refreshed = await client.refresh('rt-1');
  assert.equal(refreshed.idTokenClaims.sub, 'user-1');
  assert.equal((await client.getTokens()).accessToken, 'at-2');
  // Without a stored ID token there is no sub to compare.
  const fresh = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', issuer: ISSUER });
  server({ access_token: 'at-3', refresh_token: 'rt-3', id_token: await idToken({ sub: 'user-2' }) });
  assert.equal((await fresh.refresh('rt-9')).idTokenClaims.sub, 'user-2');
  server({ access_token: 'at-4', refresh_token: 'rt-4', id_token: await idToken() });
  await assert.rejects(fresh.refresh('rt-3'), { code: 'ID_TOKEN_CLAIM_INVALID' }, 'the sub of the set the first refresh stored');
  // A client that does not know its issuer cannot check it: the ID token is returned as it came.
  const bare = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa' });
  server({ access_token: 'at-4', refresh_token: 'rt-4', id_token: none });
  const unchecked = await bare.refresh('rt-1');
  assert.equal(unchecked.idToken, none);
  assert.equal(unchecked.idTokenClaims, undefined);
});

/**
 * A token endpoint that rotates refresh tokens with reuse detection (RFC 9700 §4.14.2):
 * each refresh token works once, and a spent one revokes the whole family. `idClaims()`
 * gives the claims of the next ID token on top of the defaults.
 */
function rotatingServer(idClaims) {
  const state = { spent: new Set(), revoked: false, n: 1, sent: [] };
  state.calls = mockFetch(async (url, init) => {
    const form = new URLSearchParams(init.body);
    if (form.get('grant_type') === 'authorization_code') {
      return { access_token: 'at-1', token_type: 'Bearer', expires_in: 300, refresh_token: 'rt-1', id_token: await idToken() };
    }
    const rt = form.get('refresh_token');
    state.sent.push(rt);
    if (state.revoked || state.spent.has(rt)) {
      state.revoked = true;
      return Response.json({ error: 'invalid_grant', error_description: 'reuse detected' }, { status: 400 });
    }
    state.spent.add(rt);
    state.n++;
    return { access_token: `at-${state.n}`, token_type: 'Bearer', expires_in: 300, refresh_token: `rt-${state.n}`, id_token: await idToken(idClaims()) };
  });
  return state;
}

test('rfc6749_6: a refresh whose answer is refused for whom it is ends the session, and the spent token is never sent again', async () => {
  for (const claims of [{ sub: 'user-2' }, { iss: 'https://evil.example/' }]) {
    let next = claims;
    const srv = rotatingServer(() => next);
    const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', issuer: ISSUER });
    await client.exchangeCode(EXCHANGE);
    const err = await client.refresh('rt-1').catch((e) => e);
    assert.ok(['ID_TOKEN_CLAIM_INVALID', 'ID_TOKEN_ISS_MISMATCH'].includes(err.code), err.message);
    assert.equal(err.tokens?.refreshToken, 'rt-2', 'the issued set is on the error, for the app to revoke');
    assert.equal(await client.getTokens(), undefined, 'the session is over: nothing holds the spent rt-1');
    next = {};
    // The page still holds rt-1: it is refused without a request.
    const again = await client.refresh('rt-1').catch((e) => e);
    assert.equal(again.code, err.code, again.message);
    assert.equal(again.tokens, undefined);
    assert.deepEqual(srv.sent, ['rt-1'], 'rt-1 was sent once');
    assert.equal(srv.revoked, false, 'the server never saw a reuse');
    // A new sign-in is a new session, refreshed as usual.
    await client.exchangeCode(EXCHANGE);
    srv.spent.clear();
    assert.equal((await client.refresh('rt-1')).refreshToken, `rt-${srv.n}`);
  }
});

test('rfc6749_6: a refresh whose ID token is refused for its times keeps the rotated set, without the ID token', async () => {
  const srv = rotatingServer(() => ({ iat: nowSeconds() + 120, exp: nowSeconds() + 600 }));
  const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', issuer: ISSUER });
  await client.exchangeCode(EXCHANGE);
  const tokens = await client.refresh('rt-1');
  assert.equal(tokens.refreshToken, 'rt-2');
  assert.equal(tokens.idToken, undefined, 'the refused ID token is dropped');
  assert.equal(tokens.idTokenClaims, undefined);
  assert.deepEqual(await client.getTokens(), tokens, 'the rotated set is stored');
  // The old token resolves to the stored set; the next refresh sends rt-2.
  assert.deepEqual(await client.refresh('rt-1'), tokens);
  await client.refresh('rt-2');
  assert.deepEqual(srv.sent, ['rt-1', 'rt-2']);
  assert.equal(srv.revoked, false);
});

test('rfc9449_5: a Bearer answer to a DPoP client carries the refused set as err.tokens, and on refresh ends the session instead of offering the spent token again', async () => {
  const dpopKey = await DpopKey.generateNonExtractable();
  const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', dpopKey });
  let answer = { access_token: 'at-1', token_type: 'DPoP', refresh_token: 'rt-1', expires_in: 300 };
  const calls = mockFetch(() => answer);
  await client.exchangeCode(EXCHANGE);
  answer = { access_token: 'at-2', token_type: 'Bearer', refresh_token: 'rt-2', expires_in: 300 };
  const err = await client.refresh('rt-1').catch((e) => e);
  assert.equal(err.code, 'TOKEN_TYPE_MISMATCH');
  assert.equal(err.tokens?.refreshToken, 'rt-2', 'the refused set is on the error, to revoke it');
  assert.ok(!Object.keys(err).includes('tokens'), 'not enumerable');
  assert.equal(await client.getTokens(), undefined, 'the session holding the spent rt-1 is over');
  const sent = calls.length;
  await assert.rejects(client.refresh('rt-1'), { code: 'TOKEN_TYPE_MISMATCH' });
  assert.equal(calls.length, sent, 'rt-1 is not sent again');
  // exchangeCode and pollDeviceToken alike: the set is on the error, stored nowhere.
  const exchanged = await client.exchangeCode(EXCHANGE).catch((e) => e);
  assert.equal(exchanged.code, 'TOKEN_TYPE_MISMATCH');
  assert.equal(exchanged.tokens?.accessToken, 'at-2');
  assert.equal(await client.getTokens(), undefined);
  // An error answer is no set: nothing on the error, and the token may be sent again.
  answer = Response.json({ error: 'temporarily_unavailable' }, { status: 503 });
  const failed = await client.refresh('rt-7').catch((e) => e);
  assert.equal(failed.code, 'OAUTH_ERROR');
  assert.equal(failed.tokens, undefined);
  const device = { device_code: 'dc-1', user_code: 'ABCD-EFGH', verification_uri: 'https://as.example/device', expires_in: 600, interval: 1 };
  mockFetch((url) => (url === TOKEN_ENDPOINT ? { access_token: 'at-3', token_type: 'Bearer', refresh_token: 'rt-3' } : device));
  const polled = await client.pollDeviceToken(await client.deviceAuthorization()).catch((e) => e);
  assert.equal(polled.code, 'TOKEN_TYPE_MISMATCH');
  assert.equal(polled.tokens?.refreshToken, 'rt-3');
});

test('oidc_core_12_2: a refreshed ID token keeps the original nonce (if it has one) and auth_time', async () => {
  const authTime = nowSeconds() - 10;
  for (const [claims, code, mentions] of [
    [{ nonce: 'n-other', auth_time: authTime }, 'ID_TOKEN_NONCE_MISMATCH', 'nonce'],
    [{ nonce: 'n-1', auth_time: authTime + 5000 }, 'ID_TOKEN_CLAIM_INVALID', 'auth_time'],
  ]) {
    const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', issuer: ISSUER });
    server({ id_token: await idToken({ nonce: 'n-1', auth_time: authTime }) });
    await client.exchangeCode({ ...EXCHANGE, nonce: 'n-1' });
    server({ access_token: 'at-2', refresh_token: 'rt-2', id_token: await idToken(claims) });
    const err = await client.refresh('rt-1').catch((e) => e);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, new RegExp(mentions));
    assert.equal(err.tokens?.refreshToken, 'rt-2');
    assert.equal(await client.getTokens(), undefined, 'the session is over');
  }
  // The same nonce and auth_time, or none: accepted.
  const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', issuer: ISSUER });
  server({ id_token: await idToken({ nonce: 'n-1', auth_time: authTime }) });
  await client.exchangeCode({ ...EXCHANGE, nonce: 'n-1' });
  server({ access_token: 'at-2', refresh_token: 'rt-2', id_token: await idToken({ nonce: 'n-1', auth_time: authTime }) });
  assert.equal((await client.refresh('rt-1')).idTokenClaims.nonce, 'n-1');
  server({ access_token: 'at-3', refresh_token: 'rt-3', id_token: await idToken() });
  assert.equal((await client.refresh('rt-2')).idTokenClaims.sub, 'user-1');
});

// ----- discover: the issuer is checked before anything is fetched; OIDC, then RFC 8414 ----

test('rfc8414_3: discover refuses an insecure issuer before any fetch, and tries RFC 8414 after a failed OIDC fetch', async () => {
  const document = { issuer: ISSUER, token_endpoint: TOKEN_ENDPOINT, response_types_supported: ['code'] };
  let calls = mockFetch(() => document);
  for (const [issuer, code] of [['http://as.example/', 'URL_INSECURE'], ['https://as.example/?tenant=a', 'URL_INVALID'], ['https://as.example/#x', 'URL_INVALID']]) {
    await assert.rejects(TokenClient.discover(issuer, { clientId: 'spa' }), { code }, issuer);
  }
  assert.deepEqual(calls, [], 'nothing was fetched');
  // A loopback issuer may be http (local development).
  const local = 'http://127.0.0.1:8787/';
  calls = mockFetch(() => ({ ...document, issuer: local, token_endpoint: `${local}oauth/token` }));
  assert.equal((await TokenClient.discover(local, { clientId: 'spa' })).tokenEndpoint, `${local}oauth/token`);
  // The OIDC location fails before an answer (e.g. a CORS error on its 404): RFC 8414 is tried.
  calls = mockFetch((url) => {
    if (url.includes('openid-configuration')) throw new TypeError('Failed to fetch');
    return document;
  });
  assert.equal((await TokenClient.discover(ISSUER, { clientId: 'spa' })).tokenEndpoint, TOKEN_ENDPOINT);
  assert.deepEqual(calls.map((c) => c.url), [`${ISSUER}.well-known/openid-configuration`, `${ISSUER}.well-known/oauth-authorization-server`]);
  // Both fail: the last failure is the answer.
  calls = mockFetch(() => { throw new TypeError('Failed to fetch'); });
  await assert.rejects(TokenClient.discover(ISSUER, { clientId: 'spa' }), { code: 'FETCH_FAILED' });
  assert.equal(calls.length, 2);
  calls = mockFetch((url) => {
    if (url.includes('openid-configuration')) throw new TypeError('Failed to fetch');
    return new Response('', { status: 404 });
  });
  await assert.rejects(TokenClient.discover(ISSUER, { clientId: 'spa' }), { code: 'METADATA_INVALID', message: /404/ });
});

test('rfc8628_3_4: pollDeviceToken checks the JWKS it needs before polling, and a refused ID token carries the set as err.tokens', async () => {
  const device = { device_code: 'dc-1', user_code: 'ABCD-EFGH', verification_uri: 'https://as.example/device', expires_in: 600, interval: 1 };
  const token = await idToken({ aud: 'other' });
  const calls = mockFetch((url) => (url === TOKEN_ENDPOINT
    ? { access_token: 'at-1', token_type: 'Bearer', refresh_token: 'rt-1', id_token: token }
    : Response.json(device)));
  const bare = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', issuer: ISSUER });
  const authorization = await bare.deviceAuthorization();
  calls.length = 0;
  await assert.rejects(bare.pollDeviceToken(authorization, { verifySignature: true }), { code: 'ARGUMENT_INVALID', message: /jwksUri/ });
  await assert.rejects(bare.pollDeviceToken(authorization, { verifySignature: true, jwks: 5 }), { code: 'ARGUMENT_INVALID', message: /jwks/ });
  assert.deepEqual(calls, [], 'no poll was sent');
  const err = await bare.pollDeviceToken(authorization, { verifySignature: true, jwks: JWKS }).catch((e) => e);
  assert.equal(err.code, 'ID_TOKEN_AUD_MISMATCH', err.message);
  assert.equal(err.tokens?.accessToken, 'at-1');
  assert.equal(await bare.getTokens(), undefined);
});

test('rfc7518_3_3: verifyIdToken skips RSA keys under 2048 bits and keys whose verify fails, and goes on to the next candidate', async () => {
  const now = nowSeconds();
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const input = `${b64({ alg: 'RS256' })}.${b64({ iss: ISSUER, aud: 'spa', sub: 'u', iat: now, exp: now + 300 })}`;
  const token = `${input}.${createSign('sha256').update(input).sign(weak.privateKey).toString('base64url')}`;
  const opts = { issuer: ISSUER, clientId: 'spa' };
  await assert.rejects(edge.verifyIdToken(token, { ...opts, jwks: { keys: [weak.publicKey.export({ format: 'jwk' })] } }), { code: 'ID_TOKEN_KEY_NOT_FOUND' });
  // A PS256 token; a 512-bit key first, whose verify throws, then the signing key.
  const good = await jose.generateKeyPair('PS256', { extractable: true });
  const ps = await new jose.SignJWT({ iss: ISSUER, aud: 'spa', sub: 'u', iat: now, exp: now + 300 }).setProtectedHeader({ alg: 'PS256' }).sign(good.privateKey);
  const tiny = generateKeyPairSync('rsa', { modulusLength: 512 }).publicKey.export({ format: 'jwk' });
  const big = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
  assert.equal((await edge.verifyIdToken(ps, { ...opts, jwks: { keys: [tiny, big, await jose.exportJWK(good.publicKey)] } })).sub, 'u');
  await assert.rejects(edge.verifyIdToken(ps, { ...opts, jwks: { keys: [tiny, big] } }), { code: 'JWS_SIGNATURE_INVALID' });
});

test('rfc9207_2_4: a client that knows its issuer refuses an issuer option that is another', () => {
  const client = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa', metadata: metadataOf({ authorization_response_iss_parameter_supported: true }) });
  const evil = `https://app.example/cb?code=c-1&state=s&iss=${encodeURIComponent('https://evil.example/')}`;
  assertFails(() => client.parseAuthorizationResponse(evil, { state: 's', issuer: 'https://evil.example/' }), 'ARGUMENT_INVALID', 'issuer');
  assert.equal(client.parseAuthorizationResponse(`https://app.example/cb?code=c-1&state=s&iss=${encodeURIComponent(ISSUER)}`, { state: 's', issuer: ISSUER }).code, 'c-1');
  // A client without a known issuer takes it.
  const bare = new TokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'spa' });
  assert.equal(bare.parseAuthorizationResponse(`https://app.example/cb?code=c-1&state=s&iss=${encodeURIComponent(ISSUER)}`, { state: 's', issuer: ISSUER }).code, 'c-1');
});
