// npm run bench: edge-oauth against oauth4webapi and dpop in headless Chromium (one page,
// one run), the size of each entry (raw, gzipped), what an SPA bundled with esbuild loads
// (bench/spa/), and the top contributors of each wasm file (bench/wasm-size.mjs). Serves
// the page, the package and the peers from a local server on 127.0.0.1, prints tables and
// writes bench-results/*.json; then runs the server benchmark (bench/server.mjs).
//
//   npm run bench              everything
//   npm run bench -- --check   the client part only; exits 1 when a goal below is missed
//   npm run bench -- --sizes   the size tables only (no timing runs, no browser)
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { chromium } from 'playwright-core';

import { bundleSpa, packAndInstall } from './spa/pack.mjs';
import { byCrate, profile } from './wasm-size.mjs';

const CHECK = process.argv.includes('--check');
const SIZES_ONLY = process.argv.includes('--sizes');
// The goals of the package (gzipped sizes in bytes, ratios edge-oauth / peer).
const GOALS = {
  spaInitialGzip: 25 * 1024,
  p256AddedGzip: 40 * 1024,
  p256ProofRatio: 2,
  webcryptoProofRatio: 0.9,
};

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const OVERALL_TIMEOUT_MS = 180_000;
const SETTINGS = { warmupMs: 300, batchMs: 5, budgetMs: 3000, minSamples: 21, maxSamples: 201 };

// URL prefix -> directory it may read from. Nothing else is served.
const ROUTES = [
  ['/pkg/', join(ROOT, 'pkg')],
  ['/src/js/', join(ROOT, 'src', 'js')],
  ['/node_modules/oauth4webapi/', join(ROOT, 'node_modules', 'oauth4webapi')],
  ['/node_modules/dpop/', join(ROOT, 'node_modules', 'dpop')],
  ['/bench/', join(ROOT, 'bench')],
];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}

for (const file of ['edge_oauth.js', 'edge_oauth_bg.wasm', 'edge_oauth_p256.js', 'edge_oauth_p256_bg.wasm']) {
  if (!existsSync(join(ROOT, 'pkg', file))) fail(`pkg/${file} is missing: run \`npm run build\` first`);
}
if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing: run \`bash scripts/setup.sh\``);

function filePath(urlPath) {
  if (urlPath === '/' || urlPath === '/index.html') return join(ROOT, 'bench', 'index.html');
  for (const [prefix, dir] of ROUTES) {
    if (!urlPath.startsWith(prefix)) continue;
    const path = resolve(dir, decodeURIComponent(urlPath.slice(prefix.length)));
    if (path.startsWith(dir + sep) && existsSync(path) && statSync(path).isFile()) return path;
  }
  return null;
}

const server = createServer((req, res) => {
  const path = req.method === 'GET' ? filePath(new URL(req.url, 'http://x').pathname) : null;
  if (!path) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  res.writeHead(200, {
    'Content-Type': TYPES[extname(path)] || 'application/octet-stream',
    'Cache-Control': 'no-store',
    // Cross-origin isolation gives performance.now() its finest resolution.
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
  });
  createReadStream(path).pipe(res);
});

let browser;
async function cleanup() {
  await browser?.close().catch(() => {});
  await new Promise((done) => server.close(done));
  server.closeAllConnections?.();
}

