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
