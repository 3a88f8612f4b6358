// End to end, under `wrangler dev` with a low rate limit (5 per key per minute): the 429s
// of the login form and of failed client authentication (RFC 6749 §2.3.1, rules.md item 12),
// and the hostile-input answers of the worker as the runtime really delivers the requests
// (control characters, two Authorization fields joined by the runtime, a cross-site login).

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { API, USER_PASSWORD, authorize, basic, form, parseLoginForm, startServer, tokenRequest } from './harness.mjs';

const LIMIT = 5;
let srv;

before(async () => {
  srv = await startServer({ rateLimit: LIMIT });
});

after(async () => {
  await srv?.stop();
});

function assertOAuthError(res, status, error, what) {
  assert.equal(res.status, status, `${what}: status (${res.text})`);
  assert.equal(res.json?.error, error, `${what}: error (${res.text})`);
  assert.equal(res.headers.get('cache-control'), 'no-store', `${what}: no-store`);
}

/** The login form of a fresh /authorize for the demo SPA. */
async function loginForm() {
  const verifier = randomBytes(32).toString('base64url');
  const r = await authorize(srv.url, {
    response_type: 'code', client_id: 'demo-spa', redirect_uri: `${srv.url}/`, scope: 'openid',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  });
  assert.equal(r.status, 200);
  return parseLoginForm(r.html, srv.url);
}

async function postLogin(f, fields, headers = { origin: srv.url }) {
  const res = await fetch(f.action, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ ...f.fields, ...fields }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('hostile input as the runtime delivers it', () => {
  test('control characters in client_id, code, state... are invalid_request (RFC 6749 Appendix A)', async () => {
    for (const [name, body] of [
      ['client_id', 'grant_type=authorization_code&client_id=demo-spa%00&code=x'],
      ['code', 'grant_type=authorization_code&client_id=demo-spa&code=a%0Ab'],
      ['refresh_token', 'grant_type=refresh_token&client_id=demo-spa&refresh_token=%7F'],
      ['state', 'grant_type=client_credentials&client_id=demo-spa&state=%1B'],
    ]) {
      const r = await tokenRequest(srv.url, body);
      assertOAuthError(r, 400, 'invalid_request', name);
      assert.match(r.json.error_description, new RegExp(name));
    }
  });

  test('two Authorization fields, joined by the runtime, are invalid_request (RFC 6750 §2, RFC 9449 §7.1)', async () => {
    const headers = new Headers();
    headers.append('authorization', 'Bearer abc');
    headers.append('authorization', 'DPoP abc');
    const res = await fetch(`${srv.url}/userinfo`, { headers });
    const text = await res.text();
    assert.equal(res.status, 400, text);
    assert.equal(JSON.parse(text).error, 'invalid_request');
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_request"/);
    const both = new Headers({ 'content-type': 'application/x-www-form-urlencoded' });
    both.append('authorization', basic('demo-m2m', srv.tenant['demo-m2m'].client_secret));
    both.append('authorization', basic('demo-m2m', srv.tenant['demo-m2m'].client_secret));
    const tr = await fetch(`${srv.url}/oauth/token`, { method: 'POST', headers: both, body: form({ grant_type: 'client_credentials', audience: API }) });
    assert.equal(tr.status, 400);
    assert.equal((await tr.json()).error, 'invalid_request');
  });

  test('login CSRF: a login form posted from another origin, or without one, is refused', async () => {
    const f = await loginForm();
    const creds = { username: srv.tenant.user.email, password: USER_PASSWORD };
    for (const [what, headers] of [
      ['another origin', { origin: 'https://attacker.example' }],
      ['no Origin', {}],
      ['Origin: null', { origin: 'null' }],
    ]) {
      const r = await postLogin(f, creds, headers);
      assert.equal(r.status, 403, what);
      assert.equal(r.headers.get('location'), null, `${what}: no code`);
    }
    const r = await postLogin(f, creds, { 'sec-fetch-site': 'same-origin' });
    assert.equal(r.status, 303, 'same-origin fetch metadata');
  });

  test('plain HTTP on loopback gets no Strict-Transport-Security (RFC 6797 §8.1)', async () => {
    const res = await fetch(`${srv.url}/.well-known/openid-configuration`);
    await res.arrayBuffer();
    assert.equal(res.headers.get('strict-transport-security'), null);
  });
});

describe('429 under wrangler dev (rules.md item 12)', () => {
  // Logins count per account and per client address (wrangler dev sets CF-Connecting-IP),
  // and the login of the CSRF test above counted for this address: the limit is reached
  // after at most LIMIT failures.
  test('the login form: past the limit even the right password is 429', async () => {
    const f = await loginForm();
    const email = srv.tenant.other.email;
    let failures = 0;
    for (;;) {
      const r = await postLogin(f, { username: email, password: `wrong ${failures}` });
      if (r.status === 429) break;
      assert.equal(r.status, 401, `attempt ${failures + 1}`);
      failures++;
      assert.ok(failures <= LIMIT, `still 401 after ${failures} attempts`);
    }
    assert.ok(failures >= 1, 'failures below the limit are 401');
    const r = await postLogin(f, { username: email, password: srv.tenant.other.password });
    assert.equal(r.status, 429, 'over the limit');
    assert.equal(r.headers.get('retry-after'), '60');
    assert.match(r.text, /Too many sign-in attempts/);
    assert.equal(r.headers.get('location'), null, 'no code');
  });

  test('failed client authentication: 429 invalid_client with Retry-After, a success is not counted', async () => {
    const body = form({ grant_type: 'client_credentials', audience: API });
    const ok = await tokenRequest(srv.url, body, { headers: { authorization: basic('demo-m2m', srv.tenant['demo-m2m'].client_secret) } });
    assert.equal(ok.status, 200, ok.text);
    for (let i = 0; i < LIMIT; i++) {
      const r = await tokenRequest(srv.url, body, { headers: { authorization: basic('demo-m2m', 'wrong') } });
      assertOAuthError(r, 401, 'invalid_client', `failure ${i + 1}`);
    }
    const r = await tokenRequest(srv.url, body, { headers: { authorization: basic('demo-m2m', 'wrong') } });
    assertOAuthError(r, 429, 'invalid_client', 'over the limit');
    assert.equal(r.headers.get('retry-after'), '60');
    assert.match(r.headers.get('www-authenticate') ?? '', /^Basic /);
  });
});
