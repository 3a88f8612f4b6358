// TokenClient across tabs, in one Node process: each tab is its own instance of
// src/js/client.js (imported with a query, so its module state is its own), and the tabs
// share a mock navigator.locks (exclusive, first come first served, `ifAvailable`) and a
// mock BroadcastChannel whose messages reach the other tabs after `bus.delayMs`, or wait
// until the test releases them. The token endpoint rotates refresh tokens with reuse
// detection (rotating.mjs). The same flows run in Chromium in tarball.test.mjs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { after, before, beforeEach, test } from 'node:test';

import * as jose from 'jose';

import { signIn, startRotatingServer } from './rotating.mjs';
import { edge, sha256b64url } from './support.mjs';

const { MemoryTokenStore } = edge;

/** The locks of one browser: one holder per name, the others wait in order. */
function lockManager() {
  const names = new Map();
  return {
    async request(name, options, callback) {
      if (typeof options === 'function') [callback, options] = [options, {}];
      let lock = names.get(name);
      if (!lock) names.set(name, (lock = { held: false, waiting: [] }));
      if (lock.held) {
        if (options.ifAvailable) return callback(null);
        const { signal } = options;
        if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
        await new Promise((resolve, reject) => {
          lock.waiting.push(resolve);
          // An abort while waiting leaves the queue, as navigator.locks does.
          signal?.addEventListener('abort', () => {
            const at = lock.waiting.indexOf(resolve);
            if (at < 0) return;
            lock.waiting.splice(at, 1);
            reject(new DOMException('aborted', 'AbortError'));
          }, { once: true });
        });
      } else {
        lock.held = true;
      }
      try {
        return await callback({ name, mode: 'exclusive' });
      } finally {
        const next = lock.waiting.shift();
        if (next) next();
        else lock.held = false;
      }
    },
  };
}

/** The broadcast channels of one browser: `hold(data)` keeps a message back until `release()`. */
const bus = { delayMs: 5, hold: null, held: [], channels: new Set() };
class MockBroadcastChannel {
  constructor(name) {
    this.name = name;
    this.onmessage = null;
    bus.channels.add(this);
  }

  postMessage(data) {
    const copy = structuredClone(data);
    const hold = bus.hold?.(copy);
    for (const channel of bus.channels) {
      if (channel === this || channel.name !== this.name) continue;
      const deliver = () => channel.onmessage?.({ data: structuredClone(copy) });
      if (hold) bus.held.push(deliver);
      else setTimeout(deliver, bus.delayMs);
    }
  }

  close() {
    bus.channels.delete(this);
  }
}
bus.release = () => {
  for (const deliver of bus.held.splice(0)) deliver();
};

globalThis.BroadcastChannel = MockBroadcastChannel;
Object.defineProperty(globalThis, 'navigator', { value: { locks: lockManager() }, configurable: true, writable: true });

