#!/usr/bin/env node
// npm run fuzz-http: 10,000 generated hostile requests against every endpoint of the
// worker under `wrangler dev` (127.0.0.1 only, a fresh temporary KV, stopped afterwards),
// then the demo tenant's normal flows. Counts 5xx answers, answers that are not RFC JSON
// (RFC 6749 §5.2 / RFC 6750 §3 errors: a JSON object with `error` and
// `error_description` in the allowed characters, `Cache-Control: no-store`), and answers
// that leak internals (panic text, stack traces, runtime error names). Exits non-zero if
// any count is not zero or a normal flow fails. Not part of `npm test`.
//
//   npm run fuzz-http [-- --requests 10000] [--seed 1] [--concurrency 8]

import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import * as jose from 'jose';
import { API, USER_PASSWORD, authorize, basic, form, startServer, tokenRequest } from '../tests/e2e/harness.mjs';

const { values: opts } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
    'time-limit': { type: 'string', default: '900' },
  },
});
const TOTAL = Number(opts.requests);
const CONCURRENCY = Number(opts.concurrency);
if (!Number.isInteger(TOTAL) || TOTAL < 1 || TOTAL > 100000) throw new Error('--requests must be 1 to 100000');
if (!Number.isInteger(CONCURRENCY) || CONCURRENCY < 1 || CONCURRENCY > 32) throw new Error('--concurrency must be 1 to 32');

// A small seeded PRNG (mulberry32), so a run can be repeated with --seed.
let state = Number(opts.seed) >>> 0;
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rand() * n);
const pick = (list) => list[int(list.length)];
const chance = (p) => rand() < p;

const JSON_ENDPOINTS = ['/oauth/token', '/oauth/revoke', '/oauth/par', '/userinfo'];
const PATHS = [...JSON_ENDPOINTS, ...JSON_ENDPOINTS, ...JSON_ENDPOINTS, '/authorize', '/authorize', '/authorize',
  '/authorize/login', '/authorize/login', '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server',
  '/.well-known/jwks.json', '/nope', '/oauth/token/', '/OAUTH/TOKEN', '/%2e%2e/oauth/token', '/userinfo%00'];
const METHODS = ['POST', 'POST', 'POST', 'POST', 'POST', 'GET', 'GET', 'OPTIONS', 'PUT', 'DELETE', 'HEAD'];
const CONTENT_TYPES = ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8',
  'application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded, application/json', ''];

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const b64 = (s) => Buffer.from(s).toString('base64url');
const fakeJwt = (header, payload, sig = 'AA') => `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}.${sig}`;

/** Valid-looking requests to mutate: every grant, PAR, revocation, login, userinfo. */
function seedBodies(tenant, origin) {
  const m2m = tenant['demo-m2m'];
  return [
    form({ grant_type: 'client_credentials', audience: API }),
    form({ grant_type: 'client_credentials', client_id: 'e2e-post', client_secret: tenant['e2e-post'].client_secret, audience: API }),
    form({ grant_type: 'authorization_code', client_id: 'demo-spa', code: randomBytes(32).toString('base64url'), redirect_uri: `${origin}/`, code_verifier: randomBytes(32).toString('base64url') }),
    form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: randomBytes(32).toString('base64url') }),
    form({ token: randomBytes(32).toString('base64url'), token_type_hint: 'refresh_token', client_id: 'demo-spa' }),
    form({ response_type: 'code', client_id: 'demo-spa', redirect_uri: `${origin}/`, scope: 'openid offline_access', code_challenge: b64(randomBytes(32)), code_challenge_method: 'S256', state: 's' }),
    form({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: fakeJwt({ alg: 'ES256', kid: 'x' }, { iss: 'e2e-es256', sub: 'e2e-es256', aud: `${origin}/`, exp: 9999999999, jti: 'j' }) }),
    form({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: fakeJwt({ alg: 'none' }, { iss: 'e2e-hs256' }, '') }),
    form({ tx: fakeJwt({}, {}), username: tenant.user.email, password: 'wrong password' }),
    JSON.stringify({ grant_type: 'client_credentials', client_id: 'e2e-post', client_secret: 'x', audience: API }),
    `grant_type=client_credentials&client_id=${m2m.client_id}&client_id=${m2m.client_id}`,
  ];
}

