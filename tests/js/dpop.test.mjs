import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as jose from 'jose';

import { assertFails, edge, nowSeconds, sha256b64url } from './support.mjs';

const TOKEN_ENDPOINT = 'https://auth.example.com/oauth/token';
// RFC 9449 section 7.1 Figure 13: the example DPoP-bound access token.
const ACCESS_TOKEN = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU';
// RFC 7515 Appendix A.3.1: an EC P-256 private key.
const RFC7515_A3_KEY = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
  d: 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI',
};

const decoder = new TextDecoder();

/** Verifies a proof with the jwk in its own header (RFC 9449 section 4.3 check 6), via jose. */
async function verifyEmbedded(proof) {
  const { payload, protectedHeader } = await jose.compactVerify(proof, jose.EmbeddedJWK, {
    algorithms: ['ES256'],
  });
  return { header: protectedHeader, claims: JSON.parse(decoder.decode(payload)) };
}

test('rfc9449_4_2: a proof verifies with its embedded jwk and carries typ, alg, jwk, htm, htu, iat, jti', async () => {
  const key = edge.DpopKey.generate();
  const before = nowSeconds();
  const proof = await key.createProof({ htm: 'POST', htu: TOKEN_ENDPOINT });
  const after = nowSeconds();
  assert.match(proof, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86}$/);

  const { header, claims } = await verifyEmbedded(proof);
  assert.equal(header.typ, 'dpop+jwt');
  assert.equal(header.alg, 'ES256');
  assert.deepEqual(header.jwk, key.publicJwk);
  assert.deepEqual(Object.keys(header.jwk).sort(), ['crv', 'kty', 'x', 'y']);
  assert.equal(header.jwk.kty, 'EC');
  assert.equal(header.jwk.crv, 'P-256');

  assert.equal(claims.htm, 'POST');
  assert.equal(claims.htu, TOKEN_ENDPOINT);
  assert.ok(Number.isInteger(claims.iat), `iat ${claims.iat} is not an integer`);
  assert.ok(claims.iat >= before && claims.iat <= after, `iat ${claims.iat} is not now (${before}..${after})`);
  assert.equal(typeof claims.jti, 'string');
  assert.equal(claims.ath, undefined, 'no access token was given, so no ath');
  assert.equal(claims.nonce, undefined, 'no nonce was given');
});

