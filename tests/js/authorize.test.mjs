// The redirect leg from JavaScript: buildAuthorizationUrl, buildParRequestBody,
// parseParResponse, parseAuthorizationResponse, parseServerMetadata and
// validateIdTokenClaims, cross-checked with WHATWG URL parsing, node:crypto and jose.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import * as jose from 'jose';

import { assertFails, edge, nowSeconds } from './support.mjs';

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';
const ISSUER = 'https://as.example/';
const base = {
  authorizationEndpoint: 'https://as.example/authorize',
  clientId: 's6BhdRkqt3',
  redirectUri: 'https://client.example.com/cb',
  codeChallenge: CHALLENGE,
};

/** The query of a URL as [name, value] pairs, in order. */
const pairs = (url) => [...new URL(url).searchParams];

describe('buildAuthorizationUrl', () => {
  test('rfc6749_4_1_1: the required parameters, PKCE S256, in order', () => {
    const url = edge.buildAuthorizationUrl({ ...base, state: 'xyz' });
    assert.ok(url.startsWith('https://as.example/authorize?'));
    assert.deepEqual(pairs(url), [
      ['response_type', 'code'],
      ['client_id', 's6BhdRkqt3'],
      ['redirect_uri', 'https://client.example.com/cb'],
      ['state', 'xyz'],
      ['code_challenge', CHALLENGE],
      ['code_challenge_method', 'S256'],
    ]);
  });

  test('rfc6749_4_1_1: every optional parameter, encoded as URLSearchParams reads it', () => {
    const url = edge.buildAuthorizationUrl({
      ...base,
      scope: 'openid profile offline_access',
      state: 'a&b=c',
      nonce: 'n-0S6_WzA2Mj',
      audience: 'https://api.example.com',
      organization: 'org_123',
      resource: ['https://r1.example/', 'https://r2.example/'],
      dpopJkt: JKT,
      prompt: 'login',
      maxAge: 300,
      loginHint: 'jane+doe@example.com',
      responseMode: 'query',
    });
    const q = new URL(url).searchParams;
    assert.equal(q.get('scope'), 'openid profile offline_access');
    assert.equal(q.get('state'), 'a&b=c');
    assert.equal(q.get('audience'), 'https://api.example.com');
    assert.equal(q.get('organization'), 'org_123');
    assert.deepEqual(q.getAll('resource'), ['https://r1.example/', 'https://r2.example/']);
    assert.equal(q.get('dpop_jkt'), JKT);
    assert.equal(q.get('max_age'), '300');
    assert.equal(q.get('login_hint'), 'jane+doe@example.com');
    assert.equal(q.get('response_mode'), 'query');
    assert.equal(edge.buildAuthorizationUrl({ ...base, resource: 'https://r.example/' }).includes('resource=https%3A%2F%2Fr.example%2F'), true);
  });

  test('rfc9126_4: from a request_uri, client_id and request_uri only', () => {
    const url = edge.buildAuthorizationUrl({
      authorizationEndpoint: base.authorizationEndpoint,
      clientId: 's6BhdRkqt3',
      requestUri: 'urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c',
    });
    assert.deepEqual(pairs(url), [
      ['client_id', 's6BhdRkqt3'],
      ['request_uri', 'urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c'],
    ]);
    // Parameters next to requestUri would be silently lost: refused.
    assertFails(() => edge.buildAuthorizationUrl({ ...base, requestUri: 'urn:x:1' }), 'ARGUMENT_INVALID', 'RFC 9126');
  });

  test('rfc9700_2_6: the endpoint must be https, except on loopback', () => {
    assertFails(() => edge.buildAuthorizationUrl({ ...base, authorizationEndpoint: 'http://as.example/authorize' }), 'URL_INSECURE', 'authorization_endpoint');
    assert.ok(edge.buildAuthorizationUrl({ ...base, authorizationEndpoint: 'http://127.0.0.1:8787/authorize' }).startsWith('http://127.0.0.1:8787/authorize?'));
    assertFails(() => edge.buildAuthorizationUrl({ ...base, authorizationEndpoint: '/authorize' }), 'URL_INVALID');
  });

  test('rfc6749_4_1_1: invalid values and mistyped options', () => {
    assertFails(() => edge.buildAuthorizationUrl({ ...base, codeChallenge: 'short' }), 'PKCE_CHALLENGE_INVALID');
    assertFails(() => edge.buildAuthorizationUrl({ ...base, dpopJkt: 'x' }), 'REQUEST_PARAMETER_INVALID', 'dpop_jkt');
    assertFails(() => edge.buildAuthorizationUrl({ ...base, scope: 'a  b' }), 'REQUEST_PARAMETER_INVALID', 'scope');
    assertFails(() => edge.buildAuthorizationUrl({ ...base, prompt: 'none login' }), 'REQUEST_PARAMETER_INVALID', 'prompt');
    assertFails(() => edge.buildAuthorizationUrl({ ...base, responseMode: 'form_post' }), 'REQUEST_PARAMETER_INVALID', 'response_mode');
    assertFails(() => edge.buildAuthorizationUrl({ ...base, maxAge: -1 }), 'ARGUMENT_INVALID', 'maxAge');
    assertFails(() => edge.buildAuthorizationUrl({ ...base, maxAge: '300' }), 'ARGUMENT_INVALID', 'maxAge');
    assertFails(() => edge.buildAuthorizationUrl({ ...base, resource: [1] }), 'ARGUMENT_INVALID', 'resource');
    assertFails(() => edge.buildAuthorizationUrl({ ...base, clientId: 5 }), 'ARGUMENT_INVALID', 'clientId');
    assertFails(() => edge.buildAuthorizationUrl('https://as.example/'), 'ARGUMENT_INVALID');
  });
});

