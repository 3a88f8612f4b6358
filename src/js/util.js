// Shared helpers of the JS layer: coded errors like the wasm core's, and argument checks.

/** An `EdgeOAuthError`: an `Error` with the stable library `.code` (and `.cause`). */
export function edgeError(code, message, cause) {
  const err = new Error(message);
  err.name = 'EdgeOAuthError';
  err.code = code;
  if (cause !== undefined) err.cause = cause;
  return err;
}

/** `ARGUMENT_INVALID`, worded as the core words it. */
export const invalid = (why) => edgeError('ARGUMENT_INVALID', `invalid argument: ${why}`);

/**
 * `new URL(href)`, or `URL_INVALID` naming `what`: the core may accept a URL that the
 * platform's WHATWG parser refuses (a host such as `1.2.3.4.5`), which fetch could not use.
 */
export function parseUrl(href, what) {
  try {
    return new URL(href);
  } catch {
    throw edgeError('URL_INVALID', `invalid URL: ${what} is not a URL this platform can parse`);
  }
}

/** A plain options object (not an array or function). */
export const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An optional options argument: `undefined` / `null` is `{}`, else it must be an object. */
export function options(value, what) {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalid(what);
  return value;
}

/** `obj[key]` when it is a string, `undefined` when absent; anything else is refused. */
export function optString(obj, key, what = `${key} must be a string`) {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(what);
  return v;
}

/** `obj[key]`, which must be a string. */
export function reqString(obj, key, what = `${key} must be a string`) {
  const v = optString(obj, key, what);
  if (v === undefined) throw invalid(what);
  return v;
}

/**
 * A JWK Set (`{ keys: [...] }`) from the object or its JSON text; anything else is the
 * error `fail(why)` makes, `why` naming what was expected.
 */
export function jwkSet(value, fail) {
  let jwks = value;
  if (typeof jwks === 'string') {
    try {
      jwks = JSON.parse(jwks);
    } catch {
      throw fail('a JWK Set (JSON)');
    }
  }
  if (!isObject(jwks) || !Array.isArray(jwks.keys)) throw fail('a JWK Set ({ keys: [...] })');
  return jwks;
}

/** `crypto.subtle`, or `WEBCRYPTO_UNAVAILABLE`. */
export function subtle() {
  const s = globalThis.crypto?.subtle;
  if (!s) {
    throw edgeError('WEBCRYPTO_UNAVAILABLE', 'WebCrypto (crypto.subtle) is not available: it needs a secure context (https or localhost)');
  }
  return s;
}

/** Awaits a WebCrypto call; a rejection becomes `WEBCRYPTO_FAILED` naming it. */
export async function crypto(what, call) {
  try {
    return await call(subtle());
  } catch (cause) {
    if (cause?.code === 'WEBCRYPTO_UNAVAILABLE') throw cause;
    throw edgeError('WEBCRYPTO_FAILED', `WebCrypto failed: ${what}`, cause);
  }
}

/** Wraps a `fetch` rejection (network, CORS, abort) as `FETCH_FAILED`. */
export async function fetchOrFail(url, init) {
  try {
    return await fetch(url, init);
  } catch (cause) {
    throw edgeError('FETCH_FAILED', 'the HTTP request failed before a response arrived (see cause)', cause);
  }
}

/** `fetch`, then the body text; both failures are `FETCH_FAILED`. */
export async function fetchText(url, init) {
  const response = await fetchOrFail(url, init);
  try {
    return { response, body: await response.text() };
  } catch (cause) {
    throw edgeError('FETCH_FAILED', 'the response body could not be read', cause);
  }
}

/**
 * `ABORTED`, with the signal's reason as `cause`. Its `name` is `AbortError`, so code that
 * checks `err.name === 'AbortError'` (as for an aborted fetch) treats it alike.
 */
export function abortError(signal) {
  const err = edgeError('ABORTED', 'the operation was aborted (see cause)', signal.reason);
  err.name = 'AbortError';
  return err;
}

/** An optional AbortSignal option. */
export function signalOf(o) {
  const signal = o.signal;
  if (signal === undefined || signal === null) return undefined;
  if (typeof signal !== 'object' || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') {
    throw invalid('signal must be an AbortSignal');
  }
  return signal;
}
