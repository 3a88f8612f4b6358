// The redirect leg through TokenClient (src/js/client.js): discovery (strict issuer, OIDC
// then RFC 8414), the authorization URL, RFC 9126 pushed requests with a DPoP proof and
// nonce retry, RFC 9207 iss through the metadata, and the ID token check of exchangeCode
// (claims, and the ES256 signature against the JWKS as an option), against a small
// bounded server on 127.0.0.1 whose ID tokens jose signs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import * as jose from 'jose';

import { edge } from './support.mjs';

const { DpopKey, TokenClient } = edge;
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

const atHash = (token) => createHash('sha256').update(token).digest().subarray(0, 16).toString('base64url');

let srv;
before(async () => {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  const other = await jose.generateKeyPair('ES256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const state = { requests: [], nonceRequired: false, parNonce: 'par-nonce-1', idToken: {}, signWithOther: false, metadataIssuer: null, oidc: true };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const base = `http://${req.headers.host}`;
      const url = new URL(req.url, base);
      state.requests.push({ path: url.pathname, method: req.method, body, headers: req.headers });
      if (state.requests.length > 200) return res.writeHead(503).end();
      const json = (status, value, headers = {}) => res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(value));
      const metadata = () => ({
        issuer: state.metadataIssuer ?? base,
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/oauth/token`,
        pushed_authorization_request_endpoint: `${base}/oauth/par`,
        jwks_uri: `${base}/jwks`,
        revocation_endpoint: `${base}/oauth/revoke`,
        authorization_response_iss_parameter_supported: true,
        response_types_supported: ['code'],
      });
      if (url.pathname === '/.well-known/openid-configuration') return state.oidc ? json(200, metadata()) : json(404, { error: 'not_found' });
      if (url.pathname === '/.well-known/oauth-authorization-server') return json(200, metadata());
      if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
      if (url.pathname === '/oauth/par') {
        const proof = req.headers.dpop ? (await jose.jwtVerify(req.headers.dpop, jose.EmbeddedJWK, { typ: 'dpop+jwt' })).payload : null;
        if (proof && proof.nonce !== state.parNonce) {
          return json(400, { error: 'use_dpop_nonce', error_description: 'nonce required' }, { 'dpop-nonce': state.parNonce });
        }
        return json(201, { request_uri: 'urn:ietf:params:oauth:request_uri:abc', expires_in: 60 });
      }
      if (url.pathname === '/oauth/token') {
        const accessToken = 'at-1';
        const now = Math.floor(Date.now() / 1000);
        const claims = { iss: base, aud: 'spa', sub: 'user-1', nonce: 'n-1', at_hash: atHash(accessToken), ...state.idToken };
        const idToken = await new jose.SignJWT(claims)
          .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
          .setIssuedAt(now)
          .setExpirationTime(now + 300)
          .sign(state.signWithOther ? other.privateKey : privateKey);
        return json(200, { access_token: accessToken, token_type: req.headers.dpop ? 'DPoP' : 'Bearer', expires_in: 300, id_token: idToken });
      }
      json(404, { error: 'not_found' });
    });
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${server.address().port}`;
  srv = {
    base,
    state,
    reset() {
      Object.assign(state, { requests: [], idToken: {}, signWithOther: false, metadataIssuer: null, oidc: true });
    },
    close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(done); }),
  };
});
after(() => srv?.close());

