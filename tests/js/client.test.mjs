// TokenClient and fetchWithDpop against small in-test HTTP servers on 127.0.0.1 that demand
// DPoP nonces (RFC 9449 sections 8 and 9). Every request is recorded, so the tests can count
// retries and look at each proof (verified with jose, an independent implementation).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import * as jose from 'jose';

import { edge, sha256b64url } from './support.mjs';

const { DpopKey, TokenClient, fetchWithDpop } = edge;

/** Verifies a DPoP proof with its embedded key (jose) and returns its claims and jkt. */
async function verifyProof(proof) {
  const { payload, protectedHeader } = await jose.jwtVerify(proof, jose.EmbeddedJWK, {
    typ: 'dpop+jwt',
    algorithms: ['ES256'],
  });
  return { claims: payload, jkt: await jose.calculateJwkThumbprint(protectedHeader.jwk, 'sha256') };
}

/**
 * An authorization + resource server. Nonces rotate on every success; `behaviour` lets a
 * test change what the token endpoint answers.
 */
async function startServer(name) {
  const state = {
    requests: [],
    nonce: `${name}-nonce-0`,
    counter: 0,
    tokenType: 'DPoP',
    alwaysDemandNonce: false,
    nonceVia401: false,
  };
  const next = () => `${name}-nonce-${++state.counter}`;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const url = new URL(req.url, `http://${req.headers.host}`);
      const record = { method: req.method, path: url.pathname, headers: req.headers, body, proof: null };
      state.requests.push(record);
      const send = (status, json, headers = {}) => {
        record.issuedNonce = headers['dpop-nonce'];
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
        res.end(json === undefined ? '' : JSON.stringify(json));
      };
      try {
        if (req.headers.dpop) record.proof = await verifyProof(req.headers.dpop);
        const htu = `http://${req.headers.host}${url.pathname}`;
        if (url.pathname === '/oauth/token') {
          if (record.proof) {
            assert.equal(record.proof.claims.htm, 'POST');
            assert.equal(record.proof.claims.htu, htu);
            assert.equal(record.proof.claims.ath, undefined, 'no ath at the token endpoint');
            if (state.alwaysDemandNonce || record.proof.claims.nonce !== state.nonce) {
              state.nonce = next();
              if (state.nonceVia401) {
                return send(401, undefined, {
                  'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="nonce required"',
                  'dpop-nonce': state.nonce,
                });
              }
              return send(400, { error: 'use_dpop_nonce', error_description: 'Authorization server requires nonce in DPoP proof' }, { 'dpop-nonce': state.nonce });
            }
          }
          const form = new URLSearchParams(body);
          if (form.get('code') === 'bad') return send(400, { error: 'invalid_grant', error_description: 'Invalid authorization code' }, { 'dpop-nonce': state.nonce });
          state.nonce = next();
          return send(200, {
            access_token: `at-${name}-${state.counter}`,
            token_type: record.proof ? state.tokenType : 'Bearer',
            expires_in: 300,
            refresh_token: 'rt-1',
            scope: form.get('scope') ?? 'openid',
          }, { 'dpop-nonce': state.nonce });
        }
        if (url.pathname === '/oauth/revoke') return send(200);
        if (url.pathname === '/custom/revoke') return send(503, { error: 'temporarily_unavailable' });
        if (url.pathname.startsWith('/api')) {
          const [scheme, token] = (req.headers.authorization ?? '').split(' ');
          assert.equal(scheme, 'DPoP');
          assert.ok(record.proof, 'a resource request carries a proof');
          assert.equal(record.proof.claims.htm, req.method);
          assert.equal(record.proof.claims.htu, htu);
          assert.equal(record.proof.claims.ath, sha256b64url(token));
          if (state.alwaysDemandNonce || record.proof.claims.nonce !== state.nonce) {
            state.nonce = next();
            return send(401, undefined, {
              'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="ES256"',
              'dpop-nonce': state.nonce,
            });
          }
          return send(200, { ok: true, method: req.method, body, custom: req.headers['x-custom'] ?? null });
        }
        send(404, { error: 'not_found' });
      } catch (err) {
        send(500, { error: 'server_error', error_description: String(err.message).replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, ' ') });
      }
    });
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    state,
    tokenEndpoint: `${base}/oauth/token`,
    reset() {
      state.requests.length = 0;
      state.alwaysDemandNonce = false;
      state.nonceVia401 = false;
      state.tokenType = 'DPoP';
    },
    close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(done); }),
  };
}

