// TokenClient across tabs, in one Node process: each tab is its own instance of
// src/js/client.js (imported with a query, so its module state is its own), and the tabs
// share a mock navigator.locks (exclusive, first come first served, `ifAvailable`) and a
// mock BroadcastChannel whose messages reach the other tabs after `bus.delayMs`, or wait
// until the test releases them. The token endpoint rotates refresh tokens with reuse
// detection (rotating.mjs). The same flows run in Chromium in tarball.test.mjs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, beforeEach, test } from 'node:test';

import { signIn, startRotatingServer } from './rotating.mjs';
import { edge } from './support.mjs';

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
        await new Promise((resolve) => lock.waiting.push(resolve));
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
  // A set that does not descend from the stored one (another session) is not kept either.
  const other = await openTab();
  const stranger = new other.TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId, store: new MemoryTokenStore() });
  await signIn(stranger);
  await sleep(50);
  assert.deepEqual(await two.getTokens(), third);
  assert.deepEqual(await one.refresh(tokens.refreshToken), third, 'the old token still resolves to the newest set');
  assert.equal(srv.state.reuses, 0);
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
