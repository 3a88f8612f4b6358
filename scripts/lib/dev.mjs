// Shared by `npm start` (scripts/start.mjs) and the end-to-end tests (tests/e2e/): build the
// worker, make its development secrets, seed a tenant, and run `wrangler dev` on 127.0.0.1.

import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, WORKER_DIR, wranglerCommand, wranglerEnv } from './kv.mjs';
import { DEVICE_CODE_GRANT, buildApi, buildClient, buildGrant, buildUser, keys } from './tenant.mjs';

export { REPO_ROOT, WORKER_DIR };
export const WWW_DIR = join(REPO_ROOT, 'www');
export const PKG_DIR = join(REPO_ROOT, 'pkg');
export const WORKER_BUNDLE = join(WORKER_DIR, 'build', 'worker', 'shim.mjs');
export const DEMO_API = 'https://api.example.com';
export const DEMO_USER_EMAIL = 'demo@example.com';

/** Runs a command with inherited output; rejects on a non-zero exit. */
export function run(cmd, args, { cwd = REPO_ROOT, env = process.env, quiet = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'] });
    let output = '';
    if (quiet) {
      child.stdout.on('data', (d) => { output += d; });
      child.stderr.on('data', (d) => { output += d; });
    }
    child.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(output)
      : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}${quiet ? `\n${output.slice(-4000)}` : ''}`))));
  });
}

function which(name, extraDirs = []) {
  for (const dir of [...extraDirs, ...(process.env.PATH ?? '').split(':')]) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

/**
 * `worker-build --release` in worker/, with the wasm-bindgen, wasm-opt and esbuild already
 * installed (so it downloads nothing).
 */
export async function buildWorker({ quiet = false } = {}) {
  const cargoBin = join(homedir(), '.cargo', 'bin');
  const workerBuild = which('worker-build', [cargoBin]);
  if (!workerBuild) throw new Error('worker-build is not installed: run scripts/setup.sh');
  const esbuild = join(REPO_ROOT, 'node_modules', '@esbuild', 'linux-x64', 'bin', 'esbuild');
  const wasmOpt = join(REPO_ROOT, 'node_modules', '.bin', 'wasm-opt');
  for (const [what, p] of [['esbuild', esbuild], ['wasm-opt', wasmOpt]]) {
    if (!existsSync(p)) throw new Error(`${what} not found at ${p}: run scripts/setup.sh`);
  }
  const env = {
    ...process.env,
    PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${cargoBin}:${process.env.PATH}`,
    WASM_BINDGEN_BIN: which('wasm-bindgen', [cargoBin]) ?? 'wasm-bindgen',
    WASM_OPT_BIN: wasmOpt,
    ESBUILD_BIN: esbuild,
  };
  await run(workerBuild, ['--release'], { cwd: WORKER_DIR, env, quiet });
  if (!existsSync(WORKER_BUNDLE)) throw new Error(`worker-build did not produce ${WORKER_BUNDLE}`);
}

/**
 * Copies the package to www/pkg/ so the demo SPA can import it: the wasm glue and modules
 * of pkg/, and the JS layer as www/pkg/js/ (its imports of `../../pkg/edge_oauth.js` then
 * resolve to /pkg/edge_oauth.js).
 */
export function syncPkgIntoWww() {
  if (!existsSync(join(PKG_DIR, 'edge_oauth.js'))) return false;
  const dest = join(WWW_DIR, 'pkg');
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(join(dest, 'js'), { recursive: true });
  for (const f of ['edge_oauth.js', 'edge_oauth_bg.wasm', 'edge_oauth_p256.js', 'edge_oauth_p256_bg.wasm']) {
    if (existsSync(join(PKG_DIR, f))) cpSync(join(PKG_DIR, f), join(dest, f));
  }
  const js = join(REPO_ROOT, 'src', 'js');
  for (const f of readdirSync(js)) if (f.endsWith('.js')) cpSync(join(js, f), join(dest, 'js', f));
  return true;
}