describe('pushed authorization requests', () => {
  test('rfc9126_2_1: buildParRequestBody has the request parameters', () => {
    const body = edge.buildParRequestBody({ ...base, scope: 'openid', state: 's', dpopJkt: JKT });
    const form = new URLSearchParams(body);
    assert.equal(form.get('response_type'), 'code');
    assert.equal(form.get('client_id'), 's6BhdRkqt3');
    assert.equal(form.get('code_challenge_method'), 'S256');
    assert.equal(form.get('dpop_jkt'), JKT);
    assert.equal(form.has('request_uri'), false);
    assertFails(() => edge.buildParRequestBody({ ...base, requestUri: 'urn:x:1' }), 'ARGUMENT_INVALID');
  });

  test('rfc9126_2_2: parseParResponse', () => {
    const before = nowSeconds();
    const r = edge.parseParResponse(201, '{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}');
    assert.equal(r.requestUri, 'urn:ietf:params:oauth:request_uri:abc');
    assert.equal(r.expiresIn, 60);
    assert.ok(r.expiresAt >= before + 60 && r.expiresAt <= nowSeconds() + 60);
    assertFails(() => edge.parseParResponse(201, '{"request_uri":"urn:x:1"}'), 'PAR_RESPONSE_INVALID', 'expires_in is missing');
    assertFails(() => edge.parseParResponse(201, '{"request_uri":"urn:x:1","expires_in":60,"expires_in":61}'), 'PAR_RESPONSE_INVALID', 'repeated');
    assertFails(() => edge.parseParResponse(200, '{"request_uri":"urn:x:1","expires_in":60}'), 'PAR_RESPONSE_INVALID', 'status');
    const e = assertFails(() => edge.parseParResponse(400, '{"error":"invalid_request","error_description":"no"}'), 'OAUTH_ERROR');
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.status, 400);
    assertFails(() => edge.parseParResponse('201', '{}'), 'ARGUMENT_INVALID');
  });
});

