// TokenClient's token store and its single flight within one runtime (Node has no
// navigator.locks): concurrent refreshes of one refresh token send one request, a late
// refresh of a rotated token gets the newest set, and a server that does not rotate is
// asked again. The cross-tab half runs in Chromium (tarball.test.mjs).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { startRotatingServer, signIn as signInTo } from './rotating.mjs';
import { edge, sha256b64url } from './support.mjs';

const { MemoryTokenStore, TokenClient, IndexedDbTokenStore } = edge;

let srv;
before(async () => {
  const state = { refreshes: 0, rotate: true, counter: 0, expiresIn: 300 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const form = new URLSearchParams(body);
      const n = ++state.counter;
      if (form.get('grant_type') === 'refresh_token') {
        state.refreshes++;
        state.lastRefreshToken = form.get('refresh_token');
        await new Promise((r) => setTimeout(r, 100));
      }
      const answer = { access_token: `at-${n}`, token_type: 'Bearer', expires_in: state.expiresIn };
      if (form.get('grant_type') === 'authorization_code' || state.rotate) answer.refresh_token = `rt-${n}`;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(answer));
    });
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  srv = {
    tokenEndpoint: `http://127.0.0.1:${server.address().port}/oauth/token`,
    state,
    close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(done); }),
  };
});
after(() => srv?.close());

let rot;
before(async () => {
  rot = await startRotatingServer();
});
after(() => rot?.close());

const signIn = async (client) => client.exchangeCode({ code: 'c', redirectUri: 'https://app.example/cb', codeVerifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' });

test('concurrent refreshes of one refresh token send one request and share its answer', async () => {
  Object.assign(srv.state, { refreshes: 0, rotate: true, expiresIn: 300 });
  const store = new MemoryTokenStore();
  const one = new TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId: 'spa', store });
  const two = new TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId: 'spa', store });
  const tokens = await signIn(one);
  assert.deepEqual(await two.getTokens(), tokens, 'clients on one store share the session');
  const [a, b, c] = await Promise.all([one.refresh(tokens.refreshToken), two.refresh(tokens.refreshToken), one.refresh(tokens.refreshToken)]);
  assert.equal(srv.state.refreshes, 1);
  assert.deepEqual(a, b);
  assert.deepEqual(a, c);
  assert.notEqual(a.refreshToken, tokens.refreshToken);
  assert.deepEqual(await one.getTokens(), a);

  // Later, a refresh of the rotated token gets the newest set without a request...
  assert.deepEqual(await two.refresh(tokens.refreshToken), a);
  assert.equal(srv.state.refreshes, 1);
  // ...and a refresh of the current one is sent.
  const next = await two.refresh(a.refreshToken);
  assert.equal(srv.state.refreshes, 2);
  assert.notEqual(next.accessToken, a.accessToken);
});

test('a narrower refresh of a rotated token uses the newest refresh token, never the spent one', async () => {
  Object.assign(srv.state, { refreshes: 0, rotate: true, expiresIn: 300 });
  const client = new TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId: 'spa' });
  const tokens = await signIn(client);
  const first = await client.refresh(tokens.refreshToken);
  srv.state.lastRefreshToken = undefined;
  const narrower = await client.refresh(tokens.refreshToken, { scope: 'read' });
  assert.equal(srv.state.refreshes, 2, 'the narrower scope was asked for');
  assert.equal(srv.state.lastRefreshToken, first.refreshToken, 'with the current refresh token');
  assert.notEqual(narrower.accessToken, first.accessToken);
});

test('a rotated set whose access token expired is refreshed with its own refresh token', async () => {
  Object.assign(srv.state, { refreshes: 0, rotate: true, expiresIn: 0 });
  const client = new TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId: 'spa' });
  const tokens = await signIn(client);
  const first = await client.refresh(tokens.refreshToken);
  assert.equal(srv.state.refreshes, 1);
  const again = await client.refresh(tokens.refreshToken);
  assert.equal(srv.state.refreshes, 2, 'the expired set was refreshed with its refresh token');
  assert.notEqual(again.accessToken, first.accessToken);
  assert.equal(srv.state.expiresIn = 300, 300);
});

