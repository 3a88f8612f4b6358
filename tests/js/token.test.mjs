import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertFails, edge, nowSeconds } from './support.mjs';

/** Parses a form body the way a server (or the WHATWG URL spec) does, refusing repeats. */
function parseForm(body) {
  assert.equal(typeof body, 'string');
  assert.doesNotMatch(body, /[^A-Za-z0-9\-._~%&=+*]/, `unexpected raw character in ${body}`);
  const params = new URLSearchParams(body);
  const out = {};
  for (const [name, value] of params) {
    assert.ok(!(name in out), `parameter ${name} is repeated in ${body}`);
    out[name] = value;
  }
  return out;
}

// Visible ASCII (RFC 6749 VSCHAR) that a form encoder must escape.
const TRICKY = ' %&+=?#/~*"';
// Scope tokens are NQCHAR: no space, double quote or backslash inside a token.
const TRICKY_SCOPE = 'a%&+=?#/ b~*';

test('rfc6749_4_1_3: authorizationCodeGrantBody', () => {
  const codeVerifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const body = edge.authorizationCodeGrantBody({
    code: 'SplxlOBeZQQYbYS6WxSbIA',
    redirectUri: 'https://client.example.com/cb?a=1&b=2',
    codeVerifier,
    clientId: 's6BhdRkqt3',
  });
  assert.deepEqual(parseForm(body), {
    grant_type: 'authorization_code',
    code: 'SplxlOBeZQQYbYS6WxSbIA',
    redirect_uri: 'https://client.example.com/cb?a=1&b=2',
    code_verifier: codeVerifier,
    client_id: 's6BhdRkqt3',
  });

  const withoutClient = edge.authorizationCodeGrantBody({
    code: `c${TRICKY}`,
    redirectUri: 'https://client.example.com/cb',
    codeVerifier,
  });
  assert.deepEqual(parseForm(withoutClient), {
    grant_type: 'authorization_code',
    code: `c${TRICKY}`,
    redirect_uri: 'https://client.example.com/cb',
    code_verifier: codeVerifier,
  });
});

test('authorizationCodeGrantBody rejects a missing code and a bad verifier', () => {
  const good = {
    code: 'abc',
    redirectUri: 'https://client.example.com/cb',
    codeVerifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  };
  assertFails(() => edge.authorizationCodeGrantBody({ ...good, code: '' }), 'REQUEST_PARAMETER_MISSING', 'code');
  assertFails(() => edge.authorizationCodeGrantBody({ ...good, code: undefined }), [
    'REQUEST_PARAMETER_MISSING',
    'ARGUMENT_INVALID',
  ]);
  assertFails(() => edge.authorizationCodeGrantBody({ ...good, codeVerifier: 'short' }), 'PKCE_VERIFIER_INVALID');
  assertFails(() => edge.authorizationCodeGrantBody({ ...good, code: 42 }), 'ARGUMENT_INVALID', 'code');
  assertFails(() => edge.authorizationCodeGrantBody({ ...good, code: 'caf\u00e9' }), 'REQUEST_PARAMETER_INVALID', 'code');
  assertFails(() => edge.authorizationCodeGrantBody({ ...good, code: 'a\nb' }), 'REQUEST_PARAMETER_INVALID', 'code');
  assertFails(() => edge.authorizationCodeGrantBody({ ...good, clientId: 'caf\u00e9' }), 'REQUEST_PARAMETER_INVALID', 'client_id');
  assertFails(() => edge.authorizationCodeGrantBody(), 'ARGUMENT_INVALID');
});

test('rfc6749_6: refreshTokenGrantBody', () => {
  const body = edge.refreshTokenGrantBody({
    refreshToken: 'tGzv3JOkF0XG5Qx2TlKWIA',
    scope: 'read write',
    clientId: 's6BhdRkqt3',
  });
  assert.deepEqual(parseForm(body), {
    grant_type: 'refresh_token',
    refresh_token: 'tGzv3JOkF0XG5Qx2TlKWIA',
    scope: 'read write',
    client_id: 's6BhdRkqt3',
  });
  assert.deepEqual(parseForm(edge.refreshTokenGrantBody({ refreshToken: `r${TRICKY}` })), {
    grant_type: 'refresh_token',
    refresh_token: `r${TRICKY}`,
  });
  assertFails(() => edge.refreshTokenGrantBody({ refreshToken: '' }), 'REQUEST_PARAMETER_MISSING', 'refresh_token');
  assertFails(() => edge.refreshTokenGrantBody({ refreshToken: 'r\u20ac' }), 'REQUEST_PARAMETER_INVALID', 'refresh_token');
  assertFails(() => edge.refreshTokenGrantBody({ refreshToken: 'r', scope: 'a  b' }), 'REQUEST_PARAMETER_INVALID', 'scope');
});