let a;
let b;
before(async () => {
  a = await startServer('a');
  b = await startServer('b');
});
after(async () => {
  await a?.close();
  await b?.close();
});

const keys = [
  ['p256', () => DpopKey.generate()],
  ['webcrypto', () => DpopKey.generateNonExtractable()],
];

for (const [backend, makeKey] of keys) {
  test(`rfc9449_8: TokenClient (${backend} key) retries exactly once on use_dpop_nonce, then reuses the cached nonce`, async () => {
    a.reset();
    const dpopKey = await makeKey();
    const client = new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'spa', dpopKey });
    const tokens = await client.exchangeCode({ code: 'c-1', redirectUri: 'https://app.example/cb', codeVerifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' });
    assert.equal(tokens.tokenType, 'DPoP');
    assert.equal(tokens.refreshToken, 'rt-1');
    assert.equal(tokens.expiresIn, 300);
    assert.ok(Math.abs(tokens.expiresAt - (Math.floor(Date.now() / 1000) + 300)) <= 2);

    assert.equal(a.state.requests.length, 2, 'one retry');
    const [first, second] = a.state.requests;
    assert.equal(first.proof.claims.nonce, undefined);
    assert.match(first.issuedNonce, /^a-nonce-\d+$/);
    assert.equal(second.proof.claims.nonce, first.issuedNonce, 'the retry carries the nonce of the 400');
    assert.notEqual(first.proof.claims.jti, second.proof.claims.jti, 'a fresh proof per attempt');
    assert.equal(second.proof.jkt, dpopKey.thumbprint);
    const form = new URLSearchParams(second.body);
    assert.equal(form.get('grant_type'), 'authorization_code');
    assert.equal(form.get('client_id'), 'spa', 'a public client sends client_id in the body');
    assert.equal(second.headers.authorization, undefined);
    assert.equal(second.headers['content-type'], 'application/x-www-form-urlencoded');

    // The success rotated the nonce; the key remembered it, so no retry now.
    a.state.requests.length = 0;
    const refreshed = await client.refresh(tokens.refreshToken, { scope: 'read' });
    assert.equal(refreshed.scope, 'read');
    assert.equal(a.state.requests.length, 1, 'the cached nonce was used');
    assert.equal(a.state.requests[0].proof.claims.nonce, second.issuedNonce);
    assert.equal(new URLSearchParams(a.state.requests[0].body).get('grant_type'), 'refresh_token');
  });
}

test('rfc9449_8: a second use_dpop_nonce is not retried again; the OAuth error carries the fields', async () => {
  a.reset();
  a.state.alwaysDemandNonce = true;
  const client = new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'spa', dpopKey: DpopKey.generate() });
  const err = await client.clientCredentials({ audience: 'https://api.example' }).then(
    () => assert.fail('must fail'),
    (e) => e,
  );
  assert.ok(err instanceof Error);
  assert.equal(err.code, 'OAUTH_ERROR');
  assert.equal(err.error, 'use_dpop_nonce');
  assert.equal(err.status, 400);
  assert.match(err.errorDescription, /requires nonce/);
  assert.equal(err.dpopNonce, a.state.nonce);
  assert.equal(a.state.requests.length, 2, 'exactly one retry');
});

test('rfc9449_9: a 401 WWW-Authenticate DPoP error="use_dpop_nonce" at the token endpoint is retried once too', async () => {
  a.reset();
  a.state.nonceVia401 = true;
  const client = new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'spa', dpopKey: DpopKey.generate() });
  const tokens = await client.clientCredentials();
  assert.equal(tokens.tokenType, 'DPoP');
  assert.equal(a.state.requests.length, 2);
});

test('nonces are cached per origin: one origin\'s nonce is never sent to another', async () => {
  a.reset();
  b.reset();
  const dpopKey = DpopKey.generate();
  const ca = new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'spa', dpopKey });
  const cb = new TokenClient({ tokenEndpoint: b.tokenEndpoint, clientId: 'spa', dpopKey });
  await ca.clientCredentials();
  assert.equal(a.state.requests.length, 2);
  await cb.clientCredentials();
  assert.equal(b.state.requests.length, 2, 'b demanded its own nonce');
  assert.equal(b.state.requests[0].proof.claims.nonce, undefined, 'a\'s nonce did not go to b');
  assert.match(b.state.requests[1].proof.claims.nonce, /^b-nonce-/);
  // Both are cached now, on the key: a new client with the same key needs no retry.
  a.state.requests.length = 0;
  b.state.requests.length = 0;
  await new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'other', dpopKey }).clientCredentials();
  await cb.clientCredentials();
  assert.equal(a.state.requests.length, 1);
  assert.equal(b.state.requests.length, 1);
  assert.match(a.state.requests[0].proof.claims.nonce, /^a-nonce-/);
});