test('a server that does not rotate is asked again, and the stored set keeps the refresh token', async () => {
  Object.assign(srv.state, { refreshes: 0, rotate: false, expiresIn: 300 });
  const client = new TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId: 'spa' });
  const tokens = await signIn(client);
  const first = await client.refresh(tokens.refreshToken);
  assert.equal(first.refreshToken, undefined, 'the answer is returned as the server sent it');
  assert.equal((await client.getTokens()).refreshToken, tokens.refreshToken, 'the store keeps the unrotated refresh token');
  await client.refresh(tokens.refreshToken);
  assert.equal(srv.state.refreshes, 2);
  await client.clearTokens();
  assert.equal(await client.getTokens(), undefined);
});

test('store and storeKey options are checked; IndexedDbTokenStore needs IndexedDB', () => {
  assert.throws(() => new TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId: 'spa', store: {} }), { code: 'ARGUMENT_INVALID', message: /store/ });
  assert.throws(() => new TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId: 'spa', storeKey: 1 }), { code: 'ARGUMENT_INVALID', message: /storeKey/ });
  assert.equal(new TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId: 'spa', storeKey: 'k' }).storeKey, 'k');
  assert.throws(() => new IndexedDbTokenStore(), { code: 'STORAGE_UNAVAILABLE' });
});

test('a refresh token two or more rotations old resolves to the newest set, never reaching the server again', async () => {
  rot.reset();
  const store = new MemoryTokenStore();
  const client = new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa', store });
  const first = await signInTo(client);
  const second = await client.refresh(first.refreshToken);
  const third = await client.refresh(second.refreshToken);
  // Another client of the same store (a tab that still holds the first set).
  const late = new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa', store });
  assert.deepEqual(await late.refresh(first.refreshToken), third);
  assert.deepEqual(await client.refresh(second.refreshToken), third);
  assert.deepEqual(rot.state.refreshes, [first.refreshToken, second.refreshToken], 'each refresh token was sent once');
  assert.equal(rot.state.reuses, 0);

  // Once the newest access token has expired, a refresh of an old token uses the newest
  // refresh token; the record then still knows every spent one.
  rot.state.expiresIn = 0;
  const fourth = await client.refresh(third.refreshToken);
  const fifth = await late.refresh(first.refreshToken);
  assert.deepEqual(rot.state.refreshes.slice(2), [third.refreshToken, fourth.refreshToken]);
  assert.equal(rot.state.reuses, 0);
  assert.deepEqual(await client.getTokens(), fifth);
  rot.state.expiresIn = 300;
  const sixth = await client.refresh(fifth.refreshToken);
  for (const old of [first, second, third, fourth]) assert.deepEqual(await late.refresh(old.refreshToken), sixth);
  assert.equal(rot.state.refreshes.length, 5);
  assert.equal(rot.state.reuses, 0);
});

test('a record of the earlier format, which names only the refresh token it replaced, is still read', async () => {
  rot.reset();
  const store = new MemoryTokenStore();
  const client = new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa', store });
  const first = await signInTo(client);
  const second = await client.refresh(first.refreshToken);
  await store.set(client.storeKey, { tokens: second, replaces: sha256b64url(first.refreshToken) });
  assert.deepEqual(await client.refresh(first.refreshToken), second);
  const third = await client.refresh(second.refreshToken);
  assert.deepEqual(await client.refresh(first.refreshToken), third, 'the earlier fingerprint is carried forward');
  assert.deepEqual(rot.state.refreshes, [first.refreshToken, second.refreshToken]);
  assert.equal(rot.state.reuses, 0);
});

test('without navigator.locks, refreshes of one store key run one after another, whatever their scope', async () => {
  rot.reset();
  const client = new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa' });
  const first = await signInTo(client);
  const [whole, narrower] = await Promise.all([client.refresh(first.refreshToken), client.refresh(first.refreshToken, { scope: 'openid' })]);
  assert.equal(rot.state.reuses, 0, 'the spent refresh token was not sent again');
  assert.deepEqual(rot.state.refreshes, [first.refreshToken, whole.refreshToken], 'the second found the first rotated and used the newest token');
  assert.equal(narrower.scope, 'openid');
  assert.deepEqual(await client.getTokens(), narrower);

  // Two clients of one store key (each with its own store) are ordered too; identical
  // calls still share one request.
  const twin = new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa' });
  const token = narrower.refreshToken;
  const [a, b, c] = await Promise.all([client.refresh(token, { scope: 'read' }), twin.refresh(token, { scope: 'read' }), client.refresh(token, { scope: 'write' })]);
  assert.deepEqual(a, b);
  assert.deepEqual(rot.state.refreshes.slice(2), [token, a.refreshToken], 'one request for the identical calls, then the other scope with the newest token');
  assert.equal(rot.state.reuses, 0);
  assert.equal(c.scope, 'write');
});

