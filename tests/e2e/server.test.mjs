// End to end: the real worker under `wrangler dev` (workerd + local KV), driven by
// oauth4webapi as a third-party client and by raw fetch for hostile requests. Tokens are
// verified with jose against the published JWKS. Rule numbers refer to
// ../shared/vectors/rules.md.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import {
  API, NO_OFFLINE_API, RSA_API, USER_PASSWORD, authorize, basic, form, parseLoginForm, startServer, tokenRequest,
} from './harness.mjs';

const insecure = { [oauth.allowInsecureRequests]: true };
let srv;
let as;
let jwks;
const T = () => srv.tenant;

before(async () => {
  srv = await startServer();
  const issuer = new URL(srv.issuer);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oidc' }));
  jwks = jose.createLocalJWKSet(await (await fetch(as.jwks_uri)).json());
});

after(async () => {
  await srv?.stop();
});

// ---------------------------------------------------------------- helpers

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const sha256 = (s) => createHash('sha256').update(s).digest();

function assertNoStore(res) {
  assert.equal(res.headers.get('cache-control'), 'no-store', 'Cache-Control: no-store');
  assert.equal(res.headers.get('pragma'), 'no-cache', 'Pragma: no-cache');
}

/** RFC 6749 §5.2 error: status, JSON body with `error`, no-store. */
function assertOAuthError(res, status, error, message) {
  assert.equal(res.status, status, `${message ?? error}: status (body ${res.text})`);
  assert.ok(res.json, `${message ?? error}: JSON body, got ${res.text}`);
  if (Array.isArray(error)) assert.ok(error.includes(res.json.error), `${message}: error ${res.json.error} not in ${error}`);
  else assert.equal(res.json.error, error, `${message ?? error}: error code (${res.text})`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assertNoStore(res);
  if (res.json.error_description !== undefined) {
    assert.equal(typeof res.json.error_description, 'string');
    assert.doesNotMatch(res.json.error_description, /panicked|RuntimeError|unreachable|at src\//, 'no internals in errors');
  }
}

async function verifyAccessToken(token, { audience, sub, clientId, scope }) {
  const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
    issuer: srv.issuer, audience, typ: 'at+jwt', algorithms: ['ES256'],
  });
  assert.equal(protectedHeader.kid, srv.signingKids[0], 'signed with the first key of SIGNING_KEYS');
  for (const claim of ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id']) assert.ok(payload[claim] !== undefined, `claim ${claim}`);
  assert.equal(payload.client_id, clientId);
  if (sub) assert.equal(payload.sub, sub);
  if (scope !== undefined) assert.deepEqual((payload.scope ?? '').split(' ').filter(Boolean).sort(), scope.split(' ').filter(Boolean).sort());
  assert.ok(payload.exp > payload.iat);
  return payload;
}

async function verifyIdToken(idToken, accessToken, { clientId, sub, nonce, alg = 'RS256' }) {
  const { payload, protectedHeader } = await jose.jwtVerify(idToken, jwks, { issuer: srv.issuer, audience: clientId, algorithms: [alg] });
  assert.notEqual(protectedHeader.typ, 'at+jwt');
  // OIDC Core §15.1: RS256 by default, with the RSA key of SIGNING_KEYS.
  assert.equal(protectedHeader.kid, alg === 'RS256' ? srv.rsaKid : srv.signingKids[0], 'ID token kid');
  for (const claim of ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'at_hash', 'azp']) assert.ok(payload[claim] !== undefined, `ID token claim ${claim}`);
  assert.equal(payload.sub, sub);
  assert.equal(payload.azp, clientId);
  if (nonce) assert.equal(payload.nonce, nonce);
  // OIDC Core §3.1.3.6: left half of SHA-256 of the access token.
  assert.equal(payload.at_hash, b64url(sha256(accessToken).subarray(0, 16)), 'at_hash');
  assert.ok(Math.abs(payload.auth_time - Date.now() / 1000) < 300, 'auth_time is recent');
  return payload;
}

/** Logs in through the real form and returns the code and what the exchange needs. */
async function getCode({
  clientId = 'demo-spa', scope = 'openid profile email offline_access', audience = API, pkce = true, method = 'S256',
  redirectUri = `${srv.url}/`, user = { username: T().user.email, password: USER_PASSWORD }, extra = {},
} = {}) {
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const verifier = oauth.generateRandomCodeVerifier();
  const params = {
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state, nonce, audience, ...extra,
  };
  if (pkce) {
    params.code_challenge = method === 'S256' ? await oauth.calculatePKCECodeChallenge(verifier) : verifier;
    params.code_challenge_method = method;
  }
  const r = await authorize(srv.url, params, user);
  assert.ok([302, 303].includes(r.status), `login redirects (got ${r.status} at ${r.step}: ${r.html?.slice(0, 500)})`);
  const location = new URL(r.location);
  assert.equal(`${location.origin}${location.pathname}`, redirectUri, 'redirects to the registered redirect_uri');
  assert.equal(location.searchParams.get('state'), state);
  const code = location.searchParams.get('code');
  assert.ok(code && code.length >= 22, 'code of at least 128 bits');
  return { code, state, nonce, verifier, redirectUri, location };
}

