// ID token signatures through WebCrypto (RS256, PS256, ES256), then the claim checks of the
// wasm core (validateIdTokenClaims). Loaded on first use (claims.js imports it
// dynamically): a bundler puts it in a chunk of its own. The core verifies ES256 itself only where it carries
// p256 arithmetic; WebCrypto verifies every algorithm an OpenID provider signs with, RS256
// (OIDC Core §15.1) included, natively and without adding to the wasm.

import { validateClaims } from './protocol.js';
import { crypto, edgeError, invalid, isObject, jwkSet } from './util.js';

/** The WebCrypto parameters of each JWS algorithm an ID token may be signed with. */
const ALGORITHMS = {
  RS256: { kty: 'RSA', importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verifyAs: { name: 'RSASSA-PKCS1-v1_5' } },
  PS256: { kty: 'RSA', importAs: { name: 'RSA-PSS', hash: 'SHA-256' }, verifyAs: { name: 'RSA-PSS', saltLength: 32 } },
  ES256: { kty: 'EC', crv: 'P-256', importAs: { name: 'ECDSA', namedCurve: 'P-256' }, verifyAs: { name: 'ECDSA', hash: 'SHA-256' } },
};

const invalidToken = (why) => edgeError('ID_TOKEN_CLAIM_INVALID', `invalid ID token: ${why}`);

function base64urlBytes(text, what) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw invalidToken(`${what} is not base64url`);
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The JWKs of `jwks` that may have signed with `alg` (and `kid`, when the header names one). */
function candidateKeys(jwks, alg, kid) {
  const spec = ALGORITHMS[alg];
  const keys = jwks.keys.filter((k) => isObject(k)
    && k.kty === spec.kty
    && (spec.crv === undefined || k.crv === spec.crv)
    && (k.use === undefined || k.use === 'sig')
    && (k.alg === undefined || k.alg === alg)
    && (kid === undefined || k.kid === kid));
  if (keys.length === 0) {
    throw edgeError('ID_TOKEN_KEY_NOT_FOUND', `the ID token's key (${alg}${kid === undefined ? '' : `, kid ${kid}`}) is not in the JWKS`);
  }
  return keys;
}

/**
 * Verifies the ID token's signature with WebCrypto against the issuer's JWKS (`alg` RS256,
 * PS256 or ES256, limited to `algorithms` when given; the keys named by `kid`), then checks
 * its claims with `validateIdTokenClaims` (iss, aud, azp, exp, iat, nonce, at_hash,
 * auth_time). Resolves to the claims.
 *
 * ```js
 * const jwks = await (await fetch(metadata.jwksUri)).json();
 * const claims = await verifyIdToken(tokens.idToken, {
 *   issuer: metadata.issuer, clientId: 'my-spa', nonce, accessToken: tokens.accessToken, jwks,
 * });
 * ```
 */
export async function verifyIdToken(idToken, options) {
  if (typeof idToken !== 'string') throw invalid('idToken must be a string');
  if (!isObject(options)) throw invalid('verifyIdToken options must be an object');
  const jwks = jwkSet(options.jwks, (why) => invalid(`jwks must be ${why}`));
  const algorithms = options.algorithms ?? undefined;
  if (algorithms !== undefined && (!Array.isArray(algorithms) || !algorithms.every((a) => typeof a === 'string'))) {
    throw invalid('algorithms must be an array of JWS alg names');
  }
  const parts = idToken.split('.');
  if (parts.length !== 3) throw invalidToken('it is not a compact JWS');
  let header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64urlBytes(parts[0], 'the header')));
  } catch (e) {
    if (e?.code) throw e;
    throw invalidToken('the header is not JSON');
  }
  if (!isObject(header) || typeof header.alg !== 'string') throw invalidToken('the header has no alg');
  const allowed = algorithms ?? Object.keys(ALGORITHMS);
  if (!Object.hasOwn(ALGORITHMS, header.alg) || !allowed.includes(header.alg)) {
    throw edgeError('ID_TOKEN_SIGNATURE_UNSUPPORTED', `the ID token's alg ${JSON.stringify(header.alg)} is not accepted`);
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') throw invalidToken('kid must be a string');
  const spec = ALGORITHMS[header.alg];
  const signature = base64urlBytes(parts[2], 'the signature');
  const input = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  let verified = false;
  let imported = 0;
  for (const jwk of candidateKeys(jwks, header.alg, header.kid)) {
    const publicJwk = spec.kty === 'RSA' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
    let key;
    try {
      key = await crypto('importing the ID token key', (s) => s.importKey('jwk', publicJwk, spec.importAs, false, ['verify']));
    } catch (err) {
      if (err?.code === 'WEBCRYPTO_UNAVAILABLE') throw err;
      // A malformed key of the set is skipped, as the synchronous check skips it.
      continue;
    }
    // RFC 7518 §3.3, §3.5: an RSA key MUST be 2048 bits or larger; a smaller one is no candidate.
    if (spec.kty === 'RSA' && !(key.algorithm?.modulusLength >= 2048)) continue;
    imported++;
    let ok;
    try {
      ok = await crypto('verifying the ID token', (s) => s.verify(spec.verifyAs, key, signature, input));
    } catch (err) {
      if (err?.code === 'WEBCRYPTO_UNAVAILABLE') throw err;
      // A key WebCrypto cannot verify with (e.g. a signature of another key's size): the next one.
      continue;
    }
    if (ok) {
      verified = true;
      break;
    }
  }
  if (imported === 0) throw edgeError('ID_TOKEN_KEY_NOT_FOUND', 'no JWKS key can verify the ID token: none of the candidate keys can be imported (RSA keys need 2048 bits or more)');
  if (!verified) throw edgeError('JWS_SIGNATURE_INVALID', 'the ID token signature does not verify against the JWKS');
  const { jwks: _ignored, ...claimOptions } = options;
  return validateClaims(idToken, { ...claimOptions, algorithms: [header.alg] });
}
