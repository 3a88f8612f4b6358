// The package as users install it: `npm pack`, `npm install` of the .tgz into a fresh
// project, then `import 'edge-oauth'` there, in Node and in Chromium through an esbuild
// bundle (bench/spa/app.mjs) served from a small bounded server on 127.0.0.1. The
// Chromium part also checks the cross-tab refresh: two pages of one browser context
// refresh at the same moment, the server sees one refresh request, and both pages end
// with the same working tokens.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import * as jose from 'jose';
import { chromium } from 'playwright-core';

import { bundleSpa, packAndInstall } from '../../bench/spa/pack.mjs';
import { sha256b64url } from './support.mjs';

let installed;
before(() => {
  installed = packAndInstall();
});
after(() => {
  if (installed) rmSync(installed.dir, { recursive: true, force: true });
});

test('the tarball ships every file the entry points import, and nothing from the checkout', () => {
  const { files, project } = installed;
  for (const f of ['src/js/index.js', 'src/js/p256.js', 'src/js/index.d.ts', 'src/js/p256.d.ts', 'pkg/edge_oauth.js', 'pkg/edge_oauth_bg.wasm', 'pkg/edge_oauth_p256.js', 'pkg/edge_oauth_p256_bg.wasm']) {
    assert.ok(files.includes(f), `${f} is not in the tarball`);
  }
  assert.ok(!files.some((f) => /^(src\/wasm|src\/[a-z_]+\.rs|target|tests|worker|node_modules)\b/.test(f)), `unexpected files: ${files}`);
  // Every relative import of every shipped module resolves to a shipped file.
  const root = join(project, 'node_modules', 'edge-oauth');
  for (const f of files.filter((p) => p.endsWith('.js'))) {
    const text = readFileSync(join(root, f), 'utf8');
    for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
      const target = new URL(spec, `file:///${f}`).pathname.slice(1);
      assert.ok(files.includes(target), `${f} imports ${spec} (${target}), which is not shipped`);
    }
  }
});

test('in Node: import "edge-oauth" and "edge-oauth/p256" from the installed tarball', () => {
  const script = join(installed.project, 'smoke.mjs');
  writeFileSync(script, `
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as edge from 'edge-oauth';
import initP256, { initSync as initP256Sync, DpopKey as P256DpopKey } from 'edge-oauth/p256';
const wasm = (name) => readFileSync(fileURLToPath(import.meta.resolve(name)));
edge.initSync({ module: wasm('edge-oauth/edge_oauth_bg.wasm') });
const out = { challenge: edge.calculateCodeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk') };
try { edge.DpopKey.generate(); } catch (e) { out.before = e.code; }
initP256Sync({ module: wasm('edge-oauth/edge_oauth_p256_bg.wasm') });
out.same = P256DpopKey === edge.DpopKey && typeof initP256 === 'function';
const key = edge.DpopKey.generate();
out.p256 = key.createProofSync({ htm: 'POST', htu: 'https://as.example/oauth/token' });
out.p256Key = key.publicJwk;
const web = await edge.DpopKey.generateNonExtractable();
out.web = await web.createProof({ htm: 'GET', htu: 'https://rs.example/x', accessToken: 'at' });
out.webKey = web.publicJwk;
out.resolved = import.meta.resolve('edge-oauth');
console.log(JSON.stringify(out));
`);
  const out = JSON.parse(execFileSync(process.execPath, [script], { cwd: installed.project, encoding: 'utf8' }));
  assert.equal(out.challenge, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  assert.equal(out.before, 'KEY_BACKEND_UNSUPPORTED', 'DpopKey.generate needs edge-oauth/p256 first');
  assert.equal(out.same, true, 'edge-oauth/p256 exports the same DpopKey class');
  assert.match(out.resolved, /node_modules\/edge-oauth\/src\/js\/index\.js$/);
  return Promise.all([
    jose.compactVerify(out.p256, jose.EmbeddedJWK).then(({ protectedHeader }) => assert.deepEqual(protectedHeader.jwk, out.p256Key)),
    jose.compactVerify(out.web, jose.EmbeddedJWK).then(({ protectedHeader, payload }) => {
      assert.deepEqual(protectedHeader.jwk, out.webKey);
      assert.equal(JSON.parse(new TextDecoder().decode(payload)).ath, sha256b64url('at'));
    }),
  ]);
});

/**
 * The SPA's origin: serves the bundle and an authorization + resource server that
 * verifies DPoP proofs (jose), rotates refresh tokens with reuse detection, and delays
 * refresh answers so that concurrent refreshes overlap. Bounded: 200 requests, 60 s.
 */
async function startSpaServer(dist) {
  const state = { refreshRequests: 0, requests: 0, live: new Map(), refresh: new Map(), used: new Set() };
  const issue = (jkt) => {
    const at = randomBytes(16).toString('base64url');
    const rt = randomBytes(16).toString('base64url');
    state.live.set(at, jkt);
    state.refresh.set(rt, jkt);
    return { access_token: at, token_type: 'DPoP', expires_in: 300, refresh_token: rt };
  };
  const server = createServer((req, res) => {
    if (++state.requests > 200) return res.writeHead(503).end();
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const url = new URL(req.url, `http://${req.headers.host}`);
      const json = (status, value) => res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(value));
      try {
        if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/favicon.ico')) {
          return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><meta charset="utf-8"><title>spa</title><script type="module" src="/app.js"></script>');
        }
        if (req.method === 'GET' && /^\/[\w.-]+\.(js|wasm)$/.test(url.pathname) && existsSync(join(dist, url.pathname))) {
          res.writeHead(200, { 'content-type': url.pathname.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' });
          return createReadStream(join(dist, url.pathname)).pipe(res);
        }
        const proof = req.headers.dpop ? await jose.jwtVerify(req.headers.dpop, jose.EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] }) : null;
        const jkt = proof ? await jose.calculateJwkThumbprint(proof.protectedHeader.jwk) : null;
        if (url.pathname === '/oauth/token' && req.method === 'POST') {
          if (!proof || proof.payload.htu !== `http://${req.headers.host}/oauth/token`) return json(400, { error: 'invalid_dpop_proof' });
          const form = new URLSearchParams(body);
          if (form.get('grant_type') === 'authorization_code') return json(200, issue(jkt));
          if (form.get('grant_type') === 'refresh_token') {
            state.refreshRequests++;
            await new Promise((r) => setTimeout(r, 300));
            const rt = form.get('refresh_token');
            if (state.used.has(rt) || state.refresh.get(rt) !== jkt) {
              state.live.clear(); // reuse detection: the whole family is revoked
              return json(400, { error: 'invalid_grant', error_description: 'refresh token reused' });
            }
            state.used.add(rt);
            return json(200, issue(jkt));
          }
          return json(400, { error: 'unsupported_grant_type' });
        }
        if (url.pathname === '/api/me') {
          const token = (req.headers.authorization ?? '').replace(/^DPoP /, '');
          const ok = proof && state.live.get(token) === jkt && proof.payload.ath === sha256b64url(token);
          return ok ? json(200, { sub: 'user-1', jkt }) : json(401, { error: 'invalid_token' });
        }
        json(404, { error: 'not_found' });
      } catch (err) {
        json(500, { error: 'server_error', error_description: String(err.message) });
      }
    });
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const timer = setTimeout(() => server.close(), 60_000);
  timer.unref();
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    state,
    close: () => new Promise((done) => { clearTimeout(timer); server.closeAllConnections?.(); server.close(done); }),
  };
}

