// End to end, with the Durable Object store (the default): simultaneous redemptions of
// one authorization code, one client assertion, one DPoP proof and one refresh token,
// and durability across a restart of `wrangler dev` on the same state.
//
// "Simultaneous" means: every socket is connected first, then every raw HTTP request is
// written in the same tick (ordinary parallel fetch rarely overlaps inside the worker).

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import { buildApi, keys } from '../../scripts/lib/tenant.mjs';
import { API, USER_PASSWORD, authorize, basic, form, startServer, tokenRequest } from './harness.mjs';

const OVERLAP_API = 'https://overlap.example.com';
let srv;

// With E2E_STORE=kv (harness.mjs) the same requests go to the KV-only store, where the
// simultaneous ones are expected to fail: it shows what the Durable Object store prevents.
before(async () => {
  srv = await startServer({
    seed: ({ records }) => {
      records.set(keys.api(OVERLAP_API), buildApi({
        identifier: OVERLAP_API, scopes: ['read:items'], allowOfflineAccess: true, refreshTokenOverlap: 10,
      }));
    },
  });
});

after(async () => {
  await srv?.stop();
});

// ---------------------------------------------------------------- raw, simultaneous HTTP

function rawPost(body, headers = {}) {
  const bytes = Buffer.from(body);
  const lines = [
    'POST /oauth/token HTTP/1.1', `Host: 127.0.0.1:${srv.port}`, 'Content-Type: application/x-www-form-urlencoded',
    `Content-Length: ${bytes.length}`, 'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), bytes]);
}

function dechunk(buf) {
  const out = [];
  let i = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(i, eol).toString(), 16);
    if (!size) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

function parseResponse(buf) {
  const split = buf.indexOf('\r\n\r\n');
  assert.ok(split > 0, `an HTTP response, got ${buf.toString().slice(0, 200)}`);
  const [statusLine, ...headerLines] = buf.subarray(0, split).toString().split('\r\n');
  const headers = Object.fromEntries(headerLines.map((l) => {
    const c = l.indexOf(':');
    return [l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()];
  }));
  let body = buf.subarray(split + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  const text = body.toString();
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: Number(statusLine.split(' ')[1]), headers, text, json };
}

/** Connects one socket per request, then writes all requests in one tick. */
async function simultaneously(requests) {
  const sockets = await Promise.all(requests.map(() => new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: srv.port }, () => resolve(s));
    s.once('error', reject);
  })));
  const replies = sockets.map((s) => new Promise((resolve, reject) => {
    const chunks = [];
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
    s.setTimeout(30000, () => s.destroy(new Error('no response within 30 s')));
  }));
  sockets.forEach((s, i) => s.write(requests[i]));
  return (await Promise.all(replies)).map(parseResponse);
}

function assertOneWinner(resps, loserStatus, loserError, what) {
  const summary = resps.map((r) => `${r.status} ${r.json?.error ?? ''}`).join(', ');
  assert.ok(resps.every((r) => r.status < 500), `${what}: no 5xx (${summary})`);
  assert.equal(resps.filter((r) => r.status === 200).length, 1, `${what}: exactly one success (${summary})`);
  const losers = resps.filter((r) => r.status !== 200);
  assert.ok(losers.every((r) => r.status === loserStatus && r.json?.error === loserError), `${what}: the others ${loserStatus} ${loserError} (${summary})`);
  return resps.find((r) => r.status === 200);
}

// ---------------------------------------------------------------- flows

async function spaCode(audience = API) {
  const verifier = randomBytes(32).toString('base64url');
  const redirectUri = `${srv.url}/`;
  const r = await authorize(srv.url, {
    response_type: 'code', client_id: 'demo-spa', redirect_uri: redirectUri, scope: 'openid offline_access', audience,
    state: 's', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  }, { username: srv.tenant.user.email, password: USER_PASSWORD });
  assert.ok(r.location, `a code (${r.status})`);
  const code = new URL(r.location).searchParams.get('code');
  return { code, body: form({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: 'demo-spa', code_verifier: verifier }) };
}

