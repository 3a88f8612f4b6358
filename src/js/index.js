// edge-oauth: the package's default entry. The synchronous protocol functions are the
// wasm core's (pkg/edge_oauth.js), through protocol.js; the async layer (keys, fetch,
// stores) is the hand-written JS beside this file. Call `await init()` (browsers,
// bundlers) or `initSync({ module })` (Node, with the bytes of edge_oauth_bg.wasm) once
// first.
export { default, initSync } from '../../pkg/edge_oauth.js';
export {
  authorizationCodeGrantBody,
  buildAuthorizationUrl,
  buildParRequestBody,
  parseAuthorizationResponse,
  parseParResponse,
  parseServerMetadata,
  calculateCodeChallenge,
  calculateJwkThumbprint,
  clientCredentialsGrantBody,
  deviceAuthorizationRequestBody,
  deviceCodeGrantBody,
  parseDeviceAuthorizationResponse,
  generateCodeVerifier,
  generatePkce,
  parseTokenResponse,
  refreshTokenGrantBody,
} from './protocol.js';
export { DpopKey } from './key.js';
export { validateIdTokenClaims, verifyIdToken } from './claims.js';
export { TokenClient, fetchWithDpop } from './client.js';
export { IndexedDbTokenStore, MemoryTokenStore } from './store.js';
