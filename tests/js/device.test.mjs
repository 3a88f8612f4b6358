// TokenClient.deviceAuthorization and pollDeviceToken (RFC 8628) against a small in-test
// authorization server on 127.0.0.1 whose answers each test scripts. Every request is
// recorded (arrival time, headers, body, DPoP proof verified with jose), so the tests check
// the bodies, the client authentication, the waits between polls and the proofs. The
// cumulative slow_down and expiry arithmetic is checked on src/js/device.js with a fake
// clock (its `sleep` / `now` seam), where real seconds would make the suite slow.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { after, before, beforeEach, describe, test } from 'node:test';

import * as jose from 'jose';

import { edge } from './support.mjs';
import { pollDeviceToken as pollLoop } from '../../src/js/device.js';

const { DpopKey, TokenClient } = edge;
const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** A device authorization answer with `overrides` (a member set to `undefined` is left out). */
function answer(overrides = {}) {
  const base = {
    device_code: 'dc-GmRhmhcxhwAzkoEqiMEg',
    user_code: 'WDJB-MJHT',
    verification_uri: 'https://example.com/device',
    verification_uri_complete: 'https://example.com/device?user_code=WDJB-MJHT',
    expires_in: 600,
    interval: 1,
  };
  return Object.fromEntries(Object.entries({ ...base, ...overrides }).filter(([, v]) => v !== undefined));
}

const tokens = (extra = {}) => ({ access_token: 'at-device', token_type: 'Bearer', expires_in: 300, refresh_token: 'rt-device', scope: 'read:items', ...extra });

