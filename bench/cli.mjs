// `npm run bench`: the client benches (bench/run.mjs) and the server latency bench
// (bench/server.mjs), as before. `npm run bench -- server [options]`: the server
// throughput comparison against workers-oauth-provider (bench/load.mjs) alone.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const node = (file, rest) => spawnSync(process.execPath, [join(here, file), ...rest], { stdio: 'inherit' }).status ?? 1;

if (args[0] === 'server') {
  process.exit(node('load.mjs', args.slice(1)));
}
const status = node('run.mjs', []);
process.exit(status || node('server.mjs', args));
