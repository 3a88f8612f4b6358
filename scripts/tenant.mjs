#!/usr/bin/env node
// npm run tenant -- <command>: manage the tenant (clients, APIs, client grants, users,
// organizations, roles) in the worker's KV namespace through `wrangler kv`. Local KV by
// default, --remote for the deployed namespace. Run `npm run tenant -- --help`.

import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KvError, WORKER_DIR, WranglerKv } from './lib/kv.mjs';
import {
  APP_TYPES, AUTH_METHODS, DEFAULT_PBKDF2_ITERATIONS, DEFAULT_TOKEN_LIFETIME, GRANT_TYPES,
  MAX_PBKDF2_ITERATIONS, MIN_PBKDF2_ITERATIONS, Tenant, TenantError,
} from './lib/tenant.mjs';

const HELP = `Usage: npm run tenant -- [where] <command> [options]

Manages the tenant in the worker's KV namespace (binding OAUTH_KV of worker/wrangler.toml)
through \`wrangler kv\`.

Where:
  --local               local KV, the one \`npm start\` / \`wrangler dev\` uses (default)
  --remote              the deployed namespace (needs \`wrangler login\` or CLOUDFLARE_API_TOKEN)
  --persist-to <dir>    local KV kept in <dir> (as \`wrangler dev --persist-to <dir>\`)
  --config <file>       wrangler config (default: worker/wrangler.toml)
  --json                print records as JSON

Clients:
  client create --type <spa|regular_web|m2m> --name <name> [options]
      --id <client_id>          choose the id (default: 32 random base64url characters)
      --redirect-uri <uri>      allowed redirect URI, exact match (repeat for several);
                                https, or http on 127.0.0.1 / [::1] / localhost
      --origin <origin>         allowed CORS origin, e.g. https://app.example.com (repeat)
      --grant-type <type>       ${GRANT_TYPES.join(' | ')} (repeat)
                                default: spa and regular_web: authorization_code refresh_token;
                                m2m: client_credentials; password is never a default
      --auth-method <method>    ${AUTH_METHODS.join(' | ')}
                                default: spa: none; others: client_secret_basic
      --jwks <json|@file>       public JWK Set for private_key_jwt (EC P-256 or RSA keys);
                                for self_signed_tls_client_auth the certificates' JWKs
                                (x5t#S256 or x5c), or a PEM file of the certificates
      --tls-subject-dn <dn>     tls_client_auth: the certificate's subject DN (RFC 4514,
                                e.g. "CN=client.example.com,O=Example")
      --tls-san-dns <name>      tls_client_auth: a DNS subject alternative name instead
      --tls-san-uri <uri>       tls_client_auth: a URI subject alternative name instead
      --certificate-bound-tokens
                                access tokens are bound to the client certificate
                                (RFC 8705 cnf.x5t#S256); the client must use mTLS
      --allow-public-password-grant
                                let a spa client that lists --grant-type password use it
                                (RFC 9700 §2.4 says the grant MUST NOT be used; off by default)
      --dpop-nonce-required <true|false>
                                DPoP proofs must carry a server nonce (record field
                                dpop_nonce_required; default: true for public clients only)
      --id-token-alg <RS256|ES256>
                                the client's ID token algorithm (id_token_signed_response_alg;
                                default RS256)
      --device-code-lifetime <seconds>
                                with --grant-type urn:ietf:params:oauth:grant-type:device_code:
                                the device codes' expires_in (default 900, at most 1800)
    A generated secret is printed once; KV keeps only its SHA-256 hash.
  client list
  client get <client_id>
  client rotate-secret <client_id>    new secret, printed once; the old one stops working
  client delete <client_id>           also deletes the client's grants

APIs:
  api create --identifier <audience> [options]
      --name <name>             (default: the identifier)
      --scope <scope>           scope the API defines (repeat, or space/comma separated)
      --token-lifetime <sec>    access-token lifetime (default ${DEFAULT_TOKEN_LIFETIME})
      --allow-offline-access    allow refresh tokens (offline_access) for this API
      --dpop <optional|required>  required: token requests for this API must carry a
                                DPoP proof, Bearer requests are refused (default optional)
      --refresh-token-overlap <sec>   rotation overlap window: within it the same client
                                (and DPoP key) presenting the token it just rotated gets
                                the same successor (default 0: off, at most 300)
      --refresh-token-lifetime <sec>  absolute lifetime of a refresh-token family
                                (default 2592000, 30 days)
      --refresh-token-idle-lifetime <sec>  a family unused this long ends (default
                                1296000, 15 days)
      --signing-alg <ES256|RS256>  the algorithm of this API's access tokens (default ES256)
      --enforce-rbac            role-based access: a user gets only the requested scopes
                                their roles grant (see role and user assign-role)
      --permissions-claim       with --enforce-rbac: access tokens carry a \`permissions\`
                                array (all the user's permissions for this API)
  api list
  api delete <identifier>             also deletes the grants for it

Client grants (client_credentials):
  grant create --client <client_id> --audience <identifier> [--scope <scope>]...
                                without --scope the grant covers every scope of the API
      --organization-usage <deny|allow|require>
                                whether requests may (allow) or must (require) name an
                                organization that enabled the grant (default deny)
  grant list [--client <client_id>]
  grant delete --client <client_id> --audience <identifier>

Users:
  user create --email <email> [--name <name>] [password] [--iterations <n>]
      password: without an option, read from standard input (first line) or, on a
                terminal, asked for without echo;
      --generate-password       generate one and print it once;
      --password <pw>           for scripts and tests only: the password is visible to
                                other local users in the process list (ps)
      --iterations <n>          PBKDF2-SHA256 rounds, ${MIN_PBKDF2_ITERATIONS} to ${MAX_PBKDF2_ITERATIONS}; must equal the
                                worker's PASSWORD_ITERATIONS var in the wrangler config
                                (default: that var, else ${DEFAULT_PBKDF2_ITERATIONS}, about 4 ms of CPU per login)
  user list
  user delete <email>
  user assign-role <email> --role <role id or name>
  user unassign-role <email> --role <role id or name>

Organizations:
  org create --name <name> [--display-name <text>]
                                name: 1 to 50 of a-z 0-9 _ - (unique); the id org_... is generated
  org list
  org get <org id or name>
  org delete <org id or name>
  org add-member <org> --email <email>
  org remove-member <org> --email <email>
  org enable-grant <org> --client <client_id> --audience <identifier>
                                machine-to-machine access: the client grant may act for
                                the organization (its --organization-usage must not be deny)
  org disable-grant <org> --client <client_id> --audience <identifier>

Roles (role-based access control per API, see api create --enforce-rbac):
  role create --name <name> [--description <text>]
  role list
  role delete <role id or name>
  role add-permission <role> --audience <identifier> --scope <scope>...

Examples:
  npm run tenant -- api create --identifier https://api.example.com --scope "read:items write:items"
  npm run tenant -- client create --type m2m --name "Reporting job"
  npm run tenant -- grant create --client <id> --audience https://api.example.com --scope read:items
  npm run tenant -- --remote user create --email ada@example.com --name "Ada Lovelace"
`;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  local: { type: 'boolean' },
  remote: { type: 'boolean' },
  'persist-to': { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  type: { type: 'string' },
  name: { type: 'string' },
  id: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  origin: { type: 'string', multiple: true },
  'grant-type': { type: 'string', multiple: true },
  'device-code-lifetime': { type: 'string' },
  'auth-method': { type: 'string' },
  jwks: { type: 'string' },
  identifier: { type: 'string' },
  scope: { type: 'string', multiple: true },
  'token-lifetime': { type: 'string' },
  'allow-offline-access': { type: 'boolean' },
  'dpop-nonce-required': { type: 'string' },
  'id-token-alg': { type: 'string' },
  'signing-alg': { type: 'string' },
  'enforce-rbac': { type: 'boolean' },
  'allow-public-password-grant': { type: 'boolean' },
  'tls-subject-dn': { type: 'string' },
  'tls-san-dns': { type: 'string' },
  'tls-san-uri': { type: 'string' },
  'certificate-bound-tokens': { type: 'boolean' },
  'permissions-claim': { type: 'boolean' },
  'organization-usage': { type: 'string' },
  'display-name': { type: 'string' },
  description: { type: 'string' },
  role: { type: 'string' },
  dpop: { type: 'string' },
  'refresh-token-overlap': { type: 'string' },
  'refresh-token-lifetime': { type: 'string' },
  'refresh-token-idle-lifetime': { type: 'string' },
  client: { type: 'string' },
  audience: { type: 'string' },
  email: { type: 'string' },
  password: { type: 'string' },
  'generate-password': { type: 'boolean' },
  iterations: { type: 'string' },
};

