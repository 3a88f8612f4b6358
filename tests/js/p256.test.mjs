// edge-oauth/p256 (src/js/p256.js): the JS arguments of DpopKey.fromJwk and
// createProofSync / createProof are read and checked in JS, then handed to the wasm as
// plain strings and numbers. Each refusal is the same coded error the default entry gives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as jose from 'jose';

import { finishProof } from '../../pkg/edge_oauth.js';
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

test('p256 fromJwk: d out of range or not matching x and y is the core\'s JWK_KEY_INVALID, word for word', () => {
  // The core's text for Error::JwkKeyInvalid (here: a public point off the curve).
  const core = assertFails(() => edge.calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: KEY.y, y: KEY.x }), 'JWK_KEY_INVALID');
  const n = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
  const plusOne = (b) => {
    const out = Buffer.from(b);
    for (let i = 31; i >= 0 && ++out[i] === 256; i--) out[i] = 0;
    return out;
  };
  const y = Buffer.from(KEY.y, 'base64url');
  y[31] ^= 1;
  const other = DpopKey.generate().publicJwk;
  for (const jwk of [
    { ...KEY, y: y.toString('base64url') }, // not d's point, and off the curve
    { ...KEY, x: other.x, y: other.y }, // another key's point
    { ...KEY, d: Buffer.alloc(32).toString('base64url') }, // d = 0
    { ...KEY, d: n.toString('base64url') }, // d = n
    { ...KEY, d: plusOne(n).toString('base64url') },
    { ...KEY, d: Buffer.alloc(32, 0xff).toString('base64url') },
  ]) {
    const err = assertFails(() => DpopKey.fromJwk(jwk), 'JWK_KEY_INVALID');
    assert.equal(err.message, core.message);
    assert.equal(err.name, core.name);
  }
  // n - 1 is the largest scalar: accepted with its point -G = (Gx, p - Gy) (SEC 2 §2.4.2).
  const hex = (v) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex').toString('base64url');
  const p = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
  const gx = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
  const gy = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;
  const top = { ...KEY, d: hex(BigInt(`0x${n.toString('hex')}`) - 1n), x: hex(gx), y: hex(p - gy) };
  assert.deepEqual(DpopKey.fromJwk(top).toJwk(), { kty: 'EC', crv: 'P-256', x: top.x, y: top.y, d: top.d });
  assertFails(() => DpopKey.fromJwk({ ...top, y: hex(gy) }), 'JWK_KEY_INVALID');
});

test('p256 fromJwk: the members are read as strictly as before (the default wasm\'s parser)', () => {
  assertFails(() => DpopKey.fromJwk({ ...KEY, kty: 'RSA' }), 'JWK_UNSUPPORTED', 'kty must be EC');
  assertFails(() => DpopKey.fromJwk({ ...KEY, alg: 'RS256' }), 'JWK_UNSUPPORTED', 'alg');
  assertFails(() => DpopKey.fromJwk({ ...KEY, use: 'enc' }), 'JWK_UNSUPPORTED', 'use must be sig');
  assertFails(() => DpopKey.fromJwk({ ...KEY, p: 'AQAB' }), 'JWK_INVALID', 'an EC key has no p');
  assertFails(() => DpopKey.fromJwk({ ...KEY, d: KEY.d.slice(1) }), 'JWK_INVALID', 'd must be 43 base64url characters');
  assertFails(() => DpopKey.fromJwk({ ...KEY, x: KEY.x.slice(1) }), 'JWK_INVALID', 'x must be 43 base64url characters');
  assertFails(() => DpopKey.fromJwk({ ...KEY, y: 5 }), 'JWK_INVALID', 'y must be a string');
  assertFails(() => DpopKey.fromJwk(JSON.stringify(KEY).replace('{', '{"d":"x",')), 'JWK_INVALID', 'a member is repeated');
  // Optional members are allowed and dropped.
  const key = DpopKey.fromJwk({ ...KEY, kid: 'k1', alg: 'ES256', use: 'sig', key_ops: ['sign'] });
  assert.equal(key.thumbprint, KEY_JKT);
  assert.deepEqual(key.toJwk(), { kty: KEY.kty, crv: KEY.crv, x: KEY.x, y: KEY.y, d: KEY.d });
});

test('p256 validateIdTokenClaims({ jwks }): the JWKS keys in order, the core\'s JWS_SIGNATURE_INVALID word for word', async () => {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const other = await jose.generateKeyPair('ES256', { extractable: true });
  const now = nowSeconds();
  const token = await new jose.SignJWT({ iss: 'https://as.example/', sub: 'u1', aud: 'spa', exp: now + 300, iat: now })
    .setProtectedHeader({ alg: 'ES256' })
    .sign(privateKey);
  const jwk = await jose.exportJWK(publicKey);
  const otherJwk = await jose.exportJWK(other.publicKey);
  const opts = { issuer: 'https://as.example/', clientId: 'spa' };
  // No kid in the header: every P-256 key is tried; RSA keys and entries that are not
  // P-256 public keys are skipped.
  const rsa = { kty: 'RSA', n: 'AQAB', e: 'AQAB' };
  const offCurve = { ...jwk, y: jwk.x };
  for (const keys of [[otherJwk, jwk], [rsa, offCurve, jwk], [jwk, otherJwk]]) {
    assert.equal(edge.validateIdTokenClaims(token, { ...opts, jwks: { keys } }).sub, 'u1');
  }
  // The core's text for Error::JwsSignatureInvalid (the default wasm's finishProof).
  const core = assertFails(() => finishProof('x', new Uint8Array(64)), 'JWS_SIGNATURE_INVALID');
  for (const keys of [[otherJwk], [otherJwk, offCurve, otherJwk]]) {
    const err = assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks: { keys } }), 'JWS_SIGNATURE_INVALID');
    assert.equal(err.message, core.message);
  }
  // A signature that is not 64 octets, or tampered: JWS_SIGNATURE_INVALID too.
  const [h, p, s] = token.split('.');
  const short = `${h}.${p}.${Buffer.from(s, 'base64url').subarray(0, 63).toString('base64url')}`;
  assertFails(() => edge.validateIdTokenClaims(short, { ...opts, jwks: { keys: [jwk] } }), 'JWS_SIGNATURE_INVALID');
  const tampered = `${h}.${Buffer.from(JSON.stringify({ iss: 'https://as.example/', sub: 'u2', aud: 'spa', exp: now + 300, iat: now })).toString('base64url')}.${s}`;
  assertFails(() => edge.validateIdTokenClaims(tampered, { ...opts, jwks: { keys: [jwk] } }), 'JWS_SIGNATURE_INVALID');
  assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks: { keys: [offCurve, rsa] } }), 'ID_TOKEN_KEY_NOT_FOUND');
  assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks: { nokeys: [] } }), 'JWK_INVALID', 'the JWKS has no keys array');
  assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks: '[1]' }), 'JWK_INVALID', 'the JWKS is not a JSON object');
  assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks: { keys: [jwk] }, algorithms: ['HS256'] }), ['JWS_ALG_NOT_ALLOWED', 'ARGUMENT_INVALID']);
});
