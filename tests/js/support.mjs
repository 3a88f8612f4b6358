// Loads the package from the checkout the way a Node application does: the entry points
// (src/js/) plus `initSync` with the wasm bytes read from disk (Node's fetch cannot load
// file: URLs). Both entries are initialised: the default one and edge-oauth/p256.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import * as edge from '../../src/js/index.js';
import { initSync as initP256 } from '../../src/js/p256.js';

edge.initSync({ module: readFileSync(new URL('../../pkg/edge_oauth_bg.wasm', import.meta.url)) });
initP256({ module: readFileSync(new URL('../../pkg/edge_oauth_p256_bg.wasm', import.meta.url)) });

export { edge };

/** base64url(SHA-256(text)), computed by node:crypto. */
export function sha256b64url(text) {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

/** The current time in whole seconds. */
export function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

/**
 * Asserts that `fn` throws a real `Error` whose `.code` is `code` (a string, or a list of
 * acceptable codes), and whose message mentions `mentions` when given. Returns the error.
 */
export function assertFails(fn, code, mentions) {
  let caught;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected a failure with code ${code}, but nothing was thrown`);
  assert.ok(caught instanceof Error, `expected an Error, got ${Object.prototype.toString.call(caught)}`);
  assert.equal(typeof caught.code, 'string', `error has no string .code: ${caught}`);
  assert.match(caught.code, /^[A-Z][A-Z0-9_]*$/);
  const codes = Array.isArray(code) ? code : [code];
  assert.ok(codes.includes(caught.code), `expected code ${codes.join(' or ')}, got ${caught.code}: ${caught.message}`);
  assert.ok(caught.message.length > 0, 'error message is empty');
  if (mentions !== undefined) {
    assert.ok(caught.message.includes(mentions), `message "${caught.message}" does not mention "${mentions}"`);
  }
  return caught;
}
