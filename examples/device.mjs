#!/usr/bin/env node
// Signs a terminal in with the device authorization grant (RFC 8628): prints the code and
// the URL to open on another device, polls until the user approves there, and prints the
// token's claims. Ctrl-C cancels (through the AbortSignal of pollDeviceToken).
//
//   node examples/device.mjs [--issuer URL] [--client-id ID] [--scope S] [--audience A] [--dpop]
//
// The defaults sign in to the demo tenant of `npm start` (client demo-device) on
// http://127.0.0.1:8787/. The package is imported by its name, as an application would
// (inside this repository, Node resolves `edge-oauth` to the package itself).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { DpopKey, TokenClient, initSync } from 'edge-oauth';
import { initSync as initP256 } from 'edge-oauth/p256';

const USAGE = `Usage: node examples/device.mjs [options]

  --issuer URL       the authorization server (default http://127.0.0.1:8787/, npm start)
  --client-id ID     a client with the device_code grant (default demo-device)
  --scope SCOPE      default "openid profile offline_access read:items"
  --audience API     default https://api.example.com (the demo API); "" for none
  --dpop             bind the tokens to a fresh DPoP key (RFC 9449)
  -h, --help`;

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      issuer: { type: 'string', default: 'http://127.0.0.1:8787/' },
      'client-id': { type: 'string', default: 'demo-device' },
      scope: { type: 'string', default: 'openid profile offline_access read:items' },
      audience: { type: 'string', default: 'https://api.example.com' },
      dpop: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  console.error(`device: ${err.message}\n\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const wasm = (name) => readFileSync(fileURLToPath(import.meta.resolve(`edge-oauth/${name}`)));
initSync({ module: wasm('edge_oauth_bg.wasm') });
initP256({ module: wasm('edge_oauth_p256_bg.wasm') });

/** The claims of a JWT, decoded (not verified: the API that receives the token verifies it). */
function claimsOf(jwt) {
  const payload = jwt.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function fail(err) {
  const what = err.code === 'OAUTH_ERROR'
    ? `${err.error}${err.errorDescription ? ` (${err.errorDescription})` : ''}`
    : `${err.message}${err.code ? ` [${err.code}]` : ''}`;
  console.error(`device: ${what}`);
  process.exit(1);
}

const issuer = args.issuer.endsWith('/') ? args.issuer : `${args.issuer}/`;
const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('Ctrl-C')));

let client;
let authorization;
try {
  client = await TokenClient.discover(issuer, {
    clientId: args['client-id'],
    dpopKey: args.dpop ? await DpopKey.generate() : undefined,
  });
  authorization = await client.deviceAuthorization({
    scope: args.scope || undefined,
    audience: args.audience || undefined,
    signal: controller.signal,
  });
} catch (err) {
  if (err.code === 'ABORTED') process.exit(130);
  fail(err);
}

const minutes = Math.round(authorization.expiresIn / 60);
console.log(`
  To sign in, open   ${authorization.verificationUri}
  and enter the code ${authorization.userCode}
${authorization.verificationUriComplete ? `  (or open ${authorization.verificationUriComplete})\n` : ''}
Waiting for you to approve (the code expires in ${minutes} minute${minutes === 1 ? '' : 's'}; Ctrl-C cancels)...`);

try {
  const tokens = await client.pollDeviceToken(authorization, {
    signal: controller.signal,
    onPending: ({ error, interval }) => {
      if (error === 'slow_down') console.log(`  (the server asked to slow down: polling every ${interval} s)`);
    },
  });
  console.log(`\nSigned in: a ${tokens.tokenType} access token for ${tokens.expiresIn ?? '?'} s${tokens.refreshToken ? ', and a refresh token' : ''}.`);
  const claims = claimsOf(tokens.accessToken);
  console.log(claims ? `Access token claims:\n${JSON.stringify(claims, null, 2)}` : 'The access token is opaque (not a JWT).');
  if (tokens.idTokenClaims) console.log(`ID token claims (checked):\n${JSON.stringify(tokens.idTokenClaims, null, 2)}`);
} catch (err) {
  if (err.code === 'ABORTED') {
    console.error('\nCancelled.');
    process.exit(130);
  }
  fail(err);
}