async function exchange({ code, verifier, redirectUri, clientId = 'demo-spa', headers = {}, extra = {} }) {
  const body = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, ...extra };
  if (verifier !== undefined) body.code_verifier = verifier;
  for (const k of Object.keys(body)) if (body[k] === undefined || body[k] === null) delete body[k];
  return tokenRequest(srv.url, form(body), { headers });
}

/** Code + PKCE for the SPA, through oauth4webapi; returns the token response. */
async function spaLogin(opts = {}) {
  const c = await getCode(opts);
  const client = { client_id: opts.clientId ?? 'demo-spa', id_token_signed_response_alg: 'RS256' };
  const params = oauth.validateAuthResponse(as, client, c.location, c.state);
  const res = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, c.redirectUri, c.verifier, insecure);
  assertNoStore(res);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, res, { expectedNonce: c.nonce, requireIdToken: (opts.scope ?? 'openid').includes('openid') });
  return { ...c, tokens };
}

const refresh = (refreshToken, clientId = 'demo-spa', extra = {}) => tokenRequest(srv.url, form({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, ...extra }));

const m2m = () => ({ id: 'demo-m2m', secret: T()['demo-m2m'].client_secret });
const ccBody = (extra = {}) => form({ grant_type: 'client_credentials', audience: API, ...extra });

// ---------------------------------------------------------------- discovery

describe('discovery (RFC 8414, OIDC Discovery)', () => {
  test('openid-configuration lists only what is implemented (rules 114-121)', () => {
    assert.equal(as.issuer, srv.issuer);
    assert.equal(as.token_endpoint, `${srv.url}/oauth/token`);
    assert.equal(as.authorization_endpoint, `${srv.url}/authorize`);
    assert.equal(as.userinfo_endpoint, `${srv.url}/userinfo`);
    assert.equal(as.jwks_uri, `${srv.url}/.well-known/jwks.json`);
    assert.equal(as.revocation_endpoint, `${srv.url}/oauth/revoke`);
    assert.deepEqual([...as.grant_types_supported].sort(), [
      'authorization_code', 'client_credentials', 'http://auth0.com/oauth/grant-type/password-realm', 'password', 'refresh_token',
      'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:token-exchange',
    ]);
    assert.deepEqual(as.response_types_supported, ['code']);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.ok(as.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
    assert.ok(as.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
    assert.ok(!as.token_endpoint_auth_signing_alg_values_supported.includes('none'));
    // OIDC Discovery §3: RS256 MUST be included.
    assert.deepEqual(as.id_token_signing_alg_values_supported, ['RS256', 'ES256']);
  });

  test('oauth-authorization-server has the same issuer (RFC 8414 §3.3)', async () => {
    const issuer = new URL(srv.issuer);
    const meta = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }));
    assert.equal(meta.issuer, srv.issuer);
    assert.equal(meta.token_endpoint, as.token_endpoint);
  });

  test('JWKS publishes every signing key, public members only', async () => {
    const res = await fetch(as.jwks_uri);
    assert.equal(res.status, 200);
    const { keys } = await res.json();
    assert.deepEqual(keys.map((k) => k.kid).sort(), [...srv.signingKids, srv.rsaKid].sort());
    for (const k of keys) {
      if (k.kty === 'RSA') {
        assert.equal(k.alg, 'RS256');
        for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(k[m], undefined, `no RSA ${m} in the JWKS`);
      } else {
        assert.equal(k.kty, 'EC');
        assert.equal(k.crv, 'P-256');
        assert.equal(k.d, undefined, 'no private key in the JWKS');
      }
    }
  });

  test('a client registered for ES256 ID tokens gets ES256; RS256 is the default (OIDC Core §15.1)', async () => {
    const c = await getCode({ clientId: 'e2e-web-es256', redirectUri: `${srv.url}/callback`, scope: 'openid' });
    const client = { client_id: 'e2e-web-es256', id_token_signed_response_alg: 'ES256' };
    const params = oauth.validateAuthResponse(as, client, c.location, c.state);
    const res = await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretBasic(T()['e2e-web-es256'].client_secret), params, c.redirectUri, c.verifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, res, { expectedNonce: c.nonce, requireIdToken: true });
    await verifyIdToken(tokens.id_token, tokens.access_token, { clientId: 'e2e-web-es256', sub: T().user.user_id, nonce: c.nonce, alg: 'ES256' });
  });

  test('an API with signing_alg RS256 gets RS256 access tokens, verified against the JWKS', async () => {
    const cred = T()['e2e-post'];
    const res = await tokenRequest(srv.url, form({ grant_type: 'client_credentials', audience: RSA_API, client_id: cred.client_id, client_secret: cred.client_secret }));
    assert.equal(res.status, 200, res.text);
    const { payload, protectedHeader } = await jose.jwtVerify(res.json.access_token, jwks, { issuer: srv.issuer, audience: RSA_API, typ: 'at+jwt', algorithms: ['RS256'] });
    assert.equal(protectedHeader.kid, srv.rsaKid);
    assert.equal(payload.scope, 'read:rsa');
  });
});

// ---------------------------------------------------------------- client credentials

