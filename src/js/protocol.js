// The synchronous protocol functions of the package, over the wasm core
// (pkg/edge_oauth.js). The core's exports take the members of an options object as
// arguments (a JS value crosses into wasm without glue code, where a property read from
// wasm costs a call and a type check per member) and type-check them in their order, with
// the words of the other argument errors. This module takes the options objects apart,
// and reads headers for parseTokenResponse. Every protocol decision stays in the core.
// Each member an operation takes is read once, all of them before the core checks the
// first; a getter that throws fails the call with its own error (never read as absent).
import * as wasm from '../../pkg/edge_oauth.js';
import { invalid, isObject } from './util.js';

export {
  basicCredentials,
  calculateCodeChallenge,
  generateCodeVerifier,
  isUseDpopNonce,
  nextDevicePollInterval,
  parseServerMetadata,
} from '../../pkg/edge_oauth.js';

/** The checked TokenSet of a token request's answer (`requireDpop`: a DPoP-bound token). */
export const tokenResponse = (status, bodyText, dpopNonce, requireDpop) => wasm.answer(0, status, bodyText, dpopNonce, requireDpop);

/** Resolves on a revocation's 200 answer (RFC 7009 §2.2), else `OAUTH_ERROR`. */
export const revocationResponse = (status, bodyText, dpopNonce) => {
  wasm.answer(1, status, bodyText, dpopNonce, false);
};

/** The answer to a pushed authorization request (RFC 9126 §2.2). */
export const parseParResponse = (status, body) => wasm.answer(2, status, body, undefined, false);

/** The strictly checked device authorization answer (RFC 8628 §3.2). */
export const parseDeviceAuthorizationResponse = (status, bodyText) => wasm.answer(3, status, bodyText, undefined, false);

/** The origin of an absolute http(s) URL (`URL_INVALID` otherwise); `what` words a non-string. */
export function endpointOrigin(url, what) {
  if (typeof url !== 'string') throw invalid(what);
  return wasm.endpointOrigin(url);
}

/** The body of an RFC 7009 revocation request. */
export const revocationBody = (token, tokenTypeHint, clientId) => wasm.formBody(5, token, tokenTypeHint, clientId);

/** The options argument: a plain object. */
function object(options) {
  if (!isObject(options)) throw invalid('options must be an object');
  return options;
}

/** The RFC 7638 thumbprint of an EC or RSA JWK (object or JSON text). */
export function calculateJwkThumbprint(jwk) {
  let json = jwk;
  if (typeof jwk !== 'string') {
    if (!isObject(jwk)) throw invalid('jwk must be a JWK object or JSON string');
    try {
      json = JSON.stringify(jwk);
    } catch {
      json = undefined;
    }
  }
  // Anything but a string (JSON.stringify can return undefined) is refused by the core.
  return wasm.calculateJwkThumbprint(json);
}

/** A fresh verifier and its S256 challenge. */
export function generatePkce() {
  const codeVerifier = wasm.generateCodeVerifier();
  return { codeVerifier, codeChallenge: wasm.calculateCodeChallenge(codeVerifier), codeChallengeMethod: 'S256' };
}

/** The body of an `authorization_code` request. */
export function authorizationCodeGrantBody(options) {
  const o = object(options);
  return wasm.formBody(0, o.code, o.redirectUri, o.codeVerifier, o.clientId);
}

/** The body of a `refresh_token` request. */
export function refreshTokenGrantBody(options) {
  const o = object(options);
  return wasm.formBody(1, o.refreshToken, o.scope, o.clientId);
}

/** The body of a `client_credentials` request. */
export function clientCredentialsGrantBody(options) {
  const o = object(options);
  return wasm.formBody(2, o.audience, o.resource, o.organization, o.scope, o.clientId);
}

/** The body of a device authorization request (RFC 8628 §3.1). */
export function deviceAuthorizationRequestBody(options) {
  const o = object(options);
  return wasm.formBody(3, o.scope, o.audience, o.resource, o.clientId);
}

/** The body of a device access token request (RFC 8628 §3.4). */
export function deviceCodeGrantBody(options) {
  const o = object(options);
  return wasm.formBody(4, o.deviceCode, o.clientId);
}

/** The request parameters of `o`: the core's arguments after the endpoint. */
const requestParams = (o) => [o.clientId, o.redirectUri, o.codeChallenge, o.scope, o.state, o.nonce, o.audience, o.organization, o.resource, o.dpopJkt, o.prompt, o.maxAge, o.loginHint, o.responseMode];

