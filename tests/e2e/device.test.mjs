// End to end: the device authorization grant (RFC 8628) against the real worker under
// `wrangler dev`. One flow is approved and one denied through the real pages in Chromium
// (Debian's /usr/bin/chromium through playwright-core); the others drive the pages with
// fetch: an expired code, a device that polls too fast, and simultaneous polls after the
// approval, of which exactly one gets tokens. The package's TokenClient (loaded from pkg/
// as tests/js/support.mjs does) runs the flow too, approved and denied in Chromium, and so
// does examples/device.mjs, spawned against this server.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import { chromium } from 'playwright-core';
import { edge } from '../js/support.mjs';
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

/** Signs in and decides on the /activate pages in Chromium: by the code typed in, or by the complete URL. */
async function decideInChromium({ verificationUri, userCode, verificationUriComplete }, decision) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    if (userCode) {
      await page.goto(verificationUri);
      await page.getByLabel('Code').fill(userCode);
      await page.getByRole('button', { name: 'Continue' }).click();
    } else {
      await page.goto(verificationUriComplete);
    }
    await page.getByLabel('Email').fill(user().email);
    await page.getByLabel('Password').fill(user().password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    await page.getByRole('button', { name: decision }).click();
    await page.getByRole('heading', { name: decision === 'Allow' ? 'Device connected' : 'Request denied' }).waitFor();
  } finally {
    await context.close();
  }
}

describe('the package: TokenClient.deviceAuthorization and pollDeviceToken under wrangler dev', () => {
  test('rfc8628 approved in Chromium: pollDeviceToken resolves to DPoP-bound tokens that work at /userinfo', async () => {
    const dpopKey = await edge.DpopKey.generate();
    const client = await edge.TokenClient.discover(srv.issuer, { clientId: 'demo-device', dpopKey });
    assert.equal(client.deviceAuthorizationEndpoint, `${srv.issuer}oauth/device/code`, 'from the metadata');
    const authorization = await client.deviceAuthorization({ scope: 'openid profile offline_access read:items', audience: API });
    assert.match(authorization.userCode, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(authorization.verificationUri, `${srv.issuer}activate`);
    assert.equal(authorization.interval, 5);
    const pending = [];
    const polling = client.pollDeviceToken(authorization, { onPending: (p) => pending.push(p.error) });
    await decideInChromium({ verificationUri: authorization.verificationUri, userCode: authorization.userCode }, 'Allow');
    const tokens = await polling;
    assert.ok(pending.every((e) => e === 'authorization_pending'), `never slow_down: ${pending}`);
    assert.equal(tokens.tokenType, 'DPoP');
    assert.ok(tokens.refreshToken, 'offline_access brings a refresh token');
    assert.equal(tokens.idTokenClaims.sub, user().user_id, 'the ID token was checked against the issuer');
    const { payload } = await jose.jwtVerify(tokens.accessToken, jwks, { issuer: srv.issuer, audience: API, typ: 'at+jwt' });
    assert.equal(payload.sub, user().user_id);
    assert.equal(payload.client_id, 'demo-device');
    assert.equal(payload.cnf.jkt, dpopKey.thumbprint, 'bound to the client\'s key');
    assert.deepEqual(await client.getTokens(), tokens, 'stored');

    const res = await edge.fetchWithDpop(`${srv.url}/userinfo`, {}, { accessToken: tokens.accessToken, dpopKey });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).sub, user().user_id);
    // The refresh token of the device flow works through the same client.
    const next = await client.refresh(tokens.refreshToken);
    assert.notEqual(next.accessToken, tokens.accessToken);
  });

  test('rfc8628 denied in Chromium: pollDeviceToken rejects with access_denied', async () => {
    const client = await edge.TokenClient.discover(srv.issuer, { clientId: 'demo-device' });
    const authorization = await client.deviceAuthorization({ scope: 'read:items', audience: API });
    const polling = client.pollDeviceToken(authorization);
    // Seen before the decision, so that a rejection cannot go unhandled meanwhile.
    const outcome = polling.then(() => assert.fail('resolved after a denial'), (err) => err);
    await decideInChromium(authorization, 'Deny');
    const err = await outcome;
    assert.equal(err.code, 'OAUTH_ERROR');
    assert.equal(err.error, 'access_denied');
    assert.equal(err.status, 400);
    assert.equal(await client.getTokens(), undefined);
  });
});

/** Runs examples/device.mjs against the server; `lines` resolves once the code is printed. */
function runExample(args = []) {
  const script = fileURLToPath(new URL('../../examples/device.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, '--issuer', srv.issuer, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const kill = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    clearTimeout(kill);
    resolve({ code, signal, stdout, stderr });
  }));
  const prompt = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const complete = stdout.match(/\(or open (\S+)\)/);
      const code = stdout.match(/enter the code (\S+)/);
      if (complete && code && /Waiting for you to approve/.test(stdout)) resolve({ verificationUriComplete: complete[1], userCode: code[1] });
    });
    child.stderr.on('data', (d) => (stderr += d));
    exited.then((r) => reject(new Error(`the example exited before printing a code: ${JSON.stringify(r)}`)));
  });
  return { child, prompt, exited };
}

describe('examples/device.mjs under wrangler dev', () => {
  test('prints the code and URL, and the access token claims once the user approves in Chromium', async () => {
    const run = runExample(['--dpop']);
    const shown = await run.prompt;
    assert.match(shown.userCode, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.match(shown.verificationUriComplete, /\/activate\?user_code=/);
    await decideInChromium({ verificationUriComplete: shown.verificationUriComplete }, 'Allow');
    const { code, stdout, stderr } = await run.exited;
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`To sign in, open\\s+${srv.issuer}activate`));
    assert.match(stdout, /Signed in: a DPoP access token for \d+ s, and a refresh token\./);
    const claims = JSON.parse(stdout.match(/Access token claims:\n(\{[\s\S]*?\n\})/)[1]);
    assert.equal(claims.sub, user().user_id);
    assert.equal(claims.client_id, 'demo-device');
    assert.ok([claims.aud].flat().includes(API), 'for the API');
    assert.ok(claims.cnf?.jkt, 'bound to the example\'s DPoP key');
    assert.match(stdout, /ID token claims \(checked\):/);
    assert.doesNotMatch(stdout, /eyJ[\w-]+\.eyJ/, 'no token itself is printed');
  });

  test('Ctrl-C while waiting cancels through the AbortSignal', async () => {
    const run = runExample();
    await run.prompt;
    run.child.kill('SIGINT');
    const { code, stderr } = await run.exited;
    assert.equal(code, 130);
    assert.match(stderr, /Cancelled\./);
  });
});
