// Workers KV through the `wrangler kv` command line: local (the persisted store that
// `wrangler dev` reads) by default, the real namespace with `remote: true`.
//
// Every read goes through `wrangler kv bulk get`, which answers JSON with `null` for a
// missing key (`kv key get` prints "Value not found" with exit code 0, which cannot be told
// apart from a value). Writes of several records go through one `kv bulk put`.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WORKER_DIR = join(REPO_ROOT, 'worker');
export const BINDING = 'OAUTH_KV';

/** Environment for every wrangler child: no metrics, no update check, no colours. */
export function wranglerEnv(extra = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_SEND_ERROR_REPORTS: 'false',
    CLOUDFLARE_SEND_METRICS: 'false',
    NO_UPDATE_NOTIFIER: '1',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false', // no fetch of workers.cloudflare.com/cf.json
    FORCE_COLOR: '0',
    ...extra,
  };
}

/** The wrangler binary of this repository, or `npx wrangler` when it is not installed. */
export function wranglerCommand() {
  const local = join(REPO_ROOT, 'node_modules', '.bin', 'wrangler');
  return existsSync(local) ? [local] : ['npx', '--no-install', 'wrangler'];
}

export class KvError extends Error {}

export class WranglerKv {
  /**
   * @param {object} options
   * @param {boolean} [options.remote] use the real namespace instead of local storage
   * @param {string} [options.persistTo] local storage directory (default: wrangler's, worker/.wrangler/state)
   * @param {string} [options.config] wrangler config file (default: worker/wrangler.toml)
   */
  constructor({ remote = false, persistTo, config } = {}) {
    if (remote && persistTo) throw new KvError('--persist-to only applies to local storage, not to --remote');
    this.remote = remote;
    this.persistTo = persistTo ? resolve(persistTo) : undefined;
    this.config = resolve(config ?? join(WORKER_DIR, 'wrangler.toml'));
    if (!existsSync(this.config)) throw new KvError(`wrangler config not found: ${this.config}`);
  }

  get where() {
    return this.remote ? 'remote KV' : `local KV${this.persistTo ? ` in ${this.persistTo}` : ''}`;
  }

  #flags() {
    const flags = ['--binding', BINDING, '--config', this.config, this.remote ? '--remote' : '--local'];
    if (this.persistTo) flags.push('--persist-to', this.persistTo);
    return flags;
  }

  #run(args) {
    const [cmd, ...pre] = wranglerCommand();
    return new Promise((resolvePromise, reject) => {
      const child = spawn(cmd, [...pre, 'kv', ...args, ...this.#flags()], {
        cwd: dirname(this.config),
        env: wranglerEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      child.on('error', (e) => reject(new KvError(`cannot run wrangler: ${e.message}`)));
      child.on('close', (code) => {
        if (code === 0) return resolvePromise(stdout);
        const detail = (stderr + stdout).split('\n').map((l) => l.trim())
          .filter((l) => l && !/^(⛅️|─|Resource location|Use --remote|Use --local)/.test(l)).slice(-6).join('\n  ');
        reject(new KvError(`wrangler kv ${args[0]} ${args[1]} failed on ${this.where} (exit ${code}):\n  ${detail}`));
      });
    });
  }

  #withTempFile(name, content, fn) {
    const dir = mkdtempSync(join(tmpdir(), 'edge-oauth-kv-'));
    const file = join(dir, name);
    writeFileSync(file, content, { mode: 0o600 });
    return fn(file).finally(() => rmSync(dir, { recursive: true, force: true }));
  }

  /** @returns {Promise<Map<string, string|null>>} */
  async getMany(keys) {
    if (keys.length === 0) return new Map();
    const out = await this.#withTempFile('keys.json', JSON.stringify(keys), (f) => this.#run(['bulk', 'get', f]));
    const json = extractJson(out, '{', '}');
    const result = new Map();
    for (const key of keys) {
      const entry = json[key];
      result.set(key, entry && typeof entry.value === 'string' ? entry.value : null);
    }
    return result;
  }

  async get(key) {
    return (await this.getMany([key])).get(key);
  }

  async getJson(key) {
    const value = await this.get(key);
    return value === null ? null : parseRecord(key, value);
  }

  /** @returns {Promise<Array<[string, object]>>} records under a prefix, sorted by key */
  async listJson(prefix) {
    const keys = await this.list(prefix);
    const values = await this.getMany(keys);
    return keys.filter((k) => values.get(k) !== null).map((k) => [k, parseRecord(k, values.get(k))]);
  }

  /** Puts one or more string values. @param {Array<[string,string]>} entries */
  async putMany(entries) {
    if (entries.length === 0) return;
    const body = JSON.stringify(entries.map(([key, value]) => ({ key, value })));
    await this.#withTempFile('entries.json', body, (f) => this.#run(['bulk', 'put', f]));
  }

  async put(key, value) {
    await this.putMany([[key, value]]);
  }

  /** @returns {Promise<string[]>} key names under the prefix */
  async list(prefix) {
    const out = await this.#run(['key', 'list', '--prefix', prefix]);
    return extractJson(out, '[', ']').map((k) => k.name).sort();
  }

  async deleteMany(keys) {
    if (keys.length === 0) return;
    await this.#withTempFile('keys.json', JSON.stringify(keys), (f) => this.#run(['bulk', 'delete', f, '--force']));
  }
}

function extractJson(out, open, close) {
  const start = out.indexOf(open);
  const end = out.lastIndexOf(close);
  if (start < 0 || end < start) throw new KvError(`unexpected wrangler output: ${out.slice(0, 200)}`);
  try {
    return JSON.parse(out.slice(start, end + 1));
  } catch (e) {
    throw new KvError(`unexpected wrangler output (${e.message}): ${out.slice(0, 200)}`);
  }
}

function parseRecord(key, value) {
  try {
    return JSON.parse(value);
  } catch {
    throw new KvError(`record ${key} is not JSON`);
  }
}
