// Packs the package with `npm pack`, installs the tarball into a fresh project (offline:
// it has no dependencies) and bundles bench/spa/app.mjs there with esbuild (minified,
// code splitting), exactly as an SPA build would. Used by tests/js/tarball.test.mjs and
// by `npm run bench` (the size an SPA loads).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** `npm pack` into a temporary directory, then `npm install` of the .tgz in a new project. */
export function packAndInstall() {
  const dir = mkdtempSync(join(tmpdir(), 'edge-oauth-pack-'));
  const out = execFileSync(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [{ filename, files }] = JSON.parse(out);
  const project = join(dir, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'spa', private: true, type: 'module' }, null, 2)}\n`);
  execFileSync(NPM, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, filename)], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { dir, project, tarball: join(dir, filename), files: files.map((f) => f.path) };
}

/**
 * Bundles `entry` (default: bench/spa/app.mjs copied into the project) with the
 * project's installed edge-oauth: esbuild, ESM, minified, code splitting. The wasm files
 * the glue fetches next to itself are copied into `outdir`. Returns what the page loads.
 */
export async function bundleSpa(project, { entry, outdir = join(project, 'dist') } = {}) {
  const esbuild = await import('esbuild');
  const source = entry ?? join(project, 'app.mjs');
  if (!entry) copyFileSync(fileURLToPath(new URL('app.mjs', import.meta.url)), source);
  const result = await esbuild.build({
    metafile: true,
    entryPoints: [source],
    absWorkingDir: project,
    bundle: true,
    splitting: true,
    format: 'esm',
    minify: true,
    target: 'es2022',
    outdir,
    logLevel: 'silent',
  });
  const pkg = join(project, 'node_modules', 'edge-oauth', 'pkg');
  for (const name of readdirSync(pkg)) if (name.endsWith('.wasm')) copyFileSync(join(pkg, name), join(outdir, name));
  // What the page loads at start: the entry chunk and its static imports (not the chunks
  // behind a dynamic import()), plus the default wasm.
  const outputs = result.metafile.outputs;
  const rel = (p) => p.split('/').pop();
  const entryOut = Object.keys(outputs).find((o) => outputs[o].entryPoint);
  const initial = new Set();
  const visit = (o) => {
    if (initial.has(o)) return;
    initial.add(o);
    for (const imp of outputs[o].imports) if (imp.kind === 'import-statement' && outputs[imp.path]) visit(imp.path);
  };
  visit(entryOut);
  const files = sizes(outdir);
  const initialFiles = new Set([...initial].map(rel).concat('edge_oauth_bg.wasm'));
  return {
    outdir,
    files: files.map((f) => ({ ...f, initial: initialFiles.has(f.file) })),
  };
}

/** Raw and gzipped (zlib level 9) sizes of the files in a directory. */
export function sizes(dir) {
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isFile())
    .map((name) => {
      const bytes = readFileSync(join(dir, name));
      return { file: name, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    })
    .sort((a, b) => b.raw - a.raw);
}