describe('client_credentials (RFC 6749 §4.4)', () => {
  test('client_secret_basic through oauth4webapi, JWT verified with jose (RFC 9068)', async () => {
    const client = { client_id: 'demo-m2m' };
    const res = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(m2m().secret), new URLSearchParams({ audience: API }), insecure);
    assertNoStore(res);
    const tokens = await oauth.processClientCredentialsResponse(as, client, res);
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.refresh_token, undefined, 'no refresh token (rule 23)');
    assert.equal(tokens.expires_in, 86400);
    assert.equal(tokens.scope, 'read:items', 'scope defaults to the granted scopes');
    const claims = await verifyAccessToken(tokens.access_token, { audience: API, clientId: 'demo-m2m', scope: 'read:items' });
    assert.ok(['demo-m2m', 'demo-m2m@clients'].includes(claims.sub), `sub names the client, got ${claims.sub}`);
  });

  test('client_secret_post through oauth4webapi, with a narrower scope', async () => {
    const client = { client_id: 'e2e-post' };
    const res = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretPost(T()['e2e-post'].client_secret), new URLSearchParams({ audience: API, scope: 'write:items' }), insecure);
    const tokens = await oauth.processClientCredentialsResponse(as, client, res);
    assert.equal(tokens.scope, 'write:items');
    await verifyAccessToken(tokens.access_token, { audience: API, clientId: 'e2e-post', scope: 'write:items' });
  });

  test('client_secret_jwt (HS256) through oauth4webapi', async () => {
    const client = { client_id: 'e2e-hs256' };
    const res = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretJwt(T()['e2e-hs256'].client_secret), new URLSearchParams({ audience: API }), insecure);
    const tokens = await oauth.processClientCredentialsResponse(as, client, res);
    await verifyAccessToken(tokens.access_token, { audience: API, clientId: 'e2e-hs256', scope: 'read:items' });
  });

  for (const id of ['e2e-es256', 'e2e-rs256', 'e2e-ps256']) {
    test(`private_key_jwt with ${id.slice(4).toUpperCase()} through oauth4webapi (RFC 7523)`, async () => {
      const client = { client_id: id };
      const auth = oauth.PrivateKeyJwt({ key: T()[id].privateKey, kid: T()[id].kid });
      const res = await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams({ audience: API }), insecure);
      const tokens = await oauth.processClientCredentialsResponse(as, client, res);
      await verifyAccessToken(tokens.access_token, { audience: API, clientId: id, scope: 'read:items' });
    });
  }

  const assertion = (claims = {}, { id = 'e2e-es256', alg = 'ES256', key } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new jose.SignJWT({ iss: id, sub: id, aud: srv.issuer, jti: b64url(randomBytes(16)), iat: now, exp: now + 60, ...claims })
      .setProtectedHeader({ alg, kid: T()[id]?.kid })
      .sign(key ?? T()[id].privateKey);
  };
  const assertionBody = (jwt, extra = {}) => form({
    grant_type: 'client_credentials', audience: API, client_id: 'e2e-es256',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt, ...extra,
  });

  test('private_key_jwt: a replayed assertion jti is invalid_client (rule 101)', async () => {
    const jwt = await assertion();
    assert.equal((await tokenRequest(srv.url, assertionBody(jwt))).status, 200);
    assertOAuthError(await tokenRequest(srv.url, assertionBody(jwt)), 401, 'invalid_client', 'replayed jti');
  });

  test('private_key_jwt: wrong aud, iss != sub, far exp, foreign key are invalid_client (rules 99, 101)', async () => {
    const cases = {
      'aud of another server': await assertion({ aud: 'https://evil.example.com/' }),
      'iss differs from sub': await assertion({ iss: 'demo-m2m' }),
      'exp more than an hour ahead': await assertion({ exp: Math.floor(Date.now() / 1000) + 3600 + 120 }),
      'expired': await assertion({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 300 }),
      'signed by another key': await assertion({}, { key: (await jose.generateKeyPair('ES256')).privateKey }),
    };
    for (const [what, jwt] of Object.entries(cases)) {
      assertOAuthError(await tokenRequest(srv.url, assertionBody(jwt)), 401, 'invalid_client', what);
    }
  });

  test('private_key_jwt: alg none and HS256 with the public key are refused (rule 103)', async () => {
    const none = `${b64url(JSON.stringify({ alg: 'none' }))}.${b64url(JSON.stringify({ iss: 'e2e-es256', sub: 'e2e-es256', aud: srv.issuer, jti: 'x1', exp: Math.floor(Date.now() / 1000) + 60 }))}.`;
    assertOAuthError(await tokenRequest(srv.url, assertionBody(none)), 401, 'invalid_client', 'alg none');
    const hs = await assertion({}, { alg: 'HS256', key: new TextEncoder().encode('0123456789abcdef0123456789abcdef') });
    assertOAuthError(await tokenRequest(srv.url, assertionBody(hs)), 401, 'invalid_client', 'HS256 for a private_key_jwt client');
  });

  test('the registered auth method is enforced: post for a basic client is invalid_client', async () => {
    const res = await tokenRequest(srv.url, ccBody({ client_id: 'demo-m2m', client_secret: m2m().secret }));
    assertOAuthError(res, 401, 'invalid_client');
  });

  test('a scope outside the grant is invalid_scope', async () => {
    const res = await tokenRequest(srv.url, ccBody({ scope: 'read:items write:items' }), { headers: { authorization: basic(m2m().id, m2m().secret) } });
    assertOAuthError(res, 400, 'invalid_scope');
  });

  test('an API without a client grant is access_denied; resource is checked too', async () => {
    const auth = { authorization: basic('e2e-nogrant', T()['e2e-nogrant'].client_secret) };
    const res = await tokenRequest(srv.url, ccBody(), { headers: auth });
    assertOAuthError(res, 403, 'access_denied', 'no grant for the audience');
    const unknown = await tokenRequest(srv.url, form({ grant_type: 'client_credentials', audience: 'https://unknown.example.com' }), { headers: { authorization: basic(m2m().id, m2m().secret) } });
    assert.ok([400, 403].includes(unknown.status));
    assert.ok(['access_denied', 'invalid_target'].includes(unknown.json?.error), unknown.text);
    const resource = await tokenRequest(srv.url, form({ grant_type: 'client_credentials', resource: 'https://unknown.example.com' }), { headers: { authorization: basic(m2m().id, m2m().secret) } });
    assert.ok(['access_denied', 'invalid_target'].includes(resource.json?.error), resource.text);
    const byResource = await tokenRequest(srv.url, form({ grant_type: 'client_credentials', resource: API }), { headers: { authorization: basic(m2m().id, m2m().secret) } });
    assert.equal(byResource.status, 200, `resource= names the API: ${byResource.text}`);
  });

  test('an organization is never copied into org_id unchecked (tests/e2e/access.test.mjs)', async () => {
    const res = await tokenRequest(srv.url, ccBody({ organization: 'org_123' }), { headers: { authorization: basic(m2m().id, m2m().secret) } });
    assertOAuthError(res, 403, 'access_denied');
  });

  test('a client without the client_credentials grant type is unauthorized_client (rule 24)', async () => {
    const res = await tokenRequest(srv.url, ccBody(), { headers: { authorization: basic('demo-web', T()['demo-web'].client_secret) } });
    assertOAuthError(res, 400, 'unauthorized_client');
  });

  test('Basic credentials are form-decoded before comparison (RFC 6749 §2.3.1, rule 10)', async () => {
    // "%64emo-m2m" is "demo-m2m" form-encoded: oauth4webapi itself sends demo%2Dm2m.
    const header = `Basic ${Buffer.from(`%64emo-m2m:${m2m().secret}`).toString('base64')}`;
    const res = await tokenRequest(srv.url, ccBody(), { headers: { authorization: header } });
    assert.equal(res.status, 200, res.text);
  });

  test('JSON bodies are accepted, as Auth0 does', async () => {
    const res = await tokenRequest(srv.url, JSON.stringify({ grant_type: 'client_credentials', audience: API, client_id: 'e2e-post', client_secret: T()['e2e-post'].client_secret }), { contentType: 'application/json' });
    assert.equal(res.status, 200, res.text);
    assertNoStore(res);
  });
});

