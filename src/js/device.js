// The device authorization grant (RFC 8628) behind TokenClient.deviceAuthorization and
// TokenClient.pollDeviceToken, which load this module on first use. The wasm core makes every protocol decision (the request
// bodies, the strict parse of the device authorization answer, what each polling error
// means and how the interval changes); this module waits, polls and cancels.
import * as core from './protocol.js';
import { abortError, edgeError, invalid, isObject, options as opts, optString, signalOf } from './util.js';

/** The longest delay one setTimeout keeps (a larger one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Resolves after `ms`, or rejects with `ABORTED` as soon as `signal` aborts; either way the
 * timer and the listener are gone afterwards.
 */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    let timer;
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const arm = (left) => {
      timer = setTimeout(() => {
        if (left > MAX_TIMER_MS) return arm(left - MAX_TIMER_MS);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.min(left, MAX_TIMER_MS));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    arm(Math.max(0, ms));
  });
}

/**
 * The device authorization request (RFC 8628 §3.1): `send(body, signal)` POSTs the body
 * with the client's authentication and resolves to `{ status, text }`.
 */
export async function requestDeviceAuthorization(options, clientId, send) {
  const o = opts(options, 'deviceAuthorization options must be an object');
  const signal = signalOf(o);
  const body = core.deviceAuthorizationRequestBody({
    scope: optString(o, 'scope'),
    audience: optString(o, 'audience'),
    resource: optString(o, 'resource'),
    clientId,
  });
  if (signal?.aborted) throw abortError(signal);
  let answer;
  try {
    answer = await send(body, signal);
  } catch (err) {
    if (signal?.aborted) throw abortError(signal);
    throw err;
  }
  return core.parseDeviceAuthorizationResponse(answer.status, answer.text);
}

/** A `DeviceAuthorization` as `deviceAuthorization` returned it (or stored and read back). */
function checkAuthorization(a) {
  if (!isObject(a)) throw invalid('pollDeviceToken needs the object deviceAuthorization returned');
  if (typeof a.deviceCode !== 'string' || a.deviceCode === '') throw invalid('deviceAuthorization.deviceCode must be a non-empty string');
  if (!Number.isInteger(a.interval) || a.interval < 1) throw invalid('deviceAuthorization.interval must be a positive integer');
  if (!Number.isFinite(a.expiresAt)) throw invalid('deviceAuthorization.expiresAt must be a number of seconds since the epoch');
  return a;
}

/**
 * Polls the token endpoint with the device code (RFC 8628 §3.4, §3.5) until the user
 * decides or the code expires. `client` is the TokenClient's side:
 *
 * - `request(body, signal)`: one token request (DPoP proof and nonce retry included),
 *   resolving to the checked TokenSet or rejecting with `OAUTH_ERROR`;
 * - `finish(tokens)`: stores the token set, resolves to what the caller gets;
 * - `clientId`: the `client_id` for the body (public clients), or `undefined`;
 * - `sleep(ms, signal)` and `now()`: the timer and the clock (tests pass their own).
 *
 * Waits `interval` seconds before each poll (also the first: the user cannot have acted
 * yet), keeps going on `authorization_pending`, adds 5 s on `slow_down`, doubles the
 * interval when a poll got no answer (`FETCH_FAILED`: RFC 8628 §3.5), and rejects on any
 * other error, with `DEVICE_CODE_EXPIRED` when the code expires first, or with `ABORTED`
 * as soon as the signal aborts.
 */
export async function pollDeviceToken(authorization, options, client) {
  const a = checkAuthorization(authorization);
  const o = opts(options, 'pollDeviceToken options must be an object');
  const signal = signalOf(o);
  const onPending = o.onPending;
  if (onPending !== undefined && onPending !== null && typeof onPending !== 'function') throw invalid('onPending must be a function');
  const { sleep: wait = sleep, now = Date.now } = client;
  const body = core.deviceCodeGrantBody({ deviceCode: a.deviceCode, clientId: client.clientId });
  const expiresAtMs = a.expiresAt * 1000;
  const expired = () => edgeError('DEVICE_CODE_EXPIRED', 'the device code expired before the user approved the request');
  let interval = a.interval;
  for (let polls = 1; ; polls++) {
    const left = expiresAtMs - now();
    if (left <= 0) throw expired();
    if (interval * 1000 >= left) {
      // No poll fits before the expiry: wait for it, then say so.
      await wait(left, signal);
      throw expired();
    }
    await wait(interval * 1000, signal);
    let tokens;
    try {
      tokens = await client.request(body, signal);
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      let next;
      if (err?.code === 'OAUTH_ERROR' && typeof err.error === 'string') {
        next = core.nextDevicePollInterval(err.error, interval);
      } else if (err?.code === 'FETCH_FAILED') {
        // No answer (the network failed): the device code is still good; poll half as often.
        next = core.nextDevicePollInterval(undefined, interval);
      }
      if (next === undefined) throw err;
      interval = next;
      onPending?.(err.code === 'FETCH_FAILED' ? { error: 'FETCH_FAILED', interval, polls, cause: err } : { error: err.error, interval, polls });
      continue;
    }
    return client.finish(tokens);
  }
}