const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${OVERALL_TIMEOUT_MS / 1000}s, giving up`);
  cleanup().finally(() => process.exit(1));
}, OVERALL_TIMEOUT_MS);

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const fileSize = (rel) => {
  const bytes = readFileSync(join(ROOT, rel));
  return { file: rel, raw: bytes.length, gzip: gz(bytes) };
};

/** Each entry's files as they are published (unbundled), and the wasm profiles. */
function sizes() {
  const js = ['util.js', 'idb.js', 'key.js', 'store.js', 'protocol.js', 'claims.js', 'idtoken.js', 'client.js', 'index.js'].map((f) => `src/js/${f}`);
  const entries = [
    { entry: 'edge-oauth', files: [...js, 'pkg/edge_oauth.js', 'pkg/edge_oauth_bg.wasm'].map(fileSize) },
    { entry: 'edge-oauth/p256 (added)', files: ['src/js/p256.js', 'pkg/edge_oauth_p256.js', 'pkg/edge_oauth_p256_bg.wasm'].map(fileSize) },
  ];
  for (const e of entries) e.total = e.files.reduce((t, f) => ({ raw: t.raw + f.raw, gzip: t.gzip + f.gzip }), { raw: 0, gzip: 0 });
  const wasm = ['edge_oauth_bg.wasm', 'edge_oauth_p256_bg.wasm'].map((name) => {
    const named = join(ROOT, 'target', 'wasm-names', name);
    if (!existsSync(named)) return { file: `pkg/${name}`, missing: 'target/wasm-names/ (run npm run build)' };
    const p = profile(readFileSync(named));
    return { file: `pkg/${name}`, total: p.total, top: p.items.slice(0, 15), crates: byCrate(p.items).slice(0, 10) };
  });
  return { entries, wasm };
}

/** The esbuild bundle of bench/spa/app.mjs against the packed and installed package. */
async function spaSizes() {
  const installed = packAndInstall();
  try {
    const { files } = await bundleSpa(installed.project);
    const sum = (list) => list.reduce((t, f) => ({ raw: t.raw + f.raw, gzip: t.gzip + f.gzip }), { raw: 0, gzip: 0 });
    // Lazily loaded: the edge-oauth/p256 chunk and module, and chunks of other dynamic
    // imports (verifyIdToken's WebCrypto code).
    const p256 = (f) => !f.initial && /p256/.test(f.file);
    return {
      files,
      initial: sum(files.filter((f) => f.initial)),
      lazy: sum(files.filter(p256)),
      otherLazy: sum(files.filter((f) => !f.initial && !p256(f))),
    };
  } finally {
    rmSync(installed.dir, { recursive: true, force: true });
  }
}

const us = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

function printTable(run, size, spa) {
  if (run) printTimings(run);
  printSizes(size, spa);
}

function printTimings(run) {
  console.log(`\nedge-oauth benchmark: ${run.browser}, headless, one page, one run`);
  console.log(`median µs per operation (lower is better); ratio = edge-oauth / peer\n`);
  const rows = run.results.map((r) => [r.name, us(r.ours.medianUs), us(r.peer.medianUs), `${r.ratio.toFixed(2)}x`]);
  const head = ['operation', 'edge-oauth', 'peer', 'ratio'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('   '));
  for (const row of rows) console.log(line(row));
  console.log('\npeers:');
  for (const r of run.results) {
    console.log(`  ${r.name}: ${r.peer.what} (${r.peer.samples} samples x ${r.peer.batch} calls)`);
    console.log(`  ${' '.repeat(r.name.length)}  vs ${r.ours.what} (${r.ours.samples} samples x ${r.ours.batch} calls)`);
  }
}

function printSizes(size, spa) {

  const pad = (c, w, left) => (left ? c.padEnd(w) : c.padStart(w));
  const table = (head, rows) => {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    console.log(head.map((h, i) => pad(h, widths[i], i === 0)).join('   '));
    console.log(widths.map((w) => '-'.repeat(w)).join('   '));
    for (const r of rows) console.log(r.map((c, i) => pad(c, widths[i], i === 0)).join('   '));
  };
  console.log('\nsizes per entry, as published (gzip: zlib level 9, each file on its own)\n');
  table(['entry / file', 'raw', 'gzip'], size.entries.flatMap((e) => [
    ...e.files.map((f) => [`${e.entry}: ${f.file}`, kb(f.raw), kb(f.gzip)]),
    [`${e.entry}: total`, kb(e.total.raw), kb(e.total.gzip)],
  ]));
  console.log('\nan SPA with a WebCrypto key (bench/spa/app.mjs), esbuild --bundle --minify --splitting\n');
  table(['file', 'loaded', 'raw', 'gzip'], [
    ...spa.files.map((f) => [f.file, f.initial ? 'at start' : /p256/.test(f.file) ? 'on p256 use' : 'on use', kb(f.raw), kb(f.gzip)]),
    ['what the SPA loads at start (JS + wasm)', '', kb(spa.initial.raw), kb(spa.initial.gzip)],
    ['what edge-oauth/p256 adds when used', '', kb(spa.lazy.raw), kb(spa.lazy.gzip)],
    ['what other dynamic imports add when used', '', kb(spa.otherLazy.raw), kb(spa.otherLazy.gzip)],
  ]);
  for (const w of size.wasm) {
    if (w.missing) {
      console.log(`\ntop contributors of ${w.file}: no profile, ${w.missing}`);
      continue;
    }
    console.log(`\ntop contributors of ${w.file} (${w.total} bytes with names; function bodies and data segments)\n`);
    table(['item', 'bytes', 'share'], w.top.map((t) => [t.name.slice(0, 100), String(t.size), `${((100 * t.size) / w.total).toFixed(1)}%`]));
    console.log('');
    table(['by crate', 'bytes', 'share'], w.crates.map((t) => [t.name, String(t.size), `${((100 * t.size) / w.total).toFixed(1)}%`]));
  }
}

/** The goals that were missed, as sentences. */
function missedGoals(run, spa) {
  const missed = [];
  const ratio = (name) => run.results.find((r) => r.name === name)?.ratio;
  if (spa.initial.gzip > GOALS.spaInitialGzip) missed.push(`the SPA loads ${kb(spa.initial.gzip)} gzipped at start, goal at most ${kb(GOALS.spaInitialGzip)}`);
  if (spa.lazy.gzip > GOALS.p256AddedGzip) missed.push(`edge-oauth/p256 adds ${kb(spa.lazy.gzip)} gzipped, goal at most ${kb(GOALS.p256AddedGzip)}`);
  if (!run) return missed;
  const p256 = ratio('DPoP proof with ath (ES256)');
  if (!(p256 <= GOALS.p256ProofRatio)) missed.push(`p256 DPoP proof ${p256?.toFixed(2)}x the dpop package, goal at most ${GOALS.p256ProofRatio}x`);
  const web = ratio('DPoP proof with ath (ES256), non-extractable WebCrypto key');
  if (!(web <= GOALS.webcryptoProofRatio)) missed.push(`WebCrypto DPoP proof ${web?.toFixed(2)}x the dpop package, goal at most ${GOALS.webcryptoProofRatio}x`);
  return missed;
}

if (SIZES_ONLY) {
  try {
    const size = sizes();
    const spa = await spaSizes();
    printSizes(size, spa);
    const missed = missedGoals(null, spa);
    console.log(missed.length ? `\nsize goals missed:\n${missed.map((m) => `  - ${m}`).join('\n')}` : '\nsize goals met');
  } catch (err) {
    console.error(`bench: ${err?.stack || err}`);
    process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
    server.close();
  }
  process.exit();
}

try {
  await new Promise((ready, failed) => server.once('error', failed).listen(0, '127.0.0.1', ready));
  const { port } = server.address();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.error(`bench: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.error(`bench: page console: ${msg.text()}`);
  });
  page.setDefaultTimeout(OVERALL_TIMEOUT_MS);
  await page.goto(`http://127.0.0.1:${port}/`);
  const result = await page.evaluate(async (settings) => {
    const bench = await import('/bench/page.mjs');
    return bench.run(settings);
  }, SETTINGS);
  const run = { browser: `Chromium ${browser.version()}`, settings: SETTINGS, ...result };
  const size = sizes();
  const spa = await spaSizes();
  printTable(run, size, spa);
  const missed = missedGoals(run, spa);
  console.log(missed.length ? `\ngoals missed:\n${missed.map((m) => `  - ${m}`).join('\n')}` : '\nall goals met');
  if (CHECK && missed.length) process.exitCode = 1;

  const stamp = new Date().toISOString();
  const report = { date: stamp, node: process.version, ...run, sizes: size, spa, goals: GOALS, missed };
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  const name = `bench-${stamp.replace(/[:.]/g, '-')}.json`;
  writeFileSync(join(ROOT, 'bench-results', name), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(ROOT, 'bench-results', 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote bench-results/${name}`);
} catch (err) {
  console.error(`bench: ${err?.stack || err}`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await cleanup();
}

// The authorization server's latency (under wrangler dev), unless only the goals are checked.
if (!CHECK && process.exitCode !== 1) {
  const server = spawnSync(process.execPath, [join(ROOT, 'bench', 'server.mjs')], { stdio: 'inherit' });
  if (server.status !== 0) process.exitCode = server.status ?? 1;
}
