// End to end: the demo SPA (www/) in Debian's Chromium against the real worker under
// `wrangler dev`. Signs in through the real login form with DPoP, calls /userinfo,
// refreshes, opens a second tab that shares the session, signs out, and signs in once more
// without an API to see the offline_access notice. A screenshot per step goes to
// tests/e2e/screenshots/ (gitignored). Any console error fails the test, except the
// "Failed to load resource" line Chromium prints for an expected `use_dpop_nonce` answer.
// A second test runs the redirect leg from Node against the same worker: metadata, a pushed
// authorization request, the request_uri URL, the redirect with `iss`, the ID token.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { syncPkgIntoWww } from '../../scripts/lib/dev.mjs';
import { edge } from '../js/support.mjs';
import { API, authorize, startServer, tokenRequest } from './harness.mjs';

const SHOTS = new URL('./screenshots/', import.meta.url);
const TIMEOUT = 30_000;
let srv;
let browser;
let context;

/** Every console error and page error of a page, and the URLs that answered use_dpop_nonce. */
function watch(page, name) {
  const problems = [];
  const nonceAnswers = new Set();
  const consoleErrors = [];
  page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push({ text: msg.text(), url: msg.location()?.url });
  });
  page.on('response', async (res) => {
    if (res.status() < 400) return;
    const challenge = res.headers()['www-authenticate'] ?? '';
    let error;
    try {
      error = JSON.parse(await res.text()).error;
    } catch { /* not JSON */ }
    if (challenge.includes('error="use_dpop_nonce"') || error === 'use_dpop_nonce') nonceAnswers.add(res.url());
  });
  return {
    nonceAnswers,
    /** Fails on anything but a "Failed to load resource" of a use_dpop_nonce answer. */
    check() {
      for (const e of consoleErrors.splice(0)) {
        const expected = /Failed to load resource: the server responded with a status of 40[01]/.test(e.text) && nonceAnswers.has(e.url);
        if (!expected) problems.push(`${name}: console error: ${e.text} (${e.url})`);
      }
      assert.deepEqual(problems, [], 'no unexpected console or page errors');
    },
  };
}

async function shot(page, file) {
  await page.screenshot({ path: new URL(file, SHOTS).pathname, fullPage: true });
}

const text = (page, selector) => page.locator(selector).textContent();

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: TIMEOUT });
}

/** Fills the demo's sign-in form, then the worker's login form; returns on the SPA again. */
async function signIn(page, { audience, password }) {
  await page.fill('#audience', audience ?? '');
  await Promise.all([page.waitForURL(/\/authorize\?/, { timeout: TIMEOUT }), page.click('#signin-button')]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.match(url.searchParams.get('dpop_jkt') ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.ok(url.searchParams.get('state') && url.searchParams.get('nonce'));
  return url;
}

before(async () => {
  assert.ok(syncPkgIntoWww(), 'pkg/ is built (scripts/build.sh) and copied to www/pkg/');
  mkdirSync(SHOTS, { recursive: true });
  srv = await startServer();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 60_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update'],
  });
  context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  context.setDefaultTimeout(TIMEOUT);
});

after(async () => {
  await context?.close();
  await browser?.close();
  await srv?.stop();
});