describe('parseAuthorizationResponse', () => {
  const opts = { state: 'xyz', issuer: ISSUER, issParameterSupported: true };
  const iss = encodeURIComponent(ISSUER);

  test('rfc6749_4_1_2: code, state and iss', () => {
    const r = edge.parseAuthorizationResponse(`https://client.example.com/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz&iss=${iss}`, opts);
    assert.deepEqual({ ...r }, { code: 'SplxlOBeZQQYbYS6WxSbIA', state: 'xyz', iss: ISSUER });
    // A URL object (or location) works too.
    const u = new URL(`https://client.example.com/cb?code=c&state=xyz&iss=${iss}`);
    assert.equal(edge.parseAuthorizationResponse(u, opts).code, 'c');
  });

  test('rfc6749_10_12: state mismatch', () => {
    assertFails(() => edge.parseAuthorizationResponse(`https://c.example/cb?code=c&state=abc&iss=${iss}`, opts), 'AUTHORIZATION_RESPONSE_STATE_MISMATCH');
    assertFails(() => edge.parseAuthorizationResponse(`https://c.example/cb?code=c&iss=${iss}`, opts), 'AUTHORIZATION_RESPONSE_STATE_MISSING');
    // A forgotten state option is an argument error, not a skipped check.
    assertFails(() => edge.parseAuthorizationResponse('https://c.example/cb?code=c', {}), 'ARGUMENT_INVALID', 'state');
    assertFails(() => edge.parseAuthorizationResponse('https://c.example/cb?code=c&state=x', { state: null }), 'AUTHORIZATION_RESPONSE_STATE_UNEXPECTED');
  });

  test('rfc9207_2_4: iss mismatch', () => {
    assertFails(() => edge.parseAuthorizationResponse('https://c.example/cb?code=c&state=xyz&iss=https%3A%2F%2Fevil.example%2F', opts), 'AUTHORIZATION_RESPONSE_ISS_MISMATCH');
    // Present though not advertised: still checked.
    assertFails(() => edge.parseAuthorizationResponse('https://c.example/cb?code=c&state=xyz&iss=https%3A%2F%2Fas.example', { state: 'xyz', issuer: ISSUER }), 'AUTHORIZATION_RESPONSE_ISS_MISMATCH');
  });

  test('rfc9207_2_4: missing iss when advertised', () => {
    assertFails(() => edge.parseAuthorizationResponse('https://c.example/cb?code=c&state=xyz', opts), 'AUTHORIZATION_RESPONSE_ISS_MISSING');
    assert.equal(edge.parseAuthorizationResponse('https://c.example/cb?code=c&state=xyz', { state: 'xyz', issuer: ISSUER }).code, 'c');
  });

  test('rfc6749_4_1_2_1: an error redirect is a typed error', () => {
    const e = assertFails(
      () => edge.parseAuthorizationResponse(`https://c.example/cb?error=access_denied&error_description=The+user+said+no&error_uri=https%3A%2F%2Fas.example%2Fe&state=xyz&iss=${iss}`, opts),
      'AUTHORIZATION_ERROR',
      'access_denied',
    );
    assert.equal(e.error, 'access_denied');
    assert.equal(e.errorDescription, 'The user said no');
    assert.equal(e.errorUri, 'https://as.example/e');
    // The error of a response with the wrong state is not believed.
    assertFails(() => edge.parseAuthorizationResponse(`https://c.example/cb?error=access_denied&state=evil&iss=${iss}`, opts), 'AUTHORIZATION_RESPONSE_STATE_MISMATCH');
  });

  test('rfc6749_3_1: a repeated parameter', () => {
    const e = assertFails(() => edge.parseAuthorizationResponse(`https://c.example/cb?code=a&code=b&state=xyz&iss=${iss}`, opts), 'AUTHORIZATION_RESPONSE_PARAMETER_REPEATED', 'code');
    assert.equal(e.error, undefined);
    assertFails(() => edge.parseAuthorizationResponse(`https://c.example/cb?code=a&state=xyz&state=xyz&iss=${iss}`, opts), 'AUTHORIZATION_RESPONSE_PARAMETER_REPEATED', 'state');
  });

  test('rfc6749_4_1_2: no code, bad encoding, bad arguments', () => {
    assertFails(() => edge.parseAuthorizationResponse(`https://c.example/cb?state=xyz&iss=${iss}`, opts), 'AUTHORIZATION_RESPONSE_CODE_MISSING');
    assertFails(() => edge.parseAuthorizationResponse(`https://c.example/cb?code=%ZZ&state=xyz&iss=${iss}`, opts), 'AUTHORIZATION_RESPONSE_INVALID');
    assertFails(() => edge.parseAuthorizationResponse(42, opts), 'ARGUMENT_INVALID');
    assertFails(() => edge.parseAuthorizationResponse('https://c.example/cb?code=c&state=xyz', { state: 'xyz', issParameterSupported: 'yes' }), 'ARGUMENT_INVALID');
  });
});

