// edge-oauth/p256: the P-256 backend of DpopKey (generate, fromJwk, toJwk,
// createProofSync), a separate wasm module built for speed. Load it only where it is
// used: `await init()` (browsers, bundlers) or `initSync({ module })` (Node, with the
// bytes of edge_oauth_p256_bg.wasm). The default entry must be initialised as well.
//
// The wasm `P256Key` takes plain strings and numbers; this module reads and checks the
// JS arguments (as strictly as the default entry's wasm does) and hands them over.
import initWasm, { P256Key, initSync as initWasmSync, verifyIdTokenSignature } from '../../pkg/edge_oauth_p256.js';
import { registerP256 } from './key.js';
import { invalid, isObject, optString, reqString } from './util.js';

/** The JSON text of a private JWK given as an object or as JSON text. */
function jwkJson(jwk) {
  if (typeof jwk === 'string') return jwk;
  const what = 'privateJwk must be a JWK object or JSON string';
  if (!isObject(jwk)) throw invalid(what);
  let json;
  try {
    json = JSON.stringify(jwk);
  } catch {
    throw invalid(what);
  }
  if (typeof json !== 'string') throw invalid(what);
  return json;
}

/** `options.iat`, or now; an integer number of seconds. */
function iat(options) {
  const v = options.iat;
  if (v === undefined || v === null) return Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(v)) throw invalid('iat must be an integer number of seconds');
  return v;
}

/** The backend object `DpopKey` holds: a `P256Key` behind the options-object API. */
function wrap(key) {
  return {
    get publicJwkJson() {
      return key.publicJwkJson;
    },
    get thumbprint() {
      return key.thumbprint;
    },
    privateJwkJson: () => key.privateJwkJson(),
    createProof(options) {
      if (!isObject(options)) throw invalid('createProof options must be an object');
      // In the order the default entry reads them, so that the first bad member is named.
      const htm = reqString(options, 'htm');
      const htu = reqString(options, 'htu');
      const nonce = optString(options, 'nonce');
      const accessToken = optString(options, 'accessToken');
      const jti = optString(options, 'jti');
      return key.createProof(htm, htu, iat(options), jti, nonce, accessToken);
    },
  };
}

const backend = {
  generate: () => wrap(P256Key.generate()),
  fromJwk: (jwk) => wrap(P256Key.fromJwk(jwkJson(jwk))),
  // validateIdTokenClaims({ jwks }) of the default entry, which has no P-256 arithmetic.
  verifyIdTokenSignature,
};

/** Loads the p256 wasm module (fetched next to this file unless given) and enables the backend. */
export default async function init(moduleOrPath) {
  const exports = await initWasm(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
  registerP256(backend);
  return exports;
}

/** Synchronous `init` from the module's bytes or a `WebAssembly.Module`. */
export function initSync(options) {
  const exports = initWasmSync(options);
  registerP256(backend);
  return exports;
}

export { DpopKey } from './key.js';
