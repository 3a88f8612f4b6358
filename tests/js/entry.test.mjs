// The default entry on its own, as an SPA loads it: edge-oauth/p256 is not initialised
// until the last test. This entry carries no P-256 arithmetic, so what needs it says so
// precisely (KEY_BACKEND_UNSUPPORTED naming edge-oauth/p256), and the checks it keeps
// without that arithmetic (points on the curve, signature scalars in range) still refuse.
// Each test file runs in its own process: support.mjs (both entries) is not loaded here.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as jose from 'jose';

import * as edge from '../../src/js/index.js';
import { initSync as initP256 } from '../../src/js/p256.js';
import * as wasm from '../../pkg/edge_oauth.js';

edge.initSync({ module: readFileSync(new URL('../../pkg/edge_oauth_bg.wasm', import.meta.url)) });

/** `fn` throws an Error with `.code` `code` whose message mentions `mentions`. */
function assertFails(fn, code, mentions = '') {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof Error, `not an Error: ${err}`);
    assert.equal(err.code, code, err.message);
    assert.ok(err.message.includes(mentions), `"${err.message}" does not mention "${mentions}"`);
    return true;
  });
}
const nowSeconds = () => Math.floor(Date.now() / 1000);

const ISSUER = 'https://as.example/';
// RFC 9449 §4.2 (../shared/vectors): on the curve.
const JWK = { kty: 'EC', crv: 'P-256', x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs', y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA' };
const JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';

async function signed() {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const now = nowSeconds();
  const token = await new jose.SignJWT({ iss: ISSUER, sub: 'auth0|1', aud: 'spa', exp: now + 300, iat: now })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .sign(privateKey);
  return { token, jwks: { keys: [{ ...(await jose.exportJWK(publicKey)), kid: 'k1' }] } };
}

/** The base64url of a 32-octet big-endian integer given in hex. */
const coordinate = (hex) => Buffer.from(hex.padStart(64, '0'), 'hex').toString('base64url');
const P = 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff';
const N = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551';

test('rfc7638_3_thumbprints_without_edge_oauth_p256_still_refuse_points_off_the_curve', () => {
  assert.equal(edge.calculateJwkThumbprint(JWK), JKT);
  assertFails(() => edge.calculateJwkThumbprint({ ...JWK, x: JWK.y, y: JWK.x }), 'JWK_KEY_INVALID');
  const y = Buffer.from(JWK.y, 'base64url');
  y[31] ^= 1;
  assertFails(() => edge.calculateJwkThumbprint({ ...JWK, y: y.toString('base64url') }), 'JWK_KEY_INVALID');
  // Coordinates must be below the field prime p.
  assertFails(() => edge.calculateJwkThumbprint({ ...JWK, y: coordinate(P) }), 'JWK_KEY_INVALID');
  assertFails(() => edge.calculateJwkThumbprint({ ...JWK, x: coordinate('f'.repeat(64)) }), 'JWK_KEY_INVALID');
  // The DPoP key of a WebCrypto pair is parsed with the same check.
  assertFails(() => new wasm.DpopPublicKey(JSON.stringify({ ...JWK, x: JWK.y, y: JWK.x })), 'JWK_KEY_INVALID');
});

test('rfc7518_3_4_finish_proof_refuses_signature_scalars_out_of_range', () => {
  const input = 'eyJhbGciOiJFUzI1NiJ9.e30';
  const sig = (r, s) => new Uint8Array(Buffer.from(r.padStart(64, '0') + s.padStart(64, '0'), 'hex'));
  assert.equal(wasm.finishProof(input, sig('1', '1')), `${input}.${Buffer.from(sig('1', '1')).toString('base64url')}`);
  const nMinus1 = N.slice(0, -1) + '0';
  assert.ok(wasm.finishProof(input, sig(nMinus1, nMinus1)).startsWith(`${input}.`));
  for (const [r, s] of [['0', '1'], ['1', '0'], [N, '1'], ['1', N], ['f'.repeat(64), '1']]) {
    assertFails(() => wasm.finishProof(input, sig(r, s)), 'JWS_SIGNATURE_INVALID');
  }
  assertFails(() => wasm.finishProof(input, new Uint8Array(63).fill(1)), 'JWS_SIGNATURE_INVALID');
});

const TOKEN_ENDPOINT = 'https://as.example/oauth/token';

test('rfc9449_4_2_webcrypto_proofs_without_edge_oauth_p256_carry_the_options', async () => {
  const key = await edge.DpopKey.generateNonExtractable();
  const proof = await key.createProof({ htm: 'POST', htu: `${TOKEN_ENDPOINT}?x=1#f`, nonce: 'n-1', accessToken: 'at-1', iat: 1_700_000_000, jti: 'j-1' });
  const { payload, protectedHeader } = await jose.compactVerify(proof, jose.EmbeddedJWK);
  assert.deepEqual(protectedHeader, { alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk });
  const claims = JSON.parse(new TextDecoder().decode(payload));
  assert.deepEqual(claims, {
    ath: Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('at-1'))).toString('base64url'),
    htm: 'POST',
    htu: TOKEN_ENDPOINT,
    iat: 1_700_000_000,
    jti: 'j-1',
    nonce: 'n-1',
  });
  // Without iat and jti: now, and a fresh random jti per proof.
  const a = JSON.parse(new TextDecoder().decode((await jose.compactVerify(await key.createProof({ htm: 'GET', htu: TOKEN_ENDPOINT }), jose.EmbeddedJWK)).payload));
  const b = JSON.parse(new TextDecoder().decode((await jose.compactVerify(await key.createProof({ htm: 'GET', htu: TOKEN_ENDPOINT, iat: null }), jose.EmbeddedJWK)).payload));
  assert.ok(Math.abs(a.iat - nowSeconds()) <= 2);
  assert.notEqual(a.jti, b.jti);
});