test('rfc9449_5: a Bearer token after a DPoP request is refused with TOKEN_TYPE_MISMATCH', async () => {
  a.reset();
  a.state.tokenType = 'Bearer';
  const client = new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'spa', dpopKey: DpopKey.generate() });
  await assert.rejects(client.clientCredentials(), { code: 'TOKEN_TYPE_MISMATCH', message: /not bound/ });
  // Without a key no proof is sent, and Bearer is what the client asked for.
  a.reset();
  const bearer = await new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'spa' }).clientCredentials();
  assert.equal(bearer.tokenType, 'Bearer');
  assert.equal(a.state.requests.length, 1);
  assert.equal(a.state.requests[0].headers.dpop, undefined);
});

test('rfc6749_2_3_1: clientSecret is sent as HTTP Basic of the form-encoded id and secret, not in the body', async () => {
  a.reset();
  const clientId = 'my client:1/ü';
  const clientSecret = 'p@ss w/rd+%:&=';
  const client = new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId, clientSecret });
  await client.clientCredentials({ audience: 'https://api.example', resource: 'https://api.example/', organization: 'org_1', scope: 'read write' });
  const [req] = a.state.requests;
  const formEncode = (s) => new URLSearchParams({ v: s }).toString().slice(2);
  const expected = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
  assert.equal(req.headers.authorization, expected);
  // Decoding it the RFC way gives the originals back.
  const [id, secret] = Buffer.from(req.headers.authorization.slice(6), 'base64').toString().split(':');
  assert.equal(new URLSearchParams(`v=${id}`).get('v'), clientId);
  assert.equal(new URLSearchParams(`v=${secret}`).get('v'), clientSecret);
  const form = new URLSearchParams(req.body);
  assert.equal(form.get('client_id'), null, 'a confidential client does not also send client_id');
  assert.equal(form.get('grant_type'), 'client_credentials');
  assert.equal(form.get('audience'), 'https://api.example');
  assert.equal(form.get('resource'), 'https://api.example/');
  assert.equal(form.get('organization'), 'org_1');
  assert.equal(form.get('scope'), 'read write');
});

test('server errors are typed OAuth errors with error, errorDescription, status and dpopNonce', async () => {
  a.reset();
  const client = new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'spa', dpopKey: DpopKey.generate() });
  const err = await client.exchangeCode({ code: 'bad', redirectUri: 'https://app.example/cb', codeVerifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' }).catch((e) => e);
  assert.equal(err.code, 'OAUTH_ERROR');
  assert.equal(err.error, 'invalid_grant');
  assert.equal(err.errorDescription, 'Invalid authorization code');
  assert.equal(err.status, 400);
  assert.equal(err.dpopNonce, a.state.nonce);
});

test('revoke: RFC 7009 form to <origin>/oauth/revoke by default; errors are typed', async () => {
  a.reset();
  const client = new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'spa', dpopKey: DpopKey.generate() });
  assert.equal(client.revocationEndpoint, `${a.base}/oauth/revoke`);
  assert.equal(client.tokenEndpoint, a.tokenEndpoint);
  assert.equal(await client.revoke('rt-1', { tokenTypeHint: 'refresh_token' }), undefined);
  const [req] = a.state.requests;
  assert.equal(req.path, '/oauth/revoke');
  assert.equal(req.body, 'token=rt-1&token_type_hint=refresh_token&client_id=spa');
  assert.equal(req.headers.dpop, undefined, 'no proof at the revocation endpoint');

  const custom = new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'spa', revocationEndpoint: `${a.base}/custom/revoke` });
  await assert.rejects(custom.revoke('rt-1'), { code: 'OAUTH_ERROR', error: 'temporarily_unavailable', status: 503 });
  await assert.rejects(client.revoke('rt-1', { tokenTypeHint: 'id_token' }), { code: 'REQUEST_PARAMETER_INVALID' });
});