// ---------------------------------------------------------------- authorization code

describe('authorization_code + PKCE through the login form (RFC 6749 §4.1, RFC 7636)', () => {
  test('the SPA signs in: code, tokens, ID token (oauth4webapi + jose)', async () => {
    const { tokens, nonce } = await spaLogin();
    assert.ok(tokens.refresh_token, 'offline_access for an API that allows it gives a refresh token');
    const claims = await verifyAccessToken(tokens.access_token, { clientId: 'demo-spa', sub: T().user.user_id, scope: 'openid profile email offline_access' });
    assert.deepEqual([claims.aud].flat().sort(), [API, `${srv.url}/userinfo`].sort(), 'aud: the API, and /userinfo with openid');
    await verifyIdToken(tokens.id_token, tokens.access_token, { clientId: 'demo-spa', sub: T().user.user_id, nonce });
  });

  test('the login page is a plain, accessible form', async () => {
    const r = await authorize(srv.url, {
      response_type: 'code', client_id: 'demo-spa', redirect_uri: `${srv.url}/`, scope: 'openid', state: 's',
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()), code_challenge_method: 'S256',
    });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assert.match(r.html, /<html[^>]*lang=/i, 'html lang');
    assert.match(r.html, /<label[^>]*for=/i, 'labelled inputs');
    assert.match(r.html, /type="?password/i);
    const f = parseLoginForm(r.html, srv.url);
    assert.equal(f.method, 'POST');
    assert.equal(new URL(f.action).pathname, '/authorize/login');
  });

  test('a confidential web client exchanges its code with client_secret_basic', async () => {
    const c = await getCode({ clientId: 'demo-web', redirectUri: `${srv.url}/callback`, scope: 'openid email' });
    const client = { client_id: 'demo-web', id_token_signed_response_alg: 'RS256' };
    const params = oauth.validateAuthResponse(as, client, c.location, c.state);
    const res = await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretBasic(T()['demo-web'].client_secret), params, c.redirectUri, c.verifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, res, { expectedNonce: c.nonce, requireIdToken: true });
    assert.equal(tokens.refresh_token, undefined, 'no offline_access, no refresh token');
    await verifyIdToken(tokens.id_token, tokens.access_token, { clientId: 'demo-web', sub: T().user.user_id, nonce: c.nonce });
  });

  test('an audience gives an access token for that API, with its scopes', async () => {
    const { tokens } = await spaLogin({ audience: API, scope: 'openid read:items offline_access' });
    const claims = await verifyAccessToken(tokens.access_token, { clientId: 'demo-spa', sub: T().user.user_id });
    assert.ok([claims.aud].flat().includes(API), `aud includes ${API}: ${JSON.stringify(claims.aud)}`);
    assert.ok(claims.scope.split(' ').includes('read:items'));
  });

  test('wrong credentials re-render the form, the same for an unknown user (nothing leaked)', async () => {
    const params = {
      response_type: 'code', client_id: 'demo-spa', redirect_uri: `${srv.url}/`, scope: 'openid', state: 'st',
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()), code_challenge_method: 'S256',
    };
    const wrong = await authorize(srv.url, params, { username: T().user.email, password: 'wrong password' });
    const unknown = await authorize(srv.url, params, { username: 'nobody@example.com', password: 'wrong password' });
    for (const r of [wrong, unknown]) {
      assert.equal(r.location, null, 'no redirect');
      assert.ok([200, 400, 401].includes(r.status), `status ${r.status}`);
      assert.ok(parseLoginForm(r.html, srv.url), 'the form again');
      assert.doesNotMatch(r.html, /wrong password/, 'the password is not echoed');
    }
    assert.equal(wrong.status, unknown.status);
    const strip = (html) => html.replace(/value="[^"]*"/g, '').replace(/nobody@example\.com|demo@example\.com/g, '');
    assert.equal(strip(wrong.html), strip(unknown.html), 'unknown user and wrong password look the same');
  });

  test('a tampered transaction field is refused', async () => {
    const r = await authorize(srv.url, {
      response_type: 'code', client_id: 'demo-spa', redirect_uri: `${srv.url}/`, scope: 'openid', state: 'st',
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()), code_challenge_method: 'S256',
    });
    const f = parseLoginForm(r.html, srv.url);
    const hidden = Object.keys(f.fields).filter((k) => k !== 'username' && k !== 'password');
    assert.ok(hidden.length >= 1, 'a signed transaction field');
    for (const name of hidden) {
      const v = f.fields[name];
      const tampered = { ...f.fields, [name]: v.slice(0, -2) + (v.endsWith('AA') ? 'BB' : 'AA'), username: T().user.email, password: USER_PASSWORD };
      const res = await fetch(f.action, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(tampered) });
      assert.ok(res.status >= 400 && res.status < 500, `tampered ${name}: ${res.status}`);
      assert.equal(res.headers.get('location'), null);
    }
  });

  test('a replayed code is invalid_grant and revokes the refresh tokens issued from it (rule 19)', async () => {
    const c = await getCode();
    const first = await exchange(c);
    assert.equal(first.status, 200, first.text);
    assert.ok(first.json.refresh_token);
    assertOAuthError(await exchange(c), 400, 'invalid_grant', 'code replay');
    assertOAuthError(await refresh(first.json.refresh_token), 400, 'invalid_grant', 'refresh token from a replayed code');
  });

  test('PKCE: a wrong verifier is invalid_grant (rule 51)', async () => {
    const c = await getCode();
    assertOAuthError(await exchange({ ...c, verifier: oauth.generateRandomCodeVerifier() }), 400, 'invalid_grant');
  });

  test('PKCE downgrade: a challenge without a verifier is refused', async () => {
    const c = await getCode();
    assertOAuthError(await exchange({ ...c, verifier: undefined }), 400, ['invalid_grant', 'invalid_request'], 'missing verifier');
  });

  test('PKCE downgrade: a verifier without a challenge is refused', async () => {
    const c = await getCode({ clientId: 'demo-web', redirectUri: `${srv.url}/callback`, pkce: false, scope: 'openid' });
    const res = await exchange({ ...c, clientId: null, headers: { authorization: basic('demo-web', T()['demo-web'].client_secret) } });
    assertOAuthError(res, 400, ['invalid_grant', 'invalid_request'], 'verifier without challenge');
  });

  test('PKCE is required for public clients, and plain is not offered', async () => {
    const r = await authorize(srv.url, { response_type: 'code', client_id: 'demo-spa', redirect_uri: `${srv.url}/`, scope: 'openid', state: 'xyz' });
    assert.ok([302, 303].includes(r.status), `redirected error (${r.status})`);
    const loc = new URL(r.location);
    assert.equal(loc.searchParams.get('error'), 'invalid_request');
    assert.equal(loc.searchParams.get('state'), 'xyz');
    const v = oauth.generateRandomCodeVerifier();
    const plain = await authorize(srv.url, { response_type: 'code', client_id: 'demo-spa', redirect_uri: `${srv.url}/`, scope: 'openid', state: 'p', code_challenge: v, code_challenge_method: 'plain' });
    assert.equal(new URL(plain.location).searchParams.get('error'), 'invalid_request');
  });

  test('a different redirect_uri at the token endpoint is invalid_grant (rule 17e)', async () => {
    const c = await getCode();
    assertOAuthError(await exchange({ ...c, redirectUri: `${srv.url}/other` }), 400, 'invalid_grant', 'different redirect_uri');
    const c2 = await getCode();
    assertOAuthError(await exchange({ ...c2, redirectUri: undefined }), 400, ['invalid_grant', 'invalid_request'], 'missing redirect_uri');
  });

  test("another client's code is invalid_grant (rule 17c)", async () => {
    const c = await getCode();
    const res = await exchange({ ...c, clientId: null, headers: { authorization: basic('demo-web', T()['demo-web'].client_secret) } });
    assertOAuthError(res, 400, 'invalid_grant');
  });

  test('/authorize: an unregistered redirect_uri or unknown client is an error page, never a redirect', async () => {
    for (const params of [
      { client_id: 'demo-spa', redirect_uri: 'https://evil.example.com/' },
      { client_id: 'demo-spa', redirect_uri: `${srv.url}/?x=1` },
      { client_id: 'no-such-client', redirect_uri: `${srv.url}/` },
    ]) {
      const r = await authorize(srv.url, { response_type: 'code', scope: 'openid', state: 's', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', ...params });
      assert.equal(r.status, 400, `${JSON.stringify(params)}: ${r.status} ${r.location ?? ''}`);
      assert.equal(r.location, undefined);
      assert.doesNotMatch(r.html, /evil\.example\.com/, 'the bad redirect is not a link');
    }
  });

  test('/authorize: an unknown audience is access_denied, an unknown scope invalid_scope (redirected)', async () => {
    const challenge = await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier());
    const base = { response_type: 'code', client_id: 'demo-spa', redirect_uri: `${srv.url}/`, state: 'q', code_challenge: challenge, code_challenge_method: 'S256' };
    for (const [extra, error] of [
      [{ scope: 'openid', audience: 'https://unknown.example.com' }, 'access_denied'],
      [{ scope: 'openid delete:everything', audience: API }, 'invalid_scope'],
      [{ scope: 'openid read:items' }, 'invalid_scope'],
    ]) {
      const r = await authorize(srv.url, { ...base, ...extra });
      assert.ok([302, 303].includes(r.status), `${JSON.stringify(extra)}: ${r.status}`);
      const loc = new URL(r.location);
      assert.equal(`${loc.origin}${loc.pathname}`, `${srv.url}/`);
      assert.equal(loc.searchParams.get('error'), error, JSON.stringify(extra));
      assert.equal(loc.searchParams.get('state'), 'q');
      assert.equal(loc.searchParams.get('code'), null);
    }
  });

  test('the code belongs to the user who logged in', async () => {
    const { tokens } = await spaLogin({ scope: 'openid', user: { username: T().other.email, password: T().other.password } });
    const claims = await verifyAccessToken(tokens.access_token, { clientId: 'demo-spa', sub: T().other.user_id });
    assert.notEqual(claims.sub, T().user.user_id);
  });

  test('/authorize: an unsupported response_type is redirected with state (RFC 6749 §4.1.2.1)', async () => {
    const r = await authorize(srv.url, { response_type: 'token', client_id: 'demo-spa', redirect_uri: `${srv.url}/`, scope: 'openid', state: 'abc' });
    const loc = new URL(r.location);
    assert.equal(loc.searchParams.get('error'), 'unsupported_response_type');
    assert.equal(loc.searchParams.get('state'), 'abc');
  });
});

