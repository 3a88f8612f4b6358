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
// The load tests therefore never start a burst on connections that may sit in that
// window: before each timed burst a server gets `KEEPALIVE_QUIET_MS` without any request
// (`quietSince`), after which its runtime has closed every idle connection and the burst
// opens fresh ones (a connection in continuous use, as during a round, never idles that
// long). Gaps of 5.0 s and more gave no failure in 480 requests; gaps of 4.6 to 4.9 s did.
// Nothing of a round is retried or hidden: its errors still count. (Refreshing the pool
// with a wave of cheap requests first is not enough: quick requests reuse a few
// connections, and a wide burst still reaches older ones.)

/** How long a server gets without requests before a timed burst, in ms. */
export const KEEPALIVE_QUIET_MS = 5500;

/** Resolves once `quietMs` have passed since `lastUse` (a `performance.now()` time). */
export async function quietSince(lastUse, quietMs = KEEPALIVE_QUIET_MS) {
  const wait = lastUse === undefined ? 0 : lastUse + quietMs - performance.now();
  if (wait > 0) await new Promise((resolve) => { setTimeout(resolve, wait); });
}
