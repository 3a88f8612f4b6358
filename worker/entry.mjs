// The worker's entry module (wrangler.toml `main`): the worker-build output as it is, with
// the Durable Object class StateShard declared `extends DurableObject`. The runtime offers
// RPC only on classes with that superclass, and worker-build exports the class generated
// by `#[durable_object]` without it; with it, the worker sends each state call as one RPC
// call `stub.run(call)` (src/store/durable.rs) instead of an HTTP request through the
// stub's `fetch`. Every call still runs in the Rust object (StateShard::run_call); its
// `fetch` stays for callers from before RPC.
import { DurableObject } from 'cloudflare:workers';
import worker, { StateShard as RustStateShard } from './build/worker/shim.mjs';

export default worker;

export class StateShard extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.shard = new RustStateShard(ctx, env);
  }

  /** One state call: its JSON in, the reply's JSON out (synchronous, so one atomic step). */
  run(call) {
    return this.shard.run(call);
  }

  fetch(request) {
    return this.shard.fetch(request);
  }
}