// ---------------------------------------------------------------- refresh tokens

describe('refresh_token (RFC 6749 §6, RFC 9700 §4.14)', () => {
  test('rotation on every use, through oauth4webapi', async () => {
    const { tokens } = await spaLogin();
    const client = { client_id: 'demo-spa', id_token_signed_response_alg: 'RS256' };
    const res = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, insecure);
    const next = await oauth.processRefreshTokenResponse(as, client, res);
    assert.ok(next.refresh_token && next.refresh_token !== tokens.refresh_token, 'a new refresh token');
    await verifyAccessToken(next.access_token, { clientId: 'demo-spa', sub: T().user.user_id });
    if (next.id_token) {
      const { payload } = await jose.jwtVerify(next.id_token, jwks, { issuer: srv.issuer, audience: 'demo-spa' });
      assert.equal(payload.sub, T().user.user_id, 'same sub on refresh (OIDC §12.2)');
    }
  });

  test('reuse of a rotated token revokes the whole family (rule 29)', async () => {
    const { tokens } = await spaLogin();
    const r1 = await refresh(tokens.refresh_token);
    assert.equal(r1.status, 200, r1.text);
    assertOAuthError(await refresh(tokens.refresh_token), 400, 'invalid_grant', 'reuse of a rotated token');
    assertOAuthError(await refresh(r1.json.refresh_token), 400, 'invalid_grant', 'the newest token of the family is revoked too');
  });

  test('scope may only narrow (rule 26)', async () => {
    const { tokens } = await spaLogin({ scope: 'openid profile offline_access' });
    assertOAuthError(await refresh(tokens.refresh_token, 'demo-spa', { scope: 'openid profile email offline_access' }), 400, 'invalid_scope');
    const { tokens: t2 } = await spaLogin({ scope: 'openid profile offline_access' });
    const narrow = await refresh(t2.refresh_token, 'demo-spa', { scope: 'openid offline_access' });
    assert.equal(narrow.status, 200, narrow.text);
    assert.deepEqual(narrow.json.scope.split(' ').sort(), ['offline_access', 'openid']);
  });

  test('a refresh token is bound to its client (rule 28)', async () => {
    const { tokens } = await spaLogin();
    const res = await tokenRequest(srv.url, form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }), { headers: { authorization: basic('demo-web', T()['demo-web'].client_secret) } });
    assertOAuthError(res, 400, 'invalid_grant');
  });

  test('no refresh token without offline_access, nor for an API that does not allow it', async () => {
    const { tokens } = await spaLogin({ scope: 'openid' });
    assert.equal(tokens.refresh_token, undefined);
    const { tokens: noApi } = await spaLogin({ scope: 'openid offline_access', audience: null });
    assert.equal(noApi.refresh_token, undefined, 'no API, no refresh token');
    const c = await getCode({ audience: NO_OFFLINE_API, scope: 'openid offline_access read:stuff' });
    const res = await exchange(c);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.refresh_token, undefined, 'the API does not allow offline access');
  });

  test('an unknown refresh token is invalid_grant', async () => {
    assertOAuthError(await refresh(b64url(randomBytes(32))), 400, 'invalid_grant');
  });
});