test('rfc9449_4_2: the proof also verifies with the key from publicJwk, not only the embedded one', async () => {
  const key = edge.DpopKey.generate();
  const proof = await key.createProof({ htm: 'GET', htu: 'https://api.example.com/items' });
  const publicKey = await jose.importJWK(key.publicJwk, 'ES256');
  const { payload } = await jose.compactVerify(proof, publicKey);
  assert.equal(JSON.parse(decoder.decode(payload)).htm, 'GET');

  // A different key must not verify it.
  const other = await jose.importJWK(edge.DpopKey.generate().publicJwk, 'ES256');
  await assert.rejects(jose.compactVerify(proof, other), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
});

test('rfc9449_7_1: ath is base64url(sha256(access token)) and nonce, iat, jti are as given', async () => {
  const key = edge.DpopKey.generate();
  const proof = await key.createProof({
    htm: 'GET',
    htu: 'https://resource.example.org/protectedresource',
    accessToken: ACCESS_TOKEN,
    nonce: 'eyJ7S_zG.eyJH0-Z.HX4w-7v',
    iat: 1562262618,
    jti: 'e1j3V_bKic8-LAEB',
  });
  const { claims } = await verifyEmbedded(proof);
  assert.equal(claims.ath, sha256b64url(ACCESS_TOKEN));
  // RFC 9449 Figure 14 gives this ath for that token.
  assert.equal(claims.ath, 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
  assert.equal(claims.nonce, 'eyJ7S_zG.eyJH0-Z.HX4w-7v');
  assert.equal(claims.iat, 1562262618);
  assert.equal(claims.jti, 'e1j3V_bKic8-LAEB');
  assert.equal(claims.htm, 'GET');
  assert.equal(claims.htu, 'https://resource.example.org/protectedresource');
});

test('rfc9449_4_2: htu drops the query and fragment and is normalised (RFC 3986 section 6)', async () => {
  const key = edge.DpopKey.generate();
  const cases = [
    [`${TOKEN_ENDPOINT}?x=1&y=2`, TOKEN_ENDPOINT],
    [`${TOKEN_ENDPOINT}#fragment`, TOKEN_ENDPOINT],
    [`${TOKEN_ENDPOINT}?x=1#f`, TOKEN_ENDPOINT],
    ['HTTPS://AUTH.EXAMPLE.COM/oauth/token', TOKEN_ENDPOINT],
    ['https://auth.example.com:443/oauth/token', TOKEN_ENDPOINT],
    ['https://auth.example.com/oauth/./x/../token', TOKEN_ENDPOINT],
    ['https://auth.example.com/oauth/%74oken', TOKEN_ENDPOINT],
    ['https://auth.example.com:8443/oauth/token?q', 'https://auth.example.com:8443/oauth/token'],
    ['https://auth.example.com/OAUTH/Token/', 'https://auth.example.com/OAUTH/Token/'],
  ];
  for (const [htu, expected] of cases) {
    const { claims } = await verifyEmbedded(await key.createProof({ htm: 'POST', htu }));
    assert.equal(claims.htu, expected, `htu for ${htu}`);
    assert.ok(!claims.htu.includes('?') && !claims.htu.includes('#'));
  }
});

test('rfc9449_11_1: jti is unique per proof and carries at least 128 random bits', async () => {
  const key = edge.DpopKey.generate();
  const seen = new Set();
  for (let i = 0; i < 300; i++) {
    const proof = key.createProofSync({ htm: 'POST', htu: TOKEN_ENDPOINT, iat: 1700000000 });
    const { jti } = jose.decodeJwt(proof);
    assert.match(jti, /^[A-Za-z0-9_-]+$/);
    assert.ok(Buffer.from(jti, 'base64url').length >= 16, `jti ${jti} has fewer than 128 bits`);
    seen.add(jti);
  }
  assert.equal(seen.size, 300);
});

test('rfc7638: thumbprints of generated keys equal jose.calculateJwkThumbprint', async () => {
  for (let i = 0; i < 20; i++) {
    const key = edge.DpopKey.generate();
    const expected = await jose.calculateJwkThumbprint(key.publicJwk, 'sha256');
    assert.equal(key.thumbprint, expected);
    assert.equal(edge.calculateJwkThumbprint(key.publicJwk), expected);
    assert.equal(edge.calculateJwkThumbprint(JSON.stringify(key.publicJwk)), expected);
  }
});

test('rfc7638_3_1: the RFC RSA key thumbprint, also from jose', async () => {
  const jwk = {
    kty: 'RSA',
    n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    e: 'AQAB',
    alg: 'RS256',
    kid: '2011-04-29',
  };
  const expected = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
  assert.equal(await jose.calculateJwkThumbprint(jwk, 'sha256'), expected);
  assert.equal(edge.calculateJwkThumbprint(jwk), expected);
});

test('rfc9449_example_jkt: the RFC 9449 example key thumbprint, also from jose', async () => {
  const jwk = {
    kty: 'EC',
    x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs',
    y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA',
    crv: 'P-256',
  };
  const expected = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';
  assert.equal(await jose.calculateJwkThumbprint(jwk, 'sha256'), expected);
  assert.equal(edge.calculateJwkThumbprint(jwk), expected);
});

test('rfc7515_a3: fromJwk imports the RFC private key; its proofs verify with the RFC public key', async () => {
  const key = edge.DpopKey.fromJwk(RFC7515_A3_KEY);
  const { d, ...publicPart } = RFC7515_A3_KEY;
  assert.equal(typeof d, 'string');
  assert.deepEqual(key.publicJwk, publicPart);
  assert.equal(key.thumbprint, await jose.calculateJwkThumbprint(publicPart, 'sha256'));
  assert.deepEqual(key.toJwk(), RFC7515_A3_KEY);

  const proof = await key.createProof({ htm: 'POST', htu: TOKEN_ENDPOINT });
  await jose.compactVerify(proof, await jose.importJWK(publicPart, 'ES256'));
});

test('jose-generated keys: fromJwk accepts them, thumbprints and signatures agree', async () => {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const privateJwk = await jose.exportJWK(privateKey);
  const key = edge.DpopKey.fromJwk(privateJwk);
  assert.equal(key.thumbprint, await jose.calculateJwkThumbprint(await jose.exportJWK(publicKey), 'sha256'));
  const proof = await key.createProof({ htm: 'POST', htu: TOKEN_ENDPOINT, accessToken: 'at-123' });
  const { payload } = await jose.compactVerify(proof, publicKey);
  assert.equal(JSON.parse(decoder.decode(payload)).ath, sha256b64url('at-123'));
});

test('toJwk/fromJwk round trip keeps the key', async () => {
  const key = edge.DpopKey.generate();
  const jwk = key.toJwk();
  assert.deepEqual(Object.keys(jwk).sort(), ['crv', 'd', 'kty', 'x', 'y']);
  assert.equal(Buffer.from(jwk.d, 'base64url').length, 32);
  const again = edge.DpopKey.fromJwk(jwk);
  assert.equal(again.thumbprint, key.thumbprint);
  assert.deepEqual(again.publicJwk, key.publicJwk);
  const proof = await again.createProof({ htm: 'POST', htu: TOKEN_ENDPOINT });
  await jose.compactVerify(proof, await jose.importJWK(key.publicJwk, 'ES256'));
  // The JSON text form is accepted too.
  assert.equal(edge.DpopKey.fromJwk(JSON.stringify(jwk)).thumbprint, key.thumbprint);
});

test('two generated keys differ', () => {
  const a = edge.DpopKey.generate();
  const b = edge.DpopKey.generate();
  assert.notEqual(a.thumbprint, b.thumbprint);
  assert.notEqual(a.publicJwk.x, b.publicJwk.x);
});

test('bad keys and bad proof options fail with a code', async () => {
  const { d: _d, ...publicOnly } = RFC7515_A3_KEY;
  assertFails(() => edge.DpopKey.fromJwk(publicOnly), ['JWK_INVALID', 'JWK_UNSUPPORTED']);
  assertFails(() => edge.DpopKey.fromJwk({ ...RFC7515_A3_KEY, crv: 'P-384' }), 'JWK_UNSUPPORTED');
  assertFails(() => edge.DpopKey.fromJwk({ ...RFC7515_A3_KEY, x: RFC7515_A3_KEY.y }), 'JWK_KEY_INVALID');
  assertFails(() => edge.DpopKey.fromJwk({ ...RFC7515_A3_KEY, d: `${RFC7515_A3_KEY.d}=` }), [
    'JWK_INVALID',
    'BASE64URL_INVALID',
  ]);
  assertFails(() => edge.DpopKey.fromJwk('{not json'), ['JSON_INVALID', 'JWK_INVALID']);
  assertFails(() => edge.DpopKey.fromJwk(42), 'ARGUMENT_INVALID');

  const key = edge.DpopKey.generate();
  assertFails(() => key.createProofSync({ htu: TOKEN_ENDPOINT }), 'ARGUMENT_INVALID', 'htm');
  assertFails(() => key.createProofSync({ htm: 'POST' }), 'ARGUMENT_INVALID', 'htu');
  assertFails(() => key.createProofSync({ htm: 'POST', htu: 'not a url' }), 'URL_INVALID');
  assertFails(() => key.createProofSync({ htm: 'POST', htu: TOKEN_ENDPOINT, iat: 1.5 }), 'ARGUMENT_INVALID', 'iat');
  assertFails(() => key.createProofSync({ htm: 'POST', htu: TOKEN_ENDPOINT, accessToken: 7 }), 'ARGUMENT_INVALID', 'accessToken');
  assertFails(() => key.createProofSync('POST'), 'ARGUMENT_INVALID');
  // The promise form rejects (never throws) with the same codes.
  const pending = key.createProof({ htm: 'POST', htu: 'not a url' });
  assert.ok(pending instanceof Promise);
  await assert.rejects(pending, { code: 'URL_INVALID' });
  await assert.rejects(key.createProof({ htu: TOKEN_ENDPOINT }), { code: 'ARGUMENT_INVALID' });

  assertFails(() => edge.calculateJwkThumbprint({ kty: 'oct', k: 'AAAA' }), 'JWK_UNSUPPORTED');
  assertFails(() => edge.calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'AA' }), 'JWK_INVALID');
  assertFails(() => edge.calculateJwkThumbprint(null), 'ARGUMENT_INVALID');
});

