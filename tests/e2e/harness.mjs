// The end-to-end harness: builds the worker if its sources changed, seeds a tenant into a
// fresh temporary KV, runs the real worker under `wrangler dev` on a free 127.0.0.1 port,
// and stops it afterwards (process group kill; the temp directory is removed).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as jose from 'jose';
import { WORKER_DIR, WranglerKv } from '../../scripts/lib/kv.mjs';
import {
  DEMO_API, WORKER_BUNDLE, WORKER_SOURCES, buildDemoTenant, buildWorker, formatDotenv, freePort,
  generateDevSecrets, generateRsaSigningJwk, generateSigningJwk, isStale, startWranglerDev,
} from '../../scripts/lib/dev.mjs';
import { addOriginIndex, buildApi, buildClient, buildGrant, buildUser, keys } from '../../scripts/lib/tenant.mjs';
import { quietSince } from '../../bench/keepalive.mjs';

export const API = DEMO_API;
export const NO_OFFLINE_API = 'https://no-offline.example.com';
/** An API whose access tokens are RS256 (`signing_alg`). */
export const RSA_API = 'https://rsa-api.example.com';
export const USER_PASSWORD = 'correct horse battery staple';

/** `E2E_STORE=kv` runs the suites against the KV-only store (default: Durable Objects). */
const E2E_VARS = process.env.E2E_STORE ? { STORE: process.env.E2E_STORE } : {};

/**
 * Starts a server with a seeded tenant. Returns the base URL, the tenant's credentials and
 * keys, `restart()` (same port and state) and `stop()`. `seed({ records, credentials,
 * origin, clientSecretKey })`, if given, may add or change records before they are
 * written (e.g. tests/e2e/dpop.test.mjs). `vars` are added to the worker's environment
 * (e.g. `{ STORE: 'kv' }` for the KV-only store, `{ ORGANIZATION_NAME_IN_TOKENS: 'true' }`);
 * `rateLimit` is the RATE_LIMITER binding's limit per key per minute (default 1000, so
 * the suite's many logins stay under it; tests/e2e/ratelimit.test.mjs starts one with a
 * low limit). `entry`, if given, is the source of the worker's entry module in place of
 * worker/entry.mjs (written into the temporary directory; import the worker's files by
 * absolute path, e.g. tests/e2e/rollout.test.mjs).
 */