/** The options of buildAuthorizationUrl that are request parameters besides `clientId`. */
const PARAM_OPTIONS = ['redirectUri', 'codeChallenge', 'scope', 'state', 'nonce', 'audience', 'organization', 'resource', 'dpopJkt', 'prompt', 'maxAge', 'loginHint', 'responseMode'];

/** The authorization URL (RFC 6749 §4.1.1), or the one after a pushed request (RFC 9126 §4). */
export function buildAuthorizationUrl(options) {
  const o = object(options);
  const endpoint = o.authorizationEndpoint;
  if (typeof endpoint !== 'string') throw invalid('authorizationEndpoint must be a string');
  const requestUri = o.requestUri ?? undefined;
  if (requestUri === undefined) return wasm.authorizationRequest(endpoint, ...requestParams(o));
  if (typeof requestUri !== 'string') throw invalid('requestUri must be a string');
  if (PARAM_OPTIONS.some((k) => (o[k] ?? undefined) !== undefined)) {
    throw invalid('with requestUri the URL carries only clientId and requestUri (RFC 9126 §4): the other parameters belong in the pushed request');
  }
  return wasm.authorizationUrlFromRequestUri(endpoint, o.clientId, requestUri);
}

/** The body of a pushed authorization request (RFC 9126 §2.1). */
export function buildParRequestBody(options) {
  const o = object(options);
  if ((o.requestUri ?? undefined) !== undefined) throw invalid('requestUri is not allowed in a pushed request (RFC 9126 §2.1)');
  return wasm.authorizationRequest(undefined, ...requestParams(o));
}

/** The checked authorization response (RFC 6749 §4.1.2, RFC 9207). */
export function parseAuthorizationResponse(url, options) {
  let href = url;
  if (typeof url !== 'string') {
    href = undefined;
    try {
      if (typeof url === 'object' && url !== null) href = url.href;
    } catch {
      // An unreadable href is no href.
    }
    if (typeof href !== 'string') throw invalid('url must be a string, a URL or a Location');
  }
  const o = object(options);
  // `state` must be given: a string, or null when the request sent none. A forgotten
  // state must not silently turn the CSRF check off.
  let state;
  try {
    state = o.state;
  } catch {
    throw invalid('options.state is unreadable');
  }
  if (state === undefined) throw invalid('state must be a string (or null when the request sent none)');
  return wasm.parseAuthorizationResponse(href, state, o.issuer, o.issParameterSupported, o.responseMode);
}

/**
 * The ID token claim checks of the core (OIDC Core §3.1.3.7), without a JWKS (claims.js
 * verifies signatures through edge-oauth/p256, idtoken.js through WebCrypto).
 */
export function validateClaims(idToken, options) {
  if (typeof idToken !== 'string') throw invalid('idToken must be a string');
  const o = object(options);
  return wasm.validateIdTokenClaims(idToken, o.issuer, o.clientId, o.nonce, o.accessToken, o.maxAge, o.leeway, o.now, o.trustedAudiences, o.algorithms);
}

/**
 * One header of a `Headers` instance, a `Map`-like object with `get`, or a plain object
 * whose keys are compared case-insensitively (`name` is ASCII, and no other character
 * lower-cases to one of its letters).
 */
function header(headers, name) {
  if (headers === undefined || headers === null) return undefined;
  if (!isObject(headers)) throw invalid('headers must be a Headers instance or a plain object');
  let get;
  try {
    get = headers.get;
  } catch {
    // An unreadable get is no get: the object's own members are read instead.
  }
  if (typeof get === 'function') {
    let v;
    try {
      v = get.call(headers, name);
    } catch {
      throw invalid('headers.get failed');
    }
    return typeof v === 'string' ? v : undefined;
  }
  const lower = name.toLowerCase();
  for (const [key, v] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower) continue;
    if (typeof v !== 'string') throw invalid('header values must be strings');
    return v;
  }
  return undefined;
}

/**
 * A token endpoint response (RFC 6749 §5.1, §5.2): the TokenSet of a valid 200, or
 * `OAUTH_ERROR` carrying the `DPoP-Nonce` of `headers` (read only for an error answer).
 */
export function parseTokenResponse(status, bodyText, headers) {
  try {
    return tokenResponse(status, bodyText, undefined, false);
  } catch (err) {
    if (err?.code !== 'OAUTH_ERROR') throw err;
    const nonce = header(headers, 'DPoP-Nonce');
    if (nonce === undefined) throw err;
    // The same error again, now with the (well-formed) nonce.
    return tokenResponse(status, bodyText, nonce, false);
  }
}
