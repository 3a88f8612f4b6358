#!/usr/bin/env bash
# Builds the npm package's two wasm entries into pkg/, from the one core:
#
#   pkg/edge_oauth.js + edge_oauth_bg.wasm            feature `wasm`, size first (profile
#                                                     release-pkg, -Oz)
#   pkg/edge_oauth_p256.js + edge_oauth_p256_bg.wasm  feature `wasm-p256`, speed first
#                                                     (profile release-p256, -Oz rounds)
#
# Each is cargo -> wasm-bindgen (`--target web`: ES module glue that loads in browsers,
# bundlers and Node through `initSync`) -> npm binaryen's wasm-opt. The hand-written JS
# layer in src/js/ (the package's entry points) imports these. A copy of each optimised
# module with its name section is kept in target/wasm-names/ for `npm run bench`'s size
# profile (the shipped file is that module with the names stripped).
# Installs what is missing first (scripts/setup.sh; quick when nothing is).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ "${EDGE_OAUTH_SETUP_DONE:-}" = 1 ] || bash scripts/setup.sh
# node_modules/.bin first: the npm `binaryen` wasm-opt is the version we test with (older
# distribution builds can corrupt modules that use current wasm features).
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

die() { printf 'build: error: %s\n' "$*" >&2; exit 1; }

wasm_opt=$(command -v wasm-opt || true)
[ "$wasm_opt" = "$PWD/node_modules/.bin/wasm-opt" ] \
    || die "node_modules/.bin/wasm-opt is missing: run scripts/setup.sh"
command -v wasm-bindgen >/dev/null 2>&1 || die "wasm-bindgen is missing: run scripts/setup.sh"

# The wasm features rustc enables by default for wasm32-unknown-unknown.
FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
    --enable-mutable-globals --enable-multivalue --enable-reference-types)
TARGET=wasm32-unknown-unknown
mkdir -p pkg target/wasm-names

# build <out name> <cargo profile> <cargo feature> <wasm-opt passes> [RUSTFLAGS]
build() {
    local name=$1 profile=$2 feature=$3 level
    read -ra level <<<"$4"
    RUSTFLAGS="${5:-}" cargo build --lib --target "$TARGET" --profile "$profile" --no-default-features --features "$feature"
    wasm-bindgen --target web --no-typescript --out-dir pkg --out-name "$name" \
        "target/$TARGET/$profile/edge_oauth.wasm"
    # Fresh wasm memory is zero-filled and Rust never uses the first KiB of it. The copy
    # with names is a run of its own: a second pass that only strips the names re-encodes
    # the module less tightly (0.2 KB gzipped more than optimising without -g). Browsers
    # ignore the target_features section; wasm-bindgen has read it already.
    wasm-opt "${level[@]}" --low-memory-unused --zero-filled-memory -g "${FEATURES[@]}" "pkg/${name}_bg.wasm" -o "target/wasm-names/${name}_bg.wasm"
    wasm-opt "${level[@]}" --low-memory-unused --zero-filled-memory "${FEATURES[@]}" \
        --strip-debug --strip-producers --strip-target-features "pkg/${name}_bg.wasm" -o "pkg/${name}_bg.wasm"
    for f in "$name.js" "${name}_bg.wasm"; do
        [ -s "pkg/$f" ] || die "pkg/$f was not produced"
    done
}

# The default entry: the rolled SHA-256 loop (about 6 KB less code; it hashes short inputs).
# Flattening and re-looping before two -Oz rounds: 0.7 KB less gzipped than one -Oz
# (-Oz --converge: 0.35 KB; measured on this module).
# Panic locations name the crates' source files: without the registry's path prefix (both entries).
build edge_oauth release-pkg wasm '--flatten --rereloop -Oz -Oz' "--cfg sha2_backend_soft=\"compact\" --remap-path-prefix=$HOME/.cargo/registry/src/="
# The p256 entry: SHA-256 unrolled (the signing input's hash and RFC 6979's HMAC-DRBG: in
# Chromium 156 the proof took 156 instead of 160 µs with the rolled loop, medians of 5
# interleaved pairs of `node bench/run.mjs`, for 1.8 KB more gzipped); LLVM's inlining
# threshold for functions without an #[inline] hint at 75 instead of opt-level 2's 225
# (-1.4 KB: the hinted field and point arithmetic is still inlined; below about 40 more of
# the generic SEC1/DER code survives and the module grows 7 KB); and the -Oz rounds of the
# default entry (-0.4 KB; wasm-opt -O3 instead measured the same proof time). All measured
# on this module, interleaved.
build edge_oauth_p256 release-p256 wasm-p256 '--flatten --rereloop -Oz -Oz' \
    "-C llvm-args=-inline-threshold=75 --remap-path-prefix=$HOME/.cargo/registry/src/="

printf 'build: pkg/ ready (wasm-opt: %s)\n' "$(wasm-opt --version)"
ls -l pkg/ | awk 'NR > 1 { printf "  %8d  %s\n", $5, $9 }'
