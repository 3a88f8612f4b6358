#!/usr/bin/env node
// npm start: installs what is missing, builds the npm package and the worker, writes the
// worker's development secrets and the demo tenant if absent, then runs the authorization
// server and the demo SPA under `wrangler dev` on http://127.0.0.1:8787 (Ctrl-C stops it).

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WranglerKv, wranglerCommand, wranglerEnv } from './lib/kv.mjs';
import { addOriginIndex, mergeOriginIndex } from './lib/tenant.mjs';
import {
  DEMO_API, PKG_DIR, REPO_ROOT, WORKER_BUNDLE, WORKER_DIR, WORKER_SOURCES, buildDemoTenant, buildWorker,
  formatDotenv, generateDevSecrets, generateRsaSigningJwk, isStale, parseDotenv, run, syncPkgIntoWww,
} from './lib/dev.mjs';

const DEV_VARS = join(WORKER_DIR, '.dev.vars');
const CREDENTIALS = join(WORKER_DIR, '.wrangler', 'demo-credentials.json');
const rel = (p) => p.slice(REPO_ROOT.length + 1);
const startedAt = Date.now();
const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)}s`;

const { values: opts } = parseArgs({
  options: {
    help: { type: 'boolean', short: 'h' },
    'skip-setup': { type: 'boolean' },
    rebuild: { type: 'boolean' },
    'build-only': { type: 'boolean' },
    port: { type: 'string', default: '8787' },
  },
});
const PORT = Number(opts.port);
if (!Number.isInteger(PORT) || PORT < 1 || PORT > 65535) {
  console.error(`start: --port must be a TCP port number, got '${opts.port}'`);
  process.exit(2);
}
const ORIGINS = [`http://127.0.0.1:${PORT}`, `http://localhost:${PORT}`];
if (opts.help) {
  process.stdout.write(`Usage: npm start [-- --skip-setup] [--rebuild] [--build-only] [--port <n>]

Runs the authorization server with the demo SPA on http://127.0.0.1:${PORT}/:
  1. scripts/setup.sh --for start (installs only what npm start uses: the wasm32 target,
     wasm-bindgen-cli, worker-build, the npm dependencies; --skip-setup skips it)
  2. builds pkg/ and the worker when their sources changed (--rebuild: always)
  3. writes ${rel(DEV_VARS)} (signing key, transaction and client-secret keys) if absent
  4. seeds the demo tenant into local KV if absent and prints its credentials
  5. wrangler dev on 127.0.0.1:${PORT} (Ctrl-C stops it)
--build-only stops after step 2 (before \`wrangler deploy\`).
`);
  process.exit(0);
}

const step = (s) => process.stdout.write(`\n== [${elapsed()}] ${s}\n`);

step('setup (the first run compiles wasm-bindgen-cli and worker-build: about 10 minutes on 2 cores)');
if (opts['skip-setup']) console.log('skipped (--skip-setup)');
else await run('bash', ['scripts/setup.sh', '--for', 'start']).catch((e) => { console.error(`start: ${e.message}`); process.exit(1); });

step('build');
if (opts.rebuild || isStale(join(PKG_DIR, 'edge_oauth_bg.wasm'), [join(REPO_ROOT, 'src'), join(REPO_ROOT, 'Cargo.toml')])) {
  // The server runs without pkg/; only the demo SPA needs it.
  // setup.sh --for start ran above: build.sh needs no other tools (not wasm-pack).
  await run('bash', ['scripts/build.sh'], { env: { ...process.env, EDGE_OAUTH_SETUP_DONE: '1' } }).catch((e) => {
    console.error(`start: warning: ${e.message}: the demo SPA needs pkg/; the server runs anyway`);
  });
} else {
  console.log('pkg/: up to date');
}
if (opts.rebuild || isStale(WORKER_BUNDLE, WORKER_SOURCES)) {
  console.log('worker: worker-build --release');
  await buildWorker().catch((e) => {
    console.error(`start: ${e.message}`);
    process.exit(1);
  });
} else {
  console.log('worker: up to date');
}
console.log(syncPkgIntoWww() ? 'www/pkg/: copied from pkg/' : 'www/pkg/: pkg/ was not built, the demo SPA cannot load it');
if (opts['build-only']) process.exit(0);