// ---------------------------------------------------------------- revocation and userinfo

describe('revocation (RFC 7009) and userinfo', () => {
  test('revoking a refresh token through oauth4webapi revokes its family', async () => {
    const { tokens } = await spaLogin();
    const client = { client_id: 'demo-spa' };
    const res = await oauth.revocationRequest(as, client, oauth.None(), tokens.refresh_token, insecure);
    await oauth.processRevocationResponse(res);
    assertOAuthError(await refresh(tokens.refresh_token), 400, 'invalid_grant', 'refresh after revoke');
  });

  test('revoking an unknown token is 200 (RFC 7009 §2.2)', async () => {
    const res = await tokenRequest(srv.url, form({ token: 'not-a-token', client_id: 'demo-spa' }), { path: '/oauth/revoke' });
    assert.equal(res.status, 200, res.text);
  });

  test('userinfo through oauth4webapi: sub, email and name per scope', async () => {
    const { tokens } = await spaLogin({ scope: 'openid profile email' });
    const client = { client_id: 'demo-spa' };
    const res = await oauth.userInfoRequest(as, client, tokens.access_token, insecure);
    const info = await oauth.processUserInfoResponse(as, client, T().user.user_id, res);
    assert.equal(info.email, T().user.email);
    assert.equal(info.name, 'Demo User');
    const { tokens: t2 } = await spaLogin({ scope: 'openid' });
    const bare = await (await fetch(as.userinfo_endpoint, { headers: { authorization: `Bearer ${t2.access_token}` } })).json();
    assert.equal(bare.sub, T().user.user_id);
    assert.equal(bare.email, undefined, 'no email without the email scope');
    assert.equal(bare.name, undefined, 'no name without the profile scope');
  });

  test('userinfo: a bad, missing or foreign-audience token is 401 with WWW-Authenticate', async () => {
    const cc = await tokenRequest(srv.url, ccBody(), { headers: { authorization: basic(m2m().id, m2m().secret) } });
    for (const [what, header] of [['no token', undefined], ['garbage', 'Bearer abc.def.ghi'], ['API token', `Bearer ${cc.json.access_token}`]]) {
      const res = await fetch(as.userinfo_endpoint, { headers: header ? { authorization: header } : {} });
      assert.equal(res.status, 401, what);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/, `${what}: WWW-Authenticate`);
      if (header) assert.match(res.headers.get('www-authenticate'), /error="invalid_token"/, what);
    }
  });
});