test('rfc9449_4_2_webcrypto_proof_options_are_checked_as_the_core_checks_them', async () => {
  const key = await edge.DpopKey.generateNonExtractable();
  const cases = [
    ['POST', 'createProof options must be an object'],
    [{ htu: TOKEN_ENDPOINT }, 'htm must be a string'],
    [{ htm: 'POST' }, 'htu must be a string'],
    [{ htm: 'POST', htu: 7 }, 'htu must be a string'],
    [{ htm: 'POST', htu: TOKEN_ENDPOINT, nonce: 1 }, 'nonce must be a string'],
    [{ htm: 'POST', htu: TOKEN_ENDPOINT, accessToken: 7 }, 'accessToken must be a string'],
    [{ htm: 'POST', htu: TOKEN_ENDPOINT, jti: {} }, 'jti must be a string'],
    [{ htm: 'POST', htu: TOKEN_ENDPOINT, iat: 1.5 }, 'iat must be an integer number of seconds'],
    [{ htm: 'POST', htu: TOKEN_ENDPOINT, iat: '1' }, 'iat must be an integer number of seconds'],
    [{ htm: 'POST', htu: TOKEN_ENDPOINT, iat: 2 ** 53 }, 'iat must be an integer number of seconds'],
    [{ htm: 'POST', htu: TOKEN_ENDPOINT, iat: NaN }, 'iat must be an integer number of seconds'],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(key.createProof(options), (err) => err.code === 'ARGUMENT_INVALID' && err.message === `invalid argument: ${message}`, message);
  }
  // The core's own checks still apply behind the JS ones.
  await assert.rejects(key.createProof({ htm: 'PO ST', htu: TOKEN_ENDPOINT }), { code: 'ARGUMENT_INVALID', message: 'invalid argument: htm must be an HTTP method' });
  await assert.rejects(key.createProof({ htm: 'POST', htu: 'not a url' }), { code: 'URL_INVALID' });
  await assert.rejects(key.createProof({ htm: 'POST', htu: TOKEN_ENDPOINT, jti: '' }), { code: 'ARGUMENT_INVALID', message: 'invalid argument: jti must not be empty' });
  await assert.rejects(key.createProof({ htm: 'POST', htu: TOKEN_ENDPOINT, nonce: 'a"b' }), { code: 'ARGUMENT_INVALID' });
});

test('oidc_core_3_1_3_7_validate_id_token_claims_with_jwks_needs_edge_oauth_p256', async () => {
  const { token, jwks } = await signed();
  const opts = { issuer: ISSUER, clientId: 'spa' };
  // Without a JWKS the claims are checked as before.
  assert.equal(edge.validateIdTokenClaims(token, opts).sub, 'auth0|1');
  // With one, the signature cannot be verified here: a precise error, never a silent skip.
  for (const j of [jwks, JSON.stringify(jwks)]) {
    assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks: j }), 'KEY_BACKEND_UNSUPPORTED', 'edge-oauth/p256');
  }
  // The wasm module itself refuses too, when called without the JS layer (its export
  // takes the members of the options as arguments, the JWKS as JSON text last).
  const { issuer, clientId } = opts;
  const none = [undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  assertFails(() => wasm.validateIdTokenClaims(token, issuer, clientId, ...none, JSON.stringify(jwks)), 'KEY_BACKEND_UNSUPPORTED', 'edge-oauth/p256');
  // verifyIdToken (WebCrypto) needs no p256 entry.
  assert.equal((await edge.verifyIdToken(token, { ...opts, jwks })).sub, 'auth0|1');
  // Argument checks come first.
  assertFails(() => edge.validateIdTokenClaims(42, { ...opts, jwks }), 'ARGUMENT_INVALID', 'idToken');
  assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks: 5 }), 'ARGUMENT_INVALID', 'jwks');
  assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks, algorithms: 'ES256' }), 'ARGUMENT_INVALID', 'algorithms');

  // Once edge-oauth/p256 is initialised, the same call verifies synchronously.
  initP256({ module: readFileSync(new URL('../../pkg/edge_oauth_p256_bg.wasm', import.meta.url)) });
  assert.equal(edge.validateIdTokenClaims(token, { ...opts, jwks }).sub, 'auth0|1');
  assert.equal(edge.validateIdTokenClaims(token, { ...opts, jwks: JSON.stringify(jwks), algorithms: ['ES256'] }).sub, 'auth0|1');
  const other = await signed();
  assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks: other.jwks }), 'JWS_SIGNATURE_INVALID');
  assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks, algorithms: ['RS256'] }), 'JWS_ALG_NOT_ALLOWED');
  assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks, algorithms: ['none'] }), 'JWS_ALG_NOT_ALLOWED');
  assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks: { keys: [] } }), 'ID_TOKEN_KEY_NOT_FOUND');
  // The claims are still checked after the signature.
  assertFails(() => edge.validateIdTokenClaims(token, { ...opts, clientId: 'other', jwks }), 'ID_TOKEN_AUD_MISMATCH');
});