/** An ES256 private JWK with its RFC 7638 thumbprint as `kid`. */
export function generateSigningJwk() {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = privateKey.export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  const kid = createHash('sha256').update(canonical).digest('base64url');
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d: jwk.d, kid, alg: 'ES256', use: 'sig' };
}

/**
 * An RS256 private JWK (RSA 2048) with its RFC 7638 thumbprint as `kid`: the worker signs
 * ID tokens with it (OIDC Core §15.1 makes RS256 the one algorithm every OP supports).
 */
export function generateRsaSigningJwk() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n });
  const kid = createHash('sha256').update(canonical).digest('base64url');
  const { n, e, d, p, q, dp, dq, qi } = jwk;
  return { kty: 'RSA', n, e, d, p, q, dp, dq, qi, kid, alg: 'RS256', use: 'sig' };
}

/** SIGNING_KEYS for a new deployment: an ES256 key (access tokens) and an RS256 key (ID tokens). */
export const generateSigningKeys = () => [generateSigningJwk(), generateRsaSigningJwk()];

/** The worker's secrets for development: fresh signing keys and HMAC/AES keys (incl. the DPoP nonce key). */
export function generateDevSecrets() {
  return {
    SIGNING_KEYS: JSON.stringify(generateSigningKeys()),
    TRANSACTION_SECRET: randomBytes(32).toString('base64url'),
    CLIENT_SECRET_KEY: randomBytes(32).toString('base64url'),
    // HMAC key of the worker's stateless DPoP nonces (worker/src/dpop.rs).
    DPOP_NONCE_SECRET: randomBytes(32).toString('base64url'),
  };
}

/** KEY='value' lines (.dev.vars / --env-file format; no value holds a single quote). */
export const formatDotenv = (vars) => Object.entries(vars).map(([k, v]) => `${k}='${v}'\n`).join('');

/** Reads KEY=VALUE lines of a .dev.vars file. */
export function parseDotenv(text) {
  const vars = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/);
    if (!m) continue;
    let v = m[2];
    if ((v.startsWith("'") && v.endsWith("'")) || (v.startsWith('"') && v.endsWith('"'))) v = v.slice(1, -1);
    vars[m[1]] = v;
  }
  return vars;
}

/**
 * The demo tenant for a server at `origins[0]`: records keyed by KV key, plus what must
 * be shown to the developer (ids, secrets, the user's password).
 *
 * @param {object} o
 * @param {string[]} o.origins the origins the demo SPA is served from (first is primary)
 * @param {number} [o.iterations] PBKDF2 iterations for the demo user
 * @param {string} [o.clientSecretKey] for the client_secret_jwt test client, if wanted
 */