/** Which options each command takes (besides the "where" ones). */
const ACCEPTS = {
  'client create': ['type', 'name', 'id', 'redirect-uri', 'origin', 'grant-type', 'device-code-lifetime', 'auth-method', 'jwks', 'dpop-nonce-required', 'id-token-alg', 'allow-public-password-grant',
    'tls-subject-dn', 'tls-san-dns', 'tls-san-uri', 'certificate-bound-tokens'],
  'client list': [], 'client get': [], 'client rotate-secret': [], 'client delete': [],
  'api create': ['identifier', 'name', 'scope', 'token-lifetime', 'allow-offline-access', 'dpop', 'refresh-token-overlap', 'refresh-token-lifetime', 'refresh-token-idle-lifetime', 'signing-alg', 'enforce-rbac', 'permissions-claim'],
  'api list': [], 'api delete': [],
  'grant create': ['client', 'audience', 'scope', 'organization-usage'],
  'grant list': ['client'],
  'grant delete': ['client', 'audience'],
  'user create': ['email', 'name', 'password', 'generate-password', 'iterations'],
  'user list': [], 'user delete': [],
  'user assign-role': ['role'], 'user unassign-role': ['role'],
  'org create': ['name', 'display-name'],
  'org list': [], 'org get': [], 'org delete': [],
  'org add-member': ['email'], 'org remove-member': ['email'],
  'org enable-grant': ['client', 'audience'], 'org disable-grant': ['client', 'audience'],
  'role create': ['name', 'description'],
  'role list': [], 'role delete': [],
  'role add-permission': ['audience', 'scope'],
};
const POSITIONAL = {
  'client get': 'client_id', 'client rotate-secret': 'client_id', 'client delete': 'client_id', 'api delete': 'identifier', 'user delete': 'email',
  'user assign-role': 'email', 'user unassign-role': 'email',
  'org get': 'org', 'org delete': 'org', 'org add-member': 'org', 'org remove-member': 'org', 'org enable-grant': 'org', 'org disable-grant': 'org',
  'role delete': 'role', 'role add-permission': 'role',
};
const WHERE = ['help', 'local', 'remote', 'persist-to', 'config', 'json'];

