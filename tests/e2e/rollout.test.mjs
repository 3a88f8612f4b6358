// End to end: the worker against a Durable Object class without the RPC method `run`, as
// during a rollout when objects of the previous version still serve (worker/entry.mjs,
// src/store/durable.rs `DurableStore::call`). The worker then sends each state call as a
// POST through the object's `fetch`. The entry module here is worker/entry.mjs's fetch
// handler with a StateShard that has only `fetch`: once as a class `extends
// DurableObject` without `run`, once as the class worker-build generates (no RPC at all).
// Every state call of these flows can only have gone through the fallback.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { WORKER_DIR } from '../../scripts/lib/kv.mjs';
import { API, USER_PASSWORD, authorize, form, startServer, tokenRequest } from './harness.mjs';

const ENTRY = JSON.stringify(join(WORKER_DIR, 'entry.mjs'));
const SHIM = JSON.stringify(join(WORKER_DIR, 'build/worker/shim.mjs'));

const ENTRIES = {
  'a DurableObject class without run': `
import { DurableObject } from 'cloudflare:workers';
import { StateShard as RustStateShard } from ${SHIM};
export { default } from ${ENTRY};
export class StateShard extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.shard = new RustStateShard(ctx, env);
  }
  fetch(request) {
    return this.shard.fetch(request);
  }
}
`,
  'the class worker-build generates (no RPC)': `
export { StateShard } from ${SHIM};
export { default } from ${ENTRY};
`,
};

async function spaCode(srv) {
  const verifier = randomBytes(32).toString('base64url');
  const redirectUri = `${srv.url}/`;
  const r = await authorize(srv.url, {
    response_type: 'code', client_id: 'demo-spa', redirect_uri: redirectUri, scope: 'openid offline_access', audience: API,
    state: 's', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  }, { username: srv.tenant.user.email, password: USER_PASSWORD });
  assert.ok(r.location, `a code (${r.status})`);
  const code = new URL(r.location).searchParams.get('code');
  return form({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: 'demo-spa', code_verifier: verifier });
}

const refreshBody = (rt) => form({ grant_type: 'refresh_token', client_id: 'demo-spa', refresh_token: rt });

describe('state calls through the object\'s fetch when it has no RPC method', { skip: process.env.E2E_STORE === 'kv' }, () => {
  for (const [name, entry] of Object.entries(ENTRIES)) {
    test(`rfc6749_4_1_2 ${name}: rotation, reuse detection and code single use`, async () => {
      const srv = await startServer({ entry });
      try {
        const exchange = await spaCode(srv);
        const first = await tokenRequest(srv.url, exchange);
        assert.equal(first.status, 200, `the code exchange: ${first.text}`);
        assert.ok(first.json.refresh_token);
        const rt1 = first.json.refresh_token;
        const rotated = await tokenRequest(srv.url, refreshBody(rt1));
        assert.equal(rotated.status, 200, `the refresh: ${rotated.text}`);
        const rt2 = rotated.json.refresh_token;
        assert.ok(rt2 && rt2 !== rt1);
        const reuse = await tokenRequest(srv.url, refreshBody(rt1));
        assert.equal(reuse.json?.error, 'invalid_grant', 'the rotated token is spent');
        const revoked = await tokenRequest(srv.url, refreshBody(rt2));
        assert.equal(revoked.json?.error, 'invalid_grant', 'the reuse revoked the family');
        const again = await tokenRequest(srv.url, exchange);
        assert.equal(again.status, 400, again.text);
        assert.equal(again.json.error, 'invalid_grant', 'the code was taken');
      } finally {
        await srv.stop();
      }
    });
  }
});
