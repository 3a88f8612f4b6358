// Token stores: where a TokenClient keeps the session's token set, so that every tab (and
// every refresh) starts from the newest one. A store holds records
// `{ tokens, session, generation, created, spent?, replaces? }`: `session` is a random id
// minted at the sign-in, `generation` counts the refreshes since (rotated or not) and
// `created` is when the session started, so a tab keeps another tab's record only when it
// continues the session or starts a later one. `spent` lists the SHA-256 fingerprints of the refresh
// tokens spent on the way to `tokens` (newest first, at most 32), which lets a refresh of
// any of them (one that lost the race, or a token several rotations old) find the answer
// it would get instead of sending a spent token. `replaces` is the newest of them. Records
// of the earlier formats (no session; `spent`, or only `replaces`) are still read.
import { idbRequest, requireIndexedDb } from './idb.js';

/** The default store: a Map in this runtime (tabs stay in step via BroadcastChannel). */
export class MemoryTokenStore {
  #records = new Map();

  async get(key) {
    return this.#records.get(key);
  }

  async set(key, record) {
    this.#records.set(key, record);
  }

  async delete(key) {
    this.#records.delete(key);
  }
}

/**
 * A store in IndexedDB (database `edge-oauth`, object store `tokens`), shared by every tab
 * of the origin and kept across reloads. Tokens are bearer secrets (or DPoP-bound ones):
 * anything that runs script on the origin can read them, as it could read memory.
 */
export class IndexedDbTokenStore {
  constructor() {
    requireIndexedDb('IndexedDbTokenStore and DpopKey.persist');
  }

  async get(key) {
    return idbRequest('tokens', 'get', key, undefined, 'could not read the tokens');
  }

  async set(key, record) {
    await idbRequest('tokens', 'put', key, record, 'could not store the tokens');
  }

  async delete(key) {
    await idbRequest('tokens', 'delete', key, undefined, 'could not delete the tokens');
  }
}
