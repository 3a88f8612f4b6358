// DpopKey: an ES256 DPoP key (RFC 9449) with one of two backends.
//
// - webcrypto: a WebCrypto CryptoKeyPair. The wasm core builds the proof's signing input
//   for the public JWK, crypto.subtle.sign signs it, the core appends the raw r || s: the
//   private key never enters wasm or JS memory.
// - p256: a P-256 scalar in the memory of the `edge-oauth/p256` wasm module, which signs
//   the same signing input synchronously. That module registers itself here when it is
//   initialised.
import { DpopPublicKey, NonceCache, finishProof } from '../../pkg/edge_oauth.js';
import { idbRequest, requireIndexedDb } from './idb.js';
import { crypto, edgeError, invalid, isObject, optString, reqString } from './util.js';

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' };
const ES256 = { name: 'ECDSA', hash: 'SHA-256' };
const RECORD_FORMAT = 'edge-oauth/dpop-key@1';
const KEYS = 'dpop-keys';
const INTERNAL = Symbol('DpopKey');
const encoder = new TextEncoder();

/** The p256 backend, once `edge-oauth/p256` is initialised. */
let p256 = null;

/** Called by `edge-oauth/p256` after its wasm module is ready. */
export function registerP256(backend) {
  p256 = backend;
}

/** The p256 backend, or `KEY_BACKEND_UNSUPPORTED` naming `what` and `edge-oauth/p256`. */
export function requireP256(what, prefix = 'not available for this DPoP key: ') {
  if (p256 === null) {
    throw edgeError(
      'KEY_BACKEND_UNSUPPORTED',
      `${prefix}${what} needs the p256 backend: import init from "edge-oauth/p256" and await init() (or initSync) first`,
    );
  }
  return p256;
}

/**
 * The last DPoP-Nonce per origin, for the requests each key signs: one cache for the
 * authorization servers (token and PAR endpoints, TokenClient) and one for the resource
 * servers (fetchWithDpop). Each server's nonce is its own (RFC 9449 §8.2, §9), and an
 * authorization server and a resource server may share an origin.
 */
const nonceCaches = new WeakMap();

/** The nonce cache of a key for an authorization server's endpoints (`"as"`) or resource servers (`"rs"`). */
export function noncesOf(key, server) {
  return nonceCaches.get(key)[server];
}

function unsupported(why) {
  return edgeError('KEY_BACKEND_UNSUPPORTED', `not available for this DPoP key: ${why}`);
}

function keyName(name) {
  if (typeof name !== 'string' || name === '') throw invalid('name must be a non-empty string');
  return name;
}

const SHAPE = 'keyPair must be a CryptoKeyPair of ECDSA P-256 keys whose private key can sign';

/** Checks a CryptoKeyPair and wraps it; with `checkMatch`, a probe signature must verify. */
async function fromKeyPair(pair, checkMatch) {
  const privateKey = isObject(pair) ? pair.privateKey : undefined;
  const publicKey = isObject(pair) ? pair.publicKey : undefined;
  const alg = privateKey?.algorithm;
  if (
    !isObject(privateKey) || !isObject(publicKey) || privateKey.type !== 'private' ||
    alg?.name !== 'ECDSA' || alg?.namedCurve !== 'P-256' ||
    !Array.isArray(privateKey.usages) || !privateKey.usages.includes('sign')
  ) {
    throw invalid(SHAPE);
  }
  const jwk = await crypto('exportKey (jwk)', (s) => s.exportKey('jwk', publicKey));
  const pub = new DpopPublicKey(JSON.stringify(jwk));
  if (checkMatch) {
    const probe = encoder.encode('edge-oauth key pair check');
    const signature = await crypto('sign (ECDSA P-256 SHA-256)', (s) => s.sign(ES256, privateKey, probe));
    const verifier = await crypto('importKey (jwk)', (s) => s.importKey('jwk', JSON.parse(pub.jwkJson), ECDSA_P256, false, ['verify']));
    const ok = await crypto('verify (ECDSA P-256 SHA-256)', (s) => s.verify(ES256, verifier, signature, probe));
    if (!ok) throw invalid('keyPair.privateKey does not belong to keyPair.publicKey');
  }
  return new DpopKey(INTERNAL, { pair, pub });
}

/**
 * An ES256 DPoP key (P-256). In browsers and workers use
 * `await DpopKey.generateNonExtractable()` (WebCrypto; `persist` / `load` keep it in
 * IndexedDB). `DpopKey.generate()` / `fromJwk()` / `createProofSync()` need the
 * `edge-oauth/p256` entry.
 */
export class DpopKey {
  #pair;
  #pub;
  #p256;
  #publicJson;
  #thumbprint;

  /** Internal: use the static constructors. */
  constructor(token, backend) {
    if (token !== INTERNAL) throw invalid('use DpopKey.generateNonExtractable(), fromCryptoKeyPair(), load(), generate() or fromJwk()');
    this.#p256 = backend.p256;
    this.#pair = backend.pair;
    this.#pub = backend.p256 ? backend.p256.pub : backend.pub;
    this.#publicJson = this.#pub.jwkJson;
    this.#thumbprint = this.#pub.thumbprint;
    nonceCaches.set(this, { as: new NonceCache(), rs: new NonceCache() });
  }