export async function startServer({ seed, vars = {}, rateLimit = 1000, entry } = {}) {
  if (isStale(WORKER_BUNDLE, WORKER_SOURCES)) {
    process.stderr.write('e2e: worker sources changed, running worker-build --release\n');
    await buildWorker({ quiet: true });
  }
  const dir = mkdtempSync(join(tmpdir(), 'edge-oauth-e2e-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir); // also after Ctrl-C (dev.mjs exits on SIGINT/SIGTERM)
  let server;
  try {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;

    // Two ES256 keys (the first signs, both are published: rotation) and an RS256 key
    // for ID tokens.
    const secrets = generateDevSecrets();
    const signingKeys = [generateSigningJwk(), generateSigningJwk(), generateRsaSigningJwk()];
    secrets.SIGNING_KEYS = JSON.stringify(signingKeys);
    Object.assign(secrets, E2E_VARS, vars);
    const envFile = join(dir, 'test.env');
    writeFileSync(envFile, formatDotenv(secrets), { mode: 0o600 });

    const tenant = await seedTenant({ origin, clientSecretKey: secrets.CLIENT_SECRET_KEY });
    await seed?.({ ...tenant, origin, clientSecretKey: secrets.CLIENT_SECRET_KEY });
    addOriginIndex(tenant.records); // origin:{origin}, as the tenant CLI writes it
    const kv = new WranglerKv({ persistTo: join(dir, 'state') });
    await kv.putMany([...tenant.records].map(([k, v]) => [k, JSON.stringify(v)]));

    let main;
    if (entry !== undefined) {
      main = join(dir, 'entry.mjs');
      writeFileSync(main, entry);
    }
    const config = e2eWranglerConfig(dir, rateLimit, main);
    // After the readiness polls, the server gets wrangler dev's keep-alive quiet time
    // before the first test request (bench/keepalive.mjs): the polls leave pooled proxy
    // connections to the worker, and a test request must not meet one at the runtime's 5 s
    // idle close. A GET written onto it in that instant is queued by the proxy until another
    // request arrives, which a test awaiting that GET never sends: the suite hangs.
    const start = async () => {
      const started = await startWranglerDev({
        port, persistTo: join(dir, 'state'), envFile, log: Boolean(process.env.E2E_LOG),
        extraArgs: ['--config', config],
      });
      await quietSince(performance.now());
      return started;
    };
    server = await start();
    return {
      /** Stops `wrangler dev` and starts it again on the same port and persisted state. */
      restart: async () => {
        await server.stop();
        server = await start();
      },
      url: server.url,
      issuer: `${server.url}/`,
      port,
      tenant: tenant.credentials,
      signingKids: signingKeys.filter((k) => k.kty === 'EC').map((k) => k.kid),
      rsaKid: signingKeys.find((k) => k.kty === 'RSA').kid,
      output: () => server.output(),
      stop: async () => {
        await server.stop();
        removeDir();
        process.off('exit', removeDir);
      },
    };
  } catch (e) {
    await server?.stop();
    removeDir();
    process.off('exit', removeDir);
    throw e;
  }
}

/**
 * worker/wrangler.toml for the suite, written into `dir`: the same worker, bindings and
 * vars (paths made absolute), with the rate limit `limit` per key per 60 s, and `main`
 * as the entry module when given.
 */
function e2eWranglerConfig(dir, limit, main) {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`e2e: rateLimit must be a positive integer, got ${limit}`);
  const original = readFileSync(join(WORKER_DIR, 'wrangler.toml'), 'utf8');
  const text = original
    .replace(/^main = "([^"]+)"/m, (_, p) => `main = ${JSON.stringify(main ?? resolve(WORKER_DIR, p))}`)
    .replace(/^directory = "([^"]+)"/m, (_, p) => `directory = ${JSON.stringify(resolve(WORKER_DIR, p))}`)
    .replace(/^simple = \{ limit = \d+, period = 60 \}/m, `simple = { limit = ${limit}, period = 60 }`);
  if (text === original) throw new Error('e2e: worker/wrangler.toml no longer has the expected main/assets/ratelimits lines');
  const file = join(dir, 'wrangler.toml');
  writeFileSync(file, text);
  return file;
}

/** The demo tenant plus the clients and APIs the tests need. */
async function seedTenant({ origin, clientSecretKey }) {
  const { records, credentials } = buildDemoTenant({ origins: [origin], userPassword: USER_PASSWORD });
  const api = records.get(keys.api(API));
  const noOffline = buildApi({ identifier: NO_OFFLINE_API, scopes: ['read:stuff'], allowOfflineAccess: false, tokenLifetime: 600 });
  records.set(keys.api(NO_OFFLINE_API), noOffline);
  const rsaApi = buildApi({ identifier: RSA_API, scopes: ['read:rsa'], signingAlg: 'RS256' });
  records.set(keys.api(RSA_API), rsaApi);

  const add = (opts, grantScopes) => {
    const built = buildClient({ clientSecretKey, ...opts });
    records.set(keys.client(opts.clientId), built.record);
    credentials[opts.clientId] = { client_id: opts.clientId, client_secret: built.secret };
    if (grantScopes) records.set(keys.grant(opts.clientId, API), buildGrant(built.record, api, grantScopes));
    return built;
  };
  add({ type: 'm2m', clientId: 'e2e-post', name: 'post', authMethod: 'client_secret_post' }, ['read:items', 'write:items']);
  add({ type: 'm2m', clientId: 'e2e-hs256', name: 'client_secret_jwt', authMethod: 'client_secret_jwt' }, ['read:items']);
  add({ type: 'm2m', clientId: 'e2e-nogrant', name: 'no grant' });
  records.set(keys.grant('e2e-post', RSA_API), buildGrant(records.get(keys.client('e2e-post')), rsaApi, ['read:rsa']));
  // A web client that registered ES256 ID tokens (id_token_signed_response_alg).
  add({
    type: 'regular_web', clientId: 'e2e-web-es256', name: 'web ES256 ID tokens', idTokenAlg: 'ES256',
    redirectUris: [`${origin}/callback`],
  });
  // A confidential web client that also runs client_credentials.
  add({
    type: 'regular_web', clientId: 'e2e-web-post', name: 'web post', authMethod: 'client_secret_post',
    redirectUris: [`${origin}/callback`],
  });

  for (const [clientId, alg] of [['e2e-es256', 'ES256'], ['e2e-rs256', 'RS256'], ['e2e-ps256', 'PS256']]) {
    const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: `${clientId}-key`, alg, use: 'sig' };
    add({ type: 'm2m', clientId, name: alg, authMethod: 'private_key_jwt', jwks: { keys: [jwk] } }, ['read:items']);
    credentials[clientId].privateKey = privateKey;
    credentials[clientId].kid = jwk.kid;
  }

  const other = buildUser({ email: 'other@example.com', name: 'Other User', password: 'another password 123' });
  records.set(keys.user('other@example.com'), other.record);
  credentials.other = { email: 'other@example.com', password: 'another password 123', user_id: other.record.user_id };
  return { records, credentials };
}

