// End to end under `wrangler dev`: who may get what. Organizations (machine-to-machine
// access and /authorize?organization=), role-based access per API, and the password
// grant with its rate limit. The tenant is seeded through the tenant CLI's own `Tenant`
// operations (scripts/lib/tenant.mjs) over the seed's records, so the records are the
// ones `npm run tenant -- org ...` writes.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import { API, USER_PASSWORD, authorize, basic, form, startServer, tokenRequest } from './harness.mjs';
import { Tenant, buildClient, keys } from '../../scripts/lib/tenant.mjs';

const RBAC_API = 'https://rbac.example.com';
const PROXY_SECRET = 'e2e-proxy-secret-abcdefghijklmnopqrstuvwxyz';
const SUBJECT_DN = 'CN=client.example.com,O=Example Corp';

/** A CA, a client certificate it issued and two self-signed ones, made with the openssl CLI. */
function generateCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'edge-oauth-e2e-certs-'));
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  try {
    ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=E2E Test CA', '-days', '2');
    ssl('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/O=Example Corp/CN=client.example.com');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:client.example.com\n');
    ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2', '-extfile', 'ext.cnf');
    for (const name of ['self', 'other']) ssl('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${name}-signed`, '-days', '2');
    const read = (f) => readFileSync(join(dir, f), 'utf8');
    return { client: read('client.pem'), self: read('self.pem'), other: read('other.pem') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const CERTS = generateCertificates();
const x5t = (pem) => createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');

/** Auth0's trusted-proxy headers for a certificate. */
const proxyHeaders = (pem, { secret = PROXY_SECRET, verified = true } = {}) => ({
  'client-certificate': encodeURIComponent(pem),
  ...(verified ? { 'client-certificate-ca-verified': 'SUCCESS' } : {}),
  ...(secret ? { 'cname-api-key': secret } : {}),
});

/** The mTLS clients (built like `client create --auth-method ...`) and their grants. */
async function seedMtls(tenant, add, origin) {
  add({ type: 'm2m', clientId: 'mtls-dn', name: 'mtls dn', authMethod: 'tls_client_auth', tlsSubjectDn: SUBJECT_DN, certificateBoundTokens: true });
  add({ type: 'm2m', clientId: 'mtls-self', name: 'mtls self-signed', authMethod: 'self_signed_tls_client_auth', jwks: CERTS.self });
  add({
    type: 'regular_web', clientId: 'mtls-web', name: 'mtls web', authMethod: 'tls_client_auth', tlsSanDns: 'client.example.com',
    certificateBoundTokens: true, grantTypes: ['authorization_code'], redirectUris: [`${origin}/callback`],
  });
  await tenant.createGrant({ clientId: 'mtls-dn', audience: API, scopes: ['read:items'] });
  await tenant.createGrant({ clientId: 'mtls-self', audience: API, scopes: ['read:items'] });
}
const PASSWORD_REALM = 'http://auth0.com/oauth/grant-type/password-realm';

/** The KV interface `Tenant` uses, over the seed's Map of records (key → parsed JSON). */
export function recordsKv(records) {
  const text = (k) => (records.has(k) ? JSON.stringify(records.get(k)) : null);
  const sorted = (prefix) => [...records.keys()].filter((k) => k.startsWith(prefix)).sort();
  return {
    get: async (k) => text(k),
    getJson: async (k) => (records.has(k) ? structuredClone(records.get(k)) : null),
    getMany: async (ks) => new Map(ks.map((k) => [k, text(k)])),
    list: async (prefix) => sorted(prefix),
    listJson: async (prefix) => sorted(prefix).map((k) => [k, structuredClone(records.get(k))]),
    put: async (k, v) => { records.set(k, JSON.parse(v)); },
    putMany: async (entries) => { for (const [k, v] of entries) records.set(k, JSON.parse(v)); },
    deleteMany: async (ks) => { for (const k of ks) records.delete(k); },
  };
}

/** Adds a client built like `client create` and keeps its secret in the credentials. */
function addClient(records, credentials, clientSecretKey, opts) {
  const built = buildClient({ clientSecretKey, ...opts });
  records.set(keys.client(opts.clientId), built.record);
  credentials[opts.clientId] = { client_id: opts.clientId, client_secret: built.secret };
}

async function seedAccess({ records, credentials, origin, clientSecretKey }) {
  const tenant = new Tenant(recordsKv(records), { clientSecretKey });
  const add = (opts) => addClient(records, credentials, clientSecretKey, opts);
  add({ type: 'm2m', clientId: 'org-m2m', name: 'org job' });
  add({
    type: 'regular_web', clientId: 'ropg-web', name: 'password grant',
    grantTypes: ['authorization_code', 'refresh_token', 'password'], redirectUris: [`${origin}/callback`],
  });
  await tenant.createGrant({ clientId: 'org-m2m', audience: API, scopes: ['read:items'], organizationUsage: 'allow' });

  const acme = await tenant.createOrganization({ name: 'acme', displayName: 'Acme Inc.' });
  const beta = await tenant.createOrganization({ name: 'beta' });
  await tenant.addMember('acme', credentials.user.email);
  await tenant.enableGrant('acme', 'org-m2m', API);
  // demo-m2m's grant has the default organization usage: deny.
  await tenant.enableGrant('beta', 'demo-m2m', API);

  await tenant.createApi({ identifier: RBAC_API, scopes: ['read:docs', 'write:docs'], enforceRbac: true, permissionsClaim: true, allowOfflineAccess: true });
  await tenant.createRole({ name: 'reader' });
  await tenant.addPermission('reader', RBAC_API, ['read:docs']);
  await tenant.assignRole(credentials.user.email, 'reader');
  credentials.orgs = { acme: acme.id, beta: beta.id };
  await seedMtls(tenant, add, origin);
}

let srv;
let jwks;
const T = () => srv.tenant;

before(async () => {
  srv = await startServer({ seed: seedAccess, vars: { ORGANIZATION_NAME_IN_TOKENS: 'true', MTLS_PROXY_SECRET: PROXY_SECRET } });
  jwks = jose.createLocalJWKSet(await (await fetch(`${srv.url}/.well-known/jwks.json`)).json());
});

after(async () => {
  await srv?.stop();
});

/** Verifies a token against the JWKS: access tokens are ES256, ID tokens RS256 (the default). */
async function verified(token, audience, alg = 'ES256') {
  const { payload } = await jose.jwtVerify(token, jwks, { issuer: srv.issuer, audience, algorithms: [alg] });
  return payload;
}

function assertError(res, status, error) {
  assert.equal(res.status, status, `status (body ${res.text})`);
  assert.equal(res.json?.error, error, res.text);
  assert.equal(res.headers.get('cache-control'), 'no-store');
}

const cc = (id, extra = {}) => tokenRequest(srv.url, form({ grant_type: 'client_credentials', audience: API, ...extra }), {
  headers: { authorization: basic(id, T()[id].client_secret) },
});

/** /authorize + login + code exchange for demo-spa; returns the token response or the redirect. */
async function spaTokens({ user, audience = API, scope, extra = {} }) {
  const verifier = jose.base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = jose.base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const r = await authorize(srv.url, {
    response_type: 'code', client_id: 'demo-spa', redirect_uri: `${srv.url}/`, scope, audience, state: 's1',
    code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  }, user);
  assert.equal(r.status, 303, `login redirects (${r.html?.slice(0, 300)})`);
  const location = new URL(r.location);
  const code = location.searchParams.get('code');
  if (!code) return { location };
  const res = await tokenRequest(srv.url, form({
    grant_type: 'authorization_code', client_id: 'demo-spa', code, redirect_uri: `${srv.url}/`, code_verifier: verifier,
  }));
  assert.equal(res.status, 200, res.text);
  return { location, res };
}

const demoUser = () => ({ username: T().user.email, password: USER_PASSWORD });
const otherUser = () => ({ username: T().other.email, password: T().other.password });

describe('organizations: machine-to-machine access', () => {
  test('a client grant the organization enabled gets org_id and org_name, by id or name', async () => {
    for (const organization of [T().orgs.acme, 'acme']) {
      const res = await cc('org-m2m', { organization });
      assert.equal(res.status, 200, res.text);
      const claims = await verified(res.json.access_token, API);
      assert.equal(claims.org_id, T().orgs.acme);
      assert.equal(claims.org_name, 'acme');
      assert.equal(claims.sub, 'org-m2m@clients');
    }
  });

  test('an organization that did not enable the grant, or an unknown one: 403 access_denied', async () => {
    const beta = await cc('org-m2m', { organization: 'beta' });
    const unknown = await cc('org-m2m', { organization: 'org_doesnotexist0001' });
    assertError(beta, 403, 'access_denied');
    assertError(unknown, 403, 'access_denied');
    assert.equal(beta.text, unknown.text, 'the same answer for both');
  });

  test('a grant with organization usage deny refuses even an organization that enabled it', async () => {
    assertError(await cc('demo-m2m', { organization: 'beta' }), 403, 'access_denied');
    const res = await cc('demo-m2m');
    assert.equal(res.status, 200);
    assert.equal((await verified(res.json.access_token, API)).org_id, undefined);
  });
});

describe('organizations: /authorize?organization=', () => {
  test('a member gets org_id in the access token, the ID token and after a refresh', async () => {
    const { res } = await spaTokens({ user: demoUser(), scope: 'openid offline_access read:items', extra: { organization: 'acme' } });
    const at = await verified(res.json.access_token, API);
    assert.equal(at.org_id, T().orgs.acme);
    assert.equal(at.org_name, 'acme');
    const id = await verified(res.json.id_token, 'demo-spa', 'RS256');
    assert.equal(id.org_id, T().orgs.acme);
    const next = await tokenRequest(srv.url, form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: res.json.refresh_token }));
    assert.equal(next.status, 200, next.text);
    assert.equal((await verified(next.json.access_token, API)).org_id, T().orgs.acme);
  });

  test('a non-member is sent back with access_denied and no code', async () => {
    const { location } = await spaTokens({ user: otherUser(), scope: 'openid', extra: { organization: 'acme' } });
    assert.equal(location.searchParams.get('error'), 'access_denied');
    assert.equal(location.searchParams.get('code'), null);
    assert.equal(location.searchParams.get('state'), 's1');
  });
});

describe('role-based access per API', () => {
  test('RBAC on: only the scopes the roles grant, and a permissions claim', async () => {
    const { res } = await spaTokens({ user: demoUser(), audience: RBAC_API, scope: 'openid read:docs write:docs' });
    assert.equal(res.json.scope, 'openid read:docs', 'RFC 6749 §3.3: scope says what was granted');
    const at = await verified(res.json.access_token, RBAC_API);
    assert.equal(at.scope, 'openid read:docs');
    assert.deepEqual(at.permissions, ['read:docs']);
  });

  test('RBAC on: a user without roles gets no API scope', async () => {
    const { res } = await spaTokens({ user: otherUser(), audience: RBAC_API, scope: 'openid read:docs' });
    assert.equal(res.json.scope, 'openid');
  });

  test('RBAC off: every requested scope, no permissions claim', async () => {
    const { res } = await spaTokens({ user: otherUser(), scope: 'read:items write:items' });
    assert.equal(res.json.scope, 'read:items write:items');
    assert.equal((await verified(res.json.access_token, API)).permissions, undefined);
  });
});

const ropg = (body, id = 'ropg-web') => tokenRequest(srv.url, form(body), { headers: { authorization: basic(id, T()[id].client_secret) } });

describe('the password grant', () => {
  test('right password: access, ID and refresh token', async () => {
    const res = await ropg({ grant_type: 'password', username: T().user.email, password: USER_PASSWORD, audience: API, scope: 'openid offline_access read:items' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.scope, 'openid offline_access read:items');
    assert.ok(res.json.refresh_token);
    const at = await verified(res.json.access_token, API);
    assert.equal(at.sub, T().user.user_id);
    const id = await verified(res.json.id_token, 'ropg-web', 'RS256');
    assert.equal(id.sub, T().user.user_id);
    const next = await ropg({ grant_type: 'refresh_token', refresh_token: res.json.refresh_token });
    assert.equal(next.status, 200, next.text);
  });

  test("Auth0's password-realm grant with the database realm", async () => {
    const res = await ropg({ grant_type: PASSWORD_REALM, realm: 'Username-Password-Authentication', username: T().user.email, password: USER_PASSWORD, audience: API });
    assert.equal(res.status, 200, res.text);
    assertError(await ropg({ grant_type: PASSWORD_REALM, realm: 'other', username: T().user.email, password: USER_PASSWORD }), 400, 'invalid_request');
  });

  test('wrong password and unknown email: the same invalid_grant', async () => {
    const wrong = await ropg({ grant_type: 'password', username: T().other.email, password: 'not it at all' });
    const unknown = await ropg({ grant_type: 'password', username: 'nobody@example.com', password: 'not it at all' });
    assertError(wrong, 400, 'invalid_grant');
    assertError(unknown, 400, 'invalid_grant');
    assert.equal(wrong.text, unknown.text);
  });

  test('a client without the grant: unauthorized_client', async () => {
    assertError(await ropg({ grant_type: 'password', username: T().user.email, password: USER_PASSWORD }, 'demo-web'), 400, 'unauthorized_client');
  });
});

const mtlsCc = (base, clientId, headers) => tokenRequest(base, form({ grant_type: 'client_credentials', client_id: clientId, audience: API }), { headers });

describe('mutual-TLS client authentication (RFC 8705) through the trusted proxy', () => {
  test('tls_client_auth: the registered subject DN; the token is bound to the certificate', async () => {
    const res = await mtlsCc(srv.url, 'mtls-dn', proxyHeaders(CERTS.client));
    assert.equal(res.status, 200, res.text);
    const claims = await verified(res.json.access_token, API);
    assert.equal(claims.cnf['x5t#S256'], x5t(CERTS.client));
    assertError(await mtlsCc(srv.url, 'mtls-dn', proxyHeaders(CERTS.client, { verified: false })), 401, 'invalid_client');
    assertError(await mtlsCc(srv.url, 'mtls-dn', proxyHeaders(CERTS.self)), 401, 'invalid_client');
  });

  test('self_signed_tls_client_auth: the certificate registered in the JWKS', async () => {
    const res = await mtlsCc(srv.url, 'mtls-self', proxyHeaders(CERTS.self, { verified: false }));
    assert.equal(res.status, 200, res.text);
    assert.equal((await verified(res.json.access_token, API)).cnf, undefined, 'not registered for bound tokens');
    assertError(await mtlsCc(srv.url, 'mtls-self', proxyHeaders(CERTS.other)), 401, 'invalid_client');
  });

  test('without the shared secret, or with a wrong one, the headers are ignored', async () => {
    for (const secret of [null, 'e2e-proxy-secret-abcdefghijklmnopqrstuvwxyZ']) {
      assertError(await mtlsCc(srv.url, 'mtls-dn', proxyHeaders(CERTS.client, { secret })), 401, 'invalid_client');
      assertError(await mtlsCc(srv.url, 'mtls-self', proxyHeaders(CERTS.self, { secret })), 401, 'invalid_client');
    }
  });

  test('discovery lists the methods and tls_client_certificate_bound_access_tokens', async () => {
    const m = await (await fetch(`${srv.url}/.well-known/openid-configuration`)).json();
    assert.ok(m.token_endpoint_auth_methods_supported.includes('tls_client_auth'));
    assert.ok(m.token_endpoint_auth_methods_supported.includes('self_signed_tls_client_auth'));
    assert.equal(m.tls_client_certificate_bound_access_tokens, true);
  });

  test('a bound token at /userinfo: only with the same certificate', async () => {
    const r = await authorize(srv.url, { response_type: 'code', client_id: 'mtls-web', redirect_uri: `${srv.url}/callback`, scope: 'openid email' }, demoUser());
    assert.equal(r.status, 303, r.html?.slice(0, 300));
    const code = new URL(r.location).searchParams.get('code');
    const tokens = await tokenRequest(srv.url, form({ grant_type: 'authorization_code', client_id: 'mtls-web', code, redirect_uri: `${srv.url}/callback` }), {
      headers: proxyHeaders(CERTS.client),
    });
    assert.equal(tokens.status, 200, tokens.text);
    const at = tokens.json.access_token;
    const userinfo = (headers) => fetch(`${srv.url}/userinfo`, { headers: { authorization: `Bearer ${at}`, ...headers } });
    const ok = await userinfo(proxyHeaders(CERTS.client));
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).email, T().user.email);
    for (const headers of [{}, proxyHeaders(CERTS.self), proxyHeaders(CERTS.client, { secret: null })]) {
      const res = await userinfo(headers);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /invalid_token/);
    }
  });
});