  /** A fresh P-256 key in wasm memory (the `p256` backend; needs `edge-oauth/p256`). */
  static generate() {
    return new DpopKey(INTERNAL, { p256: requireP256('DpopKey.generate()').generate() });
  }

  /** Imports a private EC P-256 JWK (object or JSON text), strictly (`p256` backend). */
  static fromJwk(privateJwk) {
    return new DpopKey(INTERNAL, { p256: requireP256('DpopKey.fromJwk()').fromJwk(privateJwk) });
  }

  /** A non-extractable WebCrypto P-256 key pair (the `webcrypto` backend). */
  static async generateNonExtractable() {
    const pair = await crypto('generateKey (ECDSA P-256)', (s) => s.generateKey(ECDSA_P256, false, ['sign', 'verify']));
    return fromKeyPair(pair, false);
  }

  /** Wraps an existing ECDSA P-256 CryptoKeyPair, after checking it (a probe signature). */
  static async fromCryptoKeyPair(keyPair) {
    return fromKeyPair(keyPair, true);
  }

  /** Loads a key stored by `persist` (IndexedDB); `undefined` when there is none. */
  static async load(name) {
    keyName(name);
    requireIndexedDb('DpopKey.persist and DpopKey.load');
    const record = await idbRequest(KEYS, 'get', name, undefined, 'could not read the key');
    if (record === undefined) return undefined;
    try {
      if (record?.format !== RECORD_FORMAT) throw new Error('unknown record format');
      return await fromKeyPair(record.keyPair, true);
    } catch (cause) {
      throw edgeError('STORAGE_FAILED', 'IndexedDB failed: the stored value is not a usable DPoP key', cause);
    }
  }

  /** Deletes the key stored under `name` (nothing happens if there is none). */
  static async remove(name) {
    keyName(name);
    requireIndexedDb('DpopKey.persist and DpopKey.load');
    await idbRequest(KEYS, 'delete', name, undefined, 'could not delete the key');
  }

  /** Stores this WebCrypto key in IndexedDB by structured clone (never its bytes). */
  async persist(name) {
    keyName(name);
    if (!this.#pair) {
      throw unsupported('persist stores WebCrypto keys only (DpopKey.generateNonExtractable); store toJwk() of a p256 key yourself');
    }
    requireIndexedDb('DpopKey.persist and DpopKey.load');
    await idbRequest(KEYS, 'put', name, { format: RECORD_FORMAT, keyPair: this.#pair }, 'could not store the key');
  }

  /** `"webcrypto"` or `"p256"`. */
  get backend() {
    return this.#p256 ? 'p256' : 'webcrypto';
  }

  /** The CryptoKeyPair of a `webcrypto` key; `undefined` for `p256`. */
  get keyPair() {
    return this.#pair;
  }

  /** The public JWK (`kty`, `crv`, `x`, `y`) that proofs carry. */
  get publicJwk() {
    const { crv, kty, x, y } = JSON.parse(this.#publicJson);
    return { kty, crv, x, y };
  }

  /** The RFC 7638 thumbprint: the `jkt` a server binds tokens to. */
  get thumbprint() {
    return this.#thumbprint;
  }

  /** The private JWK of a `p256` key. Keep it secret. */
  toJwk() {
    if (!this.#p256) throw unsupported('toJwk: a WebCrypto key is not exported');
    return this.#p256.toJwk();
  }

  /** A DPoP proof JWT for one request, with either backend. Never throws: rejects. */
  async createProof(options) {
    if (this.#p256) return this.createProofSync(options);
    const input = this.#proofInput(options);
    const signature = await crypto('sign (ECDSA P-256 SHA-256)', (s) => s.sign(ES256, this.#pair.privateKey, encoder.encode(input)));
    return finishProof(input, new Uint8Array(signature));
  }

  /** A DPoP proof, synchronously: `p256` keys only. */
  createProofSync(options) {
    if (!this.#p256) {
      if (!isObject(options)) throw invalid('createProof options must be an object');
      throw unsupported('createProofSync needs a p256 key; await createProof() with a WebCrypto key');
    }
    const input = this.#proofInput(options);
    return finishProof(input, this.#p256.sign(input));
  }

  /** The signing input of a proof (either backend). */
  #proofInput(options) {
    // The core's checks of CreateProofOptions, in its order and words: the core then takes
    // the members as arguments (no property reads across the wasm boundary).
    if (!isObject(options)) throw invalid('createProof options must be an object');
    const htm = reqString(options, 'htm');
    const htu = reqString(options, 'htu');
    const nonce = optString(options, 'nonce');
    const accessToken = optString(options, 'accessToken');
    const jti = optString(options, 'jti');
    let iat = options.iat;
    if (iat === null) iat = undefined;
    if (iat !== undefined && !(typeof iat === 'number' && Number.isSafeInteger(iat))) {
      throw invalid('iat must be an integer number of seconds');
    }
    return this.#pub.proofInput(htm, htu, nonce, accessToken, iat, jti);
  }
}
