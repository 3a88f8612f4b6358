// End to end: the device authorization grant (RFC 8628) against the real worker under
// `wrangler dev`. One flow is approved and one denied through the real pages in Chromium
// (Debian's /usr/bin/chromium through playwright-core); the others drive the pages with
// fetch: an expired code, a device that polls too fast, and simultaneous polls after the
// approval, of which exactly one gets tokens.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import { chromium } from 'playwright-core';
import { API, form, parseLoginForm, startServer, tokenRequest } from './harness.mjs';
import { DEVICE_CODE_GRANT, buildClient, keys } from '../../scripts/lib/tenant.mjs';

let srv;
let browser;
let jwks;
const user = () => srv.tenant.user;

before(async () => {
  srv = await startServer({
    seed: ({ records }) => {
      const add = (opts) => records.set(keys.client(opts.clientId), buildClient(opts).record);
      add({ type: 'spa', clientId: 'e2e-tv', name: 'Living room TV', grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'] });
      add({ type: 'spa', clientId: 'e2e-tv-quick', name: 'Quick TV', grantTypes: [DEVICE_CODE_GRANT], deviceCodeLifetime: 3 });
    },
  });
  jwks = jose.createLocalJWKSet(await (await fetch(`${srv.url}/.well-known/jwks.json`)).json());
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

async function deviceCode(clientId, scope = 'openid offline_access read:items') {
  const res = await tokenRequest(srv.url, form({ client_id: clientId, scope, audience: API }), { path: '/oauth/device/code' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return res.json;
}

const poll = (clientId, code) => tokenRequest(srv.url, form({ grant_type: DEVICE_CODE_GRANT, client_id: clientId, device_code: code }));

/** Code entry, login and the decision, with fetch (the pages' own forms, this origin). */
async function decideWithFetch(userCode, decision) {
  const page = await fetch(`${srv.url}/activate?user_code=${encodeURIComponent(userCode)}`);
  assert.equal(page.status, 200);
  const login = parseLoginForm(await page.text(), srv.url);
  const post = (action, body) => fetch(action, {
    method: 'POST', redirect: 'manual', body: new URLSearchParams(body),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: srv.url },
  });
  const consent = await post(login.action, { ...login.fields, username: user().email, password: user().password });
  assert.equal(consent.status, 200);
  const confirm = parseLoginForm(await consent.text(), srv.url);
  const done = await post(confirm.action, { ...confirm.fields, decision });
  assert.equal(done.status, 200);
  return done.text();
}

describe('RFC 8628 device authorization under wrangler dev', () => {
  test('discovery names the device authorization endpoint and the grant', async () => {
    const meta = await (await fetch(`${srv.url}/.well-known/openid-configuration`)).json();
    assert.equal(meta.device_authorization_endpoint, `${srv.issuer}oauth/device/code`);
    assert.ok(meta.grant_types_supported.includes(DEVICE_CODE_GRANT));
  });

  test('approved in Chromium through the real pages: pending, then one token set, then used', async () => {
    const dc = await deviceCode('e2e-tv');
    assert.match(dc.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(dc.verification_uri, `${srv.issuer}activate`);
    assert.equal(dc.expires_in, 900);
    assert.equal(dc.interval, 5);
    assert.equal((await poll('e2e-tv', dc.device_code)).json.error, 'authorization_pending');

    const context = await browser.newContext();
    const page = await context.newPage();
    // The plain entry page first, typed in lower case without the dash.
    await page.goto(dc.verification_uri);
    await page.getByLabel('Code').fill(dc.user_code.replace('-', '').toLowerCase());
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Email').fill(user().email);
    await page.getByLabel('Password').fill(user().password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    const text = await page.textContent('main');
    assert.match(text, /Living room TV/);
    assert.match(text, /read:items/);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await context.close();

    await new Promise((r) => setTimeout(r, 5100));
    const res = await poll('e2e-tv', dc.device_code);
    assert.equal(res.status, 200, res.text);
    const { payload } = await jose.jwtVerify(res.json.access_token, jwks, { issuer: srv.issuer, audience: API, typ: 'at+jwt' });
    assert.equal(payload.sub, user().user_id);
    assert.equal(payload.client_id, 'e2e-tv');
    assert.ok(res.json.refresh_token, 'offline_access brings a refresh token');
    assert.ok(res.json.id_token);
    await new Promise((r) => setTimeout(r, 5100));
    assert.equal((await poll('e2e-tv', dc.device_code)).json.error, 'invalid_grant', 'used up');
  });

  test('denied in Chromium: access_denied', async () => {
    const dc = await deviceCode('e2e-tv');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(dc.verification_uri_complete);
    await page.getByLabel('Email').fill(user().email);
    await page.getByLabel('Password').fill(user().password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('heading', { name: 'Request denied' }).waitFor();
    await context.close();
    const res = await poll('e2e-tv', dc.device_code);
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'access_denied');
  });

  test('an unknown code gets the one message; the pages cannot be framed', async () => {
    const res = await fetch(`${srv.url}/activate?user_code=BCDF-GHJK`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /That code is not valid/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  });

  test('expired: expired_token after the expiry', async () => {
    const dc = await deviceCode('e2e-tv-quick', 'read:items');
    assert.equal(dc.expires_in, 3);
    await new Promise((r) => setTimeout(r, 3500));
    const res = await poll('e2e-tv-quick', dc.device_code);
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'expired_token');
    const page = await fetch(dc.verification_uri_complete);
    assert.equal(page.status, 400);
  });

  test('polled too fast: slow_down, and the interval grows by 5 s', async () => {
    const dc = await deviceCode('e2e-tv', 'read:items');
    assert.equal((await poll('e2e-tv', dc.device_code)).json.error, 'authorization_pending');
    const fast = await poll('e2e-tv', dc.device_code);
    assert.equal(fast.status, 400);
    assert.equal(fast.json.error, 'slow_down');
    assert.match(fast.json.error_description, /10 seconds/);
  });

  test('simultaneous polls after the approval: exactly one token set', async () => {
    const dc = await deviceCode('e2e-tv');
    const done = await decideWithFetch(dc.user_code, 'allow');
    assert.match(done, /Device connected/);
    const answers = await Promise.all(Array.from({ length: 12 }, () => poll('e2e-tv', dc.device_code)));
    const ok = answers.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, `one success, got ${answers.map((r) => r.status + (r.json?.error ?? '')).join(' ')}`);
    for (const r of answers.filter((a) => a.status !== 200)) assert.equal(r.json.error, 'invalid_grant');
  });
});
