// End to end: token exchange (RFC 8693) against the real worker under `wrangler dev`: a
// user's access token exchanged by a resource server's client without and with an actor
// (the `act` claim), a widening attempt refused, and a refresh token from an exchange
// (TOKEN_EXCHANGE_REFRESH_TOKENS) that dies with the subject token's family.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import { API, authorize, basic, form, startServer, tokenRequest } from './harness.mjs';
import { TOKEN_EXCHANGE_GRANT, buildClient, buildGrant, keys } from '../../scripts/lib/tenant.mjs';

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
let srv;
let jwks;
const rs = () => srv.tenant['e2e-rs'];
const web = () => srv.tenant['demo-web'];

before(async () => {
  srv = await startServer({
    vars: { TOKEN_EXCHANGE_REFRESH_TOKENS: 'true' },
    seed: ({ records, credentials }) => {
      const api = records.get(keys.api(API));
      const built = buildClient({ type: 'm2m', clientId: 'e2e-rs', name: 'Resource server', grantTypes: ['client_credentials', TOKEN_EXCHANGE_GRANT] });
      records.set(keys.client('e2e-rs'), built.record);
      records.set(keys.grant('e2e-rs', API), buildGrant(built.record, api, ['read:items']));
      credentials['e2e-rs'] = { client_id: 'e2e-rs', client_secret: built.secret };
      // The demo web app may exchange its users' tokens too, with refresh tokens.
      const webRecord = records.get(keys.client('demo-web'));
      webRecord.grant_types.push(TOKEN_EXCHANGE_GRANT);
      // (A client grant for exchanges only: buildGrant is for client-credentials clients.)
      records.set(keys.grant('demo-web', API), { client_id: 'demo-web', audience: API, scopes: ['read:items'] });
    },
  });
  jwks = jose.createLocalJWKSet(await (await fetch(`${srv.url}/.well-known/jwks.json`)).json());
});

after(async () => {
  await srv?.stop();
});

/** The demo user's tokens for the demo web app (code flow through the login form). */
async function userTokens(scope) {
  const result = await authorize(srv.url, {
    response_type: 'code', client_id: 'demo-web', redirect_uri: `${srv.url}/callback`, scope, audience: API,
  }, { username: srv.tenant.user.email, password: srv.tenant.user.password });
  assert.equal(result.status, 303, result.html);
  const code = new URL(result.location).searchParams.get('code');
  const res = await tokenRequest(srv.url, form({ grant_type: 'authorization_code', code, redirect_uri: `${srv.url}/callback` }), {
    headers: { authorization: basic('demo-web', web().client_secret) },
  });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

const exchange = (client, params) => tokenRequest(srv.url, form({ grant_type: TOKEN_EXCHANGE_GRANT, ...params }), {
  headers: { authorization: basic(client.client_id, client.client_secret) },
});

describe('RFC 8693 token exchange under wrangler dev', () => {
  test('without an actor: the user is the subject, the scope narrower', async () => {
    const user = await userTokens('read:items write:items');
    const res = await exchange(rs(), { subject_token: user.access_token, subject_token_type: ACCESS_TOKEN_TYPE, scope: 'read:items' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.issued_token_type, ACCESS_TOKEN_TYPE);
    assert.equal(res.json.scope, 'read:items');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const { payload } = await jose.jwtVerify(res.json.access_token, jwks, { issuer: srv.issuer, audience: API, typ: 'at+jwt' });
    assert.equal(payload.sub, srv.tenant.user.user_id);
    assert.equal(payload.client_id, 'e2e-rs');
    assert.equal(payload.act, undefined);
  });

  test('with an actor: act names it', async () => {
    const user = await userTokens('read:items');
    const cc = await tokenRequest(srv.url, form({ grant_type: 'client_credentials', audience: API }), {
      headers: { authorization: basic('e2e-rs', rs().client_secret) },
    });
    assert.equal(cc.status, 200, cc.text);
    const res = await exchange(rs(), {
      subject_token: user.access_token, subject_token_type: ACCESS_TOKEN_TYPE,
      actor_token: cc.json.access_token, actor_token_type: ACCESS_TOKEN_TYPE,
    });
    assert.equal(res.status, 200, res.text);
    const { payload } = await jose.jwtVerify(res.json.access_token, jwks, { issuer: srv.issuer, audience: API });
    assert.equal(payload.sub, srv.tenant.user.user_id);
    assert.deepEqual(payload.act, { sub: 'e2e-rs@clients' });
  });

  test('a widening attempt is refused', async () => {
    const user = await userTokens('read:items write:items');
    const res = await exchange(rs(), { subject_token: user.access_token, subject_token_type: ACCESS_TOKEN_TYPE, scope: 'read:items write:items' });
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'invalid_scope');
    assert.match(res.json.error_description, /write:items/);
    const narrow = await userTokens('read:items');
    const res2 = await exchange(rs(), { subject_token: narrow.access_token, subject_token_type: ACCESS_TOKEN_TYPE, scope: 'write:items' });
    assert.equal(res2.json.error, 'invalid_scope');
    const res3 = await exchange(rs(), { subject_token: narrow.access_token, subject_token_type: ACCESS_TOKEN_TYPE, audience: 'https://elsewhere.example.com' });
    assert.equal(res3.json.error, 'invalid_target');
  });

  test('an exchanged refresh token dies with the subject token\'s family', async () => {
    const user = await userTokens('offline_access read:items');
    const res = await exchange(web(), { subject_token: user.access_token, subject_token_type: ACCESS_TOKEN_TYPE, scope: 'offline_access read:items' });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.json.refresh_token, 'a refresh token (TOKEN_EXCHANGE_REFRESH_TOKENS=true)');
    const revoke = await tokenRequest(srv.url, form({ token: user.refresh_token, token_type_hint: 'refresh_token' }), {
      path: '/oauth/revoke', headers: { authorization: basic('demo-web', web().client_secret) },
    });
    assert.equal(revoke.status, 200, revoke.text);
    const refreshed = await tokenRequest(srv.url, form({ grant_type: 'refresh_token', refresh_token: res.json.refresh_token }), {
      headers: { authorization: basic('demo-web', web().client_secret) },
    });
    assert.equal(refreshed.status, 400);
    assert.equal(refreshed.json.error, 'invalid_grant');
  });
});