let srv;
before(async () => {
  const state = { requests: [], device: [], token: [], hold: null, nonce: null, demandNonce: false };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const url = new URL(req.url, `http://${req.headers.host}`);
      const record = { at: performance.now(), path: url.pathname, headers: req.headers, body, proof: null };
      state.requests.push(record);
      const send = (status, json, headers = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
        res.end(typeof json === 'string' ? json : JSON.stringify(json));
      };
      if (req.headers.dpop) {
        const { payload, protectedHeader } = await jose.jwtVerify(req.headers.dpop, jose.EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
        record.proof = { claims: payload, jkt: await jose.calculateJwkThumbprint(protectedHeader.jwk) };
      }
      if (url.pathname.endsWith('/oauth/device/code') || url.pathname === '/custom/device') {
        const [status, json] = state.device.shift() ?? [200, answer()];
        return send(status, json);
      }
      if (url.pathname === '/oauth/token') {
        if (state.demandNonce && record.proof?.claims.nonce !== state.nonce) {
          state.nonce = `n-${state.requests.length}`;
          return send(400, { error: 'use_dpop_nonce', error_description: 'Authorization server requires nonce in DPoP proof' }, { 'dpop-nonce': state.nonce });
        }
        if (state.hold) {
          // Keep this poll unanswered until the test releases it.
          const release = state.hold;
          state.hold = null;
          await release(record);
        }
        const [status, json] = state.token.shift() ?? [400, { error: 'authorization_pending' }];
        return send(status, json);
      }
      send(404, { error: 'not_found' });
    });
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${server.address().port}`;
  srv = {
    base,
    state,
    tokenEndpoint: `${base}/oauth/token`,
    polls: () => state.requests.filter((r) => r.path === '/oauth/token'),
    close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(done); }),
  };
});
after(() => srv?.close());
beforeEach(() => {
  Object.assign(srv.state, { requests: [], device: [], token: [], hold: null, nonce: null, demandNonce: false });
});

const publicClient = (options = {}) => new TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId: 'tv', ...options });
const form = (body) => Object.fromEntries(new URLSearchParams(body));
const settle = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects with the error, or fails when the promise resolves. */
async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

describe('deviceAuthorization (RFC 8628 §3.1, §3.2)', () => {
  test('rfc8628_3_1 a public client sends scope, audience and client_id in the body, no credentials and no proof', async () => {
    const client = publicClient({ dpopKey: await DpopKey.generate() });
    const before = Math.floor(Date.now() / 1000);
    const a = await client.deviceAuthorization({ scope: 'openid offline_access', audience: 'https://api.example.com' });
    const [req] = srv.state.requests;
    assert.equal(req.path, '/oauth/device/code');
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req.body, 'scope=openid+offline_access&audience=https%3A%2F%2Fapi.example.com&client_id=tv');
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.headers.dpop, undefined, 'RFC 9449 defines no proof for the device authorization request');
    assert.deepEqual({ ...a, expiresAt: undefined }, {
      deviceCode: 'dc-GmRhmhcxhwAzkoEqiMEg',
      userCode: 'WDJB-MJHT',
      verificationUri: 'https://example.com/device',
      verificationUriComplete: 'https://example.com/device?user_code=WDJB-MJHT',
      expiresIn: 600,
      expiresAt: undefined,
      interval: 1,
    });
    assert.ok(a.expiresAt >= before + 600 && a.expiresAt <= Math.floor(Date.now() / 1000) + 600);
  });

  test('rfc8628_3_1 a confidential client authenticates with HTTP Basic, also when it polls', async () => {
    const client = publicClient({ clientId: 'cli', clientSecret: 's3cr3t' });
    srv.state.token.push([200, tokens()]);
    const a = await client.deviceAuthorization();
    await client.pollDeviceToken(a);
    const basic = `Basic ${Buffer.from('cli:s3cr3t').toString('base64')}`;
    const [device, poll] = srv.state.requests;
    assert.equal(device.body, '');
    assert.equal(device.headers.authorization, basic);
    assert.equal(poll.headers.authorization, basic);
    assert.deepEqual(form(poll.body), { grant_type: GRANT, device_code: 'dc-GmRhmhcxhwAzkoEqiMEg' });
  });

  test('rfc8628_3_2 interval defaults to 5 when the answer has none', async () => {
    srv.state.device.push([200, answer({ interval: undefined, verification_uri_complete: undefined })]);
    const a = await publicClient().deviceAuthorization({ scope: 'read:items' });
    assert.equal(a.interval, 5);
    assert.equal('verificationUriComplete' in a, false);
  });

  test('rfc8628_4 the endpoint: the option, the metadata, or Auth0 path beside the token endpoint', async () => {
    assert.equal(publicClient().deviceAuthorizationEndpoint, `${srv.base}/oauth/device/code`);
    const prefixed = new TokenClient({ tokenEndpoint: `${srv.base}/tenant-a/oauth/token?x=1`, clientId: 'tv' });
    assert.equal(prefixed.deviceAuthorizationEndpoint, `${srv.base}/tenant-a/oauth/device/code`);
    await prefixed.deviceAuthorization();
    assert.equal(srv.state.requests.at(-1).path, '/tenant-a/oauth/device/code');

    const explicit = publicClient({ deviceAuthorizationEndpoint: `${srv.base}/custom/device` });
    await explicit.deviceAuthorization();
    assert.equal(srv.state.requests.at(-1).path, '/custom/device');

    // Not an Auth0 layout: no guess.
    const other = new TokenClient({ tokenEndpoint: `${srv.base}/token`, clientId: 'tv' });
    assert.equal(other.deviceAuthorizationEndpoint, undefined);
    let err = await rejection(other.deviceAuthorization());
    assert.equal(err.code, 'ARGUMENT_INVALID');
    assert.match(err.message, /deviceAuthorizationEndpoint is not known: pass it/);

    const meta = (extra) => edge.parseServerMetadata(JSON.stringify({
      issuer: `${srv.base}/`, token_endpoint: srv.tokenEndpoint, response_types_supported: ['code'], ...extra,
    }), `${srv.base}/`);
    const withMeta = publicClient({ metadata: meta({ device_authorization_endpoint: `${srv.base}/custom/device` }) });
    assert.equal(withMeta.metadata.deviceAuthorizationEndpoint, `${srv.base}/custom/device`);
    assert.equal(withMeta.deviceAuthorizationEndpoint, `${srv.base}/custom/device`);
    // Metadata that names no device endpoint: the server has none.
    const without = publicClient({ metadata: meta({}) });
    assert.equal(without.deviceAuthorizationEndpoint, undefined);
    err = await rejection(without.deviceAuthorization());
    assert.equal(err.code, 'ARGUMENT_INVALID');
    assert.match(err.message, /metadata has no device_authorization_endpoint/);
    assert.throws(() => publicClient({ deviceAuthorizationEndpoint: '/device' }), { code: 'URL_INVALID' });
  });

  test('rfc8628_3_2 a missing or mistyped member is refused, naming it', async () => {
    const cases = [
      [answer({ device_code: undefined }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'device_code is missing'],
      [answer({ device_code: 42 }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'device_code must be a non-empty string'],
      [answer({ user_code: undefined }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'user_code is missing'],
      [answer({ user_code: ['WDJB'] }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'user_code must be a non-empty string'],
      [answer({ user_code: 'WDJB\u001b[2J' }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'user_code must not contain control characters'],
      [answer({ verification_uri: undefined }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'verification_uri is missing'],
      [answer({ verification_uri: '/device' }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'verification_uri must be an absolute URL without a fragment'],
      [answer({ verification_uri: 'http://example.com/device' }), 'URL_INSECURE', 'verification_uri must be https'],
      [answer({ verification_uri_complete: 7 }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'verification_uri_complete must be a non-empty string'],
      [answer({ expires_in: undefined }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'expires_in is missing'],
      [answer({ expires_in: '600' }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'expires_in must be a positive integer'],
      [answer({ interval: 0 }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'interval must be a positive integer'],
      [answer({ interval: 2.5 }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'interval must be a positive integer'],
      [answer({ interval: null }), 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'interval must be a positive integer'],
      ['{"device_code":"a","device_code":"b"}', 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'a member is repeated'],
      ['not json', 'DEVICE_AUTHORIZATION_RESPONSE_INVALID', 'the body is not a JSON object'],
    ];
    for (const [body, code, message] of cases) {
      srv.state.device.push([200, body]);
      const err = await rejection(publicClient().deviceAuthorization());
      assert.equal(err.code, code, JSON.stringify(body));
      assert.ok(err.message.includes(message), `${err.message} mentions ${message}`);
    }
  });

  test('rfc8628_3_2 an error answer is OAUTH_ERROR with the server error and status', async () => {
    srv.state.device.push([401, { error: 'invalid_client', error_description: 'unknown client' }]);
    const err = await rejection(publicClient().deviceAuthorization());
    assert.equal(err.code, 'OAUTH_ERROR');
    assert.equal(err.error, 'invalid_client');
    assert.equal(err.errorDescription, 'unknown client');
    assert.equal(err.status, 401);
    assert.equal((await rejection(publicClient().deviceAuthorization({ scope: 'a  b' }))).code, 'REQUEST_PARAMETER_INVALID');
    assert.equal((await rejection(publicClient().deviceAuthorization({ audience: 5 }))).code, 'ARGUMENT_INVALID');
  });
});

describe('pollDeviceToken (RFC 8628 §3.4, §3.5)', () => {
  test('rfc8628_3_5 waits the interval before each poll, keeps going while pending, then stores the tokens', async () => {
    const client = publicClient();
    srv.state.token.push([400, { error: 'authorization_pending' }], [400, { error: 'authorization_pending' }], [200, tokens()]);
    const a = await client.deviceAuthorization();
    const started = performance.now();
    const pending = [];
    const result = await client.pollDeviceToken(a, { onPending: (p) => pending.push(p) });
    const polls = srv.polls();
    assert.equal(polls.length, 3);
    for (const p of polls) assert.equal(p.body, `grant_type=${encodeURIComponent(GRANT)}&device_code=dc-GmRhmhcxhwAzkoEqiMEg&client_id=tv`);
    // libuv timers have millisecond resolution: allow 2 ms of rounding.
    assert.ok(polls[0].at - started >= 998, `first poll after the interval (${polls[0].at - started} ms)`);
    assert.ok(polls[1].at - polls[0].at >= 998, `${polls[1].at - polls[0].at} ms`);
    assert.ok(polls[2].at - polls[1].at >= 998, `${polls[2].at - polls[1].at} ms`);
    assert.deepEqual(pending, [
      { error: 'authorization_pending', interval: 1, polls: 1 },
      { error: 'authorization_pending', interval: 1, polls: 2 },
    ]);
    assert.equal(result.accessToken, 'at-device');
    assert.equal(result.refreshToken, 'rt-device');
    assert.deepEqual(await client.getTokens(), result, 'stored as exchangeCode stores');
  });

  test('rfc8628_3_5 slow_down: the next wait is 5 s longer', async () => {
    srv.state.token.push([400, { error: 'slow_down' }], [200, tokens()]);
    const client = publicClient();
    const pending = [];
    await client.pollDeviceToken(await client.deviceAuthorization(), { onPending: (p) => pending.push(p) });
    const [first, second] = srv.polls();
    assert.ok(second.at - first.at >= 5998, `waited ${second.at - first.at} ms after slow_down, not 6 s`);
    assert.deepEqual(pending, [{ error: 'slow_down', interval: 6, polls: 1 }]);
  });

  for (const error of ['access_denied', 'expired_token', 'invalid_grant']) {
    test(`rfc8628_3_5 ${error} stops polling with OAUTH_ERROR ${error}`, async () => {
      const client = publicClient();
      srv.state.token.push([400, { error: 'authorization_pending' }], [400, { error, error_description: `said ${error}` }]);
      const err = await rejection(client.pollDeviceToken(await client.deviceAuthorization()));
      assert.equal(err.code, 'OAUTH_ERROR');
      assert.equal(err.error, error);
      assert.equal(err.errorDescription, `said ${error}`);
      assert.equal(err.status, 400);
      await settle(1300);
      assert.equal(srv.polls().length, 2, 'no poll after the error');
      assert.equal(await client.getTokens(), undefined);
    });
  }

  test('rfc8628_3_5 an answer that is no OAuth error stops polling too', async () => {
    const client = publicClient();
    srv.state.token.push([502, '<html>bad gateway</html>']);
    const err = await rejection(client.pollDeviceToken(await client.deviceAuthorization()));
    assert.equal(err.code, 'TOKEN_RESPONSE_NOT_JSON');
    assert.equal(srv.polls().length, 1);
  });

  test('rfc8628_3_2 polling stops at the expiry with DEVICE_CODE_EXPIRED', async () => {
    srv.state.device.push([200, answer({ expires_in: 1, interval: 1 })]);
    const client = publicClient();
    const a = await client.deviceAuthorization();
    const err = await rejection(client.pollDeviceToken(a));
    assert.equal(err.code, 'DEVICE_CODE_EXPIRED');
    // Within the millisecond resolution of the timers.
    assert.ok(Date.now() >= a.expiresAt * 1000 - 2, 'rejected at the expiry, not before');
    assert.equal(srv.polls().length, 0, 'no poll fits before the expiry');
  });

  test('abort while waiting: rejects with ABORTED at once, clears its timer, polls no more', async (t) => {
    srv.state.device.push([200, answer({ interval: 30 })]);
    const client = publicClient();
    const a = await client.deviceAuthorization();
    // Watch the 30 s timer of the wait (fetch has timers of its own).
    const waits = new Set();
    const cleared = new Set();
    const { setTimeout: realSet, clearTimeout: realClear } = globalThis;
    t.after(() => Object.assign(globalThis, { setTimeout: realSet, clearTimeout: realClear }));
    globalThis.setTimeout = (fn, ms, ...rest) => {
      const handle = realSet(fn, ms, ...rest);
      if (ms === 30000) waits.add(handle);
      return handle;
    };
    globalThis.clearTimeout = (handle) => {
      if (waits.has(handle)) cleared.add(handle);
      return realClear(handle);
    };
    const controller = new AbortController();
    const polling = client.pollDeviceToken(a, { signal: controller.signal });
    await settle(50);
    assert.equal(waits.size, 1, 'waiting on the interval');
    const reason = new Error('user pressed Ctrl-C');
    controller.abort(reason);
    const err = await rejection(polling);
    assert.equal(err.code, 'ABORTED');
    assert.equal(err.name, 'AbortError');
    assert.equal(err.cause, reason);
    assert.deepEqual(cleared, waits, 'the wait timer is cleared');
    assert.equal(srv.polls().length, 0);
  });

  test('abort during a poll: the request is cancelled, ABORTED, and nothing is stored', async () => {
    const client = publicClient();
    const a = await client.deviceAuthorization();
    const controller = new AbortController();
    // The server answers this poll (with tokens) only 1.5 s after the abort: a request
    // that ignored the signal would get them.
    srv.state.hold = () => new Promise((resolve) => { controller.abort(); setTimeout(resolve, 1500); });
    srv.state.token.push([200, tokens()]);
    const err = await rejection(client.pollDeviceToken(a, { signal: controller.signal }));
    assert.equal(err.code, 'ABORTED');
    assert.equal(err.cause?.name, 'AbortError', 'the signal default reason');
    await settle(1700);
    assert.equal(srv.polls().length, 1);
    assert.equal(await client.getTokens(), undefined);
  });

  test('an already aborted signal rejects before any request', async () => {
    const client = publicClient();
    const a = await client.deviceAuthorization();
    const signal = AbortSignal.abort();
    assert.equal((await rejection(client.pollDeviceToken(a, { signal }))).code, 'ABORTED');
    assert.equal((await rejection(client.deviceAuthorization({ signal }))).code, 'ABORTED');
    assert.equal(srv.state.requests.length, 1);
    assert.equal((await rejection(client.pollDeviceToken(a, { signal: { aborted: false } }))).code, 'ARGUMENT_INVALID');
  });

  test('bad arguments are refused before polling', async () => {
    const client = publicClient();
    const a = await client.deviceAuthorization();
    for (const bad of [null, 'dc', { ...a, deviceCode: '' }, { ...a, interval: 0 }, { ...a, interval: 1.5 }, { ...a, expiresAt: 'soon' }]) {
      assert.equal((await rejection(client.pollDeviceToken(bad))).code, 'ARGUMENT_INVALID', JSON.stringify(bad));
    }
    assert.equal((await rejection(client.pollDeviceToken(a, { onPending: 'log' }))).code, 'ARGUMENT_INVALID');
    assert.equal((await rejection(client.pollDeviceToken(a, { verifySignature: true }))).code, 'ARGUMENT_INVALID', 'no issuer');
    assert.equal(srv.polls().length, 0);
  });

  test('rfc9449 a DPoP key signs every poll, with one nonce retry, and the tokens must be DPoP', async () => {
    const dpopKey = await DpopKey.generate();
    const client = publicClient({ dpopKey });
    srv.state.demandNonce = true;
    srv.state.token.push([400, { error: 'authorization_pending' }], [200, tokens({ token_type: 'DPoP' })]);
    const result = await client.pollDeviceToken(await client.deviceAuthorization());
    assert.equal(result.tokenType, 'DPoP');
    const polls = srv.polls();
    // use_dpop_nonce, the retry with the nonce (pending), then the success with the cached nonce.
    assert.equal(polls.length, 3);
    const jkt = dpopKey.thumbprint;
    for (const p of polls) {
      assert.ok(p.proof, 'every poll carries a proof');
      assert.equal(p.proof.jkt, jkt);
      assert.equal(p.proof.claims.htm, 'POST');
      assert.equal(p.proof.claims.htu, srv.tokenEndpoint);
    }
    assert.equal(polls[0].proof.claims.nonce, undefined);
    assert.equal(polls[1].proof.claims.nonce, 'n-2');
    assert.equal(polls[2].proof.claims.nonce, 'n-2');
    assert.equal(new Set(polls.map((p) => p.proof.claims.jti)).size, 3, 'a fresh proof per request');
    assert.ok(polls[1].at - polls[0].at < polls[2].at - polls[1].at, 'the nonce retry is immediate, the next poll waits');

    srv.state.token.push([200, tokens()]);
    const err = await rejection(client.pollDeviceToken(await client.deviceAuthorization()));
    assert.equal(err.code, 'TOKEN_TYPE_MISMATCH', 'a Bearer token after a proof is refused');
  });
});

describe('src/js/device.js polling arithmetic with a fake clock', () => {
  /** A scripted token endpoint and a clock that moves only when the loop sleeps. */
  function harness(answers, { interval = 5, expiresIn = 900 } = {}) {
    let now = 1_000_000_000_000;
    const sleeps = [];
    const bodies = [];
    const client = {
      clientId: 'tv',
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
      request: async (body) => {
        bodies.push(body);
        const next = answers.shift();
        if (next.fail) throw next.fail;
        if (next.error) throw Object.assign(new Error(next.error), { code: 'OAUTH_ERROR', error: next.error });
        return next;
      },
      finish: async (t) => ({ ...t, finished: true }),
    };
    const authorization = { deviceCode: 'dc', userCode: 'U', verificationUri: 'https://a.example/', expiresIn, expiresAt: now / 1000 + expiresIn, interval };
    return { client, authorization, sleeps, bodies };
  }

  test('rfc8628_3_5 each slow_down adds 5 s for that and every later poll', async () => {
    const h = harness([{ error: 'authorization_pending' }, { error: 'slow_down' }, { error: 'authorization_pending' }, { error: 'slow_down' }, { accessToken: 'at' }]);
    const pending = [];
    const result = await pollLoop(h.authorization, { onPending: (p) => pending.push(p.interval) }, h.client);
    assert.deepEqual(h.sleeps, [5000, 5000, 10000, 10000, 15000]);
    assert.deepEqual(pending, [5, 10, 10, 15]);
    assert.deepEqual(result, { accessToken: 'at', finished: true });
    assert.equal(h.bodies.length, 5);
  });

  test('rfc8628_3_2 the last wait ends at the expiry, then DEVICE_CODE_EXPIRED', async () => {
    const h = harness([{ error: 'authorization_pending' }, { error: 'slow_down' }], { interval: 4, expiresIn: 12 });
    const err = await rejection(pollLoop(h.authorization, {}, h.client));
    assert.equal(err.code, 'DEVICE_CODE_EXPIRED');
    // 4 s, pending; 4 s, slow_down (interval 9); 4 s left < 9 s: wait them out.
    assert.deepEqual(h.sleeps, [4000, 4000, 4000]);
    assert.equal(h.bodies.length, 2);
  });

  /** A poll that got no answer, as TokenClient's request rejects then. */
  const noAnswer = () => ({ fail: Object.assign(new Error('the HTTP request failed before a response arrived (see cause)'), { code: 'FETCH_FAILED', cause: new TypeError('fetch failed') }) });

  test('rfc8628_3_5 a poll without an answer doubles the interval and polling goes on', async () => {
    const h = harness([noAnswer(), { error: 'authorization_pending' }, noAnswer(), { error: 'slow_down' }, { accessToken: 'at' }]);
    const pending = [];
    const result = await pollLoop(h.authorization, { onPending: (p) => pending.push([p.error, p.interval, p.polls, p.cause?.code]) }, h.client);
    assert.deepEqual(h.sleeps, [5000, 10000, 10000, 20000, 25000]);
    assert.deepEqual(pending, [
      ['FETCH_FAILED', 10, 1, 'FETCH_FAILED'],
      ['authorization_pending', 10, 2, undefined],
      ['FETCH_FAILED', 20, 3, 'FETCH_FAILED'],
      ['slow_down', 25, 4, undefined],
    ]);
    assert.deepEqual(result, { accessToken: 'at', finished: true });
    assert.equal(h.bodies.length, 5, 'the same device code was polled each time');
    assert.ok(h.bodies.every((b) => b === h.bodies[0]));
  });

  test('rfc8628_3_5 polls without answers until the expiry end in DEVICE_CODE_EXPIRED', async () => {
    const h = harness([noAnswer(), noAnswer(), noAnswer(), noAnswer()], { interval: 2, expiresIn: 20 });
    const err = await rejection(pollLoop(h.authorization, {}, h.client));
    assert.equal(err.code, 'DEVICE_CODE_EXPIRED');
    // 2 s, no answer (4); 4 s, no answer (8); 8 s, no answer (16); 6 s left < 16 s: wait them out.
    assert.deepEqual(h.sleeps, [2000, 4000, 8000, 6000]);
    assert.equal(h.bodies.length, 3);
  });

  test('an error of the answer itself still stops polling', async () => {
    const bad = Object.assign(new Error('invalid token response'), { code: 'TOKEN_RESPONSE_INVALID' });
    const h = harness([noAnswer(), { fail: bad }, { accessToken: 'at' }]);
    const err = await rejection(pollLoop(h.authorization, {}, h.client));
    assert.equal(err, bad);
    assert.equal(h.bodies.length, 2);
  });

  test('a throwing onPending stops polling with its error', async () => {
    const h = harness([{ error: 'authorization_pending' }, { accessToken: 'at' }]);
    const err = await rejection(pollLoop(h.authorization, { onPending: () => { throw new Error('stop'); } }, h.client));
    assert.equal(err.message, 'stop');
    assert.equal(h.bodies.length, 1);
  });
});
