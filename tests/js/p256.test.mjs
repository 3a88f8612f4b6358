// edge-oauth/p256 (src/js/p256.js): the JS arguments of DpopKey.fromJwk and
// createProofSync / createProof are read and checked in JS, then handed to the wasm as
// plain strings and numbers. Each refusal is the same coded error the default entry gives.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertFails, edge, nowSeconds } from './support.mjs';

const { DpopKey } = edge;

const KEY = { kty: 'EC', crv: 'P-256', x: 'XcWe07sHAnFNOpsotxeg3Vlm5-eHyQr_wes4t1HK-_U', y: '3Gv8zr_Q8IeEyw7OFr9bfQjCSvONJgzmyJlbvFZO80k', d: 'ecphCvUxFH0Ay874QennDfSNd357LCA9QVdDenqL9vM' };
const KEY_JKT = 'VIqXp_dbQ5G9BGpq6Gi9cYH2ZiAmVtMTo-MUc4zEGGo';
const HTU = 'https://as.example/token';

/** The decoded payload of a proof. */
function payload(proof) {
  return JSON.parse(Buffer.from(proof.split('.')[1], 'base64url').toString('utf8'));
}

test('p256 fromJwk: an object and its JSON text import the same key; other values are ARGUMENT_INVALID', () => {
  assert.equal(DpopKey.fromJwk(KEY).thumbprint, KEY_JKT);
  assert.equal(DpopKey.fromJwk(JSON.stringify(KEY)).thumbprint, KEY_JKT);
  for (const v of [undefined, null, 42, true, [], [KEY], () => KEY, 1n, Symbol('k')]) {
    assertFails(() => DpopKey.fromJwk(v), 'ARGUMENT_INVALID', 'privateJwk must be a JWK object or JSON string');
  }
  // JSON.stringify fails (a BigInt member, a cycle) or gives no text (toJSON -> undefined).
  const cyclic = { ...KEY };
  cyclic.self = cyclic;
  for (const v of [{ ...KEY, ext: 1n }, cyclic, { toJSON: () => undefined }]) {
    assertFails(() => DpopKey.fromJwk(v), 'ARGUMENT_INVALID', 'privateJwk');
  }
  // Strict parsing is still the wasm's.
  assertFails(() => DpopKey.fromJwk('{"kty":"EC"'), 'JWK_INVALID', 'not valid JSON');
  assertFails(() => DpopKey.fromJwk({ ...KEY, d: undefined }), 'JWK_INVALID');
});

test('p256 createProofSync: each option of the wrong type is ARGUMENT_INVALID naming it, in order', () => {
  const key = DpopKey.fromJwk(KEY);
  for (const v of [undefined, null, 'GET', 42, [], () => ({})]) {
    assertFails(() => key.createProofSync(v), 'ARGUMENT_INVALID', 'createProof options must be an object');
  }
  assertFails(() => key.createProofSync({ htu: HTU }), 'ARGUMENT_INVALID', 'htm must be a string');
  assertFails(() => key.createProofSync({ htm: 'POST', htu: 42 }), 'ARGUMENT_INVALID', 'htu must be a string');
  assertFails(() => key.createProofSync({ htm: 1, htu: 42 }), 'ARGUMENT_INVALID', 'htm must be a string');
  for (const [name, value] of [['nonce', 5], ['accessToken', {}], ['jti', true]]) {
    assertFails(() => key.createProofSync({ htm: 'POST', htu: HTU, [name]: value }), 'ARGUMENT_INVALID', `${name} must be a string`);
  }
  assertFails(() => key.createProofSync({ htm: 'POST', htu: HTU, nonce: 5, jti: 5 }), 'ARGUMENT_INVALID', 'nonce must be a string');
  for (const iat of [1.5, '1700000000', NaN, Infinity, 2 ** 53, 1700000000n]) {
    assertFails(() => key.createProofSync({ htm: 'POST', htu: HTU, iat }), 'ARGUMENT_INVALID', 'iat must be an integer number of seconds');
  }
  // A wrong value (not a wrong type) is still the core's precise error.
  assertFails(() => key.createProofSync({ htm: 'POST', htu: '/oauth/token' }), 'URL_INVALID');
});

test('p256 createProof (async) rejects with the same error', async () => {
  const key = DpopKey.fromJwk(KEY);
  await assert.rejects(key.createProof({ htm: 'POST', htu: 42 }), { code: 'ARGUMENT_INVALID', message: /htu must be a string/ });
});

test('p256 createProofSync: every option reaches the proof; iat defaults to now, jti to random', () => {
  const key = DpopKey.fromJwk(KEY);
  const full = payload(key.createProofSync({ htm: 'GET', htu: 'https://rs.example/items?x=1#f', iat: 1700000000, jti: 'jti-1', nonce: 'n-1', accessToken: 'tok' }));
  assert.deepEqual(Object.keys(full).sort(), ['ath', 'htm', 'htu', 'iat', 'jti', 'nonce']);
  assert.equal(full.htm, 'GET');
  assert.equal(full.htu, 'https://rs.example/items');
  assert.equal(full.iat, 1700000000);
  assert.equal(full.jti, 'jti-1');
  assert.equal(full.nonce, 'n-1');
  // base64url(SHA-256("tok"))
  assert.equal(full.ath, 'GnZ0607njffhrEOak8P6jjyUV4TU3sn9jjARc4svHWI');

  const before = nowSeconds();
  const a = payload(key.createProofSync({ htm: 'POST', htu: HTU, nonce: null, accessToken: undefined }));
  const b = payload(key.createProofSync({ htm: 'POST', htu: HTU }));
  assert.ok(a.iat >= before && a.iat <= nowSeconds(), `iat ${a.iat} is not now`);
  assert.deepEqual(Object.keys(a).sort(), ['htm', 'htu', 'iat', 'jti']);
  assert.notEqual(a.jti, b.jti);
  assert.ok(Buffer.from(a.jti, 'base64url').length >= 16);
});
