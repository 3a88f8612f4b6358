// edge-oauth/p256: the P-256 backend of DpopKey (generate, fromJwk, toJwk,
// createProofSync), a separate wasm module built for speed. Load it only where it is
// used: `await init()` (browsers, bundlers) or `initSync({ module })` (Node, with the
// bytes of edge_oauth_p256_bg.wasm). The default entry must be initialised as well.
import initWasm, { P256Key, initSync as initWasmSync, verifyIdTokenSignature } from '../../pkg/edge_oauth_p256.js';
import { registerP256 } from './key.js';

const backend = {
  generate: () => P256Key.generate(),
  fromJwk: (jwk) => P256Key.fromJwk(jwk),
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