test('the demo SPA: sign in with DPoP, userinfo, refresh, a second tab, sign out, and the offline_access notice', async () => {
  const { email, password } = srv.tenant.user;
  const page = await context.newPage();
  const w1 = watch(page, 'tab 1');

  // 1. Signed out. The static files carry the strict headers of www/_headers.
  const first = await page.goto(`${srv.url}/`);
  const headers = first.headers();
  assert.match(headers['content-security-policy'] ?? '', /script-src 'self' 'wasm-unsafe-eval'/);
  assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  await ready(page);
  assert.equal(await page.isVisible('#signin'), true);
  await shot(page, '01-signed-out.png');
  w1.check();

  // 2. The real login form of the worker.
  await signIn(page, { audience: API });
  await page.waitForSelector('#username');
  await shot(page, '02-login-form.png');
  await page.fill('#username', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${srv.url}/`), page.click('button[type="submit"]')]);
  await ready(page);
  await page.waitForSelector('#session:not([hidden])');

  // 3. Signed in: a DPoP token bound to this browser's key, its expiry counting down, the
  //    proof of the last request, and the nonce retry of the code exchange.
  assert.equal(await text(page, '#token-type'), 'DPoP');
  const cnfJkt = await text(page, '#cnf-jkt');
  assert.match(cnfJkt, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(await text(page, '#key-jkt'), cnfJkt, 'cnf.jkt is the thumbprint of the key');
  assert.match(await text(page, '#binding'), /^match/);
  const expiry1 = await text(page, '#expiry');
  assert.match(expiry1, /^expires in \d+:\d\d/);
  await page.waitForFunction((before) => document.getElementById('expiry').textContent !== before, expiry1, { timeout: 5000 });
  assert.match(await text(page, '#proof-header'), /"typ": "dpop\+jwt"/);
  assert.match(await text(page, '#proof-request'), /^POST \/oauth\/token → 200$/);
  assert.ok(w1.nonceAnswers.has(`${srv.url}/oauth/token`), 'the worker asked for a nonce (public clients need one)');
  assert.match(await text(page, '#nonce-retries'), /POST \/oauth\/token: 400 use_dpop_nonce with DPoP-Nonce \S+; retried once with a fresh proof carrying nonce \S+ → 200/);
  const idClaims = JSON.parse(await text(page, '#id-claims'));
  assert.equal(idClaims.iss, srv.issuer);
  assert.equal(idClaims.aud, 'demo-spa');
  assert.equal(await page.isVisible('#offline-notice'), false);
  assert.equal(await page.isDisabled('#refresh'), false);
  await shot(page, '03-signed-in.png');
  w1.check();

  // 4. /userinfo with the DPoP-bound token.
  await page.click('#userinfo');
  await page.waitForFunction(() => /\/userinfo 200: /.test(document.getElementById('log').textContent));
  assert.match(await text(page, '#log'), new RegExp(`/userinfo 200: .*"email":"${email.replace('.', '\\.')}"`));
  assert.match(await text(page, '#proof-request'), /^GET \/userinfo → 200$/);
  assert.match(await text(page, '#proof-header'), /"ath": "/);
  await shot(page, '04-userinfo.png');
  w1.check();

  // 5. Refresh: new tokens, still bound to the key.
  const before = JSON.parse(await page.evaluate(() => localStorage.getItem('edge-oauth-demo-session')));
  await page.click('#refresh');
  await page.waitForFunction(() => /refreshed: /.test(document.getElementById('log').textContent));
  const refreshed = JSON.parse(await page.evaluate(() => localStorage.getItem('edge-oauth-demo-session')));
  assert.notEqual(refreshed.tokens.accessToken, before.tokens.accessToken);
  assert.notEqual(refreshed.tokens.refreshToken, before.tokens.refreshToken);
  assert.equal(await text(page, '#cnf-jkt'), cnfJkt);
  await shot(page, '05-refreshed.png');
  w1.check();

  // 6. A second tab shares the session: the same tokens and key, and /userinfo works there.
  const page2 = await context.newPage();
  const w2 = watch(page2, 'tab 2');
  await page2.goto(`${srv.url}/`);
  await ready(page2);
  await page2.waitForSelector('#session:not([hidden])');
  assert.equal(await text(page2, '#key-jkt'), cnfJkt);
  assert.equal(await text(page2, '#access-claims'), await text(page, '#access-claims'));
  await page2.click('#userinfo');
  await page2.waitForFunction(() => /\/userinfo 200: /.test(document.getElementById('log').textContent));
  await shot(page2, '06-second-tab.png');
  w2.check();

  // 7. Sign out in the second tab: the refresh token is revoked, the key removed, and the
  //    first tab follows.
  await page2.click('#signout');
  await page2.waitForSelector('#signin:not([hidden])');
  await page.waitForSelector('#signin:not([hidden])');
  assert.match(await text(page, '#log'), /signed out in another tab/);
  assert.equal(await page.evaluate(() => localStorage.getItem('edge-oauth-demo-session')), null);
  assert.match(await text(page2, '#log'), /revoked the refresh token and its family/);
  await shot(page2, '07-signed-out-tab-2.png');
  await shot(page, '07-signed-out-tab-1.png');
  await page2.close();
  w2.check();
  w1.check();

  // 8. offline_access without an API that allows refresh tokens: said, not silently dropped;
  //    the Refresh button is disabled and looks it.
  await signIn(page, { audience: '' });
  await page.fill('#username', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${srv.url}/`), page.click('button[type="submit"]')]);
  await ready(page);
  await page.waitForSelector('#offline-notice:not([hidden])');
  assert.match(await text(page, '#offline-notice'), /offline_access.*no refresh token/);
  assert.equal(await page.isDisabled('#refresh'), true);
  const look = await page.evaluate(() => {
    const style = (id) => getComputedStyle(document.getElementById(id));
    return { disabled: style('refresh').backgroundColor, enabled: style('userinfo').backgroundColor, cursor: style('refresh').cursor };
  });
  assert.notEqual(look.disabled, look.enabled, 'a disabled button has another colour');
  assert.equal(look.cursor, 'not-allowed');
  await shot(page, '08-offline-notice.png');
  await page.click('#signout');
  await page.waitForSelector('#signin:not([hidden])');
  w1.check();
});

