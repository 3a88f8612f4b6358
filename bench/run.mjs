// npm run bench: edge-oauth against oauth4webapi and dpop in headless Chromium (one page,
// one run), plus the size of pkg/. Serves the page, pkg/ and the peers from a local
// server on 127.0.0.1, prints a table and writes bench-results/*.json.
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const OVERALL_TIMEOUT_MS = 180_000;
const SETTINGS = { warmupMs: 300, batchMs: 5, budgetMs: 3000, minSamples: 21, maxSamples: 201 };

// URL prefix -> directory it may read from. Nothing else is served.
const ROUTES = [
  ['/pkg/', join(ROOT, 'pkg')],
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

for (const file of ['edge_oauth.js', 'edge_oauth_bg.wasm']) {
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

function sizes() {
  const dir = join(ROOT, 'pkg');
  const files = [];
  const walk = (sub) => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name !== '.gitignore') {
        const bytes = readFileSync(join(dir, rel));
        files.push({ file: `pkg/${rel}`, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
      }
    }
  };
  walk('');
  files.sort((a, b) => b.raw - a.raw);
  const total = files.reduce((t, f) => ({ raw: t.raw + f.raw, gzip: t.gzip + f.gzip }), { raw: 0, gzip: 0 });
  return { files, total };
}

const us = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

function printTable(run, size) {
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

  console.log('\npkg/ sizes (gzip: zlib level 9)\n');
  const fileWidth = Math.max(5, ...size.files.map((f) => f.file.length));
  console.log(`${'file'.padEnd(fileWidth)}   ${'raw'.padStart(9)}   ${'gzip'.padStart(9)}`);
  console.log(`${'-'.repeat(fileWidth)}   ${'-'.repeat(9)}   ${'-'.repeat(9)}`);
  for (const f of [...size.files, { file: 'total', ...size.total }]) {
    console.log(`${f.file.padEnd(fileWidth)}   ${kb(f.raw).padStart(9)}   ${kb(f.gzip).padStart(9)}`);
  }
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
  printTable(run, size);

  const stamp = new Date().toISOString();
  const report = { date: stamp, node: process.version, ...run, sizes: size };
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
