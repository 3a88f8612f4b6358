// ID tokens: the synchronous claim checks of the wasm core (with a JWKS, the ES256 signature
// through edge-oauth/p256), and verifyIdToken (WebCrypto), whose module idtoken.js is
// loaded on its first call so that an app that never verifies signatures does not load it.
import { validateClaims } from './protocol.js';
import { requireP256 } from './key.js';
import { invalid, isObject } from './util.js';

/**
 * Validates an ID token's claims (OIDC Core section 3.1.3.7: iss, aud, azp, exp, iat,
 * nonce, at_hash, auth_time) and returns them. With `jwks`, the ES256 signature is
 * verified first, synchronously, by the `edge-oauth/p256` entry (this entry carries no
 * P-256 arithmetic): without it initialised that is `KEY_BACKEND_UNSUPPORTED`;
 * `verifyIdToken` verifies through WebCrypto instead (RS256, PS256, ES256).
 *
 * ```js
 * const claims = validateIdTokenClaims(tokens.idToken, { issuer, clientId: 'spa', nonce, accessToken: tokens.accessToken });
 * ```
 */
export function validateIdTokenClaims(idToken, options) {
  if (!isObject(options) || options.jwks === undefined || options.jwks === null) return validateClaims(idToken, options);
  if (typeof idToken !== 'string') throw invalid('idToken must be a string');
  const { jwks, ...claimOptions } = options;
  let jwksJson = jwks;
  if (typeof jwks !== 'string') {
    if (!isObject(jwks)) throw invalid('jwks must be a JWKS object or its JSON text');
    try {
      jwksJson = JSON.stringify(jwks);
    } catch {
      // A cycle, a BigInt, a throwing toJSON: no JSON text to verify with.
      throw invalid('jwks must be a JWKS object or its JSON text');
    }
    if (typeof jwksJson !== 'string') throw invalid('jwks must be a JWKS object or its JSON text');
  }
  const { algorithms } = claimOptions;
  if (algorithms !== undefined && algorithms !== null && (!Array.isArray(algorithms) || !algorithms.every((a) => typeof a === 'string'))) {
    throw invalid('algorithms must be an array of JWS alg names');
  }
  const p256 = requireP256('verifying an ID token against a JWKS synchronously (validateIdTokenClaims with jwks; verifyIdToken verifies through WebCrypto without it)', '');
  p256.verifyIdTokenSignature(idToken, jwksJson, algorithms === undefined || algorithms === null ? undefined : JSON.stringify(algorithms));
  return validateClaims(idToken, claimOptions);
}

/**
 * Verifies the ID token's signature with WebCrypto against the issuer's JWKS, then checks
 * its claims (idtoken.js, loaded on first use). Resolves to the claims.
 *
 * ```js
 * const claims = await verifyIdToken(tokens.idToken, { issuer, clientId: 'my-spa', nonce, jwks });
 * ```
 */
export async function verifyIdToken(idToken, options) {
  return (await import('./idtoken.js')).verifyIdToken(idToken, options);
}
