// End to end: one state call is all or nothing in the Durable Object (worker/entry.mjs runs
// each call inside `ctx.storage.transactionSync`). The entry module here is
// worker/entry.mjs with one more path, /__test/shard, that sends calls straight to a
// StateShard, over RPC or as POSTs through its fetch: a take whose second write fails (a
// record over the storage's row size limit) must leave the taken row as it was.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WORKER_DIR } from '../../scripts/lib/kv.mjs';
import { startServer } from './harness.mjs';

const ENTRY = JSON.stringify(join(WORKER_DIR, 'entry.mjs'));

const entry = `
import worker, { StateShard } from ${ENTRY};
export { StateShard };
export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname !== '/__test/shard') return worker.fetch(request, env, ctx);
    const url = new URL(request.url);
    const stub = env.OAUTH_STATE.getByName(url.searchParams.get('shard'));
    const rpc = (c) => stub.run(JSON.stringify(c)).then(JSON.parse, (e) => ({ error: String(e?.message ?? e) }));
    const post = async (c) => {
      const res = await stub.fetch('https://state.edge-oauth/', { method: 'POST', body: JSON.stringify(c) });
      const text = await res.text();
      return res.status === 200 ? JSON.parse(text) : { error: text, status: res.status };
    };
    const call = url.searchParams.get('via') === 'fetch' ? post : rpc;
    const steps = await request.json();
    const replies = [];
    for (const step of steps) replies.push(await call(step));
    return Response.json(replies);
  },
};
`;

describe('a state call is all or nothing', { skip: process.env.E2E_STORE === 'kv' }, () => {
  let srv;
  before(async () => { srv = await startServer({ entry }); });
  after(async () => { await srv?.stop(); });

  // Through RPC, and as a POST through the object's fetch (callers from before RPC).
  for (const via of ['rpc', 'fetch']) test(`rfc6749_4_1_2 a take whose second write fails leaves the row untaken (${via})`, async () => {
    const key = 'code:shard-test';
    const value = JSON.stringify({ client_id: 'a' });
    const take = (then) => ({
      op: 'take_if_then_put', key, value: JSON.stringify({ family_id: 'f' }), expected: value, condition: [['client_id', ['a']]], then,
    });
    const res = await fetch(`${srv.url}/__test/shard?via=${via}&shard=shard-test-${via}`, {
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
    const [put, failed, untaken, family, retried, taken] = await res.json();
    assert.equal(put.error, undefined, JSON.stringify(put));
    assert.match(failed.error ?? '', /state shard error/, `the oversized write fails: ${JSON.stringify(failed)}`);
    assert.equal(untaken.value, value, 'the row is not taken');
    assert.equal(family.value ?? null, null, 'nothing of the failed call is stored');
    assert.equal(retried.ok, true, `the take then succeeds: ${JSON.stringify(retried)}`);
    assert.equal(retried.written, true);
    assert.equal(taken.value ?? null, null, 'and the row is taken');
  });

  test('a call the object cannot read is a 400 through its fetch, with the text the worker looks for', async () => {
    const res = await fetch(`${srv.url}/__test/shard?via=fetch&shard=shard-test-malformed`, {
      method: 'POST', body: JSON.stringify([{ op: 'no_such_op', key: 'k' }]),
    });
    const [reply] = await res.json();
    assert.equal(reply.status, 400, JSON.stringify(reply));
    assert.match(reply.error, /^malformed state call/);
  });
});
