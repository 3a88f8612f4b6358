#!/usr/bin/env bash
# Runs every test, in order, stopping at the first failure: formatting and lints, the
# native Rust tests, the no_std build, the wasm tests in headless Chromium, the release
# build of pkg/, and the node:test suite that cross-checks the package against jose and
# installs the packed tarball into a fresh project (Node, and Chromium through esbuild).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

started=$SECONDS
section() { printf '\n=== %s ===\n' "$*"; }
trap 'status=$?; [ $status -eq 0 ] || printf "\n=== FAILED (exit %s) after %ss ===\n" "$status" "$((SECONDS - started))" >&2' EXIT

section "setup"
bash scripts/setup.sh
export EDGE_OAUTH_SETUP_DONE=1

section "cargo fmt --check"
cargo fmt --all -- --check

section "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

section "cargo test"
cargo test --workspace

section "no_std build (thumbv7em-none-eabi)"
cargo build -p edge-oauth --no-default-features --target thumbv7em-none-eabi

section "wasm tests in headless Chromium"
# The system chromedriver (never a downloaded one), Chromium flags for root and no network.
WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/scripts/webdriver.json" \
    wasm-pack test --headless --chrome --chromedriver /usr/bin/chromedriver --mode no-install

section "build pkg/"
bash scripts/build.sh

section "node:test suite (the package in Node, cross-checked with jose; the packed tarball in Node and Chromium)"
# A test file that waits on a request that never ends fails after 20 minutes instead of
# stalling the run (node 20 applies --test-timeout to each file as a whole, and it is the
# default of each test in it; a test's own `timeout` still holds; the whole of `npm test`
# takes about 10 minutes).
node --test --test-timeout=1200000 tests/js/*.test.mjs

# --- the worker end to end (issue 3) ---------------------------------------------------
# Builds the worker when its sources changed, then runs it under `wrangler dev` on a free
# 127.0.0.1 port with a fresh local KV, and stops it afterwards.
section "end-to-end suite (the worker under wrangler dev)"
WRANGLER_SEND_METRICS=false node --test --test-concurrency=1 --test-timeout=1200000 tests/e2e/*.test.mjs
# --- end of the worker section ---------------------------------------------------------

section "all tests passed in $((SECONDS - started))s"