describe('a server without MTLS_PROXY_SECRET, and the password grant under a low rate limit', () => {
  let low;
  before(async () => {
    low = await startServer({
      rateLimit: 3,
      seed: async ({ records, credentials, origin, clientSecretKey }) => {
        const add = (opts) => addClient(records, credentials, clientSecretKey, opts);
        add({ type: 'regular_web', clientId: 'ropg-web', name: 'password grant', grantTypes: ['password'] });
        await seedMtls(new Tenant(recordsKv(records), { clientSecretKey }), add, origin);
      },
    });
  });
  after(async () => { await low?.stop(); });

  test('forged proxy headers authenticate no one, whatever cname-api-key says', async () => {
    for (const secret of [null, PROXY_SECRET]) {
      assertError(await mtlsCc(low.url, 'mtls-dn', proxyHeaders(CERTS.client, { secret })), 401, 'invalid_client');
      assertError(await mtlsCc(low.url, 'mtls-self', proxyHeaders(CERTS.self, { secret })), 401, 'invalid_client');
    }
  });

  test('past the limit: 429 too_many_attempts with Retry-After, even for the right password', async () => {
    const send = (password) => tokenRequest(low.url, form({ grant_type: 'password', username: low.tenant.user.email, password }), {
      headers: { authorization: basic('ropg-web', low.tenant['ropg-web'].client_secret) },
    });
    const answers = [];
    for (let i = 0; i < 3; i += 1) answers.push((await send('wrong password')).json?.error);
    assert.deepEqual(answers, ['invalid_grant', 'invalid_grant', 'invalid_grant']);
    const locked = await send(USER_PASSWORD);
    assertError(locked, 429, 'too_many_attempts');
    assert.equal(locked.headers.get('retry-after'), '60');
  });
});