test('rfc6749_4_4_2: clientCredentialsGrantBody with the Auth0 extras', () => {
  const body = edge.clientCredentialsGrantBody({
    audience: 'https://api.example.com/',
    resource: 'https://rs.example.com/items',
    organization: 'org_123',
    scope: 'read:items write:items',
    clientId: 'client-abc',
  });
  assert.deepEqual(parseForm(body), {
    grant_type: 'client_credentials',
    audience: 'https://api.example.com/',
    resource: 'https://rs.example.com/items',
    organization: 'org_123',
    scope: 'read:items write:items',
    client_id: 'client-abc',
  });
  assert.deepEqual(parseForm(edge.clientCredentialsGrantBody({})), { grant_type: 'client_credentials' });
  assert.deepEqual(parseForm(edge.clientCredentialsGrantBody({ scope: TRICKY_SCOPE })), {
    grant_type: 'client_credentials',
    scope: TRICKY_SCOPE,
  });
  assertFails(() => edge.clientCredentialsGrantBody({ scope: 'read "write"' }), 'REQUEST_PARAMETER_INVALID', 'scope');
  assertFails(() => edge.clientCredentialsGrantBody({ resource: 'https://rs.example.com/#top' }), 'REQUEST_PARAMETER_INVALID', 'resource');
  assertFails(() => edge.clientCredentialsGrantBody({ audience: 7 }), 'ARGUMENT_INVALID', 'audience');
});

test('rfc6749_5_1: parseTokenResponse on a full success body', () => {
  const before = nowSeconds();
  const set = edge.parseTokenResponse(
    200,
    JSON.stringify({
      access_token: '2YotnFZFEjr1zCsicMWpAA',
      token_type: 'Bearer',
      expires_in: 3600,
      refresh_token: 'tGzv3JOkF0XG5Qx2TlKWIA',
      id_token: 'eyJhbGciOiJFUzI1NiJ9.e30.sig',
      scope: 'openid read',
      example_parameter: 'example_value',
    }),
  );
  const after = nowSeconds();
  assert.equal(set.accessToken, '2YotnFZFEjr1zCsicMWpAA');
  assert.equal(set.tokenType, 'Bearer');
  assert.equal(set.expiresIn, 3600);
  assert.ok(set.expiresAt >= before + 3600 && set.expiresAt <= after + 3600, `expiresAt ${set.expiresAt}`);
  assert.equal(set.refreshToken, 'tGzv3JOkF0XG5Qx2TlKWIA');
  assert.equal(set.idToken, 'eyJhbGciOiJFUzI1NiJ9.e30.sig');
  assert.equal(set.scope, 'openid read');
  assert.equal(set.example_parameter, undefined);
});

test('rfc6749_5_1: optional members are absent when the server sends none', () => {
  const set = edge.parseTokenResponse(200, '{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer"}');
  assert.equal(set.accessToken, '2YotnFZFEjr1zCsicMWpAA');
  assert.equal(set.tokenType, 'Bearer');
  for (const member of ['expiresIn', 'expiresAt', 'refreshToken', 'idToken', 'scope']) {
    assert.equal(set[member], undefined, `${member} should be absent`);
  }
});