test('TokenClient options and arguments are checked with codes', async () => {
  assert.throws(() => new TokenClient({ tokenEndpoint: '/oauth/token', clientId: 'x' }), { code: 'URL_INVALID' });
  assert.throws(() => new TokenClient({ clientId: 'x' }), { code: 'ARGUMENT_INVALID', message: /tokenEndpoint/ });
  assert.throws(() => new TokenClient({ tokenEndpoint: a.tokenEndpoint }), { code: 'ARGUMENT_INVALID', message: /clientId/ });
  assert.throws(() => new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'x', dpopKey: {} }), { code: 'ARGUMENT_INVALID', message: /dpopKey/ });
  assert.throws(() => new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'x', dpopKey: { __share() {} } }), { code: 'ARGUMENT_INVALID' });
  assert.throws(() => new TokenClient('x'), { code: 'ARGUMENT_INVALID' });
  const client = new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'spa' });
  await assert.rejects(client.exchangeCode({ code: 'c', redirectUri: 'https://app.example/cb', codeVerifier: 'short' }), { code: 'PKCE_VERIFIER_INVALID' });
  await assert.rejects(client.refresh('rt', 'scope'), { code: 'ARGUMENT_INVALID' });
  // The key stays usable by the application after a client took it.
  const dpopKey = DpopKey.generate();
  new TokenClient({ tokenEndpoint: a.tokenEndpoint, clientId: 'spa', dpopKey });
  assert.equal(typeof dpopKey.createProofSync({ htm: 'GET', htu: a.base }), 'string');
});

test('a network failure is FETCH_FAILED with the platform error as cause', async () => {
  const closed = createServer();
  await new Promise((ok) => closed.listen(0, '127.0.0.1', ok));
  const { port } = closed.address();
  await new Promise((done) => closed.close(done));
  const client = new TokenClient({ tokenEndpoint: `http://127.0.0.1:${port}/oauth/token`, clientId: 'spa' });
  const err = await client.clientCredentials().catch((e) => e);
  assert.equal(err.code, 'FETCH_FAILED');
  assert.ok(err.cause instanceof Error);
});

for (const [backend, makeKey] of keys) {
  test(`rfc9449_7_and_9: fetchWithDpop (${backend} key) sends DPoP auth with ath, retries once on a 401 nonce challenge`, async () => {
    b.reset();
    const dpopKey = await makeKey();
    const res = await fetchWithDpop(`${b.base}/api/items?x=1`, { method: 'post', body: 'hello', headers: { 'x-custom': 'kept' } }, { accessToken: 'at-xyz', dpopKey });
    assert.ok(res instanceof Response);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true, method: 'POST', body: 'hello', custom: 'kept' });
    assert.equal(b.state.requests.length, 2);
    const [first, second] = b.state.requests;
    assert.equal(first.headers.authorization, 'DPoP at-xyz');
    assert.equal(second.proof.claims.ath, sha256b64url('at-xyz'));
    assert.equal(second.proof.claims.htm, 'POST');
    assert.equal(second.proof.claims.htu, `${b.base}/api/items`);
    assert.equal(first.proof.claims.nonce, undefined);
    assert.match(second.proof.claims.nonce, /^b-nonce-/);
    assert.equal(second.proof.jkt, dpopKey.thumbprint);

    // Cached for that origin: the next call goes through at once (a URL object works too).
    b.state.requests.length = 0;
    const again = await fetchWithDpop(new URL(`${b.base}/api/other`), undefined, { accessToken: 'at-xyz', dpopKey });
    assert.equal(again.status, 200);
    assert.equal(b.state.requests.length, 1);
    assert.equal(b.state.requests[0].method, 'GET');
  });
}

test('fetchWithDpop retries only once and returns the second 401 as it is', async () => {
  b.reset();
  b.state.alwaysDemandNonce = true;
  const res = await fetchWithDpop(`${b.base}/api/items`, {}, { accessToken: 'at-xyz', dpopKey: DpopKey.generate() });
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate'), /use_dpop_nonce/);
  assert.equal(b.state.requests.length, 2);
});

