// edge-oauth/p256: the P-256 backend of DpopKey (generate, fromJwk, toJwk,
// createProofSync), a separate wasm module built for speed. Load it only where it is
// used: `await init()` (browsers, bundlers) or `initSync({ module })` (Node, with the
// bytes of edge_oauth_p256_bg.wasm). The default entry must be initialised as well.
//
// The p256 wasm signs and verifies bytes only. The default entry's wasm does the rest, as
// for a WebCrypto key: it reads the private JWK (`privateJwkMembers`, every check but the
// two the p256 wasm makes: d in range and matching x and y), holds the public key and
// builds the proof around the signature (`DpopPublicKey`, `finishProof` in key.js), and
// reads an ID token and its JWKS (`idTokenSignatureKeys`).
import initWasm, { P256Key, initSync as initWasmSync, verify } from '../../pkg/edge_oauth_p256.js';
import { DpopPublicKey, idTokenSignatureKeys, privateJwkMembers } from '../../pkg/edge_oauth.js';
import { registerP256 } from './key.js';
import { edgeError, invalid, isObject } from './util.js';

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

/** Unpadded base64url of a coordinate or scalar. */
function base64url(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The backend object `DpopKey` holds: the public key (default wasm) and the signer. */
function wrap(key) {
  const xy = key.publicKey();
  const x = base64url(xy.subarray(0, 32));
  const y = base64url(xy.subarray(32));
  // The core's parser again (the point is on the curve: the p256 wasm derived it).
  const pub = new DpopPublicKey(`{"crv":"P-256","kty":"EC","x":"${x}","y":"${y}"}`);
  return {
    pub,
    sign: (input) => key.sign(input),
    toJwk() {
      const d = key.privateKey();
      try {
        return { kty: 'EC', crv: 'P-256', x, y, d: base64url(d) };
      } finally {
        d.fill(0);
      }
    },
  };
}

/** `fromJwk`: the default wasm reads the JWK, the p256 wasm checks and keeps the key. */
function fromJwk(jwk) {
  const members = privateJwkMembers(jwkJson(jwk));
  let key;
  try {
    key = P256Key.fromMembers(members);
  } finally {
    members.fill(0);
  }
  // The core's Error::JwkKeyInvalid.
  if (key === undefined) throw edgeError('JWK_KEY_INVALID', 'invalid JWK: not a valid P-256 key');
  return wrap(key);
}

/** validateIdTokenClaims({ jwks }) of the default entry, which has no P-256 arithmetic. */
function verifyIdTokenSignature(idToken, jwksJson, algorithmsJson) {
  const { input, signature, keys } = idTokenSignatureKeys(idToken, jwksJson, algorithmsJson);
  for (let i = 0; i < keys.length; i += 64) {
    if (verify(keys.subarray(i, i + 64), input, signature)) return;
  }
  // The core's Error::JwsSignatureInvalid.
  throw edgeError('JWS_SIGNATURE_INVALID', 'JWS signature is invalid');
}

const backend = {
  generate: () => wrap(P256Key.generate()),
  fromJwk,
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
