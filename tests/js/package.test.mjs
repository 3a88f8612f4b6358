// The root package.json is the npm package: its exports lead to the JS entry points in
// src/js/, which load the two wasm builds in pkg/. (tarball.test.mjs installs the packed
// tarball and imports it for real.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));

test('the package resolves by its name to src/js/ and loads with initSync', async () => {
  assert.equal(manifest.name, 'edge-oauth');
  assert.equal(import.meta.resolve('edge-oauth'), new URL('src/js/index.js', root).href);
  assert.equal(import.meta.resolve('edge-oauth/p256'), new URL('src/js/p256.js', root).href);
  const wasmUrl = import.meta.resolve('edge-oauth/edge_oauth_bg.wasm');
  assert.equal(wasmUrl, new URL('pkg/edge_oauth_bg.wasm', root).href);
  assert.equal(import.meta.resolve('edge-oauth/edge_oauth_p256_bg.wasm'), new URL('pkg/edge_oauth_p256_bg.wasm', root).href);

  const edge = await import('edge-oauth');
  edge.initSync({ module: readFileSync(fileURLToPath(wasmUrl)) });
  for (const name of [
    'generateCodeVerifier',
    'calculateCodeChallenge',
    'generatePkce',
    'calculateJwkThumbprint',
    'authorizationCodeGrantBody',
    'refreshTokenGrantBody',
    'clientCredentialsGrantBody',
    'parseTokenResponse',
    'deviceAuthorizationRequestBody',
    'deviceCodeGrantBody',
    'parseDeviceAuthorizationResponse',
    'DpopKey',
    'TokenClient',
    'fetchWithDpop',
    'MemoryTokenStore',
    'IndexedDbTokenStore',
  ]) {
    assert.equal(typeof edge[name], 'function', `${name} is not exported`);
  }
  assert.equal(typeof edge.default, 'function', 'the async init() default export is missing');
  assert.equal(edge.calculateCodeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  // The internal helpers of the JS layer are not public API.
  for (const name of ['NonceCache', 'DpopPublicKey', 'finishProof', 'tokenResponse', 'basicCredentials', 'P256Key', 'nextDevicePollInterval']) {
    assert.equal(edge[name], undefined, `${name} is exported`);
  }
  const p256 = await import('edge-oauth/p256');
  assert.equal(p256.DpopKey, edge.DpopKey);
  assert.equal(typeof p256.default, 'function');
  assert.equal(typeof p256.initSync, 'function');
});

test('the TypeScript types are real interfaces, not any', () => {
  const dts = readFileSync(new URL(manifest.types, root), 'utf8');
  assert.equal(manifest.exports['.'].types, manifest.types);
  for (const needle of [
    'export function generateCodeVerifier(): string',
    'export function calculateCodeChallenge(',
    'export function generatePkce(): Pkce',
    'export function parseTokenResponse(',
    'export class DpopKey',
    'export interface Pkce',
    'export interface CreateProofOptions',
    'export interface PublicJwk',
    'export interface EdgeOAuthError',
    'export interface TokenSet',
    'export class TokenClient',
    'export interface TokenClientOptions',
    'export interface TokenStore',
    'export class IndexedDbTokenStore implements TokenStore',
    'export function fetchWithDpop(url: string | URL',
    'createProof(options: CreateProofOptions): Promise<string>',
    'createProofSync(options: CreateProofOptions): string',
    'static generateNonExtractable(): Promise<DpopKey>',
    'static load(name: string): Promise<DpopKey | undefined>',
    'static fromJwk(privateJwk: PrivateJwk | string): DpopKey',
    'static fromCryptoKeyPair(keyPair: CryptoKeyPair): Promise<DpopKey>',
    'refresh(refreshToken: string, options?: RefreshOptions | null): Promise<TokenSet>',
    'export function parseTokenResponse(status: number, bodyText: string, headers?: HeadersLike | null): TokenSet',
    'export interface DeviceAuthorization {',
    'deviceAuthorization(options?: DeviceAuthorizationOptions | null): Promise<DeviceAuthorization>',
    'pollDeviceToken(authorization: DeviceAuthorization, options?: PollDeviceTokenOptions | null): Promise<TokenSet>',
  ]) {
    assert.ok(dts.includes(needle), `${manifest.types} lacks ${needle}`);
  }
  // Parameter names are camelCase, like every other JS name.
  const snakeParams = [...dts.matchAll(/^\s*(?:export function |static |)\w+\(([^)]*)\)/gm)]
    .flatMap((m) => m[1].split(',').map((p) => p.trim().split(/\??:/)[0]))
    .filter((name) => name.includes('_'));
  assert.deepEqual(snakeParams, [], `snake_case parameter names in ${manifest.types}`);
  assert.doesNotMatch(dts, /:\s*any\b/);
  assert.doesNotMatch(dts, /__share/);
  const p256 = readFileSync(new URL(manifest.exports['./p256'].types, root), 'utf8');
  assert.match(p256, /export \{ DpopKey \} from '\.\/index\.js'/);
  assert.match(p256, /export default function init\(/);
});

test('every exported file exists and is a valid module', () => {
  const targets = [manifest.main, manifest.types, ...Object.values(manifest.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)))];
  for (const target of targets) {
    assert.ok(readFileSync(new URL(target, root)).length > 0, `${target} is empty`);
  }
  for (const wasm of ['pkg/edge_oauth_bg.wasm', 'pkg/edge_oauth_p256_bg.wasm']) {
    assert.ok(WebAssembly.validate(readFileSync(new URL(wasm, root))), `${wasm} does not validate`);
  }
});

test('parseAuthorizationResponse takes window.location as it is, and its types say so', async () => {
  const dts = readFileSync(new URL(manifest.types, root), 'utf8');
  assert.ok(dts.includes('export function parseAuthorizationResponse(url: string | URL | Location, options: AuthorizationResponseOptions): AuthorizationResponse'));
  assert.match(dts, /^ {2}parseAuthorizationResponse\(url: string \| URL \| Location, options: /m, 'TokenClient.parseAuthorizationResponse too');
  const edge = await import('edge-oauth');
  edge.initSync({ module: readFileSync(fileURLToPath(import.meta.resolve('edge-oauth/edge_oauth_bg.wasm'))) });
  // What the JS reads of a Location is its href.
  const href = 'https://app.example/cb?code=c-1&state=s-1';
  const location = { href, origin: 'https://app.example', pathname: '/cb', search: '?code=c-1&state=s-1', hash: '' };
  assert.equal(edge.parseAuthorizationResponse(location, { state: 's-1' }).code, 'c-1');
});
