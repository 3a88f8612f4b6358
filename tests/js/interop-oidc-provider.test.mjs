// Interop: our TokenClient and DPoP proofs against oidc-provider (panva/node-oidc-provider,
// an OpenID-certified authorization server), run here on a free 127.0.0.1 port with its
// in-memory adapter, DPoP with nonces required (features.dPoP.requireNonce), client
// credentials, and a resource indicator so that access tokens are JWTs carrying cnf.jkt.
// The authorization step is driven through oidc-provider's interaction API: our own
// /interaction/:uid handler logs the user in and grants consent programmatically.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import * as jose from 'jose';
import Provider from 'oidc-provider';

import { edge } from './support.mjs';

const { DpopKey, TokenClient, fetchWithDpop, generatePkce } = edge;

const RESOURCE = 'https://api.example.com';
const REDIRECT_URI = 'https://app.example.com/cb';
const M2M_SECRET = randomBytes(24).toString('base64url');

let server;
let issuer;
let provider;
let tokenRequests = 0;

before(async () => {
  server = createServer();
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  issuer = `http://127.0.0.1:${server.address().port}`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'rs1', alg: 'RS256', use: 'sig' };
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'spa',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [REDIRECT_URI],
        scope: 'openid offline_access read',
      },
      {
        // Gets oidc-provider's opaque access tokens for its own userinfo endpoint.
        client_id: 'spa-userinfo',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [REDIRECT_URI],
        scope: 'openid',
      },
      {
        client_id: 'm2m',
        client_secret: M2M_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'read',
      },
    ],
    jwks: { keys: [signingKey] },
    scopes: ['openid', 'offline_access', 'read'],
    features: {
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => oneOf ?? (client.clientId === 'spa-userinfo' ? undefined : RESOURCE),
        useGrantedResource: (ctx) => ctx.oidc.client.clientId !== 'spa-userinfo',
        getResourceServerInfo: () => ({ scope: 'read', audience: RESOURCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    issueRefreshToken: () => true,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  });
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    if (req.method === 'POST' && req.url === '/token') tokenRequests++;
    if (!req.url.startsWith('/interaction/')) return callback(req, res);
    try {
      // Log "user-1" in and grant what the client asked for, without any page.
      const details = await provider.interactionDetails(req, res);
      const grant = new provider.Grant({ accountId: 'user-1', clientId: details.params.client_id });
      const missing = details.prompt.details ?? {};
      grant.addOIDCScope(['openid', ...(missing.missingOIDCScope ?? [])].join(' '));
      grant.addResourceScope(RESOURCE, 'read');
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId: 'user-1' }, consent: { grantId } }, { mergeWithLastSubmission: false });
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
});

after(async () => {
  server?.closeAllConnections?.();
  await new Promise((done) => (server ? server.close(done) : done()));
});

/** Runs /auth through the interaction to the redirect with a code, carrying cookies. */
async function authorize(params) {
  const jar = new Map();
  let url = `${issuer}/auth?${new URLSearchParams(params)}`;
  for (let hop = 0; hop < 8; hop++) {
    const res = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const location = res.headers.get('location');
    assert.ok(location, `hop ${hop}: ${res.status} without a redirect: ${await res.text()}`);
    const next = new URL(location, url);
    if (next.href.startsWith(REDIRECT_URI)) {
      assert.equal(next.searchParams.get('error'), null, `authorization error: ${next.searchParams.get('error_description')}`);
      return next.searchParams.get('code');
    }
    url = next.href;
  }
  throw new Error('too many redirects');
}

/** The cnf.jkt of a JWT access token. */
function jktOf(accessToken) {
  return jose.decodeJwt(accessToken).cnf?.jkt;
}

const backends = [
  ['p256', () => DpopKey.generate()],
  ['webcrypto', () => DpopKey.generateNonExtractable()],
];