step('secrets');
const secrets = generateDevSecrets();
if (!existsSync(DEV_VARS)) {
  writeFileSync(DEV_VARS, `# Development secrets for wrangler dev, written by npm start. Not for deployment.\n${formatDotenv(secrets)}`, { mode: 0o600 });
  const [ec, rsa] = JSON.parse(secrets.SIGNING_KEYS);
  console.log(`wrote ${rel(DEV_VARS)}: fresh ES256 and RS256 signing keys (kids ${ec.kid}, ${rsa.kid}), TRANSACTION_SECRET, CLIENT_SECRET_KEY, DPOP_NONCE_SECRET`);
} else {
  let present = parseDotenv(readFileSync(DEV_VARS, 'utf8'));
  // .dev.vars from before RS256 ID tokens: add an RSA key after the existing keys.
  let keys = null;
  try { keys = JSON.parse(present.SIGNING_KEYS ?? 'null'); } catch { /* left to the worker to report */ }
  if (Array.isArray(keys) && !keys.some((k) => k?.kty === 'RSA')) {
    const text = readFileSync(DEV_VARS, 'utf8').split('\n').filter((l) => !/^\s*SIGNING_KEYS\s*=/.test(l)).join('\n');
    writeFileSync(DEV_VARS, `${text.replace(/\n?$/, '\n')}${formatDotenv({ SIGNING_KEYS: JSON.stringify([...keys, generateRsaSigningJwk()]) })}`, { mode: 0o600 });
    console.log(`${rel(DEV_VARS)}: added an RS256 signing key to SIGNING_KEYS (ID tokens are RS256)`);
    present = parseDotenv(readFileSync(DEV_VARS, 'utf8'));
  }
  const missing = Object.fromEntries(Object.entries(secrets).filter(([k]) => !present[k]));
  if (Object.keys(missing).length) {
    writeFileSync(DEV_VARS, `${readFileSync(DEV_VARS, 'utf8').replace(/\n?$/, '\n')}${formatDotenv(missing)}`);
    console.log(`${rel(DEV_VARS)}: added ${Object.keys(missing).join(', ')}`);
  } else {
    console.log(`${rel(DEV_VARS)}: present (delete it to get a new signing key)`);
  }
}

step('demo tenant (local KV in worker/.wrangler/state)');
const demo = buildDemoTenant({ origins: ORIGINS });
addOriginIndex(demo.records); // origin:{origin} → {"clients":[...]} for CORS preflights
let toWrite;
let indexWrites;
try {
  const kv = new WranglerKv();
  const existing = await kv.getMany([...demo.records.keys()]);
  toWrite = [...demo.records].filter(([k]) => !k.startsWith('origin:') && existing.get(k) === null);
  // Origin indexes are merged with what other clients already registered.
  indexWrites = [...demo.records].filter(([k]) => k.startsWith('origin:')).flatMap(([k, v]) => {
    const old = existing.get(k);
    const merged = old === null ? v : mergeOriginIndex(JSON.parse(old), v.clients);
    return merged ? [[k, merged]] : [];
  });
  await kv.putMany([...toWrite, ...indexWrites].map(([k, v]) => [k, JSON.stringify(v)]));
} catch (e) {
  console.error(`start: cannot seed the demo tenant: ${e.message}`);
  process.exit(1);
}
const created = new Set(toWrite.map(([k]) => k));

let saved = {};
try { saved = JSON.parse(readFileSync(CREDENTIALS, 'utf8')); } catch { /* none yet */ }
for (const [name, cred] of Object.entries(demo.credentials)) {
  const key = name === 'user' ? `user:${cred.email}` : `client:${name}`;
  if (created.has(key)) saved[name] = cred;
}
mkdirSync(join(WORKER_DIR, '.wrangler'), { recursive: true });
writeFileSync(CREDENTIALS, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
chmodSync(CREDENTIALS, 0o600);

const shown = (key, value, what) => {
  if (created.has(key)) return `${value}   (new: shown in full only now and kept in ${rel(CREDENTIALS)})`;
  if (value) return `${value}   (from ${rel(CREDENTIALS)})`;
  return `(set when first created; not in ${rel(CREDENTIALS)}: ${what})`;
};
console.log(created.size ? `seeded ${created.size} record(s): ${[...created].join(', ')}` : 'already seeded');
console.log(`
  API        ${DEMO_API}   scopes: read:items write:items   offline_access allowed
  SPA        client_id demo-spa    (public, PKCE)   redirect URIs: ${ORIGINS.map((o) => `${o}/`).join(' ')}
  Device     client_id demo-device (public, RFC 8628 device flow: node examples/device.mjs)
  Web app    client_id demo-web    (client_secret_basic)
             client_secret ${shown('client:demo-web', saved['demo-web']?.client_secret, 'npm run tenant -- client rotate-secret demo-web')}
  M2M        client_id demo-m2m    (client_secret_basic, grant: ${DEMO_API} read:items)
             client_secret ${shown('client:demo-m2m', saved['demo-m2m']?.client_secret, 'npm run tenant -- client rotate-secret demo-m2m')}
  User       ${demo.credentials.user.email}
             password ${shown('user:demo@example.com', saved.user?.password, 'npm run tenant -- user delete demo@example.com, then npm start again')}
`);
const m2mSecret = saved['demo-m2m']?.client_secret ?? '<secret>';
console.log(`Try:
  open http://127.0.0.1:${PORT}/                  the demo SPA (sign in as ${demo.credentials.user.email})
  curl -s -u demo-m2m:${m2mSecret} -d grant_type=client_credentials \\
       -d audience=${DEMO_API} http://127.0.0.1:${PORT}/oauth/token
  npm run tenant -- --help                        manage clients, APIs, grants and users`);

step(`wrangler dev on http://127.0.0.1:${PORT}/ (Ctrl-C stops it; it answers a few seconds after this line)`);
const [cmd, ...pre] = wranglerCommand();
const child = spawn(cmd, [...pre, 'dev', '--ip', '127.0.0.1', '--port', String(PORT), '--inspector-ip', '127.0.0.1',
  '--var', `ISSUER:http://127.0.0.1:${PORT}/`], { cwd: WORKER_DIR, env: wranglerEnv(), stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
