// Watches this page's own fetch calls, for display only: the DPoP proof each request
// carried and the answer it got. It is imported before the package, so every request the
// package makes goes through it; it never changes a request or a response.

const listeners = new Set();
const original = globalThis.fetch.bind(globalThis);

/** Calls `listener({ method, url, dpop, status, dpopNonce, error })` after each response. */
export function onExchange(listener) {
  listeners.add(listener);
}

/** The `error` code of an RFC 6749 JSON body or of a `WWW-Authenticate` challenge. */
async function errorCode(response) {
  const challenge = response.headers.get('www-authenticate') ?? '';
  const m = challenge.match(/error="([^"]+)"/);
  if (m) return m[1];
  if (!(response.headers.get('content-type') ?? '').includes('json')) return undefined;
  try {
    const body = await response.clone().json();
    return typeof body?.error === 'string' ? body.error : undefined;
  } catch {
    return undefined;
  }
}

globalThis.fetch = async (input, init = {}) => {
  const request = new Request(input, init);
  const dpop = request.headers.get('dpop');
  const response = await original(input, init);
  const exchange = {
    method: request.method,
    url: request.url,
    dpop,
    status: response.status,
    dpopNonce: response.headers.get('dpop-nonce'),
    error: response.ok ? undefined : await errorCode(response),
  };
  for (const listener of listeners) listener(exchange);
  return response;
};