test('createProof returns a Promise for the p256 backend and createProofSync the same kind of proof', async () => {
  const key = edge.DpopKey.fromJwk(RFC7515_A3_KEY);
  assert.equal(key.backend, 'p256');
  assert.equal(key.keyPair, undefined);
  const pending = key.createProof({ htm: 'POST', htu: TOKEN_ENDPOINT, iat: 1700000000, jti: 'j-1' });
  assert.ok(pending instanceof Promise);
  const asyncProof = await pending;
  const syncProof = key.createProofSync({ htm: 'POST', htu: TOKEN_ENDPOINT, iat: 1700000000, jti: 'j-1' });
  // RFC 6979 signatures are deterministic: the same input gives the same proof.
  assert.equal(asyncProof, syncProof);
  await verifyEmbedded(asyncProof);
});

test('webcrypto backend in Node: generateNonExtractable signs through crypto.subtle; proofs verify with jose', async () => {
  const key = await edge.DpopKey.generateNonExtractable();
  assert.equal(key.backend, 'webcrypto');
  assert.equal(key.keyPair.privateKey.extractable, false);
  assert.equal(key.keyPair.privateKey.type, 'private');
  await assert.rejects(crypto.subtle.exportKey('jwk', key.keyPair.privateKey));
  assert.deepEqual(Object.keys(key.publicJwk).sort(), ['crv', 'kty', 'x', 'y']);
  assert.equal(key.thumbprint, await jose.calculateJwkThumbprint(key.publicJwk, 'sha256'));

  const proof = await key.createProof({ htm: 'GET', htu: 'https://api.example.com/items?q=1', accessToken: ACCESS_TOKEN, nonce: 'n-1' });
  const { header, claims } = await verifyEmbedded(proof);
  assert.equal(header.typ, 'dpop+jwt');
  assert.deepEqual(header.jwk, key.publicJwk);
  assert.equal(claims.htu, 'https://api.example.com/items');
  assert.equal(claims.ath, sha256b64url(ACCESS_TOKEN));
  assert.equal(claims.nonce, 'n-1');
  await jose.compactVerify(proof, key.keyPair.publicKey);

  assertFails(() => key.createProofSync({ htm: 'POST', htu: TOKEN_ENDPOINT }), 'KEY_BACKEND_UNSUPPORTED', 'createProofSync');
  assertFails(() => key.toJwk(), 'KEY_BACKEND_UNSUPPORTED');
  await assert.rejects(key.createProof({ htm: 'POST', htu: '/relative' }), { code: 'URL_INVALID' });
});