/** A memory store whose writes fail with STORAGE_FAILED while `failing` is set, as IndexedDB's can. */
class FailingStore extends MemoryTokenStore {
  failing = false;

  async set(key, record) {
    if (this.failing) throw Object.assign(new Error('IndexedDB failed: could not store the tokens'), { name: 'EdgeOAuthError', code: 'STORAGE_FAILED' });
    return super.set(key, record);
  }
}

test('a store that fails after the server spent the refresh token loses no tokens: the refresh resolves and the failure is reported', async () => {
  rot.reset();
  const store = new FailingStore();
  const reported = [];
  const client = new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa', store, onStoreError: (err) => reported.push(err) });
  const first = await signInTo(client);
  store.failing = true;
  const second = await client.refresh(first.refreshToken);
  assert.notEqual(second.refreshToken, first.refreshToken);
  assert.equal(reported.length, 1);
  assert.equal(reported[0].code, 'STORAGE_FAILED');
  // The runtime keeps the set the store could not: the spent token is not sent again.
  assert.deepEqual(await client.getTokens(), second);
  const other = new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa', store });
  assert.deepEqual(await other.refresh(first.refreshToken), second);
  const third = await client.refresh(second.refreshToken);
  assert.equal(reported.length, 2);
  // Once the store works again, it gets the newest set, which still knows every spent token.
  store.failing = false;
  const fourth = await client.refresh(third.refreshToken);
  assert.deepEqual(await store.get(client.storeKey).then((r) => r.tokens), fourth);
  for (const old of [first, second, third]) assert.deepEqual(await other.refresh(old.refreshToken), fourth);
  assert.deepEqual(rot.state.refreshes, [first.refreshToken, second.refreshToken, third.refreshToken]);
  assert.equal(rot.state.reuses, 0);
  // A code exchange whose tokens cannot be stored resolves too.
  store.failing = true;
  const again = await signInTo(client);
  assert.equal(reported.length, 3);
  assert.deepEqual(await client.getTokens(), again);
  assert.throws(() => new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa', onStoreError: 'log' }), { code: 'ARGUMENT_INVALID', message: /onStoreError/ });
});

test('onStoreError hears an EdgeOAuthError: a custom store error with a code of its own becomes STORAGE_FAILED with it as cause', async () => {
  rot.reset();
  const store = new FailingStore();
  const reported = [];
  const client = new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa', store, onStoreError: (err) => reported.push(err) });
  const first = await signInTo(client);
  const disk = Object.assign(new Error('no space left'), { code: 'ENOSPC' });
  store.set = async () => {
    throw disk;
  };
  await client.refresh(first.refreshToken);
  assert.equal(reported.length, 1);
  assert.equal(reported[0].name, 'EdgeOAuthError');
  assert.equal(reported[0].code, 'STORAGE_FAILED');
  assert.equal(reported[0].cause, disk);
});

test('clearTokens reports a store it cannot read, and still clears it', async () => {
  rot.reset();
  const store = new MemoryTokenStore();
  const reported = [];
  const client = new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa', store, onStoreError: (err) => reported.push(err) });
  await signInTo(client);
  const get = store.get;
  store.get = async () => {
    throw new Error('unreadable');
  };
  await client.clearTokens();
  store.get = get;
  assert.equal(reported.length, 1);
  assert.equal(reported[0].code, 'STORAGE_FAILED');
  assert.equal(await client.getTokens(), undefined);
});

test('records carry a session id, a generation counted by every refresh (rotated or not) and the session start', async () => {
  Object.assign(srv.state, { refreshes: 0, rotate: false, expiresIn: 300 });
  const store = new MemoryTokenStore();
  const client = new TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId: 'spa', store });
  const tokens = await signIn(client);
  const start = await store.get(client.storeKey);
  assert.equal(typeof start.session, 'string');
  assert.equal(start.generation, 0);
  assert.equal(typeof start.created, 'number');
  await client.refresh(tokens.refreshToken);
  const next = await store.get(client.storeKey);
  assert.deepEqual([next.session, next.generation, next.created], [start.session, 1, start.created]);
  await signIn(client);
  assert.notEqual((await store.get(client.storeKey)).session, start.session, 'a sign-in starts a new session');
  srv.state.rotate = true;
});