test('rfc9449_5: a DPoP token response, token_type case-insensitive', () => {
  const set = edge.parseTokenResponse(
    200,
    JSON.stringify({
      access_token: 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU',
      token_type: 'DPoP',
      expires_in: 2677,
      refresh_token: 'Q..Zkm29lexi8VnWg2zPW1x-tgGad0Ibc3s3EwM_Ni4-g',
    }),
    new Headers({ 'DPoP-Nonce': 'eyJ7S_zG.eyJbYu3.xQmBj-1' }),
  );
  assert.equal(set.accessToken, 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU');
  assert.equal(set.tokenType, 'DPoP');
  assert.equal(set.expiresIn, 2677);
  assert.equal(set.refreshToken, 'Q..Zkm29lexi8VnWg2zPW1x-tgGad0Ibc3s3EwM_Ni4-g');
  assert.equal(edge.parseTokenResponse(200, '{"access_token":"x","token_type":"dpop"}').tokenType, 'DPoP');
  assert.equal(edge.parseTokenResponse(200, '{"access_token":"x","token_type":"bEaReR"}').tokenType, 'Bearer');
  assert.equal(edge.parseTokenResponse(200, '{"access_token":"x","token_type":"Bearer","expires_in":0}').expiresIn, 0);
});

test('rfc6749_5_1: invalid success bodies fail with a code naming the member', () => {
  const bad = (body) => () => edge.parseTokenResponse(200, typeof body === 'string' ? body : JSON.stringify(body));
  assertFails(bad({ access_token: 'x' }), 'TOKEN_RESPONSE_INVALID', 'token_type');
  assertFails(bad({ token_type: 'Bearer' }), 'TOKEN_RESPONSE_INVALID', 'access_token');
  assertFails(bad({ access_token: '', token_type: 'Bearer' }), 'TOKEN_RESPONSE_INVALID', 'access_token');
  assertFails(bad({ access_token: 123, token_type: 'Bearer' }), 'TOKEN_RESPONSE_INVALID', 'access_token');
  assertFails(bad({ access_token: 'x', token_type: 'Bearer', expires_in: -1 }), 'TOKEN_RESPONSE_INVALID', 'expires_in');
  assertFails(bad({ access_token: 'x', token_type: 'Bearer', expires_in: '3600' }), 'TOKEN_RESPONSE_INVALID', 'expires_in');
  assertFails(bad({ access_token: 'x', token_type: 'Bearer', expires_in: 3600.5 }), 'TOKEN_RESPONSE_INVALID', 'expires_in');
  assertFails(bad({ access_token: 'x', token_type: 'Bearer', refresh_token: 5 }), 'TOKEN_RESPONSE_INVALID', 'refresh_token');
  assertFails(bad({ access_token: 'x', token_type: 'Bearer', id_token: {} }), 'TOKEN_RESPONSE_INVALID', 'id_token');
  assertFails(bad({ access_token: 'x', token_type: 'Bearer', scope: ['a'] }), 'TOKEN_RESPONSE_INVALID', 'scope');
  assertFails(bad({ access_token: 'x', token_type: 'example' }), 'TOKEN_TYPE_UNSUPPORTED');
  assertFails(bad('{"access_token":"a","token_type":"Bearer","access_token":"b"}'), [
    'TOKEN_RESPONSE_INVALID',
    'TOKEN_RESPONSE_NOT_JSON',
    'JSON_INVALID',
  ]);
  assertFails(bad('access_token=x&token_type=bearer'), 'TOKEN_RESPONSE_NOT_JSON');
  assertFails(bad('["access_token"]'), 'TOKEN_RESPONSE_NOT_JSON');
  assertFails(bad(''), 'TOKEN_RESPONSE_NOT_JSON');
});

test('rfc6749_5_2: an error body becomes an OAUTH_ERROR with error, errorDescription, status', () => {
  const err = assertFails(
    () => edge.parseTokenResponse(400, '{"error":"invalid_grant","error_description":"expired code"}'),
    'OAUTH_ERROR',
  );
  assert.equal(err.error, 'invalid_grant');
  assert.equal(err.errorDescription, 'expired code');
  assert.equal(err.status, 400);
  assert.equal(err.dpopNonce, undefined);

  const unauthorized = assertFails(
    () => edge.parseTokenResponse(401, '{"error":"invalid_client"}', { 'WWW-Authenticate': 'Basic realm="example"' }),
    'OAUTH_ERROR',
  );
  assert.equal(unauthorized.error, 'invalid_client');
  assert.equal(unauthorized.errorDescription, undefined);
  assert.equal(unauthorized.status, 401);

  // Auth0 answers invalid_grant with 403.
  const forbidden = assertFails(
    () => edge.parseTokenResponse(403, '{"error":"invalid_grant","error_description":"Invalid authorization code"}'),
    'OAUTH_ERROR',
  );
  assert.equal(forbidden.error, 'invalid_grant');
  assert.equal(forbidden.errorDescription, 'Invalid authorization code');
  assert.equal(forbidden.status, 403);
});

test('rfc9449_8: use_dpop_nonce carries the DPoP-Nonce header, from Headers or a plain object', () => {
  const body = '{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}';
  const nonce = 'eyJ7S_zG.eyJH0-Z.HX4w-7v';
  for (const headers of [
    new Headers({ 'DPoP-Nonce': nonce, 'Content-Type': 'application/json' }),
    { 'DPoP-Nonce': nonce },
    { 'content-type': 'application/json', 'dpop-nonce': nonce },
  ]) {
    const err = assertFails(() => edge.parseTokenResponse(400, body, headers), 'OAUTH_ERROR');
    assert.equal(err.error, 'use_dpop_nonce');
    assert.equal(err.errorDescription, 'Authorization server requires nonce in DPoP proof');
    assert.equal(err.status, 400);
    assert.equal(err.dpopNonce, nonce);
  }
  const withoutHeader = assertFails(() => edge.parseTokenResponse(400, body, new Headers()), 'OAUTH_ERROR');
  assert.equal(withoutHeader.dpopNonce, undefined);
});

test('error responses that are not RFC 6749 error bodies still fail with a code', () => {
  for (const [status, body] of [
    [500, '<html>Internal Server Error</html>'],
    [502, ''],
    [400, '{"error_description":"no error member"}'],
    [400, '{"error":42}'],
  ]) {
    const err = assertFails(() => edge.parseTokenResponse(status, body), [
      'TOKEN_RESPONSE_NOT_JSON',
      'TOKEN_RESPONSE_INVALID',
      'OAUTH_ERROR',
    ]);
    if (err.code === 'OAUTH_ERROR') assert.equal(err.status, status);
  }
  assertFails(() => edge.parseTokenResponse(400, '{"error":"invalid_grant"}', 42), 'ARGUMENT_INVALID', 'headers');
});