const HOSTILE_VALUES = ['%00', '%0d%0a', '%ff%fe', '%', '%zz', '%C0%AF', '\u202e', '💥', '"', '\'', '<script>', '../../', 'null',
  '{}', '[]', 'a'.repeat(5000), '\\', ';', '=', '&', '+', ' ', '\t', '%E2%80%8B', '0', '-1', '1e309', 'true'];

function mutate(text) {
  let s = text;
  const edits = int(6);
  for (let i = 0; i < edits; i++) {
    const at = int(s.length + 1);
    switch (int(6)) {
      case 0: s = s.slice(0, at) + pick(HOSTILE_VALUES) + s.slice(at); break;
      case 1: s = s.slice(0, at) + s.slice(at + 1 + int(8)); break;
      case 2: s = s.slice(0, at) + String.fromCharCode(int(256)) + s.slice(at + 1); break;
      case 3: s = `${s}&${pick(['grant_type', 'client_id', 'code', 'scope', 'state', 'audience', 'dpop_jkt', 'request_uri', 'resource'])}=${pick(HOSTILE_VALUES)}`; break;
      case 4: s = s.replace(/=[^&]*/, `=${pick(HOSTILE_VALUES)}`); break;
      default: s = s.split('&').reverse().join('&');
    }
  }
  return s;
}

function hostileBody(seeds) {
  switch (int(10)) {
    case 0: return randomBytes(int(300));
    case 1: return 'a=' + 'b'.repeat(17 * 1024); // over the 16 KiB cap
    case 2: return '['.repeat(100 + int(5000)) + ']'.repeat(int(50));
    case 3: return JSON.stringify({ grant_type: 'client_credentials', nested: { a: [1, { b: 2 }] }, n: 1e309 });
    case 4: return `{"grant_type":"client_credentials","grant_type":"authorization_code"}`;
    case 5: return Buffer.from([0x67, 0x72, 0x61, 0x6e, 0x74, 0x5f, 0x74, 0x79, 0x70, 0x65, 0x3d, 0xc3, 0x28]);
    default: return mutate(pick(seeds));
  }
}

function hostileHeaders(tenant, contentType) {
  const h = {};
  if (contentType) h['content-type'] = contentType;
  const auths = [
    basic('demo-m2m', tenant['demo-m2m'].client_secret), basic('demo-m2m', 'wrong'), basic('', ''), basic('a:b', 'c:d'),
    'Basic', 'Basic ===', `Basic ${'A'.repeat(9000)}`, 'Bearer', 'Bearer a b', `Bearer ${fakeJwt({ alg: 'ES256', typ: 'at+jwt', kid: 'x' }, { sub: 'x' })}`,
    'DPoP abc', 'Bearer abc, DPoP abc', 'Negotiate abc', 'basic Zm9vOmJhcg==', `${basic('demo-m2m', 'x')}, ${basic('demo-m2m', 'y')}`,
  ];
  if (chance(0.5)) h.authorization = pick(auths);
  if (chance(0.3)) h.dpop = pick([fakeJwt({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } }, { htm: 'POST', htu: 'x', iat: 1, jti: 'j' }), 'a.b.c', 'x, y', '']);
  if (chance(0.3)) h.origin = pick(['https://attacker.example', 'null', 'http://127.0.0.1', `http://${'a'.repeat(300)}.example`, '*']);
  if (chance(0.2)) h['sec-fetch-site'] = pick(['same-origin', 'cross-site', 'none']);
  if (chance(0.2)) h['access-control-request-method'] = pick(['POST', 'DELETE', 'X']);
  if (chance(0.2)) h['access-control-request-headers'] = pick(['dpop, authorization', 'x-evil', '*']);
  if (chance(0.1)) h['x-forwarded-proto'] = 'https';
  if (chance(0.1)) h.accept = pick(['text/html', 'application/json', '*/*;q=0', 'garbage']);
  return h;
}

