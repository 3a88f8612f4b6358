#!/usr/bin/env bash
# Installs what a command needs, skipping what is already there.
# Needs: Debian with rustup and Node 20+. Safe to run again: a second run only checks.
#
#   bash scripts/setup.sh --for start   what `npm start` uses: the wasm32 target, the
#                                       pinned wasm-bindgen-cli, worker-build and the npm
#                                       dependencies (no wasm-pack, no Chromium)
#   bash scripts/setup.sh [--for test]  everything the build and the tests need (the
#                                       default): also rustfmt, clippy, the no_std target,
#                                       wasm-pack, Chromium and chromedriver
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

FOR=test
while [ $# -gt 0 ]; do
    case $1 in
        --for) FOR=${2:-}; shift 2 || true ;;
        --for=*) FOR=${1#--for=}; shift ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) printf 'setup: error: unknown argument %s (use --for start|test)\n' "$1" >&2; exit 2 ;;
    esac
done
case $FOR in
    start|test) ;;
    *) printf 'setup: error: --for must be start or test, got "%s"\n' "$FOR" >&2; exit 2 ;;
esac
for_test() { [ "$FOR" = test ]; }

WASM_BINDGEN_VERSION=0.2.130
WASM_PACK_VERSION=0.15.1
if for_test; then
    RUST_TARGETS=(wasm32-unknown-unknown thumbv7em-none-eabi)
else
    RUST_TARGETS=(wasm32-unknown-unknown)
fi

started=$SECONDS
say() { printf 'setup: [%3ss] %s\n' "$((SECONDS - started))" "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Runs as root directly; otherwise through sudo when there is one.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# `cargo install --locked` first; some pinned lockfiles name yanked or missing crates,
# so fall back to a fresh resolution of the same version.
cargo_install() {
    local crate=$1 version=$2 minutes=$3
    say "installing $crate $version (cargo install: compiles from source, about $minutes minutes on 2 cores; cargo prints each crate below)"
    if ! cargo install "$crate" --version "$version" --locked; then
        say "cargo install --locked failed for $crate $version; retrying without --locked"
        cargo install "$crate" --version "$version"
    fi
}

command -v rustup >/dev/null 2>&1 || die "rustup not found: install it from your package manager or rustup.rs"
command -v node >/dev/null 2>&1 || die "node not found: install Node 20 or newer"
command -v npm >/dev/null 2>&1 || die "npm not found: install Node 20 or newer"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node $(node --version) is too old: need 20 or newer"

say "installing what \`npm ${FOR}\` needs (bash scripts/setup.sh --for $FOR)"

# Rust components used by the tests.
if for_test; then
    components=$(rustup component list --installed)
    for component in rustfmt clippy; do
        if grep -q "^$component" <<<"$components"; then
            say "rust component $component: present"
        else
            say "adding rust component $component"
            rustup component add "$component"
        fi
    done
fi

# Rust targets: wasm for the package, a bare-metal target for the no_std proof.
installed_targets=$(rustup target list --installed)
for target in "${RUST_TARGETS[@]}"; do
    if grep -qx "$target" <<<"$installed_targets"; then
        say "rust target $target: present"
    else
        say "adding rust target $target"
        rustup target add "$target"
    fi
done

# wasm-bindgen CLI, pinned to the version of the wasm-bindgen crate in Cargo.lock.
if [ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    say "wasm-bindgen $WASM_BINDGEN_VERSION: present"
else
    cargo_install wasm-bindgen-cli "$WASM_BINDGEN_VERSION" 3-5
fi

# wasm-pack (it finds wasm-bindgen and wasm-opt on PATH, so it downloads nothing); the
# tests use it, npm start builds pkg/ without it (scripts/build.sh).
if for_test; then
    if command -v wasm-pack >/dev/null 2>&1; then
        say "wasm-pack: present ($(wasm-pack --version))"
    else
        cargo_install wasm-pack "$WASM_PACK_VERSION" 4-6
    fi
fi

# npm dev dependencies, exactly as locked.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] \
    || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund
else
    say "npm dependencies: present"
fi

# Chromium and its WebDriver, from Debian, for the browser tests and the benchmark.
if ! for_test; then
    : # npm start serves the demo SPA to your own browser: no Chromium needed.
elif [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    say "chromium and chromedriver: present"
else
    say "installing chromium and chromium-driver (apt-get)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
fi

# --- the worker (issue 3) ------------------------------------------------------------
# worker-build turns worker/ into build/worker/shim.mjs, which worker/entry.mjs (wrangler's
# `main`) imports; scripts/lib/dev.mjs
# points it at the wasm-bindgen above and at node_modules' wasm-opt and esbuild, so it
# downloads nothing.
# This version exactly: worker/entry.mjs calls into the entrypoint its output defines.
WORKER_BUILD_VERSION=0.8.7
if [ "$(worker-build --version 2>/dev/null || true)" = "$WORKER_BUILD_VERSION" ]; then
    say "worker-build $WORKER_BUILD_VERSION: present"
else
    cargo_install worker-build "$WORKER_BUILD_VERSION" 4-6
fi
[ -x node_modules/@esbuild/linux-x64/bin/esbuild ] \
    || die "node_modules/@esbuild/linux-x64/bin/esbuild is missing (npm ci should install it with esbuild)"
# --- end of the worker section ---------------------------------------------------------

printf 'setup: done (--for %s, %ss)\n' "$FOR" "$((SECONDS - started))"