for (const [backend, makeKey] of backends) {
  test(`oidc-provider (requireNonce): code + PKCE + dpop_jkt, refresh and revoke with a ${backend} key`, async () => {
    const dpopKey = await makeKey();
    const pkce = generatePkce();
    const code = await authorize({
      client_id: 'spa',
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid offline_access read',
      state: 'st',
      code_challenge: pkce.codeChallenge,
      code_challenge_method: pkce.codeChallengeMethod,
      dpop_jkt: dpopKey.thumbprint,
    });
    assert.ok(code, 'an authorization code');

    const client = new TokenClient({ tokenEndpoint: `${issuer}/token`, clientId: 'spa', dpopKey, revocationEndpoint: `${issuer}/token/revocation` });
    const tokens = await client.exchangeCode({ code, redirectUri: REDIRECT_URI, codeVerifier: pkce.codeVerifier });
    assert.equal(tokens.tokenType, 'DPoP');
    assert.equal(jktOf(tokens.accessToken), dpopKey.thumbprint, 'the access token is bound to our key');
    assert.equal(jose.decodeJwt(tokens.accessToken).aud, RESOURCE);
    assert.ok(tokens.refreshToken, 'a refresh token');
    assert.ok(tokens.idToken, 'an ID token');

    const refreshed = await client.refresh(tokens.refreshToken);
    assert.equal(refreshed.tokenType, 'DPoP');
    assert.equal(jktOf(refreshed.accessToken), dpopKey.thumbprint);

    // oidc-provider binds a public client's refresh token to the key: another key fails.
    const thief = new TokenClient({ tokenEndpoint: `${issuer}/token`, clientId: 'spa', dpopKey: DpopKey.generate() });
    await assert.rejects(thief.refresh(refreshed.refreshToken ?? tokens.refreshToken), { code: 'OAUTH_ERROR', error: 'invalid_grant' });

    const current = refreshed.refreshToken ?? tokens.refreshToken;
    assert.equal(await client.revoke(current, { tokenTypeHint: 'refresh_token' }), undefined);
    await assert.rejects(client.refresh(current), { code: 'OAUTH_ERROR', error: 'invalid_grant' });
  });

  test(`oidc-provider (requireNonce): client_credentials with client_secret_basic and a ${backend} key`, async () => {
    const dpopKey = await makeKey();
    const client = new TokenClient({ tokenEndpoint: `${issuer}/token`, clientId: 'm2m', clientSecret: M2M_SECRET, dpopKey });
    tokenRequests = 0;
    const tokens = await client.clientCredentials({ resource: RESOURCE, scope: 'read' });
    assert.equal(tokenRequests, 2, 'one use_dpop_nonce round trip, then success');
    assert.equal(tokens.tokenType, 'DPoP');
    assert.equal(tokens.scope, 'read');
    const claims = jose.decodeJwt(tokens.accessToken);
    assert.equal(claims.cnf?.jkt, dpopKey.thumbprint);
    assert.equal(claims.client_id, 'm2m');
    // A second request reuses the cached nonce (no use_dpop_nonce round trip needed).
    tokenRequests = 0;
    const again = await client.clientCredentials({ resource: RESOURCE });
    assert.equal(tokenRequests, 1, 'the nonce from the last response was used');
    assert.equal(jktOf(again.accessToken), dpopKey.thumbprint);

    const wrong = new TokenClient({ tokenEndpoint: `${issuer}/token`, clientId: 'm2m', clientSecret: 'nope', dpopKey });
    await assert.rejects(wrong.clientCredentials({ resource: RESOURCE }), { code: 'OAUTH_ERROR', error: 'invalid_client', status: 401 });
  });
}

test('oidc-provider really demands a nonce: a proof without one gets 400 use_dpop_nonce and a DPoP-Nonce', async () => {
  const dpopKey = DpopKey.generate();
  // By hand first: oidc-provider really demands the nonce.
  const proof = await dpopKey.createProof({ htm: 'POST', htu: `${issuer}/token` });
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`m2m:${M2M_SECRET}`).toString('base64')}`,
      dpop: proof,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: RESOURCE }),
  });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error, 'use_dpop_nonce');
  assert.ok(res.headers.get('dpop-nonce'));
  // The package's parser reads that answer with the nonce.
  const err = (() => {
    try {
      edge.parseTokenResponse(400, JSON.stringify({ error: 'use_dpop_nonce' }), res.headers);
    } catch (e) {
      return e;
    }
  })();
  assert.equal(err.dpopNonce, res.headers.get('dpop-nonce'));
});

test('oidc-provider: fetchWithDpop calls its userinfo endpoint with a DPoP-bound token', async () => {
  const dpopKey = await DpopKey.generateNonExtractable();
  const pkce = generatePkce();
  const code = await authorize({
    client_id: 'spa-userinfo', response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', state: 's',
    code_challenge: pkce.codeChallenge, code_challenge_method: 'S256',
  });
  const client = new TokenClient({ tokenEndpoint: `${issuer}/token`, clientId: 'spa-userinfo', dpopKey });
  const tokens = await client.exchangeCode({ code, redirectUri: REDIRECT_URI, codeVerifier: pkce.codeVerifier });
  assert.equal(tokens.tokenType, 'DPoP');
  assert.notEqual(tokens.accessToken.split('.').length, 3, 'an opaque userinfo token');
  const res = await fetchWithDpop(`${issuer}/me`, { headers: { accept: 'application/json' } }, { accessToken: tokens.accessToken, dpopKey });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal((await res.json()).sub, 'user-1');
  // The same token with the Bearer scheme is refused (RFC 9449 section 7.2).
  const bearer = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
  assert.equal(bearer.status, 401);
});