export function buildDemoTenant({ origins, iterations, userPassword } = {}) {
  const records = new Map();
  const credentials = {};
  const api = buildApi({
    identifier: DEMO_API, name: 'Example API', scopes: ['read:items', 'write:items'], allowOfflineAccess: true,
  });
  records.set(keys.api(api.identifier), api);

  const spa = buildClient({
    type: 'spa', clientId: 'demo-spa', name: 'Demo SPA',
    redirectUris: origins.map((o) => `${o}/`), origins,
  });
  records.set(keys.client('demo-spa'), spa.record);
  credentials['demo-spa'] = { client_id: 'demo-spa', type: 'spa' };

  const web = buildClient({
    type: 'regular_web', clientId: 'demo-web', name: 'Demo web app',
    redirectUris: origins.map((o) => `${o}/callback`),
  });
  records.set(keys.client('demo-web'), web.record);
  credentials['demo-web'] = { client_id: 'demo-web', type: 'regular_web', client_secret: web.secret };

  const m2m = buildClient({ type: 'm2m', clientId: 'demo-m2m', name: 'Demo M2M job' });
  records.set(keys.client('demo-m2m'), m2m.record);
  credentials['demo-m2m'] = { client_id: 'demo-m2m', type: 'm2m', client_secret: m2m.secret };

  // A public client for devices without a browser (examples/device.mjs): RFC 8628.
  const device = buildClient({
    type: 'spa', clientId: 'demo-device', name: 'Demo terminal (device flow)', grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'],
  });
  records.set(keys.client('demo-device'), device.record);
  credentials['demo-device'] = { client_id: 'demo-device', type: 'spa' };

  const grant = buildGrant(m2m.record, api, ['read:items']);
  records.set(keys.grant('demo-m2m', DEMO_API), grant);

  const user = buildUser({ email: DEMO_USER_EMAIL, name: 'Demo User', password: userPassword, iterations });
  records.set(keys.user(user.record.email), user.record);
  credentials.user = { email: user.record.email, user_id: user.record.user_id, password: userPassword ?? user.password };

  return { records, credentials };
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `wrangler dev` for the built worker (detached, in its own process group, so that
 * `stop()` ends wrangler and workerd together) and waits until it answers.
 *
 * @returns {Promise<{url: string, port: number, stop: () => Promise<void>, output: () => string}>}
 */
export async function startWranglerDev({
  port, persistTo, envFile, issuer, inspectorPort, timeoutMs = 60000, extraArgs = [], log = false,
}) {
  const url = `http://127.0.0.1:${port}`;
  const [cmd, ...pre] = wranglerCommand();
  const args = [...pre, 'dev', '--ip', '127.0.0.1', '--port', String(port),
    '--inspector-port', String(inspectorPort ?? await freePort()), '--inspector-ip', '127.0.0.1',
    '--show-interactive-dev-session=false', '--live-reload=false', '--log-level', log ? 'log' : 'warn',
    '--var', `ISSUER:${issuer ?? `${url}/`}`];
  if (persistTo) args.push('--persist-to', persistTo);
  if (envFile) args.push('--env-file', envFile);
  args.push(...extraArgs);
  const child = spawn(cmd, args, {
    cwd: WORKER_DIR,
    env: wranglerEnv({ CI: 'true' }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const collect = (d) => {
    output += d;
    if (output.length > 200000) output = output.slice(-100000);
    if (log) process.stderr.write(d);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = null;
  const exitPromise = new Promise((resolve) => child.on('exit', (code, signal) => { exited = { code, signal }; resolve(); }));

  // If this process ends without stop() (a crash, Ctrl-C, a killed test runner), the
  // detached group must not outlive it.
  const killGroup = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } };
  const onSignal = (sig) => { killGroup(); process.exit(sig === 'SIGINT' ? 130 : 143); };
  process.on('exit', killGroup);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const stop = async () => {
    process.off('exit', killGroup);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (exited) return;
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
    await exitPromise;
    clearTimeout(timer);
    // workerd may outlive wrangler for a moment: make sure the group is gone.
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`wrangler dev exited (${JSON.stringify(exited)}) before answering:\n${output.slice(-4000)}`);
    try {
      const res = await fetch(`${url}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status < 500) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer on ${url} within ${timeoutMs / 1000}s:\n${output.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, port, stop, output: () => output };
}

/** Whether `file` is missing or older than any file under `paths` (build outputs skipped). */
export function isStale(file, paths) {
  if (!existsSync(file)) return true;
  const built = statSync(file).mtimeMs;
  const skip = new Set(['target', 'build', '.wrangler', 'node_modules', 'pkg']);
  const newer = (p) => {
    const s = statSync(p);
    if (s.isDirectory()) return readdirSync(p).some((n) => !skip.has(n) && newer(join(p, n)));
    return s.mtimeMs > built;
  };
  return paths.filter((p) => existsSync(p)).some(newer);
}

/** The sources the worker bundle is built from. */
export const WORKER_SOURCES = [join(REPO_ROOT, 'src'), join(REPO_ROOT, 'Cargo.toml'), join(REPO_ROOT, 'Cargo.lock'),
  join(WORKER_DIR, 'src'), join(WORKER_DIR, 'Cargo.toml')];