/** A new tab: a fresh instance of the client module. */
let tabs = 0;
async function openTab() {
  return import(`../../src/js/client.js?tab=${++tabs}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check()` resolves truthy (at most 2 s). */
async function until(check, what) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting until ${what}`);
}

let srv;
before(async () => {
  srv = await startRotatingServer();
});
after(() => srv?.close());
beforeEach(() => {
  bus.delayMs = 5;
  bus.hold = null;
  bus.release();
});

/** A memory store whose writes fail with STORAGE_FAILED while `failing` is set, as IndexedDB's can. */
class FlakyStore extends MemoryTokenStore {
  failing = false;

  async set(key, record) {
    if (this.failing) throw Object.assign(new Error('IndexedDB failed: could not store the tokens'), { name: 'EdgeOAuthError', code: 'STORAGE_FAILED' });
    return super.set(key, record);
  }
}

/**
 * Two tabs, each with a client on a memory store of its own, signed in to one session.
 * Each call has a client id of its own, so the tabs of earlier tests do not listen.
 */
async function twoTabs(options = {}) {
  const [a, b] = [await openTab(), await openTab()];
  const stores = [new FlakyStore(), new FlakyStore()];
  const clientId = `spa-${tabs}`;
  const one = new a.TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId, store: stores[0], ...options });
  const two = new b.TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId, store: stores[1], ...options });
  const tokens = await signIn(one);
  await until(async () => (await two.getTokens())?.accessToken === tokens.accessToken, 'the sign-in reached the other tab');
  return { one, two, tokens, stores, clientId };
}

test('a refresh heeds only the broadcasts heard after it started: an old failure does not make it send a spent token', async () => {
  srv.reset({ delayMs: 100 });
  const { one, two, tokens } = await twoTabs();
  // A refresh fails once (the server is briefly unavailable), and the other tab hears it.
  srv.state.failNext = 1;
  await assert.rejects(one.refresh(tokens.refreshToken), { code: 'OAUTH_ERROR', error: 'temporarily_unavailable' });
  await sleep(50);
  // Later both tabs refresh at once; the winner's answer reaches the other tab only after
  // that tab got the lock, so it must wait for it.
  bus.delayMs = 300;
  const [a, b] = await Promise.all([one.refresh(tokens.refreshToken), two.refresh(tokens.refreshToken)]);
  assert.equal(srv.state.reuses, 0, 'the spent refresh token was not sent again');
  assert.deepEqual(srv.state.refreshes, [tokens.refreshToken, tokens.refreshToken], 'the failed attempt, then the one refresh');
  assert.deepEqual(a, b);
});

test('a tab whose store fails after the server spent the refresh token still hands the new set to the waiting tab', async () => {
  srv.reset({ delayMs: 100 });
  const reported = [];
  const { one, two, tokens, stores } = await twoTabs({ onStoreError: (err) => reported.push(err.code) });
  stores[0].failing = true;
  const [a, b] = await Promise.all([one.refresh(tokens.refreshToken), two.refresh(tokens.refreshToken)]);
  assert.deepEqual(a, b, 'both tabs got the one new set');
  assert.deepEqual(srv.state.refreshes, [tokens.refreshToken]);
  assert.equal(srv.state.reuses, 0);
  assert.deepEqual(reported, ['STORAGE_FAILED']);
  assert.deepEqual(await two.getTokens(), a);
});

test('clearTokens signs every tab out, and a tab that still refreshes the old session does not bring it back', async () => {
  srv.reset();
  const { one, two, tokens } = await twoTabs();
  await one.clearTokens();
  assert.equal(await one.getTokens(), undefined);
  await until(async () => (await two.getTokens()) === undefined, 'the other tab dropped the session');
  // The other tab's page still holds the old refresh token and uses it: its answer is
  // returned, but neither tab keeps it as the session.
  const late = await two.refresh(tokens.refreshToken);
  assert.notEqual(late.refreshToken, tokens.refreshToken);
  await sleep(50);
  assert.equal(await one.getTokens(), undefined, 'the signed-out tab stays signed out');
  assert.equal(await two.getTokens(), undefined);
  // A new sign-in is a new session, kept by both.
  const fresh = await signIn(two);
  await until(async () => (await one.getTokens())?.accessToken === fresh.accessToken, 'the new sign-in reached the first tab');
});

test('rfc6749_6: a refresh whose answer is refused for whom it is signs every tab out, and a tab that waited for it never sends the spent token', async () => {
  srv.reset({ delayMs: 100 });
  const issuer = 'https://as.example/';
  const { one, two, tokens, clientId } = await twoTabs({ issuer });
  const key = await jose.generateKeyPair('ES256');
  const now = Math.floor(Date.now() / 1000);
  srv.state.idToken = await new jose.SignJWT({ iss: 'https://evil.example/', aud: clientId, sub: 'user-1', iat: now, exp: now + 300 })
    .setProtectedHeader({ alg: 'ES256' }).sign(key.privateKey);
  const first = one.refresh(tokens.refreshToken).catch((e) => e);
  await sleep(20);
  // The other tab waits for the lock, then for the answer: the answer is refused.
  const waiting = await two.refresh(tokens.refreshToken).catch((e) => e);
  const err = await first;
  assert.equal(err.code, 'ID_TOKEN_ISS_MISMATCH');
  assert.equal(typeof err.tokens?.refreshToken, 'string', 'the refusing tab has the issued set, to revoke it');
  assert.equal(waiting.code, 'ID_TOKEN_ISS_MISMATCH', `the waiting tab is refused too: ${waiting.code} ${waiting.message}`);
  assert.equal(waiting.tokens, undefined);
  await until(async () => (await two.getTokens()) === undefined, 'the other tab dropped the session');
  assert.equal(await one.getTokens(), undefined);
  assert.deepEqual(srv.state.refreshes, [tokens.refreshToken], 'the spent token was sent once');
  assert.equal(srv.state.reuses, 0);
});

test('a broadcast that arrives late does not overwrite the newer set a tab already has', async () => {
  srv.reset();
  const { one, two, tokens, clientId } = await twoTabs();
  // The answer of the first refresh is held back; the second one's arrives first.
  let held = false;
  bus.hold = (data) => data.record !== undefined && !held && (held = true);
  const second = await one.refresh(tokens.refreshToken);
  bus.hold = null;
  const third = await one.refresh(second.refreshToken);
  await until(async () => (await two.getTokens())?.accessToken === third.accessToken, 'the newest set reached the other tab');
  bus.release();
  await sleep(50);
  assert.deepEqual(await two.getTokens(), third, 'the late, older set was not kept');
  assert.deepEqual(await one.refresh(tokens.refreshToken), third, 'the old token still resolves to the newest set');
  assert.equal(srv.state.reuses, 0);
  // A new sign-in in another tab is a new session: the channel hands it to every tab.
  const other = await openTab();
  const stranger = new other.TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId, store: new MemoryTokenStore() });
  const fresh = await signIn(stranger);
  await until(async () => (await two.getTokens())?.accessToken === fresh.accessToken, 'the new sign-in reached the second tab');
  await until(async () => (await one.getTokens())?.accessToken === fresh.accessToken, 'the new sign-in reached the first tab');
  // A refresh of the older session does not take its place again.
  const older = await two.refresh(third.refreshToken);
  assert.notEqual(older.accessToken, fresh.accessToken);
  await sleep(50);
  assert.deepEqual(await two.getTokens(), fresh, 'the refresh of the older session was not stored over the new sign-in');
  assert.deepEqual(await one.getTokens(), fresh);
});

test('a sign-out from a tab one rotation behind signs out the tab ahead too, and its next refresh is not kept', async () => {
  srv.reset();
  const { one, two, tokens } = await twoTabs();
  // The second tab refreshes; its answer reaches the first tab only late.
  bus.hold = (data) => data.record !== undefined;
  const ahead = await two.refresh(tokens.refreshToken);
  bus.hold = null;
  await one.clearTokens();
  await until(async () => (await two.getTokens()) === undefined, 'the tab ahead dropped the session');
  bus.release();
  await sleep(50);
  assert.equal(await one.getTokens(), undefined, 'the late answer did not bring the session back');
  // The tab ahead still uses its page's refresh token: the answer is returned, not kept.
  const late = await two.refresh(ahead.refreshToken);
  assert.notEqual(late.refreshToken, ahead.refreshToken);
  await sleep(50);
  assert.equal(await two.getTokens(), undefined, 'no spent set stays stored');
  assert.equal(await one.getTokens(), undefined);
  assert.equal(srv.state.reuses, 0);
});

test('a second clearTokens (from a tab with nothing stored) does not forget the first: a refresh under way stays signed out', async () => {
  srv.reset({ delayMs: 200 });
  const { one, two, tokens } = await twoTabs();
  const late = two.refresh(tokens.refreshToken);
  await sleep(20);
  await one.clearTokens();
  await sleep(20);
  await one.clearTokens();
  await late;
  await sleep(50);
  assert.equal(await one.getTokens(), undefined);
  assert.equal(await two.getTokens(), undefined);
});

test('a new sign-in reaches a tab that holds an older, expired session', async () => {
  srv.reset({ expiresIn: 0 });
  const { one, two } = await twoTabs();
  srv.state.expiresIn = 300;
  const fresh = await signIn(one);
  await until(async () => (await two.getTokens())?.accessToken === fresh.accessToken, 'the new sign-in reached the other tab');
});

test('with a shared store, a refresh of an older session is not stored over a newer sign-in', async () => {
  srv.reset();
  const [a, b] = [await openTab(), await openTab()];
  const shared = new MemoryTokenStore();
  const clientId = `spa-${tabs}`;
  const one = new a.TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId, store: shared });
  const two = new b.TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId, store: shared });
  const first = await signIn(one);
  const second = await signIn(one);
  await sleep(30);
  const old = await two.refresh(first.refreshToken);
  assert.notEqual(old.accessToken, second.accessToken);
  await sleep(30);
  assert.deepEqual(await one.getTokens(), second, 'the newer sign-in stays stored');
  assert.deepEqual(await two.getTokens(), second);
});

test('a refresh that takes the lock before the previous answer reached its tab waits for it (memory stores)', async () => {
  srv.reset();
  const { one, two } = await twoTabs();
  const tokens = await two.getTokens();
  bus.delayMs = 30;
  const first = await one.refresh(tokens.refreshToken);
  const second = await two.refresh(tokens.refreshToken);
  assert.deepEqual(srv.state.refreshes, [tokens.refreshToken], 'the spent token was not sent again');
  assert.equal(srv.state.reuses, 0);
  assert.deepEqual(second, first);
});

test('with a server that does not rotate, a refreshed set reaches the other tabs and a waiting tab takes it without the full wait', async () => {
  let n = 0;
  const refreshes = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const form = new URLSearchParams(body);
      const answer = { access_token: `at-${++n}`, token_type: 'Bearer', expires_in: 300 };
      if (form.get('grant_type') === 'refresh_token') {
        refreshes.push(form.get('refresh_token'));
        await sleep(100);
      } else {
        answer.refresh_token = 'rt-fixed';
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(answer));
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const tokenEndpoint = `http://127.0.0.1:${server.address().port}/oauth/token`;
    const [a, b] = [await openTab(), await openTab()];
    const clientId = `spa-${tabs}`;
    const one = new a.TokenClient({ tokenEndpoint, clientId, store: new MemoryTokenStore() });
    const two = new b.TokenClient({ tokenEndpoint, clientId, store: new MemoryTokenStore() });
    await signIn(one);
    await until(async () => (await two.getTokens())?.refreshToken === 'rt-fixed', 'the sign-in reached the other tab');
    const refreshed = await one.refresh('rt-fixed');
    await until(async () => (await two.getTokens())?.accessToken === refreshed.accessToken, 'the refreshed set reached the other tab');
    const started = Date.now();
    const [x, y] = await Promise.all([one.refresh('rt-fixed'), two.refresh('rt-fixed')]);
    assert.equal(x.accessToken, y.accessToken, 'both tabs got the one new set');
    assert.equal(refreshes.length, 2, 'one request for the two concurrent refreshes');
    assert.ok(Date.now() - started < 1000, `the waiting tab took the answer as it came (${Date.now() - started} ms)`);
  } finally {
    server.closeAllConnections?.();
    server.close();
  }
});