test('rfc8414_3: discover reads the metadata, fills in the endpoints, and uses RFC 8414 when OIDC has none', async () => {
  srv.reset();
  const client = await TokenClient.discover(srv.base, { clientId: 'spa' });
  assert.equal(client.issuer, srv.base);
  assert.equal(client.tokenEndpoint, `${srv.base}/oauth/token`);
  assert.equal(client.authorizationEndpoint, `${srv.base}/authorize`);
  assert.equal(client.pushedAuthorizationRequestEndpoint, `${srv.base}/oauth/par`);
  assert.equal(client.revocationEndpoint, `${srv.base}/oauth/revoke`);
  assert.equal(client.metadata.authorizationResponseIssParameterSupported, true);
  assert.deepEqual(srv.state.requests.map((r) => r.path), ['/.well-known/openid-configuration']);

  srv.reset();
  srv.state.oidc = false;
  const again = await TokenClient.discover(srv.base, { clientId: 'spa' });
  assert.equal(again.tokenEndpoint, `${srv.base}/oauth/token`);
  assert.deepEqual(srv.state.requests.map((r) => r.path), ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']);
});

test('rfc8414_3_3: discover refuses metadata whose issuer is not the one asked for', async () => {
  srv.reset();
  srv.state.metadataIssuer = 'https://evil.example';
  await assert.rejects(TokenClient.discover(srv.base, { clientId: 'spa' }), { code: 'METADATA_ISSUER_MISMATCH' });
  await assert.rejects(TokenClient.discover('not a url', { clientId: 'spa' }), { code: 'URL_INVALID' });
  await assert.rejects(TokenClient.discover(42, { clientId: 'spa' }), { code: 'ARGUMENT_INVALID' });
});

test('rfc9126_2: pushAuthorizationRequest sends the request with a DPoP proof, retries once on use_dpop_nonce, and builds the URL', async () => {
  srv.reset();
  const dpopKey = DpopKey.generate();
  const client = await TokenClient.discover(srv.base, { clientId: 'spa', dpopKey });
  srv.state.requests.length = 0;
  const { codeChallenge } = edge.generatePkce();
  const par = await client.pushAuthorizationRequest({ redirectUri: 'https://app.example/cb', codeChallenge, scope: 'openid', state: 's-1', nonce: 'n-1', dpopJkt: dpopKey.thumbprint });
  assert.equal(par.requestUri, 'urn:ietf:params:oauth:request_uri:abc');
  assert.equal(par.expiresIn, 60);
  const url = new URL(par.authorizationUrl);
  assert.equal(`${url.origin}${url.pathname}`, `${srv.base}/authorize`);
  assert.deepEqual([...url.searchParams], [['client_id', 'spa'], ['request_uri', par.requestUri]]);
  assert.equal(srv.state.requests.length, 2, 'one nonce retry');
  const [first, second] = srv.state.requests;
  assert.ok(first.headers.dpop && second.headers.dpop);
  const form = new URLSearchParams(second.body);
  assert.equal(form.get('client_id'), 'spa');
  assert.equal(form.get('code_challenge'), codeChallenge);
  assert.equal(form.get('dpop_jkt'), dpopKey.thumbprint);
  assert.equal(form.get('state'), 's-1');
  const proof = jose.decodeJwt(second.headers.dpop);
  assert.equal(proof.htu, `${srv.base}/oauth/par`);
  assert.equal(proof.nonce, 'par-nonce-1');

  const noPar = new TokenClient({ tokenEndpoint: `${srv.base}/oauth/token`, clientId: 'spa' });
  await assert.rejects(noPar.pushAuthorizationRequest({ redirectUri: 'https://app.example/cb', codeChallenge }), { code: 'ARGUMENT_INVALID', message: /pushedAuthorizationRequestEndpoint/ });
});

test('rfc9207: the client checks iss with its issuer, and requires it as the metadata advertises', async () => {
  srv.reset();
  const client = await TokenClient.discover(srv.base, { clientId: 'spa' });
  const url = client.authorizationUrl({ redirectUri: 'https://app.example/cb', codeChallenge: edge.generatePkce().codeChallenge, state: 's-1' });
  assert.ok(url.startsWith(`${srv.base}/authorize?response_type=code&client_id=spa`));
  const ok = client.parseAuthorizationResponse(`https://app.example/cb?code=c-1&state=s-1&iss=${encodeURIComponent(srv.base)}`, { state: 's-1' });
  assert.equal(ok.code, 'c-1');
  assert.throws(() => client.parseAuthorizationResponse('https://app.example/cb?code=c-1&state=s-1', { state: 's-1' }), { code: 'AUTHORIZATION_RESPONSE_ISS_MISSING' });
  assert.throws(() => client.parseAuthorizationResponse('https://app.example/cb?code=c-1&state=s-1&iss=https%3A%2F%2Fevil.example', { state: 's-1' }), { code: 'AUTHORIZATION_RESPONSE_ISS_MISMATCH' });
  assert.throws(() => client.parseAuthorizationResponse(`https://app.example/cb?code=c-1&state=other&iss=${encodeURIComponent(srv.base)}`, { state: 's-1' }), { code: 'AUTHORIZATION_RESPONSE_STATE_MISMATCH' });
});

test('rfc6749_3_1_2: a fragment response (responseMode fragment) to a redirect URI with its own query', async () => {
  srv.reset();
  const client = await TokenClient.discover(srv.base, { clientId: 'spa' });
  const redirectUri = 'https://app.example/cb?tenant=a';
  const url = new URL(client.authorizationUrl({ redirectUri, codeChallenge: edge.generatePkce().codeChallenge, state: 's-1', responseMode: 'fragment' }));
  assert.equal(url.searchParams.get('response_mode'), 'fragment');
  assert.equal(url.searchParams.get('redirect_uri'), redirectUri);
  const iss = encodeURIComponent(srv.base);
  const back = `${redirectUri}#code=c-1&state=s-1&iss=${iss}`;
  assert.deepEqual({ ...client.parseAuthorizationResponse(back, { state: 's-1' }) }, { code: 'c-1', state: 's-1', iss: srv.base });
  assert.equal(client.parseAuthorizationResponse(new URL(back), { state: 's-1' }).code, 'c-1');
  assert.equal(client.parseAuthorizationResponse(back, { state: 's-1', responseMode: 'fragment' }).code, 'c-1');
  assert.equal(edge.parseAuthorizationResponse(`${redirectUri}#code=c-2&state=s-1`, { state: 's-1' }).code, 'c-2');
  // The checks are those of a query response.
  assert.throws(() => client.parseAuthorizationResponse(`${redirectUri}#code=c-1&state=s-1`, { state: 's-1' }), { code: 'AUTHORIZATION_RESPONSE_ISS_MISSING' });
  assert.throws(() => client.parseAuthorizationResponse(`${redirectUri}#code=c-1&state=other&iss=${iss}`, { state: 's-1' }), { code: 'AUTHORIZATION_RESPONSE_STATE_MISMATCH' });
  assert.throws(() => client.parseAuthorizationResponse(`${redirectUri}#error=access_denied&state=s-1&iss=${iss}`, { state: 's-1' }), { code: 'AUTHORIZATION_ERROR', error: 'access_denied' });
  // A query response keeps ignoring a fragment that carries no response parameter.
  assert.equal(client.parseAuthorizationResponse(`https://app.example/cb?code=c-3&state=s-1&iss=${iss}#_=_`, { state: 's-1' }).code, 'c-3');
});

test('rfc9700_4_4: response parameters in both the query and the fragment are refused as ambiguous', () => {
  const iss = encodeURIComponent('https://as.example/');
  const opts = { state: 's-1', issuer: 'https://as.example/' };
  for (const url of [
    'https://app.example/cb?code=c-1&state=s-1#code=c-2&state=s-1',
    'https://app.example/cb?tenant=a&code=c-1#code=c-2&state=s-1',
    `https://app.example/cb?iss=${iss}#code=c-1&state=s-1`,
    'https://app.example/cb?code=c-1&state=s-1#error=access_denied',
    'https://app.example/cb?state=s-1#code=c-1',
  ]) {
    for (const responseMode of [undefined, 'query', 'fragment']) {
      assert.throws(() => edge.parseAuthorizationResponse(url, { ...opts, responseMode }), { code: 'AUTHORIZATION_RESPONSE_AMBIGUOUS', message: /both the query and the fragment/ }, `${url} ${responseMode}`);
    }
  }
});

test('oauth_responses_2_1: responseMode reads the response from exactly that part of the URL', () => {
  const opts = { state: 's-1' };
  assert.equal(edge.parseAuthorizationResponse('https://app.example/cb?code=c-1&state=s-1#_=_', { ...opts, responseMode: 'query' }).code, 'c-1');
  assert.equal(edge.parseAuthorizationResponse('https://app.example/cb?tenant=a#code=c-2&state=s-1', { ...opts, responseMode: 'fragment' }).code, 'c-2');
  assert.throws(() => edge.parseAuthorizationResponse('https://app.example/cb?code=c-1&state=s-1', { ...opts, responseMode: 'fragment' }), { code: 'AUTHORIZATION_RESPONSE_MODE_MISMATCH', message: /in the query, not the fragment/ });
  assert.throws(() => edge.parseAuthorizationResponse('https://app.example/cb?tenant=a#code=c-2&state=s-1', { ...opts, responseMode: 'query' }), { code: 'AUTHORIZATION_RESPONSE_MODE_MISMATCH', message: /in the fragment, not the query/ });
  // Neither part has a response: the usual missing-parameter codes.
  assert.throws(() => edge.parseAuthorizationResponse('https://app.example/cb?tenant=a', { ...opts, responseMode: 'fragment' }), { code: 'AUTHORIZATION_RESPONSE_STATE_MISSING' });
  for (const responseMode of ['form_post', 'Fragment', 42, true]) {
    assert.throws(() => edge.parseAuthorizationResponse('https://app.example/cb?code=c-1&state=s-1', { ...opts, responseMode }), { code: 'ARGUMENT_INVALID', message: /responseMode/ }, String(responseMode));
  }
  assert.equal(edge.parseAuthorizationResponse('https://app.example/cb?code=c-1&state=s-1', { ...opts, responseMode: null }).code, 'c-1');
});

test('oidc_core_3_1_3_7: exchangeCode checks the ID token claims and returns them', async () => {
  srv.reset();
  const client = await TokenClient.discover(srv.base, { clientId: 'spa' });
  const tokens = await client.exchangeCode({ code: 'c-1', redirectUri: 'https://app.example/cb', codeVerifier: VERIFIER, nonce: 'n-1' });
  assert.equal(tokens.idTokenClaims.sub, 'user-1');
  assert.equal(tokens.idTokenClaims.nonce, 'n-1');
  assert.deepEqual(await client.getTokens(), tokens);

  await assert.rejects(client.exchangeCode({ code: 'c-1', redirectUri: 'https://app.example/cb', codeVerifier: VERIFIER, nonce: 'other' }), { code: 'ID_TOKEN_NONCE_MISMATCH' });
  for (const [claims, code] of [
    [{ iss: 'https://evil.example' }, 'ID_TOKEN_ISS_MISMATCH'],
    [{ aud: 'someone-else' }, 'ID_TOKEN_AUD_MISMATCH'],
    [{ at_hash: atHash('another token') }, 'ID_TOKEN_AT_HASH_MISMATCH'],
    [{ aud: ['spa', 'api'], azp: 'api' }, ['ID_TOKEN_AZP_MISMATCH', 'ID_TOKEN_AUD_UNTRUSTED']],
  ]) {
    srv.state.idToken = claims;
    const err = await client.exchangeCode({ code: 'c-1', redirectUri: 'https://app.example/cb', codeVerifier: VERIFIER, nonce: 'n-1' }).catch((e) => e);
    assert.ok([code].flat().includes(err.code), `${JSON.stringify(claims)}: ${err.code} ${err.message}`);
  }
  // A client that does not know its issuer cannot check a nonce.
  const bare = new TokenClient({ tokenEndpoint: `${srv.base}/oauth/token`, clientId: 'spa' });
  await assert.rejects(bare.exchangeCode({ code: 'c-1', redirectUri: 'https://app.example/cb', codeVerifier: VERIFIER, nonce: 'n-1' }), { code: 'ARGUMENT_INVALID', message: /issuer/ });
});

test('oidc_core_3_1_3_7: with verifySignature the ID token must be signed by a key of the JWKS', async () => {
  srv.reset();
  const client = await TokenClient.discover(srv.base, { clientId: 'spa' });
  const tokens = await client.exchangeCode({ code: 'c-1', redirectUri: 'https://app.example/cb', codeVerifier: VERIFIER, nonce: 'n-1', verifySignature: true });
  assert.equal(tokens.idTokenClaims.sub, 'user-1');
  assert.ok(srv.state.requests.some((r) => r.path === '/jwks'), 'the JWKS was fetched from jwks_uri');
  srv.state.signWithOther = true;
  const err = await client.exchangeCode({ code: 'c-1', redirectUri: 'https://app.example/cb', codeVerifier: VERIFIER, nonce: 'n-1', verifySignature: true }).catch((e) => e);
  assert.match(err.code, /^(ID_TOKEN_SIGNATURE_INVALID|JWS_SIGNATURE_INVALID|ID_TOKEN_KEY_NOT_FOUND)$/, `${err.code}: ${err.message}`);
  // Without verifySignature the same token's claims pass (OIDC Core 3.1.3.7 allows it over TLS).
  assert.equal((await client.exchangeCode({ code: 'c-1', redirectUri: 'https://app.example/cb', codeVerifier: VERIFIER, nonce: 'n-1' })).idTokenClaims.sub, 'user-1');
});