test('webcrypto backend: fromCryptoKeyPair checks the pair', async () => {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const key = await edge.DpopKey.fromCryptoKeyPair(pair);
  assert.equal(key.keyPair.privateKey, pair.privateKey);
  await jose.compactVerify(await key.createProof({ htm: 'POST', htu: TOKEN_ENDPOINT }), pair.publicKey);

  const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  await assert.rejects(edge.DpopKey.fromCryptoKeyPair({ privateKey: pair.privateKey, publicKey: other.publicKey }), {
    code: 'ARGUMENT_INVALID',
    message: /does not belong/,
  });
  const p384 = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign', 'verify']);
  await assert.rejects(edge.DpopKey.fromCryptoKeyPair(p384), { code: 'ARGUMENT_INVALID' });
  await assert.rejects(edge.DpopKey.fromCryptoKeyPair({}), { code: 'ARGUMENT_INVALID' });
});

test('persist and load need IndexedDB: in Node they reject with STORAGE_UNAVAILABLE; p256 keys are refused', async () => {
  const key = await edge.DpopKey.generateNonExtractable();
  await assert.rejects(key.persist('k'), { code: 'STORAGE_UNAVAILABLE', message: /IndexedDB/ });
  await assert.rejects(edge.DpopKey.load('k'), { code: 'STORAGE_UNAVAILABLE' });
  await assert.rejects(edge.DpopKey.remove('k'), { code: 'STORAGE_UNAVAILABLE' });
  await assert.rejects(edge.DpopKey.generate().persist('k'), { code: 'KEY_BACKEND_UNSUPPORTED' });
  await assert.rejects(key.persist(''), { code: 'ARGUMENT_INVALID' });
});

test('rfc9449_4_2: createProof drops any query and fragment fetch accepts, and refuses a raw non-ASCII path precisely', async () => {
  for (const key of [edge.DpopKey.generate(), await edge.DpopKey.generateNonExtractable()]) {
    for (const htu of ['https://rs.example/items?q=a b', 'https://rs.example/items?filter={"a":1}', 'https://rs.example/items?q=a|b', 'https://rs.example/items#{x}']) {
      const proof = await key.createProof({ htm: 'GET', htu });
      const claims = JSON.parse(Buffer.from(proof.split('.')[1], 'base64url'));
      assert.equal(claims.htu, 'https://rs.example/items', htu);
    }
    await assert.rejects(key.createProof({ htm: 'GET', htu: 'https://rs.example/items/ä' }), { code: 'URL_INVALID', message: /non-ASCII.*percent-encode/ });
    const proof = await key.createProof({ htm: 'GET', htu: new URL('https://rs.example/items/ä').href });
    assert.equal(JSON.parse(Buffer.from(proof.split('.')[1], 'base64url')).htu, 'https://rs.example/items/%C3%A4');
  }
});