describe('parseServerMetadata', () => {
  const doc = {
    issuer: ISSUER,
    authorization_endpoint: 'https://as.example/authorize',
    token_endpoint: 'https://as.example/oauth/token',
    jwks_uri: 'https://as.example/.well-known/jwks.json',
    pushed_authorization_request_endpoint: 'https://as.example/oauth/par',
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    dpop_signing_alg_values_supported: ['ES256'],
  };

  test('rfc8414_2: camelCase members', () => {
    const m = edge.parseServerMetadata(JSON.stringify(doc), ISSUER);
    assert.equal(m.issuer, ISSUER);
    assert.equal(m.tokenEndpoint, 'https://as.example/oauth/token');
    assert.equal(m.pushedAuthorizationRequestEndpoint, 'https://as.example/oauth/par');
    assert.equal(m.authorizationResponseIssParameterSupported, true);
    assert.equal(m.requirePushedAuthorizationRequests, false);
    assert.deepEqual(m.codeChallengeMethodsSupported, ['S256']);
    assert.deepEqual(m.grantTypesSupported, []);
    assert.equal(m.userinfoEndpoint, undefined);
  });

  test('rfc8414_3_3: issuer must be identical', () => {
    assertFails(() => edge.parseServerMetadata(JSON.stringify(doc), 'https://as.example'), 'METADATA_ISSUER_MISMATCH');
    assertFails(() => edge.parseServerMetadata(JSON.stringify({ ...doc, issuer: 'https://evil.example/' }), ISSUER), 'METADATA_ISSUER_MISMATCH');
  });

  test('rfc8414_2: strict members, https endpoints', () => {
    assertFails(() => edge.parseServerMetadata(JSON.stringify({ ...doc, token_endpoint: 'http://as.example/token' }), ISSUER), 'URL_INSECURE', 'token_endpoint');
    assertFails(() => edge.parseServerMetadata(JSON.stringify({ ...doc, jwks_uri: 5 }), ISSUER), 'METADATA_INVALID', 'jwks_uri');
    assertFails(() => edge.parseServerMetadata('{"issuer":"https://as.example/","issuer":"https://as.example/"}', ISSUER), 'METADATA_INVALID', 'repeated');
    assertFails(() => edge.parseServerMetadata(doc, ISSUER), 'ARGUMENT_INVALID');
  });
});