test('a store that fails while a broadcast is applied is reported to onStoreError', async () => {
  srv.reset();
  const reported = [];
  const { one, stores } = await twoTabs({ onStoreError: (err) => reported.push(err) });
  stores[1].get = async () => {
    throw new Error('the disk is gone');
  };
  const tokens = await one.getTokens();
  await one.refresh(tokens.refreshToken);
  await until(async () => reported.length > 0, 'the failure was reported');
  assert.equal(reported[0].code, 'STORAGE_FAILED');
  assert.equal(reported[0].name, 'EdgeOAuthError');
  assert.equal(reported[0].cause.message, 'the disk is gone');
});

test('TokenClients that are dropped leave nothing behind on the channel', async () => {
  const script = `
    Object.defineProperty(globalThis, 'navigator', { value: { locks: { request: async () => null } }, configurable: true });
    globalThis.BroadcastChannel = class { postMessage() {} close() {} };
    const { edge } = await import(${JSON.stringify(new URL('./support.mjs', import.meta.url).href)});
    const make = (count) => { for (let i = 0; i < count; i++) new edge.TokenClient({ tokenEndpoint: 'https://as.example/oauth/token', clientId: 'spa' }); };
    const settle = async () => { for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); } };
    make(1000);
    await settle();
    const before = process.memoryUsage().heapUsed;
    for (let round = 0; round < 10; round++) { make(20000); await settle(); }
    console.log(Math.round((process.memoryUsage().heapUsed - before) / 1e3));
  `;
  const outcome = await new Promise((resolve) => {
    execFile(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { timeout: 60_000 }, (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
  assert.equal(outcome.error, null, outcome.stderr);
  const grownKb = Number(outcome.stdout.trim());
  assert.ok(grownKb < 2000, `the heap grew by ${grownKb} kB for 200000 dropped clients`);
});

test('in a Node with navigator.locks, the BroadcastChannel does not keep the process alive', async () => {
  // A child process with Node's own BroadcastChannel and a navigator.locks: once its
  // script is done, it must exit.
  const script = `
    Object.defineProperty(globalThis, 'navigator', { value: { locks: { request: async () => null } }, configurable: true });
    const { edge } = await import(${JSON.stringify(new URL('./support.mjs', import.meta.url).href)});
    const client = new edge.TokenClient({ tokenEndpoint: 'https://as.example/oauth/token', clientId: 'spa' });
    await client.getTokens();
    console.log('done');
  `;
  const outcome = await new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 }, (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
  assert.equal(outcome.stdout.trim(), 'done', outcome.stderr);
  assert.equal(outcome.error?.killed ?? false, false, 'the process did not exit by itself');
  assert.equal(outcome.error, null);
});

/**
 * A token endpoint that does not rotate: a sign-in answers `signInRt(n)`, a refresh answers
 * no refresh token after `delayMs`, and never answers a refresh while `hang` is set.
 */
async function startNonRotating({ delayMs = 50, signInRt = () => 'rt-fixed' } = {}) {
  const state = { n: 0, refreshes: [], hang: false, hung: [] };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const form = new URLSearchParams(body);
      const answer = { access_token: `at-${++state.n}`, token_type: 'Bearer', expires_in: 300 };
      if (form.get('grant_type') === 'refresh_token') {
        state.refreshes.push(form.get('refresh_token'));
        // A hung request is answered only when the test calls one of `hung`.
        if (state.hang) return state.hung.push(() => res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(answer)));
        await sleep(delayMs);
      } else {
        answer.refresh_token = signInRt(state.n);
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(answer));
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    state,
    tokenEndpoint: `http://127.0.0.1:${server.address().port}/oauth/token`,
    close: () => {
      server.closeAllConnections?.();
      server.close();
    },
  };
}

/** A tab of its own on a non-rotating server, signed in. */
async function nonRotatingTabs(server, count) {
  const modules = [];
  for (let i = 0; i < count; i++) modules.push(await openTab());
  const clientId = `spa-${tabs}`;
  const clients = modules.map((m) => new m.TokenClient({ tokenEndpoint: server.tokenEndpoint, clientId, store: new MemoryTokenStore() }));
  const tokens = await signIn(clients[0]);
  for (const c of clients) await until(async () => (await c.getTokens())?.accessToken === tokens.accessToken, 'the sign-in reached every tab');
  return { clients, tokens };
}

test('both tabs refresh a spent token whose newest set expired: the newest refresh token is sent once (memory stores)', async () => {
  srv.reset({ expiresIn: 1 });
  const { one, two, tokens } = await twoTabs();
  const second = await one.refresh(tokens.refreshToken);
  await until(async () => (await two.getTokens())?.refreshToken === second.refreshToken, 'the refreshed set reached the other tab');
  await sleep(1100);
  const [a, b] = await Promise.all([one.refresh(tokens.refreshToken), two.refresh(tokens.refreshToken)]);
  assert.equal(srv.state.reuses, 0, 'no refresh token was sent twice');
  assert.deepEqual(srv.state.refreshes, [tokens.refreshToken, second.refreshToken]);
  assert.deepEqual(a, b);
});

test('one tab refreshes its newest token while the other refreshes a spent one whose newest set expired: one request', async () => {
  srv.reset({ expiresIn: 1 });
  const { one, two, tokens } = await twoTabs();
  const second = await one.refresh(tokens.refreshToken);
  await until(async () => (await two.getTokens())?.refreshToken === second.refreshToken, 'the refreshed set reached the other tab');
  await sleep(1100);
  const [a, b] = await Promise.all([one.refresh(second.refreshToken), two.refresh(tokens.refreshToken)]);
  assert.equal(srv.state.reuses, 0, 'no refresh token was sent twice');
  assert.deepEqual(srv.state.refreshes, [tokens.refreshToken, second.refreshToken]);
  assert.deepEqual(a, b);
});

test('an announced refresh that never ends (its tab closed) delays a refresh only briefly, and once', async () => {
  const server = await startNonRotating();
  try {
    const { clients: [one] } = await nonRotatingTabs(server, 1);
    // What a tab posts before its request, from a tab that closed before it ended.
    const dead = new BroadcastChannel(`edge-oauth:tokens:${one.storeKey}`);
    dead.postMessage({ refreshing: sha256b64url('rt-fixed'), flight: 'the flight of a closed tab' });
    dead.close();
    await sleep(30);
    const times = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      await one.refresh('rt-fixed');
      times.push(Date.now() - started);
    }
    assert.ok(times[0] < 1000, `the first refresh waited briefly (${times[0]} ms)`);
    assert.ok(times[1] < 500 && times[2] < 500, `the later refreshes did not wait (${times.join(', ')} ms)`);
    assert.equal(server.state.refreshes.length, 3);
  } finally {
    server.close();
  }
});

test('a new sign-in after clearTokens reaches every tab and is kept, even when the server hands out the same refresh token', async () => {
  const server = await startNonRotating({ signInRt: () => 'rt-user-42' });
  try {
    const { clients: [one, two] } = await nonRotatingTabs(server, 2);
    await one.clearTokens();
    await until(async () => (await two.getTokens()) === undefined, 'the other tab dropped the session');
    const again = await signIn(one);
    await until(async () => (await two.getTokens())?.accessToken === again.accessToken, 'the new sign-in reached the other tab');
    assert.equal((await one.getTokens())?.accessToken, again.accessToken);
    const refreshed = await one.refresh(again.refreshToken);
    assert.equal((await one.getTokens())?.accessToken, refreshed.accessToken, 'the refresh of the new sign-in was kept');
    await until(async () => (await two.getTokens())?.accessToken === refreshed.accessToken, 'the refreshed set reached the other tab');
    const other = await two.refresh(again.refreshToken);
    assert.equal((await two.getTokens())?.accessToken, other.accessToken, 'the other tab keeps its refresh too');
  } finally {
    server.close();
  }
});

test('an abort after the request was sent rejects the call at once; the request runs on under the lock, and the other tab uses its answer', async () => {
  const server = await startNonRotating();
  try {
    const { clients: [one, two] } = await nonRotatingTabs(server, 2);
    server.state.hang = true;
    const hung = one.refresh('rt-fixed', { signal: AbortSignal.timeout(200) });
    await until(async () => server.state.hung.length === 1, 'the request reached the server');
    server.state.hang = false;
    const waiting = two.refresh('rt-fixed');
    const t0 = Date.now();
    await assert.rejects(hung, { name: 'AbortError', code: 'ABORTED' });
    assert.ok(Date.now() - t0 < 1000, 'the aborted call rejected at once');
    assert.equal(await Promise.race([waiting, sleep(300).then(() => 'still waiting')]), 'still waiting', 'the request holds the lock until it ends');
    server.state.hung[0]();
    const outcome = await waiting;
    assert.equal(outcome.accessToken, (await one.getTokens())?.accessToken, 'the aborted call\'s answer was kept, and the other tab used it');
    assert.deepEqual(server.state.refreshes, ['rt-fixed'], 'the refresh token was sent once');
    await assert.rejects(one.refresh('rt-fixed', { signal: 'soon' }), { code: 'ARGUMENT_INVALID' });
  } finally {
    server.close();
  }
});

test('an abort after the request was sent keeps its answer: the store holds the new set and the next refresh sends the new token (one tab)', async () => {
  srv.reset({ delayMs: 200 });
  const { TokenClient } = await openTab();
  const client = new TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId: `solo-${tabs}` });
  const first = await signIn(client);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 60);
  const t0 = Date.now();
  await assert.rejects(client.refresh(first.refreshToken, { signal: controller.signal }), { name: 'AbortError', code: 'ABORTED' });
  assert.ok(Date.now() - t0 < 180, 'the call rejected before the server answered');
  await until(async () => (await client.getTokens())?.refreshToken !== first.refreshToken, 'the answer was stored');
  const stored = await client.getTokens();
  assert.deepEqual([stored.refreshToken], [...srv.state.live], 'the store holds the set the server issued');
  const next = await client.refresh(stored.refreshToken);
  assert.deepEqual([next.refreshToken], [...srv.state.live]);
  assert.deepEqual(srv.state.refreshes, [first.refreshToken, stored.refreshToken], 'the spent token was not sent again');
  assert.equal(srv.state.reuses, 0);
});

