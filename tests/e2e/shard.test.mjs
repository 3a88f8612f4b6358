// End to end: one state call is all or nothing in the Durable Object (worker/entry.mjs runs
// each call inside `ctx.storage.transactionSync`). The entry module here is
// worker/entry.mjs with one more path, /__test/shard, that sends calls straight to a
// StateShard over RPC: a take whose second write fails (a record over the storage's
// row size limit) must leave the taken row as it was.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { WORKER_DIR } from '../../scripts/lib/kv.mjs';
import { startServer } from './harness.mjs';

const ENTRY = JSON.stringify(join(WORKER_DIR, 'entry.mjs'));

const entry = `
import worker, { StateShard } from ${ENTRY};
export { StateShard };
export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname !== '/__test/shard') return worker.fetch(request, env, ctx);
    const stub = env.OAUTH_STATE.getByName('shard-test');
    const call = (c) => stub.run(JSON.stringify(c)).then(JSON.parse, (e) => ({ error: String(e?.message ?? e) }));
    const steps = await request.json();
    const replies = [];
    for (const step of steps) replies.push(await call(step));
    return Response.json(replies);
  },
};
`;

describe('a state call is all or nothing', { skip: process.env.E2E_STORE === 'kv' }, () => {
  test('rfc6749_4_1_2 a take whose second write fails leaves the row untaken', async () => {
    const srv = await startServer({ entry });
    try {
      const key = 'code:shard-test';
      const value = JSON.stringify({ client_id: 'a' });
      const take = (then) => ({
        op: 'take_if_then_put', key, value: JSON.stringify({ family_id: 'f' }), expected: value, condition: [['client_id', ['a']]], then,
      });
      const res = await fetch(`${srv.url}/__test/shard`, {
        method: 'POST',
        body: JSON.stringify([
          { op: 'put', key, value, ttl: 600 },
          take({ key: 'family:shard-test', value: 'x'.repeat(3 * 1024 * 1024), ttl: 600 }),
          { op: 'get', key },
          { op: 'get', key: 'family:shard-test' },
          take({ key: 'family:shard-test', value: '{}', ttl: 600 }),
          { op: 'get', key },
        ]),
      });
      assert.equal(res.status, 200);
      const [put, failed, after, family, retried, taken] = await res.json();
      assert.equal(put.error, undefined, JSON.stringify(put));
      assert.match(failed.error ?? '', /state shard error/, `the oversized write fails: ${JSON.stringify(failed)}`);
      assert.equal(after.value, value, 'the row is not taken');
      assert.equal(family.value ?? null, null, 'nothing of the failed call is stored');
      assert.equal(retried.ok, true, `the take then succeeds: ${JSON.stringify(retried)}`);
      assert.equal(retried.written, true);
      assert.equal(taken.value ?? null, null, 'and the row is taken');
    } finally {
      await srv.stop();
    }
  });
});