/** One generated request: { method, path, query, headers, body }. */
function generate(tenant, origin, seeds) {
  const path = pick(PATHS);
  const method = pick(METHODS);
  const headers = hostileHeaders(tenant, pick(CONTENT_TYPES));
  let query = '';
  if (method === 'GET' || chance(0.15)) {
    const seed = pick(seeds.filter((s) => typeof s === 'string' && !s.startsWith('{')));
    query = `?${mutate(seed)}`;
  }
  const body = method === 'GET' || method === 'HEAD' ? undefined : hostileBody(seeds);
  return { method, path, query, headers, body };
}

const LEAK = /panicked|RuntimeError|unreachable|wasm-function|\bat src\/|\.rs:\d|backtrace|TypeError|ReferenceError|SyntaxError|workerd|shim\.mjs|internal error/i;
const RFC_CHARS = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function classify(req, res, text) {
  const problems = [];
  if (res.status >= 500) problems.push('5xx');
  if (LEAK.test(text) || LEAK.test([...res.headers.values()].join(' '))) problems.push('leak');
  const jsonEndpoint = JSON_ENDPOINTS.includes(req.path) && req.method !== 'OPTIONS';
  const type = res.headers.get('content-type') ?? '';
  if (jsonEndpoint && res.status >= 400 && req.method === 'HEAD') {
    // No body on HEAD (RFC 9110 §9.3.2): the headers are those of the JSON error.
    if (!type.startsWith('application/json') || res.headers.get('cache-control') !== 'no-store') problems.push('not-rfc-json');
  } else if (jsonEndpoint && res.status >= 400) {
    let body;
    try { body = JSON.parse(text); } catch { /* not JSON */ }
    const ok = type.startsWith('application/json') && body && typeof body === 'object' && !Array.isArray(body)
      && typeof body.error === 'string' && /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/.test(body.error)
      && (body.error_description === undefined || (typeof body.error_description === 'string' && RFC_CHARS.test(body.error_description)))
      && res.headers.get('cache-control') === 'no-store';
    if (!ok) problems.push('not-rfc-json');
  } else if (jsonEndpoint && res.status < 300 && res.status !== 204 && req.method !== 'HEAD' && text !== '') {
    try { JSON.parse(text); } catch { problems.push('not-rfc-json'); }
  }
  return problems;
}

