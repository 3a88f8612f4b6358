import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertFails, edge, sha256b64url } from './support.mjs';

const UNRESERVED_43 = /^[A-Za-z0-9\-._~]{43}$/;

test('rfc7636_appendix_b: the S256 challenge of the RFC verifier', () => {
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  assert.equal(edge.calculateCodeChallenge(verifier), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  assert.equal(edge.calculateCodeChallenge(verifier), sha256b64url(verifier));
});

test('generateCodeVerifier: 43 unreserved characters from 32 random bytes, never repeated', () => {
  const seen = new Set();
  for (let i = 0; i < 200; i++) {
    const v = edge.generateCodeVerifier();
    assert.match(v, UNRESERVED_43);
    assert.equal(Buffer.from(v, 'base64url').length, 32);
    seen.add(v);
  }
  assert.equal(seen.size, 200);
});

test('calculateCodeChallenge equals base64url(sha256(verifier)) from node:crypto', () => {
  const longest = 'aZ09-._~'.repeat(16); // 128 characters, every unreserved class
  assert.equal(longest.length, 128);
  const verifiers = [longest, 'a'.repeat(43), ...Array.from({ length: 20 }, () => edge.generateCodeVerifier())];
  for (const v of verifiers) {
    const challenge = edge.calculateCodeChallenge(v);
    assert.equal(challenge, sha256b64url(v));
    assert.equal(challenge.length, 43);
  }
});

test('calculateCodeChallenge rejects verifiers outside RFC 7636 section 4.1', () => {
  assertFails(() => edge.calculateCodeChallenge('a'.repeat(42)), 'PKCE_VERIFIER_INVALID', '43');
  assertFails(() => edge.calculateCodeChallenge('a'.repeat(129)), 'PKCE_VERIFIER_INVALID', '128');
  assertFails(() => edge.calculateCodeChallenge(`${'a'.repeat(42)}+`), 'PKCE_VERIFIER_INVALID');
  assertFails(() => edge.calculateCodeChallenge(`${'a'.repeat(42)} `), 'PKCE_VERIFIER_INVALID');
  assertFails(() => edge.calculateCodeChallenge(`${'a'.repeat(42)}é`), 'PKCE_VERIFIER_INVALID');
  assertFails(() => edge.calculateCodeChallenge(''), 'PKCE_VERIFIER_INVALID');
});

test('generatePkce: a matching S256 pair', () => {
  const first = edge.generatePkce();
  assert.deepEqual(Object.keys(first).sort(), ['codeChallenge', 'codeChallengeMethod', 'codeVerifier']);
  assert.equal(first.codeChallengeMethod, 'S256');
  assert.match(first.codeVerifier, UNRESERVED_43);
  assert.equal(first.codeChallenge, sha256b64url(first.codeVerifier));
  const second = edge.generatePkce();
  assert.notEqual(second.codeVerifier, first.codeVerifier);
  assert.notEqual(second.codeChallenge, first.codeChallenge);
});