test('an abort while waiting for another refresh rejects at once and sends nothing (another tab, and this tab\'s queue)', async () => {
  srv.reset({ delayMs: 1500 });
  const { one, two, tokens } = await twoTabs();
  const slow = one.refresh(tokens.refreshToken);
  await until(async () => srv.state.refreshes.length === 1, 'the first refresh was sent');
  for (const [client, what] of [[two, 'another tab'], [one, 'this tab']]) {
    const controller = new AbortController();
    const call = client.refresh(tokens.refreshToken, { scope: 'narrow', signal: controller.signal });
    await sleep(50);
    const t0 = Date.now();
    controller.abort();
    await assert.rejects(call, { code: 'ABORTED' });
    assert.ok(Date.now() - t0 < 200, `a call waiting behind ${what}'s refresh rejected at once`);
  }
  const refreshed = await slow;
  await sleep(100);
  assert.deepEqual(srv.state.refreshes, [tokens.refreshToken], 'the aborted calls sent nothing');
  assert.equal((await two.getTokens())?.accessToken, refreshed.accessToken);
});

test('records from the channel that are not well formed are ignored', async () => {
  srv.reset();
  const reported = [];
  const { one, tokens } = await twoTabs({ onStoreError: (err) => reported.push(err) });
  const channel = new BroadcastChannel(`edge-oauth:tokens:${one.storeKey}`);
  const stored = await one.getTokens();
  const later = Date.now() + 10 * 60_000;
  for (const message of [
    { record: { tokens: {} } },
    { record: { tokens: { refreshToken: 5 } } },
    { record: { tokens: { accessToken: 7 }, session: 'zz', created: Date.now() } },
    { record: { tokens: { accessToken: 'evil' }, session: 'zz', created: later } },
    { record: { tokens: { accessToken: 'evil' }, session: 5, created: Date.now() } },
    { record: { tokens: { accessToken: 'evil' }, session: 'zz', generation: -1, created: Date.now() } },
    { record: { tokens: { accessToken: 'evil' }, session: 'zz', generation: 1.5, created: Date.now() } },
    { cleared: [1, null, {}] },
    { flight: 5, refreshing: 'x' },
    { flight: 'f', refreshing: 7 },
    { failed: 'x', record: 'y' },
  ]) channel.postMessage(message);
  channel.close();
  await sleep(100);
  assert.deepEqual(await one.getTokens(), stored, 'the stored set is unchanged');
  assert.deepEqual(reported, []);
  assert.equal(stored.accessToken, tokens.accessToken);
});

test('a malformed record in a tab\'s store does not turn another tab\'s sign-out into a store failure', async () => {
  srv.reset();
  const reported = [];
  const { one, two, stores } = await twoTabs({ onStoreError: (err) => reported.push(err) });
  await stores[1].set(two.storeKey, { tokens: null });
  await one.clearTokens();
  await sleep(50);
  assert.equal(await two.getTokens(), undefined);
  assert.deepEqual(reported, [], 'nothing failed in the store');
});