// ---------------------------------------------------------------- hostile requests

describe('strict token endpoint (rules 2-9)', () => {
  const auth = () => ({ authorization: basic(m2m().id, m2m().secret) });

  test('GET and PUT are 405 with Allow: POST (rule 2)', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await tokenRequest(srv.url, method === 'GET' ? undefined : ccBody(), { method, headers: auth() });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'POST', method);
    }
  });

  test('a repeated parameter is invalid_request (rule 6)', async () => {
    assertOAuthError(await tokenRequest(srv.url, `${ccBody()}&audience=${encodeURIComponent(API)}`, { headers: auth() }), 400, 'invalid_request');
    assertOAuthError(await tokenRequest(srv.url, `grant_type=client_credentials&grant_type=&audience=${encodeURIComponent(API)}`, { headers: auth() }), 400, 'invalid_request', 'repeated even when empty');
  });

  test('bad UTF-8 and bad percent-escapes are invalid_request (rule 3)', async () => {
    assertOAuthError(await tokenRequest(srv.url, `${ccBody()}&scope=%C3%28`, { headers: auth() }), 400, 'invalid_request', 'bad UTF-8 escape');
    const raw = Buffer.concat([Buffer.from(`${ccBody()}&scope=`), Buffer.from([0xff, 0xfe])]);
    assertOAuthError(await tokenRequest(srv.url, raw, { headers: auth() }), 400, 'invalid_request', 'raw bad UTF-8');
    assertOAuthError(await tokenRequest(srv.url, `${ccBody()}&scope=%G1`, { headers: auth() }), 400, 'invalid_request', 'bad escape');
  });

  test('a body over 16 KB is invalid_request', async () => {
    const res = await tokenRequest(srv.url, `${ccBody()}&pad=${'a'.repeat(16 * 1024)}`, { headers: auth() });
    assertOAuthError(res, 400, 'invalid_request');
  });

  test('JSON: a non-string value, a duplicate member or a non-object is invalid_request', async () => {
    const opts = { headers: auth(), contentType: 'application/json' };
    assertOAuthError(await tokenRequest(srv.url, JSON.stringify({ grant_type: 'client_credentials', audience: [API] }), opts), 400, 'invalid_request', 'array value');
    assertOAuthError(await tokenRequest(srv.url, '{"grant_type":"client_credentials","audience":1}', opts), 400, 'invalid_request', 'number value');
    assertOAuthError(await tokenRequest(srv.url, `{"grant_type":"client_credentials","audience":"${API}","audience":"${API}"}`, opts), 400, 'invalid_request', 'duplicate member');
    assertOAuthError(await tokenRequest(srv.url, '["grant_type"]', opts), 400, 'invalid_request', 'not an object');
    assertOAuthError(await tokenRequest(srv.url, '{"grant_type":', opts), 400, 'invalid_request', 'truncated');
  });

  test('an unsupported content type is invalid_request', async () => {
    assertOAuthError(await tokenRequest(srv.url, ccBody(), { headers: auth(), contentType: 'text/plain' }), 400, 'invalid_request');
  });

  test('two authentication methods are invalid_request (rule 9)', async () => {
    const res = await tokenRequest(srv.url, ccBody({ client_id: 'demo-m2m', client_secret: m2m().secret }), { headers: auth() });
    assertOAuthError(res, 400, 'invalid_request');
  });

  test('client credentials in the query string are invalid_request (rule 8)', async () => {
    const res = await tokenRequest(srv.url, ccBody(), { headers: auth(), path: `/oauth/token?client_secret=${m2m().secret}` });
    assertOAuthError(res, 400, 'invalid_request');
  });

  test('a wrong secret is 401 invalid_client, with WWW-Authenticate: Basic when Basic was used', async () => {
    const basicRes = await tokenRequest(srv.url, ccBody(), { headers: { authorization: basic('demo-m2m', 'wrong-secret') } });
    assertOAuthError(basicRes, 401, 'invalid_client');
    assert.match(basicRes.headers.get('www-authenticate') ?? '', /^Basic/);
    const postRes = await tokenRequest(srv.url, ccBody({ client_id: 'e2e-post', client_secret: 'wrong-secret' }));
    assertOAuthError(postRes, 401, 'invalid_client');
    const unknown = await tokenRequest(srv.url, ccBody(), { headers: { authorization: basic('no-such-client', 'x') } });
    assertOAuthError(unknown, 401, 'invalid_client');
  });

  test('an unknown grant type is unsupported_grant_type; a missing one is invalid_request', async () => {
    assertOAuthError(await tokenRequest(srv.url, form({ grant_type: 'implicit' }), { headers: auth() }), 400, 'unsupported_grant_type');
    // Implemented, but only for the clients whose record enables it.
    assertOAuthError(await tokenRequest(srv.url, form({ grant_type: 'password', username: 'a', password: 'b' }), { headers: auth() }), 400, 'unauthorized_client');
    assertOAuthError(await tokenRequest(srv.url, form({ audience: API }), { headers: auth() }), 400, 'invalid_request');
  });
});