async function spaRefreshToken(audience = API) {
  const { body } = await spaCode(audience);
  const res = await tokenRequest(srv.url, body);
  assert.equal(res.status, 200, res.text);
  assert.ok(res.json.refresh_token);
  return res.json.refresh_token;
}

const refreshBody = (rt) => form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: rt });

describe('exactly once under wrangler dev (Durable Object store)', () => {
  test('rfc6749_4_1_2 rounds of 2 and 16 simultaneous redemptions of one code: one succeeds', async () => {
    for (const [n, rounds] of [[2, 8], [16, 3]]) {
      for (let round = 0; round < rounds; round++) {
        const { body } = await spaCode();
        const resps = await simultaneously(Array.from({ length: n }, () => rawPost(body)));
        assertOneWinner(resps, 400, 'invalid_grant', `${n} redemptions, round ${round + 1}`);
      }
    }
  });

  test('rfc7523_3 one client assertion sent 16 times at once: one succeeds', async () => {
    const c = srv.tenant['e2e-es256'];
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new jose.SignJWT({ jti: randomBytes(16).toString('base64url') })
      .setProtectedHeader({ alg: 'ES256', kid: c.kid })
      .setIssuer(c.client_id).setSubject(c.client_id).setAudience(`${srv.url}/oauth/token`)
      .setIssuedAt(now).setExpirationTime(now + 120)
      .sign(c.privateKey);
    const body = form({
      grant_type: 'client_credentials', audience: API,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    });
    const resps = await simultaneously(Array.from({ length: 16 }, () => rawPost(body)));
    assertOneWinner(resps, 401, 'invalid_client', 'one assertion');
  });

  test('rfc9449_11_1 one DPoP proof sent 16 times at once: one succeeds', async () => {
    const m2m = srv.tenant['demo-m2m'];
    const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
    const jwk = await jose.exportJWK(publicKey);
    const proof = await new jose.SignJWT({
      htm: 'POST', htu: `${srv.url}/oauth/token`, iat: Math.floor(Date.now() / 1000), jti: randomBytes(16).toString('base64url'),
    }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).sign(privateKey);
    const body = form({ grant_type: 'client_credentials', audience: API });
    const headers = { Authorization: basic(m2m.client_id, m2m.client_secret), DPoP: proof };
    const resps = await simultaneously(Array.from({ length: 16 }, () => rawPost(body, headers)));
    const winner = assertOneWinner(resps, 400, 'invalid_dpop_proof', 'one DPoP proof');
    assert.equal(winner.json.token_type, 'DPoP');
  });

  test('rfc9449_11_1 one DPoP code exchange sent 16 times at once: one succeeds, the copies revoke nothing', async () => {
    const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
    const jwk = await jose.exportJWK(publicKey);
    const dpop = (nonce) => new jose.SignJWT({
      htm: 'POST', htu: `${srv.url}/oauth/token`, iat: Math.floor(Date.now() / 1000), jti: randomBytes(16).toString('base64url'), nonce,
    }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).sign(privateKey);
    for (let round = 0; round < 3; round++) {
      const { body } = await spaCode();
      const challenge = await tokenRequest(srv.url, body, { headers: { dpop: await dpop() } });
      assert.equal(challenge.json?.error, 'use_dpop_nonce', challenge.text);
      const nonce = challenge.headers.get('dpop-nonce');
      const proof = await dpop(nonce);
      const resps = await simultaneously(Array.from({ length: 16 }, () => rawPost(body, { DPoP: proof })));
      const winner = assertOneWinner(resps, 400, 'invalid_dpop_proof', `16 copies, round ${round + 1}`);
      const refreshed = await tokenRequest(srv.url, refreshBody(winner.json.refresh_token), { headers: { dpop: await dpop(nonce) } });
      assert.equal(refreshed.status, 200, `round ${round + 1}: the winner's session survives the copies (${refreshed.text})`);
    }
  });

  test('rfc9700_4_14_2 16 simultaneous refreshes, no overlap window: one successor, then the family is revoked', async () => {
    const rt = await spaRefreshToken();
    const resps = await simultaneously(Array.from({ length: 16 }, () => rawPost(refreshBody(rt))));
    const winner = assertOneWinner(resps, 400, 'invalid_grant', '16 refreshes');
    const successor = winner.json.refresh_token;
    assert.ok(successor && successor !== rt);
    const after = await tokenRequest(srv.url, refreshBody(successor));
    assert.equal(after.status, 400);
    assert.equal(after.json.error, 'invalid_grant', 'the reuse revoked the family');
  });

  test('auth0_overlap 16 simultaneous refreshes within a 10 s window: all get the same successor; reuse after it revokes', async () => {
    const rt = await spaRefreshToken(OVERLAP_API);
    const resps = await simultaneously(Array.from({ length: 16 }, () => rawPost(refreshBody(rt))));
    const summary = resps.map((r) => `${r.status} ${r.json?.error ?? ''}`).join(', ');
    assert.ok(resps.every((r) => r.status === 200), `all 16 succeed (${summary})`);
    const successors = new Set(resps.map((r) => r.json.refresh_token));
    assert.equal(successors.size, 1, 'one successor for all');
    const [r2] = successors;
    const next = await tokenRequest(srv.url, refreshBody(r2));
    assert.equal(next.status, 200, `the successor keeps working: ${next.text}`);
    const r3 = next.json.refresh_token;
    await new Promise((r) => setTimeout(r, 11000));
    const late = await tokenRequest(srv.url, refreshBody(r2));
    assert.equal(late.json?.error, 'invalid_grant', 'reuse after the window');
    const dead = await tokenRequest(srv.url, refreshBody(r3));
    assert.equal(dead.json?.error, 'invalid_grant', 'the family is revoked');
  });

  test('rfc6749_4_1_2 a leaked code sent 15 times with a wrong verifier, at once with the real exchange: the real one succeeds', async () => {
    for (let round = 0; round < 3; round++) {
      const { body } = await spaCode();
      const wrong = body.replace(/code_verifier=[^&]+/, `code_verifier=${randomBytes(32).toString('base64url')}`);
      const requests = Array.from({ length: 15 }, () => rawPost(wrong));
      requests.splice(round * 7, 0, rawPost(body));
      const resps = await simultaneously(requests);
      const real = resps[round * 7];
      assert.equal(real.status, 200, `round ${round + 1}: the real exchange (${real.text})`);
      const others = resps.filter((r) => r !== real);
      assert.ok(others.every((r) => r.status === 400 && r.json?.error === 'invalid_grant'), `round ${round + 1}`);
    }
  });

  test('rfc9700_4_14_2 a forged secret under a known family id is invalid_grant and revokes nothing', async () => {
    const rt = await spaRefreshToken();
    const family = rt.split('.')[0];
    for (const secret of ['forged', randomBytes(32).toString('base64url'), randomBytes(44).toString('base64url')]) {
      const forged = await tokenRequest(srv.url, refreshBody(`${family}.${secret}`));
      assert.equal(forged.status, 400, forged.text);
      assert.equal(forged.json.error, 'invalid_grant');
    }
    const real = await tokenRequest(srv.url, refreshBody(rt));
    assert.equal(real.status, 200, `the session survives: ${real.text}`);
  });

  test('durability: after a restart of wrangler dev a refresh token works and a used code stays used', async () => {
    const rt = await spaRefreshToken();
    const { body } = await spaCode();
    const first = await tokenRequest(srv.url, body);
    assert.equal(first.status, 200, first.text);
    await srv.restart();
    const refreshed = await tokenRequest(srv.url, refreshBody(rt));
    assert.equal(refreshed.status, 200, `refresh after restart: ${refreshed.text}`);
    const replay = await tokenRequest(srv.url, body);
    assert.equal(replay.status, 400);
    assert.equal(replay.json.error, 'invalid_grant');
    assert.equal(replay.json.error_description, 'the authorization code was already used');
  });
});
