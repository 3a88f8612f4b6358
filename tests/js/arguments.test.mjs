// Every export checks the JS type of its arguments itself: a non-string where a string is
// expected is an Error with `.code === 'ARGUMENT_INVALID'` (a rejected promise for the
// async methods), never a wasm trap, a bare TypeError or a silent coercion, and the module
// keeps working afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertFails, edge } from './support.mjs';

const { DpopKey, TokenClient } = edge;

const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const NOT_STRINGS = [123, {}, undefined, null, true, [], 1n, Symbol('s'), () => 'x', new String('x')];
const describe = (v) => (typeof v === 'symbol' ? v.toString() : typeof v === 'bigint' ? `${v}n` : typeof v === 'function' ? 'a function' : JSON.stringify(v) ?? String(v));

/** The module still works: a wasm trap would have poisoned it. */
function assertModuleWorks() {
  assert.equal(edge.calculateCodeChallenge(VERIFIER), CHALLENGE);
  assert.equal(typeof DpopKey.generate().createProofSync({ htm: 'GET', htu: 'https://rs.example/' }), 'string');
}

/** Calls an async export: it must return a promise (never throw) that rejects with `code`. */
async function assertRejects(call, code, what) {
  let promise;
  assert.doesNotThrow(() => { promise = call(); }, `${what} threw synchronously`);
  assert.ok(promise instanceof Promise, `${what} did not return a promise`);
  const err = await promise.then(() => assert.fail(`${what} resolved`), (e) => e);
  assert.ok(err instanceof Error, `${what}: not an Error: ${err}`);
  assert.equal(err.code, code, `${what}: ${err.code}: ${err.message}`);
}

test('calculateCodeChallenge: a non-string verifier is ARGUMENT_INVALID, not a trap', () => {
  for (const v of NOT_STRINGS) {
    assertFails(() => edge.calculateCodeChallenge(v), 'ARGUMENT_INVALID', 'verifier');
    assertModuleWorks();
  }
  assertFails(() => edge.calculateCodeChallenge(), 'ARGUMENT_INVALID');
  assertModuleWorks();
});

test('parseTokenResponse: a non-string bodyText is ARGUMENT_INVALID', () => {
  for (const v of NOT_STRINGS) {
    assertFails(() => edge.parseTokenResponse(200, v), 'ARGUMENT_INVALID', 'bodyText');
    assertModuleWorks();
  }
});

test('parseTokenResponse: status must be an integer 100-599, never wrapped, rounded or coerced', () => {
  const body = '{"access_token":"a","token_type":"Bearer"}';
  for (const status of [65736, 200.7, '200', NaN, Infinity, -200, 99, 600, 0, undefined, null, {}, 200n, new Number(200)]) {
    assertFails(() => edge.parseTokenResponse(status, body), 'ARGUMENT_INVALID', 'status');
    assertModuleWorks();
  }
  assert.equal(edge.parseTokenResponse(200, body).accessToken, 'a');
  assert.equal(edge.parseTokenResponse(200.0, body).accessToken, 'a');
  assertFails(() => edge.parseTokenResponse(400, '{"error":"invalid_grant"}'), 'OAUTH_ERROR');
  assertFails(() => edge.parseTokenResponse(599, ''), 'TOKEN_RESPONSE_NOT_JSON');
});

test('TokenClient.refresh and revoke: a non-string token rejects with ARGUMENT_INVALID', async () => {
  const client = new TokenClient({ tokenEndpoint: 'http://127.0.0.1:9/oauth/token', clientId: 'spa' });
  for (const v of NOT_STRINGS) {
    await assertRejects(() => client.refresh(v), 'ARGUMENT_INVALID', `refresh(${describe(v)})`);
    await assertRejects(() => client.revoke(v), 'ARGUMENT_INVALID', `revoke(${describe(v)})`);
    assertModuleWorks();
  }
});

test('DpopKey.load, remove and persist: a non-string name rejects with ARGUMENT_INVALID', async () => {
  const key = DpopKey.generate();
  for (const v of [...NOT_STRINGS, '']) {
    await assertRejects(() => DpopKey.load(v), 'ARGUMENT_INVALID', `load(${describe(v)})`);
    await assertRejects(() => DpopKey.remove(v), 'ARGUMENT_INVALID', `remove(${describe(v)})`);
    await assertRejects(() => key.persist(v), 'ARGUMENT_INVALID', `persist(${describe(v)})`);
    assertModuleWorks();
  }
  // A valid name gets past the argument check (Node has no IndexedDB; p256 keys are not persisted).
  await assertRejects(() => DpopKey.load('session'), 'STORAGE_UNAVAILABLE', 'load');
  await assertRejects(() => key.persist('session'), 'KEY_BACKEND_UNSUPPORTED', 'persist');
});