class UsageError extends Error {}

function parse(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e.message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) return { help: true };
  const [noun, verb, ...rest] = positionals;
  const command = `${noun} ${verb ?? ''}`.trim();
  if (!ACCEPTS[command]) {
    const nouns = ['client', 'api', 'grant', 'user', 'org', 'role'];
    if (!nouns.includes(noun)) throw new UsageError(`unknown command '${noun}' (one of: ${nouns.join(', ')})`);
    const verbs = Object.keys(ACCEPTS).filter((c) => c.startsWith(`${noun} `)).map((c) => c.split(' ')[1]);
    throw new UsageError(verb ? `unknown command '${command}' (${noun} takes: ${verbs.join(', ')})` : `'${noun}' needs a subcommand: ${verbs.join(', ')}`);
  }
  for (const opt of Object.keys(values)) {
    if (!WHERE.includes(opt) && !ACCEPTS[command].includes(opt)) throw new UsageError(`'${command}' does not take --${opt}`);
  }
  const wanted = POSITIONAL[command];
  if (wanted && rest.length !== 1) throw new UsageError(`'${command}' takes exactly one <${wanted}>`);
  if (!wanted && rest.length) throw new UsageError(`unexpected argument '${rest[0]}' for '${command}'`);
  if (values.local && values.remote) throw new UsageError('--local and --remote exclude each other');
  return { command, values, arg: rest[0] };
}

const splitScopes = (list) => (list ?? []).flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);

function intOption(values, name, fallback) {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number, got '${raw}'`);
  return Number(raw);
}

function boolOption(values, name) {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${name} must be true or false, got '${raw}'`);
  return raw === 'true';
}

function required(values, name, hint) {
  if (values[name] === undefined || values[name] === '') throw new UsageError(`--${name} is required${hint ? ` (${hint})` : ''}`);
  return values[name];
}

function readJwks(raw) {
  if (raw === undefined) return undefined;
  if (raw.startsWith('@')) {
    const file = raw.slice(1);
    if (!existsSync(file)) throw new UsageError(`--jwks file not found: ${file}`);
    return readFileSync(file, 'utf8');
  }
  return raw;
}

/**
 * CLIENT_SECRET_KEY (only client_secret_jwt needs it): the environment, else (local KV
 * only) the development key in worker/.dev.vars. With --remote it must come from the
 * environment: the dev key would seal secrets the deployed worker cannot open.
 */