test('a record of the earlier format with `spent` but no session is still read and continued', async () => {
  rot.reset();
  const store = new MemoryTokenStore();
  const client = new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa', store });
  const first = await signInTo(client);
  const second = await client.refresh(first.refreshToken);
  await store.set(client.storeKey, { tokens: second, spent: [sha256b64url(first.refreshToken)] });
  assert.deepEqual(await client.refresh(first.refreshToken), second);
  const third = await client.refresh(second.refreshToken);
  assert.deepEqual(await client.refresh(first.refreshToken), third);
  assert.deepEqual((await store.get(client.storeKey)).spent, [sha256b64url(second.refreshToken), sha256b64url(first.refreshToken)]);
  assert.deepEqual(rot.state.refreshes, [first.refreshToken, second.refreshToken]);
  assert.equal(rot.state.reuses, 0);
});

test('a record of the earlier format (no session) and a server that does not rotate: the refreshed set is stored', async () => {
  Object.assign(srv.state, { refreshes: 0, rotate: false, expiresIn: 300 });
  const store = new MemoryTokenStore();
  const client = new TokenClient({ tokenEndpoint: srv.tokenEndpoint, clientId: 'spa', store });
  const old = { tokens: { accessToken: 'at-old', tokenType: 'Bearer', expiresIn: 300, expiresAt: Math.floor(Date.now() / 1000) - 5, refreshToken: 'rt-fixed' } };
  await store.set(client.storeKey, old);
  const first = await client.refresh('rt-fixed');
  assert.equal((await client.getTokens()).accessToken, first.accessToken, 'the answer continues the stored record');
  assert.equal((await client.getTokens()).refreshToken, 'rt-fixed');
  const second = await client.refresh('rt-fixed');
  assert.equal((await client.getTokens()).accessToken, second.accessToken);
  assert.equal((await store.get(client.storeKey)).generation, 1, 'the second refresh continues the session the first one named');
  srv.state.rotate = true;
});

test('a malformed stored record does not stop clearTokens, and reads as no tokens', async () => {
  for (const junk of [{}, { tokens: null }, { tokens: 'at-x' }, null, 'a string', { tokens: { refreshToken: 5 } }]) {
    const store = new MemoryTokenStore();
    const reported = [];
    const client = new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa', store, onStoreError: (err) => reported.push(err) });
    await store.set(client.storeKey, junk);
    await client.clearTokens();
    assert.equal(await store.get(client.storeKey), undefined, `${JSON.stringify(junk)} was deleted`);
    assert.deepEqual(reported, [], `${JSON.stringify(junk)}: nothing to report`);
  }
  for (const junk of [{}, { tokens: null }, { tokens: 'at-x' }, 'a string']) {
    const store = new MemoryTokenStore();
    const client = new TokenClient({ tokenEndpoint: rot.tokenEndpoint, clientId: 'spa', store });
    await store.set(client.storeKey, junk);
    assert.equal(await client.getTokens(), undefined, `${JSON.stringify(junk)} reads as no tokens`);
  }
});

test('the types and README say what refresh does: its signal, its timeout, what it does not store, how long it waits', () => {
  const dts = readFileSync(new URL('../../src/js/index.d.ts', import.meta.url), 'utf8');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const options = dts.slice(dts.indexOf('export interface RefreshOptions'), dts.indexOf('export interface ClientCredentialsOptions'));
  assert.match(options, /signal\?: AbortSignal \| null;/);
  assert.match(options, /client\.refresh\(refreshToken, \{ signal: /, 'the signal option has an example');
  assert.doesNotMatch(dts, /single flight across tabs; stores the result/, 'refresh does not store every answer');
  assert.match(dts, /returned but not stored/);
  assert.doesNotMatch(dts, /30 s \(`FETCH_FAILED`\)/, 'a sent refresh request is not timed out');
  assert.doesNotMatch(readme, /gives up after 30 s/);
  assert.match(dts, /once it is\n\s*\* sent, it is never aborted/);
  assert.match(readme, /already sent is never aborted/);
  assert.doesNotMatch(readme, /waits \(at most 2 s\)/);
  assert.match(readme, /at most 0\.5 s when it got the lock at once/);
});