test('in Chromium: the esbuild bundle of an SPA signs in with a WebCrypto key; two tabs refresh once', { timeout: 90_000 }, async () => {
  const { outdir } = await bundleSpa(installed.project);
  const srv = await startSpaServer(outdir);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'], timeout: 30_000 });
  try {
    const context = await browser.newContext();
    const errors = [];
    const open = async () => {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(srv.origin);
      await page.waitForFunction(() => window.spa !== undefined);
      return page;
    };
    const a = await open();
    const started = await a.evaluate((origin) => window.spa.start(origin), srv.origin);
    assert.equal(started.backend, 'webcrypto');
    assert.equal(started.extractable, false);
    const { tokens } = await a.evaluate(() => window.spa.signIn('code-1'));
    assert.equal(tokens.tokenType, 'DPoP');
    assert.deepEqual(await a.evaluate(() => window.spa.call('/api/me')), { status: 200, body: JSON.stringify({ sub: 'user-1', jkt: started.thumbprint }) });

    // A second tab shares the key (IndexedDB) and the session (the IndexedDB token store).
    const b = await open();
    assert.equal((await b.evaluate((origin) => window.spa.start(origin), srv.origin)).thumbprint, started.thumbprint);
    assert.deepEqual(await b.evaluate(() => window.spa.tokens()), tokens);

    // Both refresh at the same moment: one request, one answer for both.
    const [ra, rb] = await Promise.all([a.evaluate(() => window.spa.refresh()), b.evaluate(() => window.spa.refresh())]);
    assert.equal(srv.state.refreshRequests, 1, 'exactly one refresh request');
    assert.deepEqual(ra, rb, 'both tabs hold the same token set');
    assert.notEqual(ra.refreshToken, tokens.refreshToken, 'the refresh token rotated');
    for (const page of [a, b]) {
      assert.equal((await page.evaluate(() => window.spa.call('/api/me'))).status, 200, 'the new access token works in both tabs');
      assert.deepEqual(await page.evaluate(() => window.spa.tokens()), ra);
    }
    await a.evaluate(() => window.spa.signOut());
    assert.equal(await b.evaluate(() => window.spa.tokens()), undefined, 'signing out in one tab clears the shared store');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await srv.close();
  }
});

test('in Chromium: with the memory store, the BroadcastChannel hands the one refresh to the other tab', { timeout: 90_000 }, async () => {
  const { outdir } = await bundleSpa(installed.project, { outdir: join(installed.project, 'dist-memory') });
  const srv = await startSpaServer(outdir);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'], timeout: 30_000 });
  try {
    const context = await browser.newContext();
    const errors = [];
    const open = async () => {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(srv.origin);
      await page.waitForFunction(() => window.spa !== undefined);
      await page.evaluate((origin) => window.spa.start(origin, 'memory'), srv.origin);
      return page;
    };
    const a = await open();
    const b = await open();
    const { tokens } = await a.evaluate(() => window.spa.signIn('code-1'));
    // The sign-in reached the other tab's memory store through the channel, and the
    // other client of the same tab.
    await b.waitForFunction((at) => window.spa.tokens().then((t) => t?.accessToken === at), tokens.accessToken);
    assert.deepEqual(await a.evaluate(() => window.spa.twinTokens()), tokens);
    for (let round = 0; round < 3; round++) {
      const before = srv.state.refreshRequests;
      const [ra, rb] = await Promise.all([a.evaluate(() => window.spa.refresh()), b.evaluate(() => window.spa.refresh())]);
      assert.equal(srv.state.refreshRequests, before + 1, `round ${round}: exactly one refresh request`);
      assert.deepEqual(ra, rb, `round ${round}: both tabs hold the same token set`);
      for (const page of [a, b]) assert.equal((await page.evaluate(() => window.spa.call('/api/me'))).status, 200);
    }
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await srv.close();
  }
});