function clientSecretKey({ remote }) {
  if (process.env.CLIENT_SECRET_KEY) return process.env.CLIENT_SECRET_KEY;
  if (remote) return undefined;
  const file = join(WORKER_DIR, '.dev.vars');
  if (!existsSync(file)) return undefined;
  const m = readFileSync(file, 'utf8').match(/^CLIENT_SECRET_KEY\s*=\s*["']?([A-Za-z0-9_-]+)["']?\s*$/m);
  return m ? m[1] : undefined;
}

/** PASSWORD_ITERATIONS from the [vars] of the wrangler config, if set there. */
function configuredIterations(configFile) {
  let text;
  try { text = readFileSync(configFile, 'utf8'); } catch { return undefined; }
  const m = text.match(/^\s*PASSWORD_ITERATIONS\s*=\s*"?(\d+)"?\s*(#.*)?$/m);
  return m ? Number(m[1]) : undefined;
}

/** The password from standard input (first line), or asked for on a terminal without echo. */
async function readPassword(email) {
  if (!process.stdin.isTTY) {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
    if (!line) throw new UsageError('no password on standard input (or use --generate-password)');
    return line;
  }
  const ask = (prompt) => new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    const stdin = process.stdin;
    let value = '';
    const onData = (buf) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') { done(); return resolve(value); }
        if (ch === '\u0003') { done(); return reject(new UsageError('cancelled')); }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = () => { stdin.off('data', onData); stdin.setRawMode(false); stdin.pause(); process.stderr.write('\n'); };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
  const first = await ask(`password for ${email}: `);
  const again = await ask('repeat it: ');
  if (first !== again) throw new UsageError('the two passwords differ');
  return first;
}

const out = (s = '') => process.stdout.write(`${s}\n`);

function printClient(c) {
  out(`${c.client_id}  ${c.app_type}  "${c.name}"`);
  out(`  auth method:    ${c.token_endpoint_auth_method}${c.client_secret_hash ? ' (secret stored as SHA-256 hash)' : ''}`);
  out(`  grant types:    ${c.grant_types.join(' ')}`);
  if (c.redirect_uris.length) out(`  redirect URIs:  ${c.redirect_uris.join(' ')}`);
  if (c.allowed_origins.length) out(`  origins:        ${c.allowed_origins.join(' ')}`);
  if (c.jwks) out(`  jwks:           ${c.jwks.keys.map((k) => `${k.kty}${k.kid ? `/${k.kid}` : ''}`).join(' ')}`);
  if (c.dpop_nonce_required !== undefined) out(`  DPoP nonce:     ${c.dpop_nonce_required ? 'required' : 'not required'}`);
  if (c.id_token_signed_response_alg) out(`  ID tokens:      ${c.id_token_signed_response_alg}`);
  if (c.allow_public_password_grant) out('  password grant: allowed for this public client');
  for (const k of ['tls_client_auth_subject_dn', 'tls_client_auth_san_dns', 'tls_client_auth_san_uri']) {
    if (c[k]) out(`  certificate:    ${k.slice(16)} ${c[k]}`);
  }
  if (c.tls_client_certificate_bound_access_tokens) out('  tokens:         bound to the client certificate (cnf.x5t#S256)');
}

const printApi = (a) => out(`${a.identifier}  "${a.name}"  scopes: ${a.scopes.join(' ') || '(none)'}  lifetime: ${a.token_lifetime}s  offline_access: ${a.allow_offline_access ? 'allowed' : 'no'}  dpop: ${a.dpop ?? 'optional'}${a.refresh_token_overlap ? `  refresh overlap: ${a.refresh_token_overlap}s` : ''}  signing: ${a.signing_alg ?? 'ES256'}  rbac: ${a.enforce_rbac ? `on${a.permissions_claim ? ' (permissions claim)' : ''}` : 'off'}`);
const printGrant = (g) => out(`${g.client_id} -> ${g.audience}  scopes: ${g.scopes.join(' ') || '(none)'}  organizations: ${g.organization_usage ?? 'deny'}`);
const printOrg = (o) => {
  out(`${o.id}  ${o.name}  "${o.display_name}"`);
  out(`  members:        ${o.members.length ? o.members.join(' ') : '(none)'}`);
  out(`  client grants:  ${o.client_grants.length ? o.client_grants.map((g) => `${g.client_id} -> ${g.audience}`).join(', ') : '(none)'}`);
};
const printRole = (r) => out(`${r.id}  ${r.name}${r.description ? `  "${r.description}"` : ''}  permissions: ${r.permissions.map((p) => `${p.audience} ${p.scope}`).join(', ') || '(none)'}`);
const printUser = (u) => out(`${u.email}  ${u.user_id}  "${u.name}"  (PBKDF2-SHA256, ${u.password.iterations} iterations)`);

async function run({ command, values, arg }) {
  const kv = new WranglerKv({ remote: Boolean(values.remote), persistTo: values['persist-to'], config: values.config });
  const tenant = new Tenant(kv, { clientSecretKey: clientSecretKey({ remote: Boolean(values.remote) }) });
  const json = values.json;
  const list = (items, print, what) => {
    if (json) return out(JSON.stringify(items, null, 2));
    if (items.length === 0) return out(`no ${what} in ${kv.where}`);
    items.forEach(print);
  };

  switch (command) {
    case 'client create': {
      const { record, secret } = await tenant.createClient({
        type: required(values, 'type', APP_TYPES.join(' | ')),
        name: required(values, 'name'),
        clientId: values.id,
        redirectUris: values['redirect-uri'] ?? [],
        origins: values.origin ?? [],
        grantTypes: values['grant-type'],
        authMethod: values['auth-method'],
        jwks: readJwks(values.jwks),
        dpopNonceRequired: boolOption(values, 'dpop-nonce-required'),
        idTokenAlg: values['id-token-alg'],
        allowPublicPasswordGrant: values['allow-public-password-grant'],
        tlsSubjectDn: values['tls-subject-dn'],
        tlsSanDns: values['tls-san-dns'],
        tlsSanUri: values['tls-san-uri'],
        certificateBoundTokens: values['certificate-bound-tokens'],
        deviceCodeLifetime: values['device-code-lifetime'],
      });
      if (json) return out(JSON.stringify({ ...record, client_secret: secret }, null, 2));
      out(`created client in ${kv.where}:`);
      printClient(record);
      if (secret) {
        out(`  client secret:  ${secret}`);
        out('  (shown only now: KV keeps only its hash; `client rotate-secret` makes a new one)');
      }
      return;
    }
    case 'client list': return list(await tenant.listClients(), printClient, 'clients');
    case 'client get': {
      const c = await tenant.getClient(arg);
      return json ? out(JSON.stringify(c, null, 2)) : printClient(c);
    }
    case 'client rotate-secret': {
      const secret = await tenant.rotateSecret(arg);
      if (json) return out(JSON.stringify({ client_id: arg, client_secret: secret }));
      out(`new secret for client ${arg} (shown only now): ${secret}`);
      return;
    }
    case 'client delete': {
      const deleted = await tenant.deleteClient(arg);
      return out(`deleted from ${kv.where}: ${deleted.join(', ')}`);
    }
    case 'api create': {
      const api = await tenant.createApi({
        identifier: required(values, 'identifier', 'the audience, e.g. https://api.example.com'),
        name: values.name,
        scopes: splitScopes(values.scope),
        tokenLifetime: intOption(values, 'token-lifetime', DEFAULT_TOKEN_LIFETIME),
        allowOfflineAccess: values['allow-offline-access'],
        dpop: values.dpop ?? 'optional',
        refreshTokenOverlap: intOption(values, 'refresh-token-overlap', 0),
        refreshTokenLifetime: intOption(values, 'refresh-token-lifetime', undefined),
        refreshTokenIdleLifetime: intOption(values, 'refresh-token-idle-lifetime', undefined),
        signingAlg: values['signing-alg'],
        enforceRbac: values['enforce-rbac'],
        permissionsClaim: values['permissions-claim'],
      });
      if (json) return out(JSON.stringify(api, null, 2));
      out(`created API in ${kv.where}:`);
      return printApi(api);
    }
    case 'api list': return list(await tenant.listApis(), printApi, 'APIs');
    case 'api delete': {
      const deleted = await tenant.deleteApi(arg);
      return out(`deleted from ${kv.where}: ${deleted.join(', ')}`);
    }
    case 'grant create': {
      const g = await tenant.createGrant({
        clientId: required(values, 'client', 'the client id'),
        audience: required(values, 'audience', 'the API identifier'),
        scopes: splitScopes(values.scope),
        organizationUsage: values['organization-usage'],
      });
      if (json) return out(JSON.stringify(g, null, 2));
      out(`created client grant in ${kv.where}:`);
      return printGrant(g);
    }
    case 'grant list': return list(await tenant.listGrants(values.client), printGrant, 'client grants');
    case 'grant delete': {
      const deleted = await tenant.deleteGrant(required(values, 'client'), required(values, 'audience'));
      return out(`deleted from ${kv.where}: ${deleted.join(', ')}`);
    }
    case 'user create': {
      const configured = configuredIterations(kv.config);
      const iterations = intOption(values, 'iterations', configured ?? DEFAULT_PBKDF2_ITERATIONS);
      if (configured !== undefined && iterations !== configured) {
        throw new UsageError(`--iterations ${iterations} differs from PASSWORD_ITERATIONS = "${configured}" in ${kv.config}: the worker refuses such a user (change the var first)`);
      }
      if (values.password !== undefined && values['generate-password']) throw new UsageError('--password and --generate-password exclude each other');
      const email = required(values, 'email');
      const { record, password } = await tenant.createUser({
        email,
        name: values.name,
        password: values['generate-password'] ? undefined : (values.password ?? await readPassword(email)),
        iterations,
      });
      if (json) return out(JSON.stringify({ user_id: record.user_id, email: record.email, name: record.name, password }, null, 2));
      out(`created user in ${kv.where}:`);
      printUser(record);
      if (password) out(`  password: ${password}  (generated, shown only now)`);
      return;
    }
    case 'user list': return list(await tenant.listUsers(), printUser, 'users');
    case 'user delete': {
      const deleted = await tenant.deleteUser(arg);
      return out(`deleted from ${kv.where}: ${deleted.join(', ')}`);
    }
    case 'user assign-role': {
      const { user, role } = await tenant.assignRole(arg, required(values, 'role', 'a role id or name'));
      return out(`assigned role ${role.name} (${role.id}) to ${user.email} in ${kv.where}`);
    }
    case 'user unassign-role': {
      const { user, role } = await tenant.unassignRole(arg, required(values, 'role', 'a role id or name'));
      return out(`removed role ${role.name} (${role.id}) from ${user.email} in ${kv.where}`);
    }
    case 'org create': {
      const org = await tenant.createOrganization({ name: required(values, 'name'), displayName: values['display-name'] });
      if (json) return out(JSON.stringify(org, null, 2));
      out(`created organization in ${kv.where}:`);
      return printOrg(org);
    }
    case 'org list': return list(await tenant.listOrganizations(), printOrg, 'organizations');
    case 'org get': {
      const org = await tenant.getOrganization(arg);
      return json ? out(JSON.stringify(org, null, 2)) : printOrg(org);
    }
    case 'org delete': {
      const deleted = await tenant.deleteOrganization(arg);
      return out(`deleted from ${kv.where}: ${deleted.join(', ')}`);
    }
    case 'org add-member': return printOrg(await tenant.addMember(arg, required(values, 'email')));
    case 'org remove-member': return printOrg(await tenant.removeMember(arg, required(values, 'email')));
    case 'org enable-grant': {
      const { org, grant } = await tenant.enableGrant(arg, required(values, 'client'), required(values, 'audience'));
      printOrg(org);
      if ((grant.organization_usage ?? 'deny') === 'deny') {
        process.stderr.write(`tenant: note: the grant's organization usage is deny, so it cannot be used with an organization until it is re-created with --organization-usage allow or require\n`);
      }
      return;
    }
    case 'org disable-grant': return printOrg(await tenant.disableGrant(arg, required(values, 'client'), required(values, 'audience')));
    case 'role create': {
      const role = await tenant.createRole({ name: required(values, 'name'), description: values.description });
      if (json) return out(JSON.stringify(role, null, 2));
      out(`created role in ${kv.where}:`);
      return printRole(role);
    }
    case 'role list': return list(await tenant.listRoles(), printRole, 'roles');
    case 'role delete': {
      const deleted = await tenant.deleteRole(arg);
      return out(`deleted from ${kv.where}: ${deleted.join(', ')}`);
    }
    case 'role add-permission': {
      const role = await tenant.addPermission(arg, required(values, 'audience'), splitScopes(values.scope));
      return json ? out(JSON.stringify(role, null, 2)) : printRole(role);
    }
    default: throw new UsageError(`unknown command '${command}'`);
  }
}

try {
  const parsed = parse(process.argv.slice(2));
  if (parsed.help) {
    process.stdout.write(HELP);
  } else {
    await run(parsed);
  }
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`tenant: ${e.message}\nRun \`npm run tenant -- --help\` for usage.\n`);
    process.exitCode = 2;
  } else if (e instanceof TenantError || e instanceof KvError) {
    process.stderr.write(`tenant: ${e.message}\n`);
    process.exitCode = 1;
  } else {
    throw e;
  }
}
