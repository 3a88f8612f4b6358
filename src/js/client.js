// TokenClient (RFC 6749 token requests, RFC 7009 revocation, RFC 9449 DPoP) and
// fetchWithDpop (RFC 9449 section 7), over the global fetch. Every protocol decision is
// the wasm core's: the request bodies, the nonce cache and when to retry, the response
// checks. This module does the I/O, and the single flight of refreshes across tabs.
import * as core from './protocol.js';
import { DpopKey, noncesOf } from './key.js';
import { MemoryTokenStore } from './store.js';
import { verifyIdToken } from './claims.js';
import { abortError, edgeError, fetchOrFail, fetchText, invalid, isObject, jwkSet, options as opts, optString, parseUrl, reqString, signalOf, subtle } from './util.js';

/**
 * The device flow (device.js), loaded on the first deviceAuthorization / pollDeviceToken:
 * a bundler puts it in a chunk of its own, which an app that never uses it does not load.
 */
const deviceFlow = () => import('./device.js');

/**
 * Auth0's device authorization endpoint for a token endpoint at `.../oauth/token`: the
 * `.../oauth/device/code` beside it. `undefined` for any other token endpoint path, where
 * a guess would be only that.
 */
function auth0DeviceEndpoint(tokenEndpoint) {
  const url = parseUrl(tokenEndpoint, 'tokenEndpoint');
  if (!url.pathname.endsWith('/oauth/token')) return undefined;
  url.pathname = `${url.pathname.slice(0, -'token'.length)}device/code`;
  url.search = '';
  url.hash = '';
  return url.href;
}

/**
 * `err`, carrying the token set the server issued before it was thrown, as `err.tokens`
 * (not enumerable: a logged error does not print the tokens), so that the caller can
 * revoke what it will not use.
 */
function withTokens(err, tokens) {
  try {
    if (isObject(err)) Object.defineProperty(err, 'tokens', { value: tokens, configurable: true, writable: true, enumerable: false });
  } catch {
    // An error that cannot take it (frozen) is thrown as it is.
  }
  return err;
}

/** Refreshes in flight in this runtime, by store key + refresh token + scope: identical calls join. */
const inflight = new Map();

/**
 * Where there is no navigator.locks, the refreshes of each store key in this runtime run
 * one after another, as the lock orders them across tabs: the last one's promise per key.
 */
const queues = new Map();
function serially(key, task) {
  const run = (queues.get(key) ?? Promise.resolve()).then(task);
  const tail = run.then(() => {}, () => {});
  queues.set(key, tail);
  tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

/**
 * base64url(SHA-256(text)): how a store record names the refresh tokens spent before it.
 * `undefined` without WebCrypto (an insecure page): refreshes then only share a flight.
 */
async function fingerprint(text) {
  if (!globalThis.crypto?.subtle) return undefined;
  return base64url(await subtle().digest('SHA-256', new TextEncoder().encode(text)));
}

function base64url(buffer) {
  let bin = '';
  for (const b of new Uint8Array(buffer)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 128 random bits, base64url: a session's id, or a refresh flight's. */
const randomId = () => base64url(globalThis.crypto.getRandomValues(new Uint8Array(16)));

/**
 * A record's session: the random id minted when the session started (a sign-in), the
 * generation (0 at the sign-in, one more per refresh, rotated or not) and when the session
 * started (ms). A record of an earlier format has none of them.
 */
const sessionIdOf = (record) => (typeof record?.session === 'string' ? record.session : undefined);
const generationOf = (record) => (Number.isSafeInteger(record?.generation) ? record.generation : 0);
const createdOf = (record) => (Number.isFinite(record?.created) ? record.created : 0);
/** A record's token set, or `undefined` when it has none that is an object (a malformed record reads as empty). */
const tokensOf = (record) => (isObject(record?.tokens) ? record.tokens : undefined);

/** How far past this runtime's clock a received record's session may have started (ms). */
const CREATED_SLACK_MS = 60_000;

/**
 * Whether a record another tab sent is well formed: a token set (an object) with an access
 * token, a refresh token that is a string if present, a session id that is a string, a
 * generation that is a non-negative integer, and a start no later than a minute from now.
 * Anything else on the channel is ignored.
 */
function wellFormed(record) {
  const tokens = tokensOf(record);
  if (tokens === undefined || typeof tokens.accessToken !== 'string') return false;
  if (tokens.refreshToken !== undefined && typeof tokens.refreshToken !== 'string') return false;
  if (record.session !== undefined && typeof record.session !== 'string') return false;
  if (record.generation !== undefined && !(Number.isSafeInteger(record.generation) && record.generation >= 0)) return false;
  if (record.created !== undefined && !(Number.isFinite(record.created) && record.created <= Date.now() + CREATED_SLACK_MS)) return false;
  return true;
}

/**
 * How long an announced refresh of another tab is remembered (ms). A tab waits for one
 * only briefly, and only once that tab no longer holds the lock (its request has ended):
 * past this time only the news of its end was lost, and the entry is dropped.
 */
const FLIGHT_TTL_MS = 35_000;
/** How long a refresh that waited for the lock waits for the previous holder's answer (ms). */
const CONTENDED_WAIT_MS = 2_000;
/**
 * How long a refresh that got the lock at once waits for the answer of a refresh another
 * tab announced (ms): that tab no longer holds the lock, so its refresh is over and only
 * the delivery of its answer can still be on the way.
 */
const ANNOUNCED_WAIT_MS = 500;

/** Errors of token requests the server answered with `200`: it issued tokens, which were refused. */
const answeredErrors = new WeakSet();

/** Errors thrown by the store itself (as opposed to this module), for `onStoreError`. */
const storeErrors = new WeakSet();

/**
 * `promise`, or `ABORTED` as soon as `signal` aborts, whichever comes first. `promise` runs
 * on either way (its rejection is handled here).
 */
function untilAborted(promise, signal) {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? abortError(signal) : err);
      },
    );
  });
}

/**
 * The `sub` of a token set's ID token: from its checked claims, else read from the ID
 * token's payload; `undefined` when the set has no ID token or it cannot be read.
 */
function subjectOf(tokens) {
  const sub = idClaimsOf(tokens)?.sub;
  return typeof sub === 'string' ? sub : undefined;
}

/**
 * The claims of a token set's ID token: its checked claims, else read from the ID token's
 * payload; `undefined` when the set has no ID token or it cannot be read.
 */
