#!/usr/bin/env bash
# Builds the npm package into pkg/: the release wasm, its ES module glue and TypeScript
# types (`--target web`: loads in browsers without a bundler, in Vite, and in Node through
# `initSync`). Installs what is missing first (scripts/setup.sh; quick when nothing is).
# Without wasm-pack (`npm start` does not install it) the same three steps run directly:
# cargo build for wasm32, the pinned wasm-bindgen, then wasm-opt with the flags of
# Cargo.toml's [package.metadata.wasm-pack.profile.release].
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ "${EDGE_OAUTH_SETUP_DONE:-}" = 1 ] || bash scripts/setup.sh
# node_modules/.bin first: wasm-pack runs the first wasm-opt on PATH, and the npm
# `binaryen` one is the version we test with (older distribution builds can corrupt
# modules that use current wasm features).
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

die() { printf 'build: error: %s\n' "$*" >&2; exit 1; }

wasm_opt=$(command -v wasm-opt || true)
[ "$wasm_opt" = "$PWD/node_modules/.bin/wasm-opt" ] \
    || die "node_modules/.bin/wasm-opt is missing: run scripts/setup.sh"
command -v wasm-bindgen >/dev/null 2>&1 || die "wasm-bindgen is missing: run scripts/setup.sh"

if command -v wasm-pack >/dev/null 2>&1; then
    # --mode no-install: use the wasm-bindgen and wasm-opt on PATH, never download one.
    # --no-pack: the root package.json is the npm package, pkg/ only holds the build.
    wasm-pack build --release --target web --out-dir pkg --mode no-install --no-pack
else
    printf 'build: wasm-pack not installed: cargo build + wasm-bindgen + wasm-opt\n'
    cargo build --lib --release --target wasm32-unknown-unknown
    wasm-bindgen --target web --typescript --out-dir pkg \
        target/wasm32-unknown-unknown/release/edge_oauth.wasm
    # The flags wasm-pack reads from Cargo.toml, so both paths build the same module.
    read -r -a opt_flags < <(sed -n 's/^wasm-opt = \[\(.*\)\]$/\1/p' Cargo.toml | tr -d '",')
    [ "${#opt_flags[@]}" -gt 0 ] || die "Cargo.toml has no wasm-opt flags"
    wasm-opt "${opt_flags[@]}" pkg/edge_oauth_bg.wasm -o pkg/edge_oauth_bg.wasm.opt
    mv pkg/edge_oauth_bg.wasm.opt pkg/edge_oauth_bg.wasm
fi

for f in edge_oauth.js edge_oauth.d.ts edge_oauth_bg.wasm; do
    [ -s "pkg/$f" ] || die "pkg/$f was not produced"
done

printf 'build: pkg/ ready (wasm-opt: %s)\n' "$(wasm-opt --version)"
ls -l pkg/ | awk 'NR > 1 { printf "  %8d  %s\n", $5, $9 }'
