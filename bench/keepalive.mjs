// `wrangler dev`'s keep-alive race, and how the load tests step around it.
//
// Under `wrangler dev` every request goes through wrangler's ProxyWorker, which forwards it
// with `fetch` to the user worker over pooled keep-alive connections. The user worker's
// workerd closes a connection that has been idle for about 5 s; a request written onto a
// pooled connection in that instant fails with `Connection reset by peer` (workerd logs
// `kj/async-io-unix.c++:186: disconnected: ::write(fd, ...)`). The ProxyWorker then
// compares the user worker's URL *with the request's path* to the current one *without*
// it, concludes that the worker was replaced, and answers a POST with
// `503 Your worker restarted mid-request` (a GET or HEAD is queued and retried when the
// next request arrives). No restart happens, and the worker never sees the request: it is
// a dev-proxy artefact that a deployed worker (no ProxyWorker) does not have. It hits any
// server behind `wrangler dev` whose connections sit idle for ~5 s between bursts, as the
// interleaved rounds of bench/load.mjs do (one server idles while the other runs).
// bench/load.test.mjs reproduces it with POST bursts after idle gaps of 4.6 to 4.9 s.
//
// `flushIdleConnections` is sent, untimed, right before each timed round: waves of a
// cheap request the token endpoint refuses (an unknown grant type: 400, no state
// touched), until a wave gets no network error and no 5xx. A pooled connection that was
// about to be closed fails in the flush and is dropped, so the round starts on fresh
// connections. Nothing of the round itself is retried or hidden: its errors still count.

const FLUSH_BODY = 'grant_type=urn%3Aedge-oauth%3Abench%3Aflush';

/**
 * Sends up to `waves` waves of `width` concurrent POSTs to `${base}/oauth/token` with
 * `send(url, init)` (which resolves `{ status }`, 0 for a network error) until one wave
 * is clean. Resolves the failures it saw (status 0 or 5xx), for the record.
 */
export async function flushIdleConnections(send, base, width, { waves = 6 } = {}) {
  const failures = [];
  for (let w = 0; w < waves; w++) {
    const results = await Promise.all(Array.from({ length: width }, () => send(`${base}/oauth/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: FLUSH_BODY,
    })));
    const bad = results.filter((r) => r.status === 0 || r.status >= 500);
    failures.push(...bad);
    if (bad.length === 0) break;
  }
  return failures;
}