// ---------------------------------------------------------------- the login form

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };
export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function attrs(tag) {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:-]+)\s*=\s*("([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) {
    out[m[1].toLowerCase()] = decodeEntities(m[3] ?? m[4] ?? m[5] ?? '');
  }
  return out;
}

/** The first POST form of a page: its action and the values of its named inputs. */
export function parseLoginForm(html, baseUrl) {
  const form = html.match(/<form\b[^>]*>([\s\S]*?)<\/form>/i);
  if (!form) throw new Error(`no <form> in the page:\n${html.slice(0, 1500)}`);
  const formAttrs = attrs(form[0].match(/<form\b[^>]*>/i)[0]);
  const fields = {};
  for (const input of form[1].matchAll(/<input\b[^>]*>/gi)) {
    const a = attrs(input[0]);
    if (a.name) fields[a.name] = a.value ?? '';
  }
  return {
    method: (formAttrs.method ?? 'get').toUpperCase(),
    action: new URL(formAttrs.action ?? '', baseUrl).href,
    fields,
  };
}

/**
 * Runs /authorize with `params`, submits the login form with the credentials, and returns
 * the final redirect (`location`) or the page shown instead.
 */
export async function authorize(base, params, { username, password } = {}) {
  const url = new URL('/authorize', base);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) url.searchParams.set(k, v);
  const page = await fetch(url, { redirect: 'manual', signal: requestTimeout() });
  if (page.status >= 300 && page.status < 400) return { step: 'authorize', status: page.status, location: page.headers.get('location') };
  const html = await page.text();
  if (page.status !== 200 || username === undefined) return { step: 'authorize', status: page.status, html, headers: page.headers };
  const form = parseLoginForm(html, url);
  const body = new URLSearchParams({ ...form.fields, username, password });
  const res = await fetch(form.action, {
    method: form.method,
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body,
    signal: requestTimeout(),
  });
  const location = res.headers.get('location');
  return { step: 'login', status: res.status, location, html: location ? undefined : await res.text(), headers: res.headers, form };
}

/**
 * The abort signal of one harness request: a request that gets no answer in 60 s fails its
 * test with a TimeoutError instead of leaving the test waiting (the suite's slowest answers,
 * under its own bursts, take a few seconds at most).
 */
const requestTimeout = () => AbortSignal.timeout(60000);

// ---------------------------------------------------------------- raw token requests

export const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** POSTs a raw body to /oauth/token; returns { status, headers, json, text }. */
export async function tokenRequest(base, body, { headers = {}, contentType = 'application/x-www-form-urlencoded', method = 'POST', path = '/oauth/token' } = {}) {
  const h = { ...headers };
  if (contentType) h['content-type'] = contentType;
  const res = await fetch(new URL(path, base), { method, headers: h, body: method === 'GET' || method === 'HEAD' ? undefined : body, signal: requestTimeout() });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, json, text };
}

export const form = (o) => new URLSearchParams(o).toString();