function idClaimsOf(tokens) {
  if (isObject(tokens?.idTokenClaims)) return tokens.idTokenClaims;
  if (typeof tokens?.idToken !== 'string') return undefined;
  try {
    const payload = tokens.idToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return isObject(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}

/** The record of a session that starts now (a code exchange, a device grant). */
const startSession = (tokens) => ({ tokens, session: randomId(), generation: 0, created: Date.now() });

/**
 * Whether record `a` continues the session of record `b` beyond it: the same session at a
 * later generation, or (a record of the earlier format) `b`'s refresh token is among those
 * spent on the way to `a`.
 */
async function continues(a, b) {
  const session = sessionIdOf(b);
  if (session !== undefined && sessionIdOf(a) === session) return generationOf(a) > generationOf(b);
  return supersedes(a, b);
}

/**
 * Whether record `a` should replace the stored record `b`: it continues `b`'s session
 * beyond it, or it is of a session that started later (a new sign-in). A record of the
 * earlier format (no session) gives way to a sign-in and to the records that continue it.
 */
async function newer(a, b) {
  if (b === undefined) return true;
  const [sa, sb] = [sessionIdOf(a), sessionIdOf(b)];
  if (sa !== undefined && sb !== undefined) {
    if (sa === sb) return generationOf(a) > generationOf(b);
    return createdOf(a) > createdOf(b) || (createdOf(a) === createdOf(b) && sa > sb);
  }
  if (await supersedes(a, b)) return true;
  return sa !== undefined && sb === undefined && generationOf(a) === 0;
}

/** How many session ids and fingerprints of cleared sessions a runtime remembers. */
const CLEARED_KEPT = 256;

/** Adds `ids` to the cleared set of `session` (a union, dropping the oldest past the bound). */
function addCleared(session, ids) {
  session.cleared ??= new Set();
  for (const id of ids) {
    if (typeof id !== 'string') continue;
    session.cleared.delete(id);
    session.cleared.add(id);
  }
  for (const id of session.cleared) {
    if (session.cleared.size <= CLEARED_KEPT) break;
    session.cleared.delete(id);
  }
}

/**
 * The ID token failures of a refresh's answer that do not question whom the tokens are
 * for: its times and its at_hash. The set is kept without the ID token; any other refusal
 * ends the session.
 */
const TIMING_FAILURES = new Set(['ID_TOKEN_EXPIRED', 'ID_TOKEN_IAT_IN_FUTURE', 'ID_TOKEN_NOT_YET_VALID', 'ID_TOKEN_AT_HASH_MISMATCH']);

/**
 * Remembers that the answer to the refresh token with fingerprint `refused.token` was
 * refused (with `refused.code` and `refused.message`), bounded as the cleared set is.
 */
function addRefused(session, refused) {
  if (!isObject(refused) || typeof refused.token !== 'string' || typeof refused.code !== 'string' || typeof refused.message !== 'string') return;
  session.refused ??= new Map();
  session.refused.delete(refused.token);
  session.refused.set(refused.token, { code: refused.code, message: refused.message });
  if (session.refused.size > CLEARED_KEPT) session.refused.delete(session.refused.keys().next().value);
}

/** How many fingerprints of spent refresh tokens a record carries forward. */
const SPENT_KEPT = 32;

/**
 * The fingerprints of the refresh tokens spent on the way to a record's set, newest first.
 * A record of the earlier format names only the last one, as `replaces`.
 */
function spentOf(record) {
  if (Array.isArray(record?.spent)) return record.spent.filter((id) => typeof id === 'string');
  return typeof record?.replaces === 'string' ? [record.replaces] : [];
}

/**
 * Whether record `a` is newer than record `b`: `b`'s refresh token is among those spent on
 * the way to `a`'s set.
 */
async function supersedes(a, b) {
  const token = tokensOf(b)?.refreshToken;
  return typeof token === 'string' && spentOf(a).includes(await fingerprint(token));
}

/**
 * The fingerprint that names a record's session as it stands: of its refresh token, or of
 * its access token when it has none.
 */
function currentId(record) {
  const tokens = tokensOf(record);
  const token = typeof tokens?.refreshToken === 'string' ? tokens.refreshToken : tokens?.accessToken;
  return typeof token === 'string' ? fingerprint(token) : Promise.resolve(undefined);
}

/** What names a record's session for `clearTokens`: its id, its current fingerprint and the spent ones. */
async function namesOf(record) {
  return [sessionIdOf(record), await currentId(record), ...spentOf(record)].filter((id) => id !== undefined);
}

/**
 * What this runtime knows of a store key beside the store, per store: the newest record a
 * failed write could not keep (`unsaved`; reads prefer it until the store has it or a
 * newer one, so a set the server issued is not lost with the write), and the session ids
 * and fingerprints of the sessions `clearTokens` removed, here or in another tab
 * (`cleared`: a bounded union, never shrunk by a later clear).
 */
const sessions = new WeakMap();
function sessionOf(store, key) {
  let byKey = sessions.get(store);
  if (!byKey) sessions.set(store, (byKey = new Map()));
  let session = byKey.get(key);
  if (!session) byKey.set(key, (session = {}));
  return session;
}

/** Whether a token set's access token has expired (a set without expiry never does). */
const expired = (tokens) => typeof tokens.expiresAt === 'number' && tokens.expiresAt <= Math.floor(Date.now() / 1000);

/**
 * One BroadcastChannel per store key and runtime, where there are tabs (navigator.locks)
 * to reach. Clients subscribe through a WeakRef, so a client the application drops is not
 * kept alive by the channel (an SPA may make a TokenClient per action). What a client
 * posts reaches the other tabs and the other clients of its own tab.
 */
const channels = new Map();
/** Removes a collected client's WeakRef from its channel's list. */
const collected = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry(({ handlers, ref }) => handlers.delete(ref)) : null;
function subscribe(name, handler) {
  if (typeof BroadcastChannel !== 'function' || !globalThis.navigator?.locks) return null;
  let entry = channels.get(name);
  if (!entry) {
    const channel = new BroadcastChannel(name);
    const handlers = new Set();
    channel.onmessage = (event) => {
      for (const ref of handlers) {
        const h = ref.deref();
        if (h) h(event.data);
        else handlers.delete(ref);
      }
    };
    // Node (with navigator.locks): the channel must not keep the process alive.
    channel.unref?.();
    entry = { channel, handlers };
    channels.set(name, entry);
  }
  const ref = new WeakRef(handler);
  entry.handlers.add(ref);
  collected?.register(handler, { handlers: entry.handlers, ref });
  // A channel does not hear its own messages: hand them to this runtime's other clients too.
  return {
    postMessage(data) {
      entry.channel.postMessage(data);
      for (const ref of entry.handlers) {
        const h = ref.deref();
        if (h && h !== handler) h(data);
      }
    },
  };
}

/**
 * POSTs `body` to an authorization server's `url`; with a key, a fresh proof per attempt
 * (with the key's nonce for the authorization server at that origin) and at most one
 * retry on `use_dpop_nonce` with a nonce other than the attempt's (RFC 9449 section 8).
 * A redirect is never followed (`FETCH_FAILED`): it would hand the credentials, the grant
 * and the proof to wherever it points, and take that place's answer as the server's.
 */
async function post(url, body, headers, key, signal) {
  const nonces = key ? noncesOf(key, 'as') : null;
  let retry;
  for (let attempt = 0; ; attempt++) {
    const h = { ...headers };
    let used;
    if (key) {
      used = retry ?? nonces.get(url);
      h.dpop = await key.createProof({ htm: 'POST', htu: url, nonce: used });
    }
    const { response, body: text } = await fetchText(url, { method: 'POST', headers: h, body, signal, redirect: 'error' });
    // A fetch that followed a redirect all the same (a polyfill that ignores `redirect`): not the server's answer.
    if (response.redirected) throw edgeError('FETCH_FAILED', `the HTTP request failed: ${url} answered with a redirect, which an authorization server request never follows`);
    const nonce = response.headers.get('DPoP-Nonce');
    if (nonces) nonces.remember(url, nonce);
    if (key && attempt === 0 && core.isUseDpopNonce(response.status, text, response.headers.get('WWW-Authenticate'))) {
      retry = nonces.retryNonce(url, used);
      if (retry !== undefined) continue;
    }
    return { status: response.status, text, nonce };
  }
}

/**
 * A small OAuth 2.0 client for one authorization server. With a `dpopKey` every token
 * request carries a fresh DPoP proof, the authorization server's nonces are cached per
 * origin on the key (apart from those of resource servers, even on the same origin), a
 * `use_dpop_nonce` answer is retried once, and a non-DPoP token is refused
 * (`TOKEN_TYPE_MISMATCH`). Tokens from `exchangeCode` and `refresh` go into the `store`
 * (memory by default); `refresh` is a single flight across tabs.
 */
export class TokenClient {
  #tokenEndpoint;
  #revocationEndpoint;
  #issuer;
  #authorizationEndpoint;
  #parEndpoint;
  #deviceEndpoint;
  #jwksUri;
  #metadata;
  #clientId;
  #clientSecret;
  #key;
  #store;
  #onStoreError;
  #storeKey;
  #channel;
  /** The last broadcasts heard (`{ seq, data }`), and how many were heard in all. */
  #heard = [];
  #heardCount = 0;
  #listeners = new Set();
  /** The refreshes other tabs announced and have not ended yet: flight id to the refresh token's fingerprint (`token`) and when it was heard (`at`, ms). */
  #flights = new Map();
  /** The broadcasts being applied to the store, one after another. */
  #applying = Promise.resolve();
  #receive = (data) => this.#onBroadcast(data);

  constructor(options) {
    if (!isObject(options)) throw invalid('TokenClient options must be an object');
    const tokenEndpoint = reqString(options, 'tokenEndpoint');
    const origin = core.endpointOrigin(tokenEndpoint, 'tokenEndpoint must be a string');
    const clientId = reqString(options, 'clientId');
    if (clientId === '') throw invalid('clientId must not be empty');
    const clientSecret = optString(options, 'clientSecret');
    const key = options.dpopKey;
    if (key !== undefined && key !== null && !(key instanceof DpopKey)) throw invalid('dpopKey must be a DpopKey');
    const revocation = optString(options, 'revocationEndpoint');
    if (revocation !== undefined) core.endpointOrigin(revocation, 'revocationEndpoint must be a string');
    const endpoints = {};
    for (const name of ['authorizationEndpoint', 'pushedAuthorizationRequestEndpoint', 'jwksUri']) {
      endpoints[name] = optString(options, name);
      if (endpoints[name] !== undefined) core.endpointOrigin(endpoints[name], `${name} must be a string`);
    }
    const device = optString(options, 'deviceAuthorizationEndpoint') ?? options.metadata?.deviceAuthorizationEndpoint;
    if (device !== undefined) core.endpointOrigin(device, 'deviceAuthorizationEndpoint must be a string');
    const issuer = optString(options, 'issuer');
    const metadata = options.metadata;
    if (metadata !== undefined && !isObject(metadata)) throw invalid('metadata must be the object TokenClient.discover or parseServerMetadata returned');
    const onStoreError = options.onStoreError ?? undefined;
    if (onStoreError !== undefined && typeof onStoreError !== 'function') throw invalid('onStoreError must be a function');
    const store = options.store ?? new MemoryTokenStore();
    if (!isObject(store) || typeof store.get !== 'function' || typeof store.set !== 'function' || typeof store.delete !== 'function') {
      throw invalid('store must have get, set and delete');
    }
    this.#tokenEndpoint = tokenEndpoint;
    this.#revocationEndpoint = revocation ?? `${origin}/oauth/revoke`;
    this.#issuer = issuer ?? metadata?.issuer;
    this.#authorizationEndpoint = endpoints.authorizationEndpoint;
    this.#parEndpoint = endpoints.pushedAuthorizationRequestEndpoint;
    // Without metadata, Auth0's path beside the token endpoint; metadata without one
    // means the server has none.
    this.#deviceEndpoint = device ?? (metadata === undefined ? auth0DeviceEndpoint(tokenEndpoint) : undefined);
    this.#jwksUri = endpoints.jwksUri;
    this.#metadata = metadata;
    this.#clientId = clientId;
    this.#clientSecret = clientSecret;
    this.#key = key ?? undefined;
    this.#store = store;
    this.#onStoreError = onStoreError ?? ((error) => console.warn('edge-oauth: the token store failed; this runtime keeps the tokens until a write succeeds', error));
    this.#storeKey = optString(options, 'storeKey') ?? `${origin} ${clientId}`;
    this.#channel = subscribe(`edge-oauth:tokens:${this.#storeKey}`, this.#receive);
  }

  /**
   * Reads the server's metadata (OIDC Discovery, then RFC 8414) for `issuer`, strictly:
   * its `issuer` must equal the one asked for (METADATA_ISSUER_MISMATCH), and returns a
   * client with every endpoint filled in. `options` are the other TokenClient options. An
   * insecure issuer is refused before any fetch (URL_INSECURE); RFC 8414 is tried when
   * the OIDC location answers other than 200, or not at all.
   */
  static async discover(issuer, options) {
    return (await import('./discover.js')).discover(TokenClient, issuer, options);
  }

  /** The issuer identifier (from `discover` or the `issuer` option), if known. */
  get issuer() {
    return this.#issuer;
  }

  /** The server metadata `discover` read, if any. */
  get metadata() {
    return this.#metadata;
  }

  /** The authorization endpoint URL, if known. */
  get authorizationEndpoint() {
    return this.#authorizationEndpoint;
  }

  /** The RFC 9126 pushed authorization request endpoint URL, if known. */
  get pushedAuthorizationRequestEndpoint() {
    return this.#parEndpoint;
  }

  /**
   * The RFC 8628 device authorization endpoint: the option, the metadata's, or (without
   * metadata) Auth0's `.../oauth/device/code` beside a `.../oauth/token` endpoint.
   */
  get deviceAuthorizationEndpoint() {
    return this.#deviceEndpoint;
  }

  /** The token endpoint URL. */
  get tokenEndpoint() {
    return this.#tokenEndpoint;
  }

  /** The revocation endpoint URL (the option, or `<origin>/oauth/revoke`). */
  get revocationEndpoint() {
    return this.#revocationEndpoint;
  }

  /** The key the store keeps this client's token set under. */
  get storeKey() {
    return this.#storeKey;
  }

  /** `client_id` goes in the body only for public clients (RFC 6749 section 2.3.1). */
  get #bodyClientId() {
    return this.#clientSecret === undefined ? this.#clientId : undefined;
  }

  #headers() {
    const h = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (this.#clientSecret !== undefined) h.authorization = core.basicCredentials(this.#clientId, this.#clientSecret);
    return h;
  }

  /**
   * One token request, and its checked answer. A `200` the core refuses (a `Bearer` token
   * for a DPoP client: `TOKEN_TYPE_MISMATCH`, with the refused set as `err.tokens`) is an
   * answer all the same: the server may have spent what the request carried.
   */
  async #tokenRequest(body, signal) {
    const answer = await post(this.#tokenEndpoint, body, this.#headers(), this.#key, signal);
    try {
      return core.tokenResponse(answer.status, answer.text, answer.nonce, this.#key !== undefined);
    } catch (err) {
      if (answer.status === 200 && isObject(err)) answeredErrors.add(err);
      throw err;
    }
  }

  /**
   * Keeps a token set the server issued: in the store, and in every tab. A store that
   * fails (IndexedDB: STORAGE_FAILED) loses nothing: the failure goes to `onStoreError`,
   * this runtime keeps the record until a write succeeds, and the other tabs still get it.
   * `flight` names the refresh the record answers, for the tabs that wait for it.
   */
  async #save(record, flight) {
    await this.#write(record);
    this.#channel?.postMessage(flight === undefined ? { record } : { record, flight });
  }

  /**
   * Whether a record is of a session that was cleared: a record with a session id by that
   * id alone (a new sign-in may well bring the same refresh token again), a record of the
   * earlier format by its tokens or the ones spent before them.
   */
  async #ofCleared(record) {
    const session = sessionIdOf(record);
    return this.#anyCleared(session !== undefined ? [session] : await namesOf(record));
  }

  /** Whether any of `ids` names a cleared session. */
  #anyCleared(ids) {
    const cleared = sessionOf(this.#store, this.#storeKey).cleared;
    return cleared !== undefined && ids.some((id) => id !== undefined && cleared.has(id));
  }

  /** Stores the record of a new sign-in: its names leave the cleared set, and every tab gets it. */
  async #signedIn(tokens) {
    const record = startSession(tokens);
    const state = sessionOf(this.#store, this.#storeKey);
    for (const id of await namesOf(record)) {
      state.cleared?.delete(id);
      state.refused?.delete(id);
    }
    await this.#save(record);
  }

  /** Hands a store failure to `onStoreError`, always as an EdgeOAuthError (STORAGE_FAILED unless it is one). */
  #report(err, what) {
    const error = err?.name === 'EdgeOAuthError' && typeof err.code === 'string' ? err : edgeError('STORAGE_FAILED', `the token store failed: ${what}`, err);
    try {
      this.#onStoreError(error);
    } catch {
      // The tokens matter more than the report.
    }
  }

  /** Writes a record to the store; a failure is reported, and the record kept in this runtime. */
  async #write(record) {
    const session = sessionOf(this.#store, this.#storeKey);
    try {
      await this.#store.set(this.#storeKey, record);
    } catch (err) {
      session.unsaved = record;
      this.#report(err, 'could not store the tokens');
      return;
    }
    // The store is up to date now, unless a record left by a failed write is newer still.
    const unsaved = session.unsaved;
    if (unsaved === undefined || (unsaved !== record && (await newer(unsaved, record)))) return;
    if (session.unsaved === unsaved) session.unsaved = undefined;
  }

  /** The newest record of this store key: the store's, or the one a failed write left here. */
  async #read() {
    let stored;
    try {
      stored = await this.#store.get(this.#storeKey);
    } catch (err) {
      if (isObject(err)) storeErrors.add(err);
      throw err;
    }
    // A malformed record (not an object) reads as none.
    if (!isObject(stored)) stored = undefined;
    const session = sessionOf(this.#store, this.#storeKey);
    const unsaved = session.unsaved;
    if (unsaved === undefined) return stored;
    if (stored === undefined) return unsaved;
    if (tokensOf(stored)?.accessToken === unsaved.tokens.accessToken || (await newer(stored, unsaved))) {
      // The store has caught up (another tab wrote it there, or something newer).
      if (session.unsaved === unsaved) session.unsaved = undefined;
      return stored;
    }
    return unsaved;
  }

  /** Removes the stored record (and the one a failed write left here) if it is of a cleared session. */
  async #dropCleared() {
    const session = sessionOf(this.#store, this.#storeKey);
    if (session.unsaved !== undefined && (await this.#ofCleared(session.unsaved))) session.unsaved = undefined;
    const current = await this.#read();
    if (current === undefined || !(await this.#ofCleared(current))) return;
    // Its newest tokens are of the cleared session too: a refresh of them is not kept either.
    addCleared(session, await namesOf(current));
    session.unsaved = undefined;
    try {
      await this.#store.delete(this.#storeKey);
    } catch (err) {
      this.#report(err, 'could not delete the tokens');
    }
  }

  /**
   * Another tab (or another client of this one) stored a token set: keep it if it is newer
   * than ours, and wake a refresh that waits for it. Or it cleared a session: drop ours if
   * it is that one. Or it started a refresh (`refreshing`, `flight`) or ended one. Broadcasts
   * are applied in the order they arrive; a store failure on the way goes to `onStoreError`.
   */
  #onBroadcast(data) {
    if (!isObject(data)) return;
    const record = wellFormed(data.record) ? data.record : undefined;
    // What is heard is only what is well formed.
    if (data.record !== record) data = { ...data, record };
    const apply = (task, what) => {
      this.#applying = this.#applying.then(task).catch((err) => {
        // A store's failure goes to onStoreError; anything else is not the store's.
        if (storeErrors.has(err) || err?.code === 'STORAGE_FAILED') this.#report(err, what);
        else console.error(`edge-oauth: ${what}`, err);
      });
    };
    if (record !== undefined) apply(() => this.#accept(record), "could not keep another tab's tokens");
    // Before the flight's end wakes a waiting refresh: its token may be the refused one.
    if (data.refused !== undefined) addRefused(sessionOf(this.#store, this.#storeKey), data.refused);
    if (Array.isArray(data.cleared)) apply(() => this.#drop(data.cleared), 'could not drop the session another tab cleared');
    if (typeof data.flight === 'string') {
      if (typeof data.refreshing === 'string') {
        this.#flights.set(data.flight, { token: data.refreshing, at: Date.now() });
        // Only the last few matter: a flight ends within a request's time.
        if (this.#flights.size > 16) this.#flights.delete(this.#flights.keys().next().value);
      } else {
        this.#flights.delete(data.flight);
      }
    }
    if (typeof data.failed === 'string' || record !== undefined || (typeof data.flight === 'string' && data.refreshing === undefined)) {
      this.#heard.push({ seq: ++this.#heardCount, data });
      // Only the last few answers matter (a refresh waits for one at most 2 s, or 0.5 s).
      if (this.#heard.length > 16) this.#heard.shift();
      for (const listener of this.#listeners) listener(data);
    }
  }

  /**
   * Keeps another tab's record when it is newer than the stored one (the same session at
   * a later generation, or a session that started later), or when there is none; never
   * one of a cleared session. A late broadcast thus never overwrites a newer set, and a
   * new sign-in reaches every tab.
   */
  async #accept(record) {
    if (await this.#ofCleared(record)) return;
    const current = await this.#read();
    if (await newer(record, current)) await this.#write(record);
  }

  /** Another tab cleared the sessions named by `ids`: remember them, and drop ours if it is one. */
  async #drop(ids) {
    addCleared(sessionOf(this.#store, this.#storeKey), ids);
    await this.#dropCleared();
  }

  /** The token set in the store (the newest of every tab), or `undefined`. */
  async getTokens() {
    await this.#applying;
    return tokensOf(await this.#read());
  }

  /**
   * Removes the token set from the store (e.g. at sign-out), and from every tab: the
   * others drop its session as well, and no tab takes it back from a refresh of it still
   * under way. A store that cannot be read is still cleared; the failure goes to
   * `onStoreError`.
   */
  async clearTokens() {
    await this.#applying;
    const session = sessionOf(this.#store, this.#storeKey);
    let current;
    try {
      current = await this.#read();
    } catch (err) {
      current = session.unsaved;
      this.#report(err, 'could not read the tokens to clear');
    }
    const ids = current === undefined ? [] : await namesOf(current);
    session.unsaved = undefined;
    addCleared(session, ids);
    try {
      await this.#store.delete(this.#storeKey);
    } finally {
      this.#channel?.postMessage({ cleared: ids });
    }
  }

  #requireEndpoint(value, name) {
    if (value === undefined) throw invalid(`${name} is not known: pass it to the TokenClient or use TokenClient.discover`);
    return value;
  }

  /** The authorization URL for `params` (`buildAuthorizationUrl` with this client's endpoint and id). */
  authorizationUrl(params) {
    if (!isObject(params)) throw invalid('authorizationUrl params must be an object');
    return core.buildAuthorizationUrl({
      ...params,
      authorizationEndpoint: this.#requireEndpoint(this.#authorizationEndpoint, 'authorizationEndpoint'),
      clientId: this.#clientId,
    });
  }

  /**
   * Pushes the authorization request (RFC 9126) with this client's authentication and,
   * with a key, a DPoP proof (RFC 9449 section 10.1). Resolves to the `request_uri`, its
   * lifetime, and the authorization URL that carries it.
   */
  async pushAuthorizationRequest(params) {
    if (!isObject(params)) throw invalid('pushAuthorizationRequest params must be an object');
    const endpoint = this.#requireEndpoint(this.#parEndpoint, 'pushedAuthorizationRequestEndpoint');
    const body = core.buildParRequestBody({ ...params, clientId: this.#clientId });
    const answer = await post(endpoint, body, this.#headers(), this.#key);
    let par;
    try {
      par = core.parseParResponse(answer.status, answer.text);
    } catch (err) {
      if (err.code === 'OAUTH_ERROR' && typeof answer.nonce === 'string') err.dpopNonce = answer.nonce;
      throw err;
    }
    if (this.#authorizationEndpoint !== undefined) {
      par.authorizationUrl = core.buildAuthorizationUrl({ authorizationEndpoint: this.#authorizationEndpoint, clientId: this.#clientId, requestUri: par.requestUri });
    }
    return par;
  }

  /**
   * Checks the URL the browser came back with (`parseAuthorizationResponse`), with this
   * client's issuer and the metadata's `authorization_response_iss_parameter_supported`.
   * An `issuer` option that is `undefined` or `null` is the client's, and on a client that
   * knows its issuer any other is `ARGUMENT_INVALID`; `issParameterSupported`
   * can require `iss` where the metadata does not, but never lifts what it advertises.
   */
  parseAuthorizationResponse(url, options) {
    if (!isObject(options)) throw invalid('parseAuthorizationResponse options must be an object');
    // Each member once: a copy, whose absent members are then the client's.
    const o = { ...options };
    const advertised = this.#metadata?.authorizationResponseIssParameterSupported ?? false;
    const own = o.issParameterSupported ?? undefined;
    // A client that knows its issuer takes no other (RFC 9207 §2.4: a mix-up).
    if (this.#issuer !== undefined && o.issuer !== undefined && o.issuer !== null && o.issuer !== this.#issuer) {
      throw invalid("issuer must be the client's own issuer (or be left out)");
    }
    o.issuer = o.issuer ?? this.#issuer;
    o.issParameterSupported = own === undefined || (own === false && advertised === true) ? advertised : own;
    return core.parseAuthorizationResponse(url, o);
  }

  /**
   * Exchanges an authorization code (with its PKCE verifier) for tokens, and stores them.
   * When the answer carries an ID token and the client knows its issuer, the ID token's
   * claims are checked (`validateIdTokenClaims`: iss, aud, azp, exp, iat, nonce, at_hash,
   * auth_time) and returned as `idTokenClaims`; with `verifySignature` its signature
   * (RS256, PS256 or ES256, through WebCrypto: `verifyIdToken`) is checked against the
   * issuer's JWKS (`jwks`, or fetched from `jwks_uri`). The code is single use, so the
   * options are checked before it is sent: `maxAge`, `jwks`, and the issuer (or `jwksUri`)
   * that `nonce`, `maxAge` and `verifySignature` need. A failure after the answer (an ID
   * token check, the JWKS fetch) stores nothing and carries the token set as `err.tokens`,
   * for the caller to revoke.
   */
  async exchangeCode(options) {
    if (!isObject(options)) throw invalid('exchangeCode options must be an object');
    const body = core.authorizationCodeGrantBody({
      code: reqString(options, 'code'),
      redirectUri: reqString(options, 'redirectUri'),
      codeVerifier: reqString(options, 'codeVerifier'),
      clientId: this.#bodyClientId,
    });
    // The code is single use: everything that needs no answer is checked before it is sent.
    const nonce = optString(options, 'nonce');
    const maxAge = options.maxAge ?? undefined;
    if (maxAge !== undefined && !(Number.isSafeInteger(maxAge) && maxAge >= 0)) throw invalid('maxAge must be a non-negative integer');
    const verifySignature = Boolean(options.verifySignature);
    if ((nonce !== undefined || maxAge !== undefined || verifySignature) && this.#issuer === undefined) {
      throw invalid('checking the ID token needs the issuer: pass issuer to the TokenClient or use TokenClient.discover');
    }
    const jwks = verifySignature ? this.#jwksOption(options.jwks) : undefined;
    const tokens = await this.#tokenRequest(body);
    try {
      if (tokens.idToken !== undefined && this.#issuer !== undefined) {
        const check = {
          issuer: this.#issuer,
          clientId: this.#clientId,
          nonce,
          accessToken: tokens.accessToken,
          maxAge,
        };
        tokens.idTokenClaims = verifySignature
          ? await verifyIdToken(tokens.idToken, { ...check, jwks: jwks ?? (await this.#fetchJwks()) })
          : core.validateClaims(tokens.idToken, check);
      } else if (nonce !== undefined || maxAge !== undefined) {
        // OIDC Core §3.1.3.7: the nonce and auth_time checks need the ID token.
        throw edgeError('TOKEN_RESPONSE_INVALID', `invalid token response: id_token is missing, but ${nonce !== undefined ? 'a nonce' : 'max_age'} was sent`);
      }
    } catch (err) {
      throw withTokens(err, tokens);
    }
    await this.#signedIn(tokens);
    return tokens;
  }

  /**
   * The `jwks` option of a call that verifies an ID token's signature, as a JWK Set; or
   * `undefined` when the JWKS is to be fetched, which needs a known `jwksUri`.
   */
  #jwksOption(value) {
    if (value === undefined || value === null) {
      this.#requireEndpoint(this.#jwksUri, 'jwksUri');
      return undefined;
    }
    return jwkSet(value, (why) => invalid(`jwks must be ${why}`));
  }

  async #fetchJwks() {
    const url = this.#requireEndpoint(this.#jwksUri, 'jwksUri');
    const { response, body } = await fetchText(url, { headers: { accept: 'application/json' } });
    if (response.status !== 200) throw edgeError('ID_TOKEN_KEY_NOT_FOUND', `the ID token's key could not be found: the JWKS at ${url} answered ${response.status}`);
    // The server's document, not an argument: a bad one is the server's fault.
    return jwkSet(body, (why) => edgeError('ID_TOKEN_KEY_NOT_FOUND', `the ID token's key could not be found: the document at ${url} is not ${why}`));
  }

  /**
   * Uses a refresh token, once across tabs: concurrent refreshes of one refresh token (in
   * this runtime, or in tabs that share navigator.locks) send one request, and all
   * resolve to its token set. Refreshes of one store key run one at a time (the lock, or
   * in its absence a queue in this runtime), so one with another scope finds the token
   * spent and uses the newest. `options.signal` rejects the call (`ABORTED`) at once,
   * also while it waits for the lock, the queue or another tab's answer; before the
   * request is sent nothing is sent, and once it is sent it is never aborted: the server
   * spends the refresh token as it answers, so the request runs to its end (holding the
   * lock) and its answer is stored and handed to the other tabs as if nobody had aborted.
   * No timeout of its own ends the request: one that never answers holds the lock until
   * the runtime's network timeout ends it. When the client knows its issuer, an ID token
   * in the answer is checked (OIDC Core §12.2) and returned as `idTokenClaims`. One refused
   * for its times or its at_hash is dropped, and the set stored without it; one refused
   * for anything else ends the session everywhere (the server spent the refresh token:
   * no tab may send it again) and rejects the call with the set as `err.tokens`. Without an issuer
   * an ID token is returned unchecked.
   */
  async refresh(refreshToken, options) {
    if (typeof refreshToken !== 'string') throw invalid('refreshToken must be a string');
    const o = opts(options, 'refresh options must be an object');
    const scope = optString(o, 'scope');
    const signal = signalOf(o);
    if (signal?.aborted) throw abortError(signal);
    const body = core.refreshTokenGrantBody({ refreshToken, scope, clientId: this.#bodyClientId });
    // A call with a signal of its own is its own flight: its abort must not end the others'.
    if (signal !== undefined) return this.#refreshOnce(refreshToken, body, scope, signal);
    const flight = `${this.#storeKey}\n${scope ?? ''}\n${refreshToken}`;
    let pending = inflight.get(flight);
    if (!pending) {
      pending = this.#refreshOnce(refreshToken, body, scope).finally(() => inflight.delete(flight));
      inflight.set(flight, pending);
    }
    return pending;
  }

  async #refreshOnce(refreshToken, body, scope, signal) {
    // Broadcasts heard from now on may answer this refresh; older ones are about earlier ones.
    const since = this.#heardCount;
    // The record this refresh token is the newest token of, as the call finds it: an answer
    // of the same session at a later generation answers this call (rotated or not).
    await this.#applying;
    const known = await this.#read();
    const from = known?.tokens?.refreshToken === refreshToken ? known : undefined;
    if (signal?.aborted) throw abortError(signal);
    const run = (contended) => this.#refreshLocked(refreshToken, body, scope, { contended, since, from, signal });
    const locks = globalThis.navigator?.locks;
    // The lock (or the queue) is held until the refresh ends, even after an aborted caller stopped waiting.
    const work = locks ? this.#lockedRun(locks, run, signal) : serially(this.#storeKey, () => run(false));
    return signal ? untilAborted(work, signal) : work;
  }

  async #lockedRun(locks, run, signal) {
    const name = `edge-oauth:refresh:${this.#storeKey}`;
    const first = await locks.request(name, { ifAvailable: true }, async (lock) => (lock ? { tokens: await run(false) } : null));
    if (first) return first.tokens;
    // Another tab holds the lock: it is refreshing. Take the lock after it and use its answer.
    // An abort while waiting for the lock leaves the queue for it.
    return (await locks.request(name, signal ? { signal } : {}, async () => ({ tokens: await run(true) }))).tokens;
  }

  /**
   * The refresh, while no other refresh of this store key runs (in this tab, or in any
   * tab that shares navigator.locks). A refresh token that is spent already (one or more
   * rotations ago, here or in another tab) is never sent again: the call resolves to the
   * newest set, or refreshes that set with its own refresh token when its access token
   * has expired or a narrower scope is asked for. The answer is stored (and handed to the
   * other tabs) only when it continues the stored session, or the store is empty, and
   * never when its session was cleared.
   */
  async #refreshLocked(refreshToken, body, scope, how) {
    // A call aborted while it waited for the lock or the queue sends nothing.
    if (how.signal?.aborted) throw abortError(how.signal);
    const id = await fingerprint(refreshToken);
    let token = refreshToken;
    let tokenId = id;
    let done = await this.#replacement(id, refreshToken, how);
    // The token to send is the newest set's: it may have been sent (or announced) already
    // too, so it is checked as the first one was, until a set answers the call.
    while (done) {
      if (scope === undefined && !expired(done.tokens)) return done.tokens;
      if (done.tokens.refreshToken === token) break;
      token = done.tokens.refreshToken;
      tokenId = await fingerprint(token);
      const again = await this.#replacement(tokenId, token, { ...how, from: done });
      if (!again) break;
      done = again;
    }
    let base = done;
    const stored = await this.#read();
    if (done) {
      body = core.refreshTokenGrantBody({ refreshToken: token, scope, clientId: this.#bodyClientId });
    } else if (tokensOf(stored)?.refreshToken === refreshToken) {
      base = stored;
    }
    // A token that is not the stored record's is of another session: its answer is returned, not kept.
    const orphan = base === undefined && stored !== undefined;
    // A token whose answer was refused (here or in another tab) is spent: it is never sent again.
    const refused = tokenId === undefined ? undefined : sessionOf(this.#store, this.#storeKey).refused?.get(tokenId);
    if (refused !== undefined) {
      throw edgeError(refused.code, `${refused.message} (the answer to this refresh token was refused and its session ended: sign in again)`);
    }
    // Tabs that take the lock before this answer reaches them wait for it instead of sending the token.
    // The last moment an abort keeps the token unsent.
    if (how.signal?.aborted) throw abortError(how.signal);
    const flight = this.#channel ? randomId() : undefined;
    this.#channel?.postMessage({ refreshing: tokenId, flight });
    let tokens;
    // Sent, the request is never aborted (not by the caller's signal, not by a timeout):
    // the server spends the token as it answers, and only its answer holds the new one.
    try {
      tokens = await this.#tokenRequest(body);
    } catch (err) {
      if (answeredErrors.has(err)) {
        // The server answered 200, so it spent the token, but the answer is refused: the session ends.
        await this.#endSession(base, tokenId, flight, err);
        throw err;
      }
      // No answer can come (a network error, an error status): the token may be sent again.
      this.#channel?.postMessage({ failed: tokenId, flight });
      throw err;
    }
    try {
      this.#checkRefreshedIdToken(tokens, base);
    } catch (err) {
      if (!TIMING_FAILURES.has(err?.code)) {
        // The answer is not for this session's user, or not from its server: the server spent
        // the token, so the session ends everywhere (no tab sends it again), as clearTokens ends it.
        await this.#endSession(base, tokenId, flight, err);
        throw withTokens(err, tokens);
      }
      // Only its times or its at_hash are wrong (clock skew, a server's bug): the set is
      // kept without the ID token, which is not carried over from the previous set either.
      tokens.idToken = undefined;
      delete tokens.idTokenClaims;
    }
    try {
      await this.#keep(tokens, token, tokenId, base, orphan, flight);
    } catch (err) {
      this.#channel?.postMessage({ flight });
      this.#report(err, 'could not store the tokens');
    }
    return tokens;
  }

  /**
   * Ends the session a refresh continued (record `base`; none for a token that was not
   * stored) because its answer was refused (`err`): its names join the cleared set, its
   * record leaves the store, and every tab hears both, as after `clearTokens`. The spent
   * token (fingerprint `tokenId`) is remembered as refused, in every tab, so that a refresh
   * of it is refused with `err`'s code before anything is sent, and the tabs that wait for
   * the flight hear that it is over.
   */
  async #endSession(base, tokenId, flight, err) {
    const state = sessionOf(this.#store, this.#storeKey);
    const ids = [...(base === undefined ? [] : await namesOf(base)), tokenId].filter((id) => id !== undefined);
    const refused = tokenId === undefined ? undefined : { token: tokenId, code: String(err?.code), message: String(err?.message) };
    if (refused !== undefined) addRefused(state, refused);
    addCleared(state, ids);
    try {
      await this.#dropCleared();
    } catch (e) {
      this.#report(e, 'could not delete the tokens');
    }
    this.#channel?.postMessage({ cleared: ids, refused, flight });
  }

  /**
   * The ID token of a refresh's answer (OIDC Core §12.2), when the client knows its issuer:
   * its claims are checked as the code exchange checks them (iss, aud, azp, exp, iat,
   * at_hash; no nonce is required); its `sub`, its `nonce` if present and its `auth_time`
   * when both have one must be those of the ID token of the record the refresh continues
   * (`base`) when that has one; and the claims are returned as
   * `idTokenClaims`. Without an issuer nothing can be checked: the ID token is returned as
   * it came.
   */
  #checkRefreshedIdToken(tokens, base) {
    if (tokens.idToken === undefined || this.#issuer === undefined) return;
    const claims = core.validateClaims(tokens.idToken, { issuer: this.#issuer, clientId: this.#clientId, accessToken: tokens.accessToken });
    const sub = subjectOf(tokensOf(base));
    if (sub !== undefined && claims.sub !== sub) {
      throw edgeError('ID_TOKEN_CLAIM_INVALID', 'invalid ID token: sub is not the sub of the ID token of the session it refreshes');
    }
    const original = idClaimsOf(tokensOf(base));
    // OIDC Core §12.2: a nonce, if present, is the original's; auth_time is the original's.
    if (original !== undefined && claims.nonce !== undefined && claims.nonce !== original.nonce) {
      throw edgeError('ID_TOKEN_NONCE_MISMATCH', 'invalid ID token: nonce is not the nonce of the ID token of the session it refreshes');
    }
    if (original?.auth_time !== undefined && claims.auth_time !== undefined && claims.auth_time !== original.auth_time) {
      throw edgeError('ID_TOKEN_CLAIM_INVALID', 'invalid ID token: auth_time is not the auth_time of the ID token of the session it refreshes');
    }
    tokens.idTokenClaims = claims;
  }

  /** Stores (and hands to the other tabs) the answer to a refresh of `token` from record `base`, if it may be. */
  async #keep(tokens, token, tokenId, base, orphan, flight) {
    // A server that does not rotate leaves the refresh token as it was: keep it, unspent.
    const kept = tokens.refreshToken === undefined ? { ...tokens, refreshToken: token } : tokens;
    let spent = spentOf(base);
    if (kept.refreshToken !== token && tokenId !== undefined) spent = [tokenId, ...spent.filter((s) => s !== tokenId)];
    spent = spent.slice(0, SPENT_KEPT);
    const session = sessionIdOf(base);
    const next = {
      tokens: kept,
      session: session ?? randomId(),
      generation: session === undefined ? 0 : generationOf(base) + 1,
      created: session === undefined ? Date.now() : createdOf(base),
    };
    // `spent` and `replaces` (the newest spent token) are also for tabs of the earlier formats.
    if (spent.length > 0) Object.assign(next, { spent, replaces: spent[0] });
    const state = sessionOf(this.#store, this.#storeKey);
    // A session is named by its id; one of the earlier format (no id) by its tokens.
    const names = session !== undefined ? [session] : [tokenId, ...(await namesOf({ ...next, session: undefined }))];
    if (this.#anyCleared(names)) {
      // A refresh of a signed-out session: neither stored nor handed on, and its tokens stay signed out.
      addCleared(state, await namesOf(next));
      await this.#dropCleared();
      this.#channel?.postMessage({ flight });
      return;
    }
    const current = await this.#read();
    // A record of the earlier format whose refresh token was just sent is continued by the answer, rotated or not.
    const sent = current !== undefined && sessionIdOf(current) === undefined && tokensOf(current)?.refreshToken === token;
    if (current === undefined ? orphan : !(sent || (await continues(next, current)))) {
      this.#channel?.postMessage({ flight });
      return;
    }
    await this.#save(next, flight);
  }

  /**
   * The newest record whose token set a refresh of `refreshToken` (fingerprint `id`)
   * already led to: in the store, or in a broadcast heard since the refresh started
   * (`how.since`): one that spent it, or of its record's session (`how.from`) at a later
   * generation. After waiting for another tab (`how.contended`), or when another tab
   * announced a refresh of this token that has not ended, the answer may still be on its
   * way: wait for it a little, unless the store (IndexedDB) has it already.
   */
  async #replacement(id, refreshToken, how) {
    await this.#applying;
    const from = sessionIdOf(how.from);
    const answers = (record) => isObject(record?.tokens) && typeof record.tokens.refreshToken === 'string'
      && ((from !== undefined && sessionIdOf(record) === from && generationOf(record) > generationOf(how.from))
        || (id !== undefined && record.tokens.refreshToken !== refreshToken && spentOf(record).includes(id)));
    const stored = await this.#read();
    const found = [stored, ...this.#heard.filter((h) => h.seq > how.since).map((h) => h.data.record)].filter(answers);
    // An announced flight past its time to live has ended, whether or not its end was heard.
    for (const [flight, { at }] of this.#flights) if (Date.now() - at > FLIGHT_TTL_MS) this.#flights.delete(flight);
    const announced = new Set([...this.#flights].filter(([, { token }]) => token === id).map(([flight]) => flight));
    if (found.length === 0 && this.#channel && (how.contended || announced.size > 0) && (id !== undefined || from !== undefined)) {
      const data = await new Promise((resolve) => {
        const listener = (heard) => {
          if (answers(heard.record) || (id !== undefined && (heard.failed === id || spentOf(heard.record).includes(id))) || announced.has(heard.flight)) finish(heard);
        };
        // Under the lock, another tab's refresh is over: only its answer may be on the way.
        const timer = setTimeout(() => finish(undefined), how.contended ? CONTENDED_WAIT_MS : ANNOUNCED_WAIT_MS);
        // The caller's abort ends its wait (and the refresh, before anything is sent).
        const onAbort = () => finish(undefined, true);
        const finish = (heard, aborted = false) => {
          clearTimeout(timer);
          this.#listeners.delete(listener);
          how.signal?.removeEventListener('abort', onAbort);
          // Whatever else ended the wait, the flights it waited for are over.
          if (!aborted) for (const flight of announced) this.#flights.delete(flight);
          resolve(heard);
        };
        this.#listeners.add(listener);
        if (how.signal?.aborted) onAbort();
        else how.signal?.addEventListener('abort', onAbort, { once: true });
      });
      // The answer is applied to the store by now, unless it was not newer than ours.
      await this.#applying;
      if (answers(data?.record)) found.push(data.record);
    }
    // Of two answers, the newer one continues the other's session beyond it.
    let newest = found[0];
    for (const record of found.slice(1)) {
      if (await continues(record, newest)) newest = record;
    }
    return newest;
  }

  /**
   * Starts the device authorization grant (RFC 8628 §3.1, §3.2): POSTs `scope`, `audience`
   * and `resource` to the device authorization endpoint with this client's authentication,
   * and resolves to the strictly checked answer: the `userCode` and `verificationUri` to
   * show, and what `pollDeviceToken` needs. `signal` cancels the request (`ABORTED`).
   */
  async deviceAuthorization(options) {
    const endpoint = this.#deviceEndpoint;
    if (endpoint === undefined) {
      throw invalid(this.#metadata === undefined
        ? 'deviceAuthorizationEndpoint is not known: pass it to the TokenClient or use TokenClient.discover'
        : "deviceAuthorizationEndpoint is not known: the server's metadata has no device_authorization_endpoint");
    }
    const { requestDeviceAuthorization } = await deviceFlow();
    return requestDeviceAuthorization(options, this.#bodyClientId, (body, signal) => post(endpoint, body, this.#headers(), undefined, signal));
  }

  /**
   * Polls the token endpoint until the user approves the device authorization (RFC 8628
   * §3.4, §3.5), then stores the tokens and resolves to them, as `exchangeCode` does (ID
   * token claims checked when the client knows its issuer; `verifySignature` and `jwks`
   * as there). Waits `interval` seconds between polls, 5 s more after each `slow_down`;
   * `onPending` hears each `authorization_pending` / `slow_down`. Rejects with
   * `OAUTH_ERROR` (`access_denied`, `expired_token`, ...), `DEVICE_CODE_EXPIRED`, or
   * `ABORTED` as soon as `signal` aborts. With a `dpopKey`, every poll carries a proof.
   */
  async pollDeviceToken(authorization, options) {
    const o = opts(options, 'pollDeviceToken options must be an object');
    const verifySignature = Boolean(o.verifySignature);
    if (verifySignature && this.#issuer === undefined) {
      throw invalid('checking the ID token needs the issuer: pass issuer to the TokenClient or use TokenClient.discover');
    }
    const jwks = verifySignature ? this.#jwksOption(o.jwks) : undefined;
    const { pollDeviceToken } = await deviceFlow();
    return pollDeviceToken(authorization, o, {
      clientId: this.#bodyClientId,
      request: (body, signal) => this.#tokenRequest(body, signal),
      finish: async (tokens) => {
        try {
          if (tokens.idToken !== undefined && this.#issuer !== undefined) {
            const check = { issuer: this.#issuer, clientId: this.#clientId, accessToken: tokens.accessToken };
            tokens.idTokenClaims = verifySignature
              ? await verifyIdToken(tokens.idToken, { ...check, jwks: jwks ?? (await this.#fetchJwks()) })
              : core.validateClaims(tokens.idToken, check);
          }
        } catch (err) {
          throw withTokens(err, tokens);
        }
        await this.#signedIn(tokens);
        return tokens;
      },
    });
  }

  /** Requests a token for the client itself (`client_credentials`). Not stored. */
  async clientCredentials(options) {
    const o = opts(options, 'clientCredentials options must be an object');
    const body = core.clientCredentialsGrantBody({
      audience: optString(o, 'audience'),
      resource: optString(o, 'resource'),
      organization: optString(o, 'organization'),
      scope: optString(o, 'scope'),
      clientId: this.#bodyClientId,
    });
    return this.#tokenRequest(body);
  }

  /** Revokes a token (RFC 7009); resolves on 200, else rejects with `OAUTH_ERROR`. */
  async revoke(token, options) {
    if (typeof token !== 'string') throw invalid('token must be a string');
    const hint = optString(opts(options, 'revoke options must be an object'), 'tokenTypeHint');
    const body = core.revocationBody(token, hint, this.#bodyClientId);
    const answer = await post(this.#revocationEndpoint, body, this.#headers(), undefined);
    core.revocationResponse(answer.status, answer.text, answer.nonce);
  }
}

/** The method as fetch sends it: the six standard methods upper-cased. */
function normalizeMethod(method) {
  const upper = method.toUpperCase();
  return ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].includes(upper) ? upper : method;
}

/**
 * Whether `response` came from the origin of `url`, the URL it was requested at: it was not
 * redirected, or only within that origin.
 */
function sameOrigin(response, url) {
  if (!response.redirected || typeof response.url !== 'string' || response.url === '') return true;
  try {
    return core.endpointOrigin(response.url, 'response.url') === core.endpointOrigin(url, 'url must be a string');
  } catch {
    return false;
  }
}

/**
 * Calls a DPoP-protected resource (RFC 9449 section 7) with `Authorization: DPoP` and a
 * fresh proof (htm, htu, ath); a `401` `use_dpop_nonce` challenge is retried once with the
 * origin's newest resource server nonce (RFC 9449 section 9: kept apart from the nonces
 * of an authorization server on the same origin). Resolves to the `Response`, whatever
 * its status. Redirects are followed as `init.redirect` says (fetch's default: follow);
 * the proof is for `url`, and goes wherever fetch forwards the request's headers. The
 * answer of another origin than `url`'s (a redirect away) is returned as it is: its
 * `DPoP-Nonce` is remembered for no origin, and its `use_dpop_nonce` is not retried.
 */
export async function fetchWithDpop(url, init, options) {
  if (typeof url !== 'string') {
    if (isObject(url) && typeof url.href === 'string') url = url.href;
    else throw invalid('url must be a string or URL');
  }
  core.endpointOrigin(url, 'url must be a string or URL');
  if (!isObject(options)) throw invalid('fetchWithDpop options must be an object');
  const accessToken = reqString(options, 'accessToken');
  const key = options.dpopKey;
  if (!(key instanceof DpopKey)) throw invalid('dpopKey must be a DpopKey');
  const request = opts(init, 'init must be a RequestInit object');
  const method = normalizeMethod(optString(request, 'method', 'init.method must be a string') ?? 'GET');
  let headers;
  try {
    headers = new Headers(request.headers ?? undefined);
  } catch {
    throw invalid('init.headers are not valid headers');
  }
  try {
    headers.set('authorization', `DPoP ${accessToken}`);
  } catch {
    throw invalid('accessToken is not a valid header value');
  }
  const nonces = noncesOf(key, 'rs');
  let retry;
  for (let attempt = 0; ; attempt++) {
    const used = retry ?? nonces.get(url);
    headers.set('dpop', await key.createProof({ htm: method, htu: url, accessToken, nonce: used }));
    const response = await fetchOrFail(url, { ...request, method, headers });
    // A redirect to another origin: its answer's nonce is not this origin's, and the proof was not for it.
    if (!sameOrigin(response, url)) return response;
    nonces.remember(url, response.headers.get('DPoP-Nonce'));
    if (attempt === 0 && response.status === 401 && core.isUseDpopNonce(401, '', response.headers.get('WWW-Authenticate'))) {
      retry = nonces.retryNonce(url, used);
      if (retry !== undefined) continue;
    }
    return response;
  }
}