async function send(base, req) {
  const res = await fetch(`${base}${req.path}${req.query}`, {
    method: req.method, headers: req.headers, body: req.body, redirect: 'manual', signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  return { res, text };
}

async function normalFlows(srv) {
  const results = [];
  const check = async (name, fn) => {
    try { await fn(); results.push([name, 'ok']); } catch (e) { results.push([name, `FAILED: ${e.message}`]); }
  };
  const jwks = jose.createLocalJWKSet(await (await fetch(`${srv.url}/.well-known/jwks.json`)).json());
  await check('client_credentials (demo-m2m), token verified with jose', async () => {
    const r = await tokenRequest(srv.url, form({ grant_type: 'client_credentials', audience: API }), { headers: { authorization: basic('demo-m2m', srv.tenant['demo-m2m'].client_secret) } });
    if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
    await jose.jwtVerify(r.json.access_token, jwks, { issuer: srv.issuer, audience: API, algorithms: ['ES256'] });
  });
  let tokens;
  await check('authorization code + PKCE for demo-spa through the login form, RS256 ID token', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const r = await authorize(srv.url, {
      response_type: 'code', client_id: 'demo-spa', redirect_uri: `${srv.url}/`, scope: 'openid profile email offline_access', audience: API,
      state: 's', nonce: 'n', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }, { username: srv.tenant.user.email, password: USER_PASSWORD });
    if (r.status !== 303) throw new Error(`login: ${r.status}`);
    const code = new URL(r.location).searchParams.get('code');
    const t = await tokenRequest(srv.url, form({ grant_type: 'authorization_code', code, redirect_uri: `${srv.url}/`, client_id: 'demo-spa', code_verifier: verifier }));
    if (t.status !== 200) throw new Error(`exchange: ${t.status} ${t.text}`);
    await jose.jwtVerify(t.json.id_token, jwks, { issuer: srv.issuer, audience: 'demo-spa', algorithms: ['RS256'] });
    tokens = t.json;
  });
  await check('refresh token rotation', async () => {
    const t = await tokenRequest(srv.url, form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: tokens.refresh_token }));
    if (t.status !== 200 || !t.json.refresh_token) throw new Error(`${t.status} ${t.text}`);
  });
  await check('userinfo', async () => {
    const res = await fetch(`${srv.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const body = await res.json();
    if (res.status !== 200 || body.sub !== srv.tenant.user.user_id) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  });
  await check('discovery', async () => {
    const res = await fetch(`${srv.url}/.well-known/openid-configuration`);
    const meta = await res.json();
    if (!meta.id_token_signing_alg_values_supported.includes('RS256')) throw new Error('no RS256');
  });
  return results;
}

const started = Date.now();
const srv = await startServer({ rateLimit: 1000000 });
const deadline = setTimeout(() => { console.error('fuzz-http: time limit reached, stopping'); srv.stop().finally(() => process.exit(3)); }, Number(opts['time-limit']) * 1000);
deadline.unref();
try {
  const seeds = seedBodies(srv.tenant, srv.url);
  const counts = { sent: 0, answered: 0, refusedByClient: 0, timeouts: 0, '5xx': 0, 'not-rfc-json': 0, leak: 0 };
  const statuses = {};
  const samples = [];
  const where = {};
  let next = 0;
  const worker = async () => {
    while (next < TOTAL) {
      const req = generate(srv.tenant, srv.url, seeds);
      next++;
      counts.sent++;
      let answer;
      try {
        answer = await send(srv.url, req);
      } catch (e) {
        // undici refuses some header values itself (it never sends them), or the request timed out.
        if (e.name === 'TimeoutError') counts.timeouts++;
        else counts.refusedByClient++;
        continue;
      }
      counts.answered++;
      statuses[answer.res.status] = (statuses[answer.res.status] ?? 0) + 1;
      for (const p of classify(req, answer.res, answer.text)) {
        counts[p]++;
        where[`${p} ${req.method} ${req.path} ${answer.res.status}`] = (where[`${p} ${req.method} ${req.path} ${answer.res.status}`] ?? 0) + 1;
        if (samples.filter((x) => x.problem === p).length < 3) samples.push({ problem: p, method: req.method, path: req.path, query: req.query.slice(0, 200), status: answer.res.status, body: answer.text.slice(0, 300) });
      }
      const done = counts.answered + counts.refusedByClient + counts.timeouts;
      if (done % 1000 === 0) process.stdout.write(`fuzz-http: ${done}/${TOTAL} answered (${((Date.now() - started) / 1000).toFixed(0)}s)\n`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const flows = await normalFlows(srv);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(JSON.stringify({ requests: TOTAL, seed: Number(opts.seed), seconds: Number(seconds), counts, statuses, problems: where, samples, flows }, null, 2));
  const failed = counts['5xx'] + counts['not-rfc-json'] + counts.leak + counts.timeouts > 0 || flows.some(([, r]) => r !== 'ok');
  console.log(failed ? 'fuzz-http: FAILED' : 'fuzz-http: no 5xx, every error RFC JSON, nothing leaked; the normal flows work');
  process.exitCode = failed ? 1 : 0;
} finally {
  await srv.stop();
}
