// TokenClient.discover (OIDC Discovery, then RFC 8414), loaded on its first call: a bundler
// puts it in a chunk of its own, which an app configured without discovery does not load.
// The strict checks of the metadata are the wasm core's (parseServerMetadata).
import * as core from './protocol.js';
import { edgeError, fetchText, invalid, options as opts, parseUrl } from './util.js';

/**
 * The core's checks of the issuer identifier itself (https, http only on a loopback host;
 * no query, no fragment), before anything is fetched from it. parseServerMetadata checks
 * the issuer it is given before the document: with no document, an issuer it accepts
 * leaves only the document's error, which is not this check's.
 */
function checkIssuer(issuer) {
  try {
    core.parseServerMetadata('', issuer);
  } catch (err) {
    if (err?.code === 'URL_INSECURE' || err?.code === 'URL_INVALID') throw err;
  }
}

/** `TokenClient.discover(issuer, options)`, making its clients with `Client`. */
export async function discover(Client, issuer, options) {
  if (typeof issuer !== 'string') throw invalid('issuer must be a string');
  const rest = opts(options, 'discover options must be an object');
  core.endpointOrigin(issuer, 'issuer must be a string');
  checkIssuer(issuer);
  const url = parseUrl(issuer, 'issuer');
  const path = url.pathname.replace(/\/$/, '');
  const candidates = [
    `${url.origin}${path}/.well-known/openid-configuration`,
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
  ];
  let lastError;
  for (const candidate of candidates) {
    let answer;
    try {
      answer = await fetchText(candidate, { headers: { accept: 'application/json' } });
    } catch (err) {
      // No answer (a network error; in a browser also a CORS error, as on a 404 without
      // CORS headers): the next location may still answer.
      lastError = err;
      continue;
    }
    const { response, body } = answer;
    if (response.status !== 200) {
      lastError = edgeError('METADATA_INVALID', `server metadata is invalid: ${candidate} answered ${response.status}`);
      continue;
    }
    const metadata = core.parseServerMetadata(body, issuer);
    return new Client({
      ...rest,
      issuer: metadata.issuer,
      metadata,
      tokenEndpoint: metadata.tokenEndpoint,
      revocationEndpoint: rest.revocationEndpoint ?? metadata.revocationEndpoint,
      authorizationEndpoint: metadata.authorizationEndpoint,
      pushedAuthorizationRequestEndpoint: metadata.pushedAuthorizationRequestEndpoint,
      jwksUri: metadata.jwksUri,
    });
  }
  throw lastError;
}