test('fetchWithDpop arguments are checked with codes', async () => {
  const dpopKey = DpopKey.generate();
  await assert.rejects(fetchWithDpop('/relative', {}, { accessToken: 't', dpopKey }), { code: 'URL_INVALID' });
  await assert.rejects(fetchWithDpop(`${b.base}/api`, {}, { dpopKey }), { code: 'ARGUMENT_INVALID', message: /accessToken/ });
  await assert.rejects(fetchWithDpop(`${b.base}/api`, {}, { accessToken: 't' }), { code: 'ARGUMENT_INVALID', message: /dpopKey/ });
  await assert.rejects(fetchWithDpop(`${b.base}/api`, {}, { accessToken: 't\nx', dpopKey }), { code: 'ARGUMENT_INVALID' });
  await assert.rejects(fetchWithDpop(42, {}, { accessToken: 't', dpopKey }), { code: 'ARGUMENT_INVALID' });
});

/**
 * A server that requires one fixed nonce at its token endpoint and its `/api` resource:
 * a proof without it gets `use_dpop_nonce` and the nonce, a proof with it succeeds.
 */
async function startFixedNonceServer(nonce) {
  const requests = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      const proof = req.headers.dpop ? await verifyProof(req.headers.dpop).catch(() => null) : null;
      requests.push({ path: req.url, nonce: proof?.claims.nonce });
      const ok = proof !== null && proof.claims.nonce === nonce;
      if (req.url === '/oauth/token') {
        if (!ok) {
          res.writeHead(400, { 'content-type': 'application/json', 'dpop-nonce': nonce });
          return res.end(JSON.stringify({ error: 'use_dpop_nonce', error_description: 'nonce required' }));
        }
        res.writeHead(200, { 'content-type': 'application/json', 'dpop-nonce': nonce });
        return res.end(JSON.stringify({ access_token: 'at', token_type: 'DPoP', expires_in: 60 }));
      }
      if (!ok) {
        res.writeHead(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': nonce });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, requests, close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(done); }) };
}

for (const [backend, makeKey] of keys) {
  test(`rfc9449_8: concurrent TokenClient requests (${backend} key) each retry once with the nonce they lacked`, async () => {
    const server = await startFixedNonceServer('fixed-nonce');
    try {
      const client = new TokenClient({ tokenEndpoint: `${server.base}/oauth/token`, clientId: 'spa', dpopKey: await makeKey() });
      const [one, two] = await Promise.all([client.clientCredentials(), client.clientCredentials()]);
      assert.equal(one.tokenType, 'DPoP');
      assert.equal(two.tokenType, 'DPoP');
      assert.equal(server.requests.length, 4, 'one retry each');
      assert.deepEqual(server.requests.map((r) => r.nonce ?? '-').sort(), ['-', '-', 'fixed-nonce', 'fixed-nonce']);
    } finally {
      await server.close();
    }
  });

  test(`rfc9449_9: concurrent fetchWithDpop calls (${backend} key) each retry once with the nonce they lacked`, async () => {
    const server = await startFixedNonceServer('rs-nonce');
    try {
      const dpopKey = await makeKey();
      const call = () => fetchWithDpop(`${server.base}/api/items`, {}, { accessToken: 'at', dpopKey });
      const [one, two] = await Promise.all([call(), call()]);
      assert.equal(one.status, 200);
      assert.equal(two.status, 200);
      assert.equal(server.requests.length, 4, 'one retry each');
      // The nonce is cached now: the next call needs no retry.
      assert.equal((await call()).status, 200);
      assert.equal(server.requests.length, 5);
    } finally {
      await server.close();
    }
  });
}

test('rfc9449_4_2: fetchWithDpop accepts any query fetch accepts; htu never carries it', async () => {
  b.reset();
  const dpopKey = DpopKey.generate();
  for (const query of ['?q=a b', '?filter={"a":1}', '?q=a|b', '?q=ä#frag']) {
    b.state.requests.length = 0;
    const res = await fetchWithDpop(`${b.base}/api/items${query}`, {}, { accessToken: 'at-q', dpopKey });
    assert.equal(res.status, 200, query);
    const last = b.state.requests.at(-1);
    assert.equal(last.proof.claims.htu, `${b.base}/api/items`);
  }
  // A non-ASCII path is refused with a precise message; its percent-encoded form works.
  await assert.rejects(fetchWithDpop(`${b.base}/api/items/ä`, {}, { accessToken: 'at-q', dpopKey }), { code: 'URL_INVALID', message: /non-ASCII.*percent-encode/ });
  const res = await fetchWithDpop(new URL(`${b.base}/api/items/ä`), {}, { accessToken: 'at-q', dpopKey });
  assert.equal(res.status, 200);
  assert.equal(b.state.requests.at(-1).proof.claims.htu, `${b.base}/api/items/%C3%A4`);
});