test('the other exports reject non-object arguments with ARGUMENT_INVALID', async () => {
  for (const v of [123, 'x', undefined, null]) {
    assertFails(() => edge.calculateJwkThumbprint(v), ['ARGUMENT_INVALID', 'JSON_INVALID', 'JWK_INVALID']);
    assertFails(() => DpopKey.fromJwk(v), ['ARGUMENT_INVALID', 'JSON_INVALID', 'JWK_INVALID']);
    assertFails(() => edge.authorizationCodeGrantBody(v), 'ARGUMENT_INVALID');
    assertFails(() => edge.refreshTokenGrantBody(v), 'ARGUMENT_INVALID');
    assertFails(() => edge.clientCredentialsGrantBody(v), 'ARGUMENT_INVALID');
    assertFails(() => new TokenClient(v), 'ARGUMENT_INVALID');
    assertFails(() => DpopKey.generate().createProofSync(v), 'ARGUMENT_INVALID');
    await assertRejects(() => DpopKey.generate().createProof(v), 'ARGUMENT_INVALID', 'createProof');
    await assertRejects(() => DpopKey.fromCryptoKeyPair(v), 'ARGUMENT_INVALID', 'fromCryptoKeyPair');
    await assertRejects(() => edge.fetchWithDpop(v, {}, { accessToken: 't', dpopKey: DpopKey.generate() }), v === 'x' ? 'URL_INVALID' : 'ARGUMENT_INVALID', 'fetchWithDpop');
    assertModuleWorks();
  }
});

// How the JS layer reads options objects and headers: each member once, a throwing
// getter fails the call with its own error, lifetimes keep their value.
const AUTHORIZE = { authorizationEndpoint: 'https://as.example/authorize', clientId: 'spa', redirectUri: 'https://app.example/', codeChallenge: CHALLENGE };
const thrower = (obj, name) => Object.defineProperty({ ...obj }, name, { get() { throw new Error(`boom ${name}`); }, enumerable: true });

test('a throwing option getter fails the call with its error (it is never read as absent)', () => {
  assert.throws(() => edge.buildAuthorizationUrl(thrower(AUTHORIZE, 'scope')), { message: 'boom scope' });
  const claims = { issuer: 'https://as.example/', clientId: 'spa', now: 1_700_000_000 };
  // A nonce that cannot be read must not turn the nonce check off.
  assert.throws(() => edge.validateIdTokenClaims('a.b.c', thrower(claims, 'nonce')), { message: 'boom nonce' });
  assert.throws(() => edge.authorizationCodeGrantBody(thrower({ code: 'c', redirectUri: 'https://app.example/', codeVerifier: VERIFIER }, 'codeVerifier')), { message: 'boom codeVerifier' });
  assertFails(() => edge.parseAuthorizationResponse('https://app.example/?code=c&state=s', thrower({}, 'state')), 'ARGUMENT_INVALID', 'options.state is unreadable');
  assertModuleWorks();
});

test('each option member is read once', () => {
  const reads = new Map();
  const counted = (obj) => new Proxy(obj, { get(target, key, receiver) {
    if (typeof key === 'string') reads.set(key, (reads.get(key) ?? 0) + 1);
    return Reflect.get(target, key, receiver);
  } });
  edge.buildAuthorizationUrl(counted({ authorizationEndpoint: 'https://as.example/authorize', clientId: 'spa', requestUri: 'urn:ietf:params:oauth:request_uri:x', scope: null }));
  assert.ok(reads.size > 3, 'the members were read');
  for (const [key, n] of reads) assert.equal(n, 1, `${key} was read ${n} times`);
  reads.clear();
  edge.buildParRequestBody(counted({ ...AUTHORIZE, requestUri: null }));
  for (const [key, n] of reads) assert.equal(n, 1, `${key} was read ${n} times`);
  // A getter that answers null first and a string after: the one read decides.
  let n = 0;
  const flip = { authorizationEndpoint: 'https://as.example/authorize', clientId: 'spa', requestUri: 'urn:x', get scope() { return n++ === 0 ? null : 'x'; } };
  assert.equal(edge.buildAuthorizationUrl(flip), 'https://as.example/authorize?client_id=spa&request_uri=urn%3Ax');
});

test('lifetimes above 2^63 keep their value (as the nearest JS number)', () => {
  const set = edge.parseTokenResponse(200, '{"access_token":"x","token_type":"Bearer","expires_in":10000000000000000000}');
  assert.equal(set.expiresIn, 1e19);
  assert.ok(set.expiresAt >= 1e19, `expiresAt ${set.expiresAt} is at least expiresIn`);
  const par = edge.parseParResponse(201, '{"request_uri":"urn:x","expires_in":18446744073709551615}');
  assert.equal(par.expiresIn, 18446744073709551615);
});

test('parseTokenResponse refuses headers it cannot read, each with its own words', () => {
  // The headers are read for the nonce of an error answer.
  const body = '{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}';
  const NONCE = 'eyJ7S_zG.eyJH0-Z.HX4w-7v';
  assertFails(() => edge.parseTokenResponse(400, body, 'DPoP-Nonce: n'), 'ARGUMENT_INVALID', 'headers must be a Headers instance or a plain object');
  assertFails(() => edge.parseTokenResponse(400, body, { get() { throw new Error('no'); } }), 'ARGUMENT_INVALID', 'headers.get failed');
  assertFails(() => edge.parseTokenResponse(400, body, { 'dpop-nonce': 5 }), 'ARGUMENT_INVALID', 'header values must be strings');
  // Read case-insensitively from a plain object; a Headers instance as well.
  for (const headers of [{ 'DPoP-Nonce': NONCE }, new Headers({ 'dpop-nonce': NONCE })]) {
    const err = assertFails(() => edge.parseTokenResponse(400, body, headers), 'OAUTH_ERROR');
    assert.equal(err.dpopNonce, NONCE);
  }
});
