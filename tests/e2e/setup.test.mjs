// scripts/setup.sh installs only what the command at hand uses: `--for start` (npm start)
// never installs wasm-pack or Chromium, `--for test` (the default, npm test and CI) does.
// Run against stub tools on PATH that only record what they were asked to do, so nothing
// is installed and nothing leaves the machine.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../scripts/lib/dev.mjs';

function runSetup(args) {
  const dir = mkdtempSync(join(tmpdir(), 'edge-oauth-setup-'));
  try {
    const bin = join(dir, 'bin');
    const calls = join(dir, 'calls');
    writeFileSync(calls, '');
    spawnSync('mkdir', ['-p', bin, join(dir, 'home', '.cargo', 'bin')]);
    const stub = (name, body = '') => {
      const file = join(bin, name);
      writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> "${calls}"\n${body}\n`);
      chmodSync(file, 0o755);
    };
    // Nothing is installed yet: no targets, no components, no tools.
    stub('rustup', 'exit 0');
    stub('cargo', 'exit 0');
    stub('npm', 'exit 0');
    stub('apt-get', 'exit 0');
    stub('sudo', 'exit 0');
    for (const tool of ['node', 'grep', 'sed', 'id', 'env', 'cat', 'tr', 'dirname']) {
      const real = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (real.startsWith('/')) symlinkSync(real, join(bin, tool));
    }
    const res = spawnSync('/bin/bash', [join(REPO_ROOT, 'scripts', 'setup.sh'), ...args], {
      cwd: REPO_ROOT, encoding: 'utf8', timeout: 30000,
      env: { PATH: bin, HOME: join(dir, 'home') },
    });
    return { status: res.status, output: res.stdout + res.stderr, calls: readFileSync(calls, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('setup.sh --for start installs what npm start uses, not wasm-pack or Chromium', () => {
  const { status, output, calls } = runSetup(['--for', 'start']);
  assert.equal(status, 0, output);
  assert.match(calls, /^rustup target add wasm32-unknown-unknown$/m);
  assert.match(calls, /^cargo install wasm-bindgen-cli --version 0\.2\.130 --locked$/m);
  assert.match(calls, /^cargo install worker-build /m);
  assert.doesNotMatch(calls, /wasm-pack|thumbv7em|component add|apt-get/, calls);
  assert.match(output, /setup: \[ *\d+s\] installing wasm-bindgen-cli .* about 3-5 minutes/, 'progress while installing');
  assert.match(output, /setup: done \(--for start/);
});

test('setup.sh (--for test, the default) installs everything the tests need', () => {
  const { status, output, calls } = runSetup([]);
  assert.equal(status, 0, output);
  for (const want of [/^rustup component add rustfmt$/m, /^rustup target add thumbv7em-none-eabi$/m,
    /^cargo install wasm-pack /m, /^cargo install wasm-bindgen-cli /m, /^cargo install worker-build /m]) {
    assert.match(calls, want);
  }
  assert.match(output, /setup: done \(--for test/);
});

test('setup.sh refuses an unknown --for', () => {
  const { status, output } = runSetup(['--for', 'deploy']);
  assert.equal(status, 2);
  assert.match(output, /--for must be start or test/);
});