// ---------------------------------------------------------------- CORS

describe('CORS on the token endpoint', () => {
  const preflight = (origin) => fetch(`${srv.url}/oauth/token`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });

  test("a registered origin gets the preflight and the response headers", async () => {
    const res = await preflight(srv.url);
    assert.ok(res.status === 204 || res.status === 200, `preflight status ${res.status}`);
    assert.equal(res.headers.get('access-control-allow-origin'), srv.url);
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match((res.headers.get('access-control-allow-headers') ?? '').toLowerCase(), /content-type/);
    assert.match(res.headers.get('vary') ?? '', /origin/i);
    const c = await getCode();
    const ex = await tokenRequest(srv.url, form({ grant_type: 'authorization_code', code: c.code, redirect_uri: c.redirectUri, client_id: 'demo-spa', code_verifier: c.verifier }), { headers: { origin: srv.url } });
    assert.equal(ex.status, 200, ex.text);
    assert.equal(ex.headers.get('access-control-allow-origin'), srv.url);
  });

  test('another origin is refused', async () => {
    const res = await preflight('https://evil.example.com');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const post = await tokenRequest(srv.url, ccBody(), { headers: { origin: 'https://evil.example.com', authorization: basic(m2m().id, m2m().secret) } });
    assert.equal(post.headers.get('access-control-allow-origin'), null);
  });
});
