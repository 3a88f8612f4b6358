// TokenClient's own checks around its requests, against a mock fetch: what the metadata
// advertises cannot be switched off by an undefined option (RFC 9207), options are checked
// before a code is spent, an ID token is checked on every grant that returns one (OIDC
// Core §3.1.3.7, §12.2), the authorization server's DPoP nonces are kept apart from the
// resource servers' (RFC 9449 §8.2, §9), and argument errors are EdgeOAuthErrors.
import assert from 'node:assert/strict';
import { test } from 'node:test';

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