test('the redirect leg against the worker from Node: metadata, PAR, the request_uri URL, the response with iss, the ID token', async () => {
  const { email, password } = srv.tenant.user;
  const metadata = edge.parseServerMetadata(await (await fetch(`${srv.url}/.well-known/openid-configuration`)).text(), srv.issuer);
  assert.equal(metadata.issuer, srv.issuer);
  assert.equal(metadata.authorizationResponseIssParameterSupported, true);
  assert.ok(metadata.pushedAuthorizationRequestEndpoint);
  // The worker's issuer is http on loopback: the same document for another host is refused.
  assert.throws(() => edge.parseServerMetadata('{}', 'http://auth.example.com/'), { code: 'URL_INSECURE' });

  const redirectUri = `${srv.url}/`;
  const { codeVerifier, codeChallenge } = edge.generatePkce();
  const state = 'st-1';
  const nonce = 'n-1';
  const par = await fetch(metadata.pushedAuthorizationRequestEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: edge.buildParRequestBody({ clientId: 'demo-spa', redirectUri, codeChallenge, scope: 'openid email', state, nonce }),
  });
  const { requestUri, expiresIn } = edge.parseParResponse(par.status, await par.text());
  assert.match(requestUri, /^urn:ietf:params:oauth:request_uri:/);
  assert.ok(expiresIn > 0);

  const url = new URL(edge.buildAuthorizationUrl({ authorizationEndpoint: metadata.authorizationEndpoint, clientId: 'demo-spa', requestUri }));
  assert.deepEqual([...url.searchParams.keys()], ['client_id', 'request_uri']);
  const login = await authorize(srv.url, Object.fromEntries(url.searchParams), { username: email, password });
  assert.ok(login.location, `a redirect after the login: ${login.status}`);

  const opts = { state, issuer: metadata.issuer, issParameterSupported: metadata.authorizationResponseIssParameterSupported };
  const { code, iss } = edge.parseAuthorizationResponse(login.location, opts);
  assert.equal(iss, srv.issuer);
  // The same redirect with another expected state or issuer is refused.
  assert.throws(() => edge.parseAuthorizationResponse(login.location, { ...opts, state: 'st-2' }), { code: 'AUTHORIZATION_RESPONSE_STATE_MISMATCH' });
  assert.throws(() => edge.parseAuthorizationResponse(login.location, { ...opts, issuer: `${srv.url}/x/` }), { code: 'AUTHORIZATION_RESPONSE_ISS_MISMATCH' });

  const res = await tokenRequest(srv.url, edge.authorizationCodeGrantBody({ code, redirectUri, codeVerifier, clientId: 'demo-spa' }));
  const tokens = edge.parseTokenResponse(res.status, res.text, res.headers);
  const jwks = await (await fetch(metadata.jwksUri)).json();
  // ID tokens are RS256 (the default): verified with WebCrypto against the JWKS.
  const claims = await edge.verifyIdToken(tokens.idToken, { issuer: metadata.issuer, clientId: 'demo-spa', nonce, accessToken: tokens.accessToken, jwks });
  assert.equal(claims.email, email);
  await assert.rejects(edge.verifyIdToken(tokens.idToken, { issuer: metadata.issuer, clientId: 'demo-spa', nonce: 'n-2', jwks }), { code: 'ID_TOKEN_NONCE_MISMATCH' });
  const [h, p, sig] = tokens.idToken.split('.');
  const flipped = `${h}.${p}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
  await assert.rejects(edge.verifyIdToken(flipped, { issuer: metadata.issuer, clientId: 'demo-spa', nonce, accessToken: tokens.accessToken, jwks }), { code: 'JWS_SIGNATURE_INVALID' });
  await assert.rejects(edge.verifyIdToken(tokens.idToken, { issuer: metadata.issuer, clientId: 'demo-spa', nonce, jwks: { keys: [] } }), { code: 'ID_TOKEN_KEY_NOT_FOUND' });

  // An error redirect from the worker is a typed error, after the iss and state checks.
  const denied = await authorize(srv.url, { response_type: 'token', client_id: 'demo-spa', redirect_uri: redirectUri, state });
  assert.ok(denied.location, `an error redirect: ${denied.status}`);
  assert.throws(
    () => edge.parseAuthorizationResponse(denied.location, opts),
    (e) => e.code === 'AUTHORIZATION_ERROR' && e.error === 'unsupported_response_type' && e.errorDescription === 'only response_type=code is supported',
  );
});
