// The root package.json is the npm package: its exports must lead to pkg/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));

test('the package resolves by its name to pkg/ and loads with initSync', async () => {
  assert.equal(manifest.name, 'edge-oauth');
  assert.equal(import.meta.resolve('edge-oauth'), new URL('pkg/edge_oauth.js', root).href);
  const wasmUrl = import.meta.resolve('edge-oauth/edge_oauth_bg.wasm');
  assert.equal(wasmUrl, new URL('pkg/edge_oauth_bg.wasm', root).href);

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
    'DpopKey',
    'TokenClient',
    'fetchWithDpop',
  ]) {
    assert.equal(typeof edge[name], 'function', `${name} is not exported`);
  }
  assert.equal(typeof edge.default, 'function', 'the async init() default export is missing');
  assert.equal(edge.calculateCodeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
});

test('the TypeScript types are real interfaces, not any', () => {
  const dts = readFileSync(new URL(manifest.types, root), 'utf8');
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
    'export function fetchWithDpop(url: string | URL',
    'createProof(options: CreateProofOptions): Promise<string>',
    'createProofSync(options: CreateProofOptions): string',
    'static generateNonExtractable(): Promise<DpopKey>',
    'static load(name: string): Promise<DpopKey | undefined>',
  ]) {
    assert.ok(dts.includes(needle), `pkg/edge_oauth.d.ts lacks ${needle}`);
  }
  for (const needle of [
    'static fromJwk(privateJwk: PrivateJwk | string): DpopKey',
    'static fromCryptoKeyPair(keyPair: CryptoKeyPair): Promise<DpopKey>',
    'refresh(refreshToken: string, options?: RefreshOptions | null): Promise<TokenSet>',
    'export function parseTokenResponse(status: number, bodyText: string, headers?: HeadersLike | null): TokenSet',
  ]) {
    assert.ok(dts.includes(needle), `pkg/edge_oauth.d.ts lacks ${needle}`);
  }
  // Parameter names are camelCase, like every other JS name.
  const snakeParams = [...dts.matchAll(/^\s*(?:export function |static |)\w+\(([^)]*)\)/gm)]
    .flatMap((m) => m[1].split(',').map((p) => p.trim().split(/\??:/)[0]))
    .filter((name) => name.includes('_'));
  assert.deepEqual(snakeParams, [], 'snake_case parameter names in pkg/edge_oauth.d.ts');
  assert.doesNotMatch(dts, /^export function \w+\([^)]*\): any;$/m);
  assert.doesNotMatch(dts, /\bcreateProof\(options: any\)/);
});

test('every exported file exists and is listed in files', () => {
  const targets = [manifest.types, manifest.exports['.'].default, manifest.exports['.'].types, manifest.exports['./edge_oauth_bg.wasm']];
  for (const target of targets) {
    const path = target.replace(/^\.\//, '');
    assert.ok(manifest.files.includes(path), `${path} is exported but not in files`);
    assert.ok(readFileSync(new URL(path, root)).length > 0, `${path} is empty`);
  }
  const wasm = readFileSync(new URL('pkg/edge_oauth_bg.wasm', root));
  assert.ok(WebAssembly.validate(wasm), 'pkg/edge_oauth_bg.wasm does not validate');
});

test('the IndexedDB snippet the glue imports is shipped (files lists pkg/snippets/)', () => {
  const glue = readFileSync(new URL(manifest.exports['.'].default, root), 'utf8');
  const imports = [...glue.matchAll(/from '\.\/(snippets\/[^']+)'/g)].map((m) => m[1]);
  assert.ok(imports.length > 0, 'the glue imports no snippet');
  for (const path of imports) {
    assert.ok(readFileSync(new URL(`pkg/${path}`, root)).length > 0, `pkg/${path} is missing`);
    assert.ok(manifest.files.some((f) => `pkg/${path}`.startsWith(f)), `pkg/${path} is not in files`);
  }
  assert.doesNotMatch(readFileSync(new URL('pkg/edge_oauth.d.ts', root), 'utf8'), /^\s+__share\(/m, 'the internal __share is not typed');
});
