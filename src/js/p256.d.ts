// Types of the `edge-oauth/p256` entry (src/js/p256.js).
import type { InitInput } from './index.js';

export { DpopKey } from './index.js';

/**
 * Loads the p256 wasm module (by default `edge_oauth_p256_bg.wasm` next to the glue) and
 * enables `DpopKey.generate`, `fromJwk`, `toJwk` and `createProofSync`.
 */
export default function init(moduleOrPath?: InitInput | Promise<InitInput>): Promise<unknown>;

/** Synchronous `init` from the bytes of `edge_oauth_p256_bg.wasm`. */
export function initSync(options: { module: BufferSource | WebAssembly.Module }): unknown;