describe('validateIdTokenClaims', () => {
  const accessToken = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU';
  const atHash = createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');

  async function sign(claims, { kid = 'k1', alg = 'ES256' } = {}) {
    const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
    const token = await new jose.SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(privateKey);
    const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
    return { token, jwks: { keys: [jwk] } };
  }

  const now = nowSeconds();
  const claims = { iss: ISSUER, sub: 'auth0|1', aud: 'spa', exp: now + 300, iat: now, nonce: 'n-1', auth_time: now - 10, at_hash: atHash };
  const opts = { issuer: ISSUER, clientId: 'spa', nonce: 'n-1', accessToken };

  test('oidc_core_3_1_3_6: at_hash is the left half of SHA-256, as computed by node:crypto', async () => {
    assert.equal(atHash, 'fUHyO2r2Z3DZ53EsNrWBbw'); // ../shared/vectors oidc.at_hash_es256_dpop_example
    const { token } = await sign(claims);
    assert.equal(edge.validateIdTokenClaims(token, opts).sub, 'auth0|1');
    assertFails(() => edge.validateIdTokenClaims(token, { ...opts, accessToken: 'other' }), 'ID_TOKEN_AT_HASH_MISMATCH');
  });

  test('oidc_core_3_1_3_7: returns the claims', async () => {
    const { token } = await sign({ ...claims, email: 'a@example.com' });
    const c = edge.validateIdTokenClaims(token, opts);
    assert.deepEqual({ ...c }, { ...claims, email: 'a@example.com' });
  });

  test('oidc_core_3_1_3_7: one code per check', async () => {
    const cases = [
      [{ ...claims, iss: 'https://evil.example/' }, {}, 'ID_TOKEN_ISS_MISMATCH'],
      [{ ...claims, aud: 'other' }, {}, 'ID_TOKEN_AUD_MISMATCH'],
      [{ ...claims, aud: ['spa', 'https://api.example.com'] }, {}, 'ID_TOKEN_AUD_UNTRUSTED'],
      [{ ...claims, aud: ['spa', 'https://api.example.com'] }, { trustedAudiences: ['https://api.example.com'] }, 'ID_TOKEN_AZP_MISSING'],
      [{ ...claims, azp: 'other' }, {}, 'ID_TOKEN_AZP_MISMATCH'],
      [{ ...claims, exp: now - 61 }, {}, 'ID_TOKEN_EXPIRED'],
      [{ ...claims, iat: now + 120 }, {}, 'ID_TOKEN_IAT_IN_FUTURE'],
      [{ ...claims, nonce: 'n-2' }, {}, 'ID_TOKEN_NONCE_MISMATCH'],
      [{ ...claims, nonce: undefined }, {}, 'ID_TOKEN_NONCE_MISSING'],
      [{ ...claims, auth_time: now - 1000 }, { maxAge: 600 }, 'ID_TOKEN_AUTH_TIME_TOO_OLD'],
      [{ ...claims, auth_time: undefined }, { maxAge: 600 }, 'ID_TOKEN_AUTH_TIME_MISSING'],
      [{ ...claims, sub: undefined }, {}, 'ID_TOKEN_CLAIM_INVALID'],
    ];
    for (const [c, extra, code] of cases) {
      const { token } = await sign(JSON.parse(JSON.stringify(c)));
      assertFails(() => edge.validateIdTokenClaims(token, { ...opts, ...extra }), code);
    }
    const { token } = await sign({ ...claims, exp: now - 30 });
    assert.ok(edge.validateIdTokenClaims(token, opts), 'within the default 60 s leeway');
    assertFails(() => edge.validateIdTokenClaims(token, { ...opts, leeway: 0 }), 'ID_TOKEN_EXPIRED');
    assertFails(() => edge.validateIdTokenClaims(token, { ...opts, now: now + 3600 }), 'ID_TOKEN_EXPIRED');
  });

  test('oidc_core_3_1_3_7: the ES256 signature against the JWKS', async () => {
    const { token, jwks } = await sign(claims);
    assert.equal(edge.validateIdTokenClaims(token, { ...opts, jwks }).sub, 'auth0|1');
    assert.equal(edge.validateIdTokenClaims(token, { ...opts, jwks: JSON.stringify(jwks) }).sub, 'auth0|1');
    const other = await sign(claims);
    assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks: other.jwks }), 'JWS_SIGNATURE_INVALID');
    const otherKid = await sign(claims, { kid: 'k2' });
    assertFails(() => edge.validateIdTokenClaims(token, { ...opts, jwks: otherKid.jwks }), 'ID_TOKEN_KEY_NOT_FOUND');
    const rs = await sign(claims, { alg: 'RS256' });
    assertFails(() => edge.validateIdTokenClaims(rs.token, { ...opts, jwks: rs.jwks }), 'ID_TOKEN_SIGNATURE_UNSUPPORTED');
    // Without a JWKS, RS256 claims are still checked (the signature is left to TLS / WebCrypto).
    assert.equal(edge.validateIdTokenClaims(rs.token, opts).sub, 'auth0|1');
    assertFails(() => edge.validateIdTokenClaims(rs.token, { ...opts, algorithms: ['ES256'] }), 'JWS_ALG_NOT_ALLOWED');
  });

  test('oidc_core_15_1: verifyIdToken checks RS256, PS256 and ES256 signatures with WebCrypto, then the claims', async () => {
    for (const alg of ['RS256', 'PS256', 'ES256']) {
      const { token, jwks } = await sign(claims, { alg });
      assert.equal((await edge.verifyIdToken(token, { ...opts, jwks })).sub, 'auth0|1', alg);
      assert.equal((await edge.verifyIdToken(token, { ...opts, jwks: JSON.stringify(jwks) })).sub, 'auth0|1', alg);
      const other = await sign(claims, { alg });
      await assert.rejects(edge.verifyIdToken(token, { ...opts, jwks: other.jwks }), { code: 'JWS_SIGNATURE_INVALID' }, alg);
      await assert.rejects(edge.verifyIdToken(token, { ...opts, jwks, nonce: 'n-2' }), { code: 'ID_TOKEN_NONCE_MISMATCH' }, alg);
    }
    // A JWKS in rotation: the key named by kid is the one used.
    const a = await sign(claims, { alg: 'RS256', kid: 'a' });
    const b = await sign(claims, { alg: 'RS256', kid: 'b' });
    const both = { keys: [...b.jwks.keys, ...a.jwks.keys] };
    assert.equal((await edge.verifyIdToken(a.token, { ...opts, jwks: both })).sub, 'auth0|1');
    await assert.rejects(edge.verifyIdToken(a.token, { ...opts, jwks: b.jwks }), { code: 'ID_TOKEN_KEY_NOT_FOUND' });
    await assert.rejects(edge.verifyIdToken(a.token, { ...opts, jwks: a.jwks, algorithms: ['ES256'] }), { code: 'ID_TOKEN_SIGNATURE_UNSUPPORTED' });
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    await assert.rejects(edge.verifyIdToken(`eyJhbGciOiJub25lIn0.${payload}.`, { ...opts, jwks: a.jwks }), { code: 'ID_TOKEN_SIGNATURE_UNSUPPORTED' });
    await assert.rejects(edge.verifyIdToken(a.token, opts), { code: 'ARGUMENT_INVALID' });
    await assert.rejects(edge.verifyIdToken(a.token, { ...opts, jwks: '{' }), { code: 'ARGUMENT_INVALID' });
  });

  test('oidc_core_3_1_3_7: alg none is refused; arguments are checked', async () => {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    assertFails(() => edge.validateIdTokenClaims(`eyJhbGciOiJub25lIn0.${payload}.`, opts), 'JWS_ALG_NOT_ALLOWED');
    assertFails(() => edge.validateIdTokenClaims(42, opts), 'ARGUMENT_INVALID');
    assertFails(() => edge.validateIdTokenClaims('a.b.c', { clientId: 'spa' }), 'ARGUMENT_INVALID', 'issuer');
    assertFails(() => edge.validateIdTokenClaims('a.b.c', { ...opts, now: -1 }), 'ARGUMENT_INVALID', 'now');
    assertFails(() => edge.validateIdTokenClaims('a.b.c', { ...opts, algorithms: ['none'] }), 'JWS_ALG_NOT_ALLOWED');
  });
});
