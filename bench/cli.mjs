// `npm run bench [-- --check]`: the client benches (bench/run.mjs, which then runs the
// server latency bench bench/server.mjs unless only the goals are checked).
// `npm run bench -- server [options]`: the server throughput comparison against
// workers-oauth-provider (bench/load.mjs) alone.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const node = (file, rest) => spawnSync(process.execPath, [join(here, file), ...rest], { stdio: 'inherit' }).status ?? 1;

if (args[0] === 'server') {
  process.exit(node('load.mjs', args.slice(1)));
}
process.exit(node('run.mjs', args));
