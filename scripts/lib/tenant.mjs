// Tenant records (clients, APIs, client grants, users) as the worker reads them from KV.
// The record formats are the worker's (worker/src/config.rs); keep the two in step.
//
//   client:{client_id}              the client, with only a SHA-256 hash of its secret
//   api:{identifier}                an API (the identifier is the token audience)
//   grant:{client_id}:{audience}    a client grant for client_credentials
//   user:{lowercased email}         a user, with a PBKDF2-SHA256 password hash
//   org:{org_id}                    an organization: name, display name, member user ids,
//                                   the client grants enabled for it
//   org_name:{name}                 {"id":...}: the organization name index
//   role:{role_id}                  a role and the API permissions it grants
//   origin:{origin}                 {"clients":[...]}: the clients that registered a CORS
//                                   origin, so a preflight is one KV read (kept in step on
//                                   client create and delete; addOriginIndex for bulk seeds)

import { X509Certificate, createCipheriv, createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export class TenantError extends Error {}

export const APP_TYPES = ['spa', 'regular_web', 'm2m'];
export const AUTH_METHODS = [
  'none', 'client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt',
  'tls_client_auth', 'self_signed_tls_client_auth',
];
const TLS_METHODS = ['tls_client_auth', 'self_signed_tls_client_auth'];
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'password', DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT];
/** The grants whose tokens come from a user, so that a refresh token can follow. */
const USER_GRANTS = ['authorization_code', 'password', DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT];
/** The longest device-code lifetime a client may set, in seconds (worker: MAX_DEVICE_CODE_LIFETIME). */
export const MAX_DEVICE_CODE_LIFETIME = 1800;
const SECRET_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'];
const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

/** What each application type may use, and what it gets when nothing is given. */
const TYPE_RULES = {
  spa: {
    // password only with allowPublicPasswordGrant (RFC 9700 §2.4).
    grants: ['authorization_code', 'refresh_token', 'password', DEVICE_CODE_GRANT],
    defaultGrants: ['authorization_code', 'refresh_token'],
    methods: ['none'],
    defaultMethod: 'none',
  },
  regular_web: {
    grants: ['authorization_code', 'refresh_token', 'client_credentials', 'password', DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT],
    defaultGrants: ['authorization_code', 'refresh_token'],
    methods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', ...TLS_METHODS],
    defaultMethod: 'client_secret_basic',
  },
  m2m: {
    grants: ['client_credentials', TOKEN_EXCHANGE_GRANT],
    defaultGrants: ['client_credentials'],
    methods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', ...TLS_METHODS],
    defaultMethod: 'client_secret_basic',
  },
};

/** PBKDF2 iterations for new passwords: a login stays well under the free plan's 10 ms of CPU. */
export const DEFAULT_PBKDF2_ITERATIONS = 20000;
/** Deployed Workers refuse WebCrypto PBKDF2 above 100 000 iterations. */
export const MAX_PBKDF2_ITERATIONS = 100000;
export const MIN_PBKDF2_ITERATIONS = 1000;
export const DEFAULT_TOKEN_LIFETIME = 86400;
export const MAX_TOKEN_LIFETIME = 2592000; // 30 days

export const b64url = (buf) => Buffer.from(buf).toString('base64url');
export const sha256b64url = (s) => b64url(createHash('sha256').update(s, 'utf8').digest());

/** 32 random bytes, base64url (43 characters). */
export const generateSecret = () => b64url(randomBytes(32));

/** A client id: 24 random bytes, base64url (32 characters, no ':' so grant keys stay unambiguous). */
export const generateClientId = () => b64url(randomBytes(24));

// ---------------------------------------------------------------- validation helpers

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 §3.3 scope-token (NQCHAR)
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

function checkName(name, what) {
  if (typeof name !== 'string' || name.trim() === '') throw new TenantError(`${what} is required`);
  if (name.length > 200) throw new TenantError(`${what} is longer than 200 characters`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new TenantError(`${what} contains a control character`);
  return name.trim();
}

function checkClientId(id) {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(id)) {
    throw new TenantError(`client id '${id}' must be 1 to 128 characters of A-Z a-z 0-9 _ . -`);
  }
  return id;
}

export function checkRedirectUri(uri) {
  let url;
  try {
    url = new URL(uri);
  } catch {
    throw new TenantError(`redirect URI '${uri}' is not an absolute URL`);
  }
  if (url.hash || uri.includes('#')) throw new TenantError(`redirect URI '${uri}' has a fragment (RFC 6749 §3.1.2)`);
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
    throw new TenantError(`redirect URI '${uri}' uses http on a host other than 127.0.0.1, [::1] or localhost (RFC 9700 §2.6)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TenantError(`redirect URI '${uri}' must use https (or http on a loopback host)`);
  }
  if (url.username || url.password) throw new TenantError(`redirect URI '${uri}' carries credentials`);
  return uri; // stored as given: /authorize compares it by exact string match
}

export function checkOrigin(origin) {
  let url;
  try {
    url = new URL(origin);
  } catch {
    throw new TenantError(`origin '${origin}' is not a URL like https://app.example.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TenantError(`origin '${origin}' must use http or https`);
  if (url.origin !== origin) {
    throw new TenantError(`origin '${origin}' must be scheme://host[:port] with no path or trailing slash (did you mean '${url.origin}'?)`);
  }
  return origin;
}

export function checkScopes(scopes, what = 'scope') {
  const seen = new Set();
  for (const s of scopes) {
    if (!SCOPE_TOKEN.test(s)) throw new TenantError(`${what} '${s}' is not a valid scope token (printable ASCII, no space, '"' or '\\')`);
    if (seen.has(s)) throw new TenantError(`${what} '${s}' is given twice`);
    seen.add(s);
  }
  return [...scopes];
}

/**
 * PEM certificates as JWKs for self_signed_tls_client_auth (RFC 8705 §2.2): each key is
 * the certificate's public key with `x5c` (the DER, base64) and `x5t#S256`.
 */
export function certificatesToJwks(pem) {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TenantError('no PEM certificate found');
  return {
    keys: blocks.map((block) => {
      let cert;
      try {
        cert = new X509Certificate(block);
      } catch (e) {
        throw new TenantError(`a certificate does not parse: ${e.message}`);
      }
      return {
        ...cert.publicKey.export({ format: 'jwk' }),
        x5c: [cert.raw.toString('base64')],
        'x5t#S256': b64url(createHash('sha256').update(cert.raw).digest()),
      };
    }),
  };
}

function checkPublicJwks(jwks, { certificates = false } = {}) {
  if (typeof jwks === 'string' && certificates && jwks.includes('-----BEGIN CERTIFICATE-----')) {
    jwks = certificatesToJwks(jwks);
  }
  if (typeof jwks === 'string') {
    try {
      jwks = JSON.parse(jwks);
    } catch (e) {
      throw new TenantError(`--jwks is not JSON: ${e.message}`);
    }
  }
  if (Array.isArray(jwks)) jwks = { keys: jwks };
  else if (jwks && jwks.kty) jwks = { keys: [jwks] };
  if (!jwks || !Array.isArray(jwks.keys) || jwks.keys.length === 0) {
    throw new TenantError('--jwks must be a JWK, an array of JWKs, or a JWK Set {"keys":[...]} with at least one key');
  }
  const kids = new Set();
  jwks.keys.forEach((k, i) => {
    const at = `jwks key ${i}${k && k.kid ? ` (kid '${k.kid}')` : ''}`;
    if (!k || typeof k !== 'object') throw new TenantError(`${at} is not an object`);
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) {
      if (priv in k) throw new TenantError(`${at} contains private member '${priv}': register the public key only`);
    }
    // self_signed_tls_client_auth matches by x5t#S256 or the x5c certificate's key.
    if (certificates && (typeof k['x5t#S256'] === 'string' || Array.isArray(k.x5c))) {
      if (k['x5t#S256'] !== undefined && Buffer.from(k['x5t#S256'], 'base64url').length !== 32) {
        throw new TenantError(`${at}: x5t#S256 must be a base64url SHA-256`);
      }
    } else if (k.kty === 'EC') {
      if (k.crv !== 'P-256') throw new TenantError(`${at}: only EC keys on P-256 (ES256) are supported, got crv '${k.crv}'`);
      for (const m of ['x', 'y']) {
        if (typeof k[m] !== 'string' || Buffer.from(k[m], 'base64url').length !== 32) {
          throw new TenantError(`${at}: '${m}' must be 32 bytes of base64url`);
        }
      }
    } else if (k.kty === 'RSA') {
      if (typeof k.n !== 'string' || Buffer.from(k.n, 'base64url').length < 256) {
        throw new TenantError(`${at}: RSA modulus 'n' must be at least 2048 bits`);
      }
      if (typeof k.e !== 'string' || k.e === '') throw new TenantError(`${at}: RSA exponent 'e' is missing`);
    } else {
      throw new TenantError(`${at}: kty must be 'EC' or 'RSA', got '${k.kty}'`);
    }
    if (k.use !== undefined && k.use !== 'sig') throw new TenantError(`${at}: use must be 'sig'`);
    if (k.kid !== undefined) {
      if (kids.has(k.kid)) throw new TenantError(`${at}: kid is used twice`);
      kids.add(k.kid);
    }
  });
  return { keys: jwks.keys };
}

// ---------------------------------------------------------------- record builders

/**
 * Builds a client record. Returns `{ record, secret }`; `secret` is the only copy of a
 * generated secret (the record keeps its SHA-256 hash) and is undefined for public clients
 * and private_key_jwt.
 */
export function buildClient({
  name, type, clientId, redirectUris = [], origins = [], grantTypes, authMethod, jwks, secret,
  clientSecretKey, dpopNonceRequired, idTokenAlg, allowPublicPasswordGrant = false,
  tlsSubjectDn, tlsSanDns, tlsSanUri, certificateBoundTokens = false, deviceCodeLifetime,
}) {
  if (!APP_TYPES.includes(type)) throw new TenantError(`--type must be one of ${APP_TYPES.join(', ')}${type ? `, got '${type}'` : ''}`);
  const rules = TYPE_RULES[type];
  name = checkName(name, '--name');
  clientId = clientId === undefined ? generateClientId() : checkClientId(clientId);

  const grants = grantTypes && grantTypes.length ? grantTypes : rules.defaultGrants;
  for (const g of grants) {
    if (!GRANT_TYPES.includes(g)) throw new TenantError(`grant type '${g}' is not supported (one of ${GRANT_TYPES.join(', ')})`);
    if (!rules.grants.includes(g)) throw new TenantError(`a ${type} client cannot use grant type '${g}' (allowed: ${rules.grants.join(', ')})`);
  }
  if (new Set(grants).size !== grants.length) throw new TenantError('a grant type is given twice');
  if (grants.includes('refresh_token') && !grants.some((g) => USER_GRANTS.includes(g))) {
    throw new TenantError(`grant type 'refresh_token' needs one of ${USER_GRANTS.join(', ')} (refresh tokens come from user logins)`);
  }

  // RFC 9700 §2.4: the password grant MUST NOT be used; a public client cannot even
  // authenticate, so it takes a second, explicit switch.
  if (allowPublicPasswordGrant && !(type === 'spa' && grants.includes('password'))) {
    throw new TenantError('--allow-public-password-grant only applies to a spa client with --grant-type password');
  }
  if (type === 'spa' && grants.includes('password') && !allowPublicPasswordGrant) {
    throw new TenantError('a public (spa) client gets the password grant only with --allow-public-password-grant (RFC 9700 §2.4 says the grant MUST NOT be used)');
  }
  const method = authMethod ?? rules.defaultMethod;
  if (!AUTH_METHODS.includes(method)) throw new TenantError(`--auth-method must be one of ${AUTH_METHODS.join(', ')}, got '${method}'`);
  if (!rules.methods.includes(method)) {
    throw new TenantError(`a ${type} client cannot use --auth-method ${method} (allowed: ${rules.methods.join(', ')})`);
  }

  const usesCode = grants.includes('authorization_code');
  if (usesCode && redirectUris.length === 0) throw new TenantError(`a client with the authorization_code grant needs at least one --redirect-uri`);
  if (!usesCode && redirectUris.length > 0) throw new TenantError('--redirect-uri only applies to clients with the authorization_code grant');
  redirectUris.forEach(checkRedirectUri);
  if (new Set(redirectUris).size !== redirectUris.length) throw new TenantError('a redirect URI is given twice');
  origins.forEach(checkOrigin);
  if (new Set(origins).size !== origins.length) throw new TenantError('an origin is given twice');

  let publicJwks = null;
  if (method === 'private_key_jwt') {
    if (jwks === undefined) throw new TenantError('--auth-method private_key_jwt needs --jwks (the client\'s public keys)');
    publicJwks = checkPublicJwks(jwks);
  } else if (method === 'self_signed_tls_client_auth') {
    if (jwks === undefined) throw new TenantError('--auth-method self_signed_tls_client_auth needs --jwks (the client\'s certificates as JWKs, or PEM certificates)');
    publicJwks = checkPublicJwks(jwks, { certificates: true });
  } else if (jwks !== undefined) {
    throw new TenantError('--jwks only applies to --auth-method private_key_jwt or self_signed_tls_client_auth');
  }
  // RFC 8705 §2.1.2: exactly one registered name for tls_client_auth.
  const names = { tls_client_auth_subject_dn: tlsSubjectDn, tls_client_auth_san_dns: tlsSanDns, tls_client_auth_san_uri: tlsSanUri };
  const given = Object.entries(names).filter(([, v]) => v !== undefined);
  if (method === 'tls_client_auth') {
    if (given.length !== 1) throw new TenantError('--auth-method tls_client_auth needs exactly one of --tls-subject-dn, --tls-san-dns, --tls-san-uri');
    for (const [, v] of given) checkName(v, 'the certificate name');
  } else if (given.length) {
    throw new TenantError('--tls-subject-dn, --tls-san-dns and --tls-san-uri only apply to --auth-method tls_client_auth');
  }

  let clientSecret;
  let secretHash = null;
  let secretEnc;
  if (SECRET_METHODS.includes(method)) {
    clientSecret = secret ?? generateSecret();
    if (clientSecret.length < 32) throw new TenantError('a client secret must be at least 32 characters');
    secretHash = sha256b64url(clientSecret);
    if (method === 'client_secret_jwt') secretEnc = encryptClientSecret(clientSecret, clientId, clientSecretKey);
  } else if (secret !== undefined) {
    throw new TenantError(`--auth-method ${method} takes no client secret`);
  }

  const record = {
    client_id: clientId,
    name,
    app_type: type,
    redirect_uris: redirectUris,
    allowed_origins: origins,
    grant_types: grants,
    token_endpoint_auth_method: method,
    client_secret_hash: secretHash,
    jwks: publicJwks,
  };
  if (secretEnc) record.client_secret_enc = secretEnc;
  if (allowPublicPasswordGrant) record.allow_public_password_grant = true;
  if (deviceCodeLifetime !== undefined) {
    if (!grants.includes(DEVICE_CODE_GRANT)) throw new TenantError(`--device-code-lifetime only applies to clients with --grant-type ${DEVICE_CODE_GRANT}`);
    const n = Number(deviceCodeLifetime);
    if (!Number.isInteger(n) || n < 1 || n > MAX_DEVICE_CODE_LIFETIME) throw new TenantError(`--device-code-lifetime must be a whole number of seconds from 1 to ${MAX_DEVICE_CODE_LIFETIME}`);
    record.device_code_lifetime = n;
  }
  for (const [k, v] of given) record[k] = v.trim();
  // RFC 8705 §3: access tokens bound to the client certificate (cnf.x5t#S256).
  if (certificateBoundTokens) record.tls_client_certificate_bound_access_tokens = true;
  // DPoP proofs must carry a server nonce (RFC 9449 §8); absent: only for public clients.
  if (dpopNonceRequired !== undefined) {
    if (typeof dpopNonceRequired !== 'boolean') throw new TenantError('--dpop-nonce-required must be true or false');
    record.dpop_nonce_required = dpopNonceRequired;
  }
  // ID tokens are RS256 unless the client registers ES256 (OIDC Registration §2).
  if (idTokenAlg !== undefined) record.id_token_signed_response_alg = checkSigningAlg(idTokenAlg, '--id-token-alg');
  return { record, secret: clientSecret };
}

/**
 * client_secret_jwt needs the secret itself as the HMAC key (OIDC Core §9), so the record
 * keeps it encrypted: AES-256-GCM under the worker secret CLIENT_SECRET_KEY (32 bytes,
 * base64url), 12-byte random IV, the client id as additional data;
 * `client_secret_enc` = base64url(iv || ciphertext || tag).
 */
export function encryptClientSecret(secret, clientId, clientSecretKey) {
  if (!clientSecretKey) {
    throw new TenantError('client_secret_jwt needs CLIENT_SECRET_KEY (the worker secret) to encrypt the secret: set it in the environment (for local KV, worker/.dev.vars is read too; for --remote, the deployed secret is required)');
  }
  const key = Buffer.from(clientSecretKey, 'base64url');
  if (key.length !== 32) throw new TenantError('CLIENT_SECRET_KEY must be 32 bytes of base64url');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(clientId, 'utf8'));
  const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return b64url(Buffer.concat([iv, ct, cipher.getAuthTag()]));
}

export function checkApiIdentifier(identifier) {
  if (typeof identifier !== 'string' || identifier === '') throw new TenantError('--identifier is required (the audience, e.g. https://api.example.com)');
  // KV keys are at most 512 bytes: grant:{client_id ≤ 128}:{identifier} leaves 377.
  if (Buffer.byteLength(identifier) > 377) throw new TenantError('--identifier is longer than 377 bytes');
  if (/[\s\u0000-\u001f\u007f]/.test(identifier)) throw new TenantError(`--identifier '${identifier}' contains whitespace or a control character`);
  return identifier;
}

/** The longest refresh-token rotation overlap window, in seconds (MAX_REFRESH_OVERLAP in worker/src/grants/mod.rs). */
export const MAX_REFRESH_OVERLAP = 300;

const checkSeconds = (value, flag, min, max) => {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) throw new TenantError(`${flag} must be a whole number of seconds from ${min} to ${max}, got '${value}'`);
  return value;
};

/** The algorithms the worker signs tokens with. */
export const SIGNING_ALGS = ['RS256', 'ES256'];

function checkSigningAlg(alg, flag) {
  if (!SIGNING_ALGS.includes(alg)) throw new TenantError(`${flag} must be ${SIGNING_ALGS.join(' or ')}, got '${alg}'`);
  return alg;
}

export function buildApi({
  identifier, name, scopes = [], tokenLifetime = DEFAULT_TOKEN_LIFETIME, allowOfflineAccess = false, dpop = 'optional',
  refreshTokenOverlap = 0, refreshTokenLifetime, refreshTokenIdleLifetime, signingAlg,
  enforceRbac = false, permissionsClaim = false,
}) {
  identifier = checkApiIdentifier(identifier);
  checkScopes(scopes);
  for (const s of scopes) {
    if (OIDC_SCOPES.includes(s)) throw new TenantError(`scope '${s}' is an OpenID Connect scope handled by the server; an API cannot define it`);
  }
  if (!Number.isInteger(tokenLifetime) || tokenLifetime < 60 || tokenLifetime > MAX_TOKEN_LIFETIME) {
    throw new TenantError(`--token-lifetime must be a whole number of seconds from 60 to ${MAX_TOKEN_LIFETIME}, got '${tokenLifetime}'`);
  }
  return {
    identifier,
    name: checkName(name ?? identifier, '--name'),
    scopes,
    token_lifetime: tokenLifetime,
    allow_offline_access: Boolean(allowOfflineAccess),
    // 'required': token requests for this audience must carry a DPoP proof (RFC 9449).
    dpop: checkDpopPolicy(dpop),
    // Seconds after a rotation in which the just-rotated refresh token gets the same
    // successor again (0: off). Families end after their absolute and idle lifetimes
    // (server defaults 30 and 15 days when unset).
    refresh_token_overlap: checkSeconds(refreshTokenOverlap, '--refresh-token-overlap', 0, MAX_REFRESH_OVERLAP),
    ...(refreshTokenLifetime === undefined ? {} : { refresh_token_lifetime: checkSeconds(refreshTokenLifetime, '--refresh-token-lifetime', 60, 10 * 365 * 86400) }),
    ...(refreshTokenIdleLifetime === undefined ? {} : { refresh_token_idle_lifetime: checkSeconds(refreshTokenIdleLifetime, '--refresh-token-idle-lifetime', 60, 10 * 365 * 86400) }),
    // Access tokens are ES256 unless the API asks for RS256.
    ...(signingAlg === undefined ? {} : { signing_alg: checkSigningAlg(signingAlg, '--signing-alg') }),
    // RBAC (Auth0): users get only the requested scopes their roles grant; with
    // permissions_claim the access token lists them in `permissions`.
    enforce_rbac: Boolean(enforceRbac),
    permissions_claim: checkPermissionsClaim(enforceRbac, permissionsClaim),
  };
}

function checkPermissionsClaim(enforceRbac, permissionsClaim) {
  if (permissionsClaim && !enforceRbac) throw new TenantError('--permissions-claim needs --enforce-rbac (the permissions come from the user\'s roles)');
  return Boolean(permissionsClaim);
}

function checkDpopPolicy(dpop) {
  if (dpop !== 'optional' && dpop !== 'required') throw new TenantError(`--dpop must be optional or required, got '${dpop}'`);
  return dpop;
}

export const ORGANIZATION_USAGES = ['deny', 'allow', 'require'];

/**
 * A grant lets a client ask `client_credentials` tokens for an API, within `scopes`.
 * `organizationUsage` (Auth0): deny (default) refuses the `organization` parameter, allow
 * takes it, require needs it; the organization must also have enabled the grant.
 */
export function buildGrant(client, api, scopes, { organizationUsage = 'deny' } = {}) {
  if (!client.grant_types.includes('client_credentials')) {
    throw new TenantError(`client ${client.client_id} (${client.app_type}) does not have the client_credentials grant type`);
  }
  const chosen = scopes && scopes.length ? checkScopes(scopes) : [...api.scopes];
  for (const s of chosen) {
    if (!api.scopes.includes(s)) throw new TenantError(`scope '${s}' is not defined by API ${api.identifier} (it defines: ${api.scopes.join(' ') || 'none'})`);
  }
  if (!ORGANIZATION_USAGES.includes(organizationUsage)) {
    throw new TenantError(`--organization-usage must be one of ${ORGANIZATION_USAGES.join(', ')}, got '${organizationUsage}'`);
  }
  return { client_id: client.client_id, audience: api.identifier, scopes: chosen, organization_usage: organizationUsage };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** `prefix` + 16 random alphanumeric characters (Auth0's id shape: org_..., rol_...). */
export function generatePrefixedId(prefix) {
  const bytes = randomBytes(32);
  let out = '';
  // 248 = 4 * 62: rejection sampling keeps every character equally likely.
  for (const b of bytes) if (b < 248 && out.length < 16) out += ALNUM[b % 62];
  return out.length === 16 ? `${prefix}${out}` : generatePrefixedId(prefix);
}

/** An organization name: 1 to 50 of a-z 0-9 _ -, starting with a letter or digit, not `org_...`. */
export function checkOrganizationName(name) {
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,49}$/.test(name)) {
    throw new TenantError(`organization name '${name ?? ''}' must be 1 to 50 characters of a-z 0-9 _ -, starting with a letter or digit`);
  }
  if (name.startsWith('org_')) throw new TenantError(`organization name '${name}' must not start with org_ (that is how ids start)`);
  return name;
}

export function buildOrganization({ name, displayName, id }) {
  return {
    id: id ?? generatePrefixedId('org_'),
    name: checkOrganizationName(name),
    display_name: checkName(displayName ?? name, '--display-name'),
    members: [],
    client_grants: [],
  };
}

/** A role name: printable, 1 to 100 characters. */
export function buildRole({ name, description = '', id }) {
  return {
    id: id ?? generatePrefixedId('rol_'),
    name: checkName(name, '--name'),
    description: description === '' ? '' : checkName(description, '--description'),
    permissions: [],
  };
}

/** The most roles one user may have (the worker reads at most this many). */
export const MAX_ROLES_PER_USER = 50;

const EMAIL = /^[^\s@"(),:;<>[\\\]]+@[^\s@"(),:;<>[\\\]]+\.[^\s@"(),:;<>[\\\]]+$/;

export function normalizeEmail(email) {
  if (typeof email !== 'string' || !EMAIL.test(email)) throw new TenantError(`--email '${email ?? ''}' is not an email address`);
  if (email.length > 254) throw new TenantError('--email is longer than 254 characters');
  return email.toLowerCase();
}

export function hashPassword(password, iterations = DEFAULT_PBKDF2_ITERATIONS) {
  if (!Number.isInteger(iterations) || iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new TenantError(`--iterations must be a whole number from ${MIN_PBKDF2_ITERATIONS} to ${MAX_PBKDF2_ITERATIONS} (the Workers PBKDF2 limit), got '${iterations}'`);
  }
  const salt = randomBytes(16);
  // Same bytes as WebCrypto deriveBits({name:'PBKDF2', hash:'SHA-256', salt, iterations}, key, 256).
  const hash = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  return { alg: 'PBKDF2-SHA256', iterations, salt: b64url(salt), hash: b64url(hash) };
}

export function verifyPassword(password, stored) {
  const expected = Buffer.from(stored.hash, 'base64url');
  const got = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(stored.salt, 'base64url'), stored.iterations, expected.length, 'sha256');
  return timingSafeEqual(expected, got);
}

/** A readable generated password: 18 random bytes, base64url (24 characters). */
export const generatePassword = () => b64url(randomBytes(18));

export function buildUser({ email, name, password, iterations = DEFAULT_PBKDF2_ITERATIONS }) {
  const key = normalizeEmail(email);
  const generated = password === undefined;
  const pw = generated ? generatePassword() : password;
  if (typeof pw !== 'string' || [...pw].length < 8) throw new TenantError('--password must be at least 8 characters');
  if (Buffer.byteLength(pw) > 1024) throw new TenantError('--password is longer than 1024 bytes');
  const record = {
    user_id: `user|${randomBytes(12).toString('hex')}`,
    email: key,
    name: checkName(name ?? key, '--name'),
    password: hashPassword(pw, iterations),
  };
  return { record, password: generated ? pw : undefined };
}

// ---------------------------------------------------------------- the tenant over a KV store

export const keys = {
  client: (id) => `client:${id}`,
  api: (identifier) => `api:${identifier}`,
  grant: (clientId, audience) => `grant:${clientId}:${audience}`,
  user: (email) => `user:${email}`,
  origin: (origin) => `origin:${origin}`,
  org: (id) => `org:${id}`,
  orgName: (name) => `org_name:${name}`,
  role: (id) => `role:${id}`,
};

/**
 * Adds (or updates) the `origin:{origin}` index records for every client record in
 * `records` (a Map from KV key to record), for seeds that write records in bulk.
 * @returns the same Map
 */
export function addOriginIndex(records) {
  for (const [key, record] of [...records]) {
    if (!key.startsWith('client:')) continue;
    for (const origin of record.allowed_origins ?? []) {
      const index = records.get(keys.origin(origin)) ?? { clients: [] };
      records.set(keys.origin(origin), mergeOriginIndex(index, [record.client_id]) ?? index);
    }
  }
  return records;
}

/** `index` with `add` added and `remove` removed, or null when nothing changes. */
export function mergeOriginIndex(index, add = [], remove = []) {
  const before = Array.isArray(index?.clients) ? index.clients : [];
  const clients = [...new Set([...before.filter((c) => !remove.includes(c)), ...add])].sort();
  const same = clients.length === before.length && clients.every((c, i) => c === before[i]);
  return same ? null : { clients };
}

/** Tenant operations over a store with getJson/listJson/putMany/deleteMany (scripts/lib/kv.mjs). */
export class Tenant {
  constructor(kv, { clientSecretKey } = {}) {
    this.kv = kv;
    this.clientSecretKey = clientSecretKey;
  }

  async createClient(opts) {
    const built = buildClient({ ...opts, clientSecretKey: this.clientSecretKey });
    const key = keys.client(built.record.client_id);
    if (opts.clientId !== undefined && (await this.kv.get(key)) !== null) {
      throw new TenantError(`client ${opts.clientId} already exists`);
    }
    await this.kv.put(key, JSON.stringify(built.record));
    await this.#updateOriginIndex(built.record.allowed_origins, { add: [built.record.client_id] });
    return built;
  }

  /** Keeps `origin:{origin}` → {"clients":[...]} in step (the worker's CORS preflight reads it). */
  async #updateOriginIndex(origins, { add = [], remove = [] }) {
    if (!origins || origins.length === 0) return;
    const indexKeys = origins.map(keys.origin);
    const current = await this.kv.getMany(indexKeys);
    const puts = [];
    const deletes = [];
    for (const key of indexKeys) {
      const raw = current.get(key);
      const merged = mergeOriginIndex(raw === null || raw === undefined ? { clients: [] } : JSON.parse(raw), add, remove);
      if (!merged) continue;
      if (merged.clients.length === 0) deletes.push(key);
      else puts.push([key, JSON.stringify(merged)]);
    }
    if (puts.length) await this.kv.putMany(puts);
    if (deletes.length) await this.kv.deleteMany(deletes);
  }

  async getClient(id) {
    const c = await this.kv.getJson(keys.client(id));
    if (!c) throw new TenantError(`no client ${id}`);
    return c;
  }

  async listClients() {
    return (await this.kv.listJson('client:')).map(([, v]) => v);
  }

  /** Deletes the client and its client grants. @returns the deleted keys */
  async deleteClient(id) {
    const client = await this.getClient(id);
    const doomed = [keys.client(id), ...(await this.kv.list(`grant:${id}:`))];
    await this.kv.deleteMany(doomed);
    await this.#forgetGrants((g) => g.client_id === id);
    await this.#updateOriginIndex(client.allowed_origins, { remove: [id] });
    return doomed;
  }

  /** Replaces a client's secret with a fresh one. @returns the new secret (shown once) */
  async rotateSecret(id) {
    const client = await this.getClient(id);
    if (!SECRET_METHODS.includes(client.token_endpoint_auth_method)) {
      throw new TenantError(`client ${id} uses ${client.token_endpoint_auth_method}: it has no secret`);
    }
    const secret = generateSecret();
    client.client_secret_hash = sha256b64url(secret);
    if (client.token_endpoint_auth_method === 'client_secret_jwt') {
      client.client_secret_enc = encryptClientSecret(secret, id, this.clientSecretKey);
    }
    await this.kv.put(keys.client(id), JSON.stringify(client));
    return secret;
  }

  async createApi(opts) {
    const record = buildApi(opts);
    if ((await this.kv.get(keys.api(record.identifier))) !== null) throw new TenantError(`API ${record.identifier} already exists`);
    await this.kv.put(keys.api(record.identifier), JSON.stringify(record));
    return record;
  }

  async getApi(identifier) {
    const api = await this.kv.getJson(keys.api(identifier));
    if (!api) throw new TenantError(`no API ${identifier}`);
    return api;
  }

  async listApis() {
    return (await this.kv.listJson('api:')).map(([, v]) => v);
  }

  /** Deletes the API and every client grant for it. @returns the deleted keys */
  async deleteApi(identifier) {
    await this.getApi(identifier);
    const grants = (await this.kv.list('grant:')).filter((k) => k.endsWith(`:${identifier}`) && k.indexOf(':', 6) === k.length - identifier.length - 1);
    const doomed = [keys.api(identifier), ...grants];
    await this.kv.deleteMany(doomed);
    await this.#forgetGrants((g) => g.audience === identifier);
    return doomed;
  }

  async createGrant({ clientId, audience, scopes, organizationUsage }) {
    const values = await this.kv.getMany([keys.client(clientId), keys.api(audience), keys.grant(clientId, audience)]);
    if (values.get(keys.client(clientId)) === null) throw new TenantError(`no client ${clientId}`);
    if (values.get(keys.api(audience)) === null) throw new TenantError(`no API ${audience}`);
    if (values.get(keys.grant(clientId, audience)) !== null) {
      throw new TenantError(`client ${clientId} already has a grant for ${audience} (delete it first)`);
    }
    const record = buildGrant(JSON.parse(values.get(keys.client(clientId))), JSON.parse(values.get(keys.api(audience))), scopes, { organizationUsage });
    await this.kv.put(keys.grant(clientId, audience), JSON.stringify(record));
    return record;
  }

  async listGrants(clientId) {
    return (await this.kv.listJson(clientId ? `grant:${clientId}:` : 'grant:')).map(([, v]) => v);
  }

  async deleteGrant(clientId, audience) {
    const key = keys.grant(clientId, audience);
    if ((await this.kv.get(key)) === null) throw new TenantError(`client ${clientId} has no grant for ${audience}`);
    await this.kv.deleteMany([key]);
    await this.#forgetGrants((g) => g.client_id === clientId && g.audience === audience);
    return [key];
  }

  /**
   * Drops deleted client grants from every organization, so a grant created again later
   * does not inherit the old one's organizations.
   */
  async #forgetGrants(matches) {
    const puts = [];
    for (const [key, org] of await this.kv.listJson('org:')) {
      const kept = (org.client_grants ?? []).filter((g) => !matches(g));
      if (kept.length !== (org.client_grants ?? []).length) puts.push([key, JSON.stringify({ ...org, client_grants: kept })]);
    }
    if (puts.length) await this.kv.putMany(puts);
  }

  async createUser(opts) {
    const built = buildUser(opts);
    if ((await this.kv.get(keys.user(built.record.email))) !== null) throw new TenantError(`user ${built.record.email} already exists`);
    await this.kv.put(keys.user(built.record.email), JSON.stringify(built.record));
    return built;
  }

  async listUsers() {
    return (await this.kv.listJson('user:')).map(([, v]) => v);
  }

  async deleteUser(email) {
    const key = keys.user(normalizeEmail(email));
    if ((await this.kv.get(key)) === null) throw new TenantError(`no user ${email}`);
    await this.kv.deleteMany([key]);
    return [key];
  }

  async getUser(email) {
    const user = await this.kv.getJson(keys.user(normalizeEmail(email)));
    if (!user) throw new TenantError(`no user ${email}`);
    return user;
  }

  // ------------------------------------------------------------ organizations

  async createOrganization(opts) {
    const record = buildOrganization(opts);
    if ((await this.kv.get(keys.orgName(record.name))) !== null) throw new TenantError(`organization ${record.name} already exists`);
    await this.kv.putMany([[keys.org(record.id), JSON.stringify(record)], [keys.orgName(record.name), JSON.stringify({ id: record.id })]]);
    return record;
  }

  /** An organization by id (org_...) or name. */
  async getOrganization(idOrName) {
    let id = idOrName;
    if (!String(idOrName).startsWith('org_')) {
      const index = await this.kv.getJson(keys.orgName(String(idOrName).toLowerCase()));
      if (!index) throw new TenantError(`no organization ${idOrName}`);
      id = index.id;
    }
    const org = await this.kv.getJson(keys.org(id));
    if (!org) throw new TenantError(`no organization ${idOrName}`);
    return org;
  }

  async listOrganizations() {
    return (await this.kv.listJson('org:')).map(([, v]) => v);
  }

  async deleteOrganization(idOrName) {
    const org = await this.getOrganization(idOrName);
    const doomed = [keys.org(org.id), keys.orgName(org.name)];
    await this.kv.deleteMany(doomed);
    return doomed;
  }

  async #saveOrganization(org) {
    await this.kv.put(keys.org(org.id), JSON.stringify(org));
    return org;
  }

  async addMember(idOrName, email) {
    const org = await this.getOrganization(idOrName);
    const user = await this.getUser(email);
    if (org.members.includes(user.user_id)) throw new TenantError(`${user.email} is already a member of ${org.name}`);
    org.members.push(user.user_id);
    return this.#saveOrganization(org);
  }

  async removeMember(idOrName, email) {
    const org = await this.getOrganization(idOrName);
    const user = await this.getUser(email);
    if (!org.members.includes(user.user_id)) throw new TenantError(`${user.email} is not a member of ${org.name}`);
    org.members = org.members.filter((m) => m !== user.user_id);
    return this.#saveOrganization(org);
  }

  /** Machine-to-machine access: the client grant of `clientId` for `audience` may act for the organization. */
  async enableGrant(idOrName, clientId, audience) {
    const org = await this.getOrganization(idOrName);
    const grant = await this.kv.getJson(keys.grant(clientId, audience));
    if (!grant) throw new TenantError(`client ${clientId} has no grant for ${audience}`);
    if (org.client_grants.some((g) => g.client_id === clientId && g.audience === audience)) {
      throw new TenantError(`the grant of ${clientId} for ${audience} is already enabled for ${org.name}`);
    }
    org.client_grants.push({ client_id: clientId, audience });
    await this.#saveOrganization(org);
    return { org, grant };
  }

  async disableGrant(idOrName, clientId, audience) {
    const org = await this.getOrganization(idOrName);
    const before = org.client_grants.length;
    org.client_grants = org.client_grants.filter((g) => !(g.client_id === clientId && g.audience === audience));
    if (org.client_grants.length === before) throw new TenantError(`the grant of ${clientId} for ${audience} is not enabled for ${org.name}`);
    return this.#saveOrganization(org);
  }

  // ------------------------------------------------------------ roles (RBAC)

  async createRole(opts) {
    const record = buildRole(opts);
    const existing = await this.listRoles();
    if (existing.some((r) => r.name === record.name)) throw new TenantError(`role ${record.name} already exists`);
    await this.kv.put(keys.role(record.id), JSON.stringify(record));
    return record;
  }

  async listRoles() {
    return (await this.kv.listJson('role:')).map(([, v]) => v);
  }

  /** A role by id (rol_...) or name. */
  async getRole(idOrName) {
    const role = String(idOrName).startsWith('rol_')
      ? await this.kv.getJson(keys.role(idOrName))
      : (await this.listRoles()).find((r) => r.name === idOrName);
    if (!role) throw new TenantError(`no role ${idOrName}`);
    return role;
  }

  /** Deletes the role (users that still list it simply stop getting its permissions). */
  async deleteRole(idOrName) {
    const role = await this.getRole(idOrName);
    await this.kv.deleteMany([keys.role(role.id)]);
    return [keys.role(role.id)];
  }

  async addPermission(idOrName, audience, scopes) {
    const role = await this.getRole(idOrName);
    const api = await this.getApi(audience);
    if (!scopes.length) throw new TenantError('--scope is required (the API permission to add)');
    checkScopes(scopes);
    for (const scope of scopes) {
      if (!api.scopes.includes(scope)) throw new TenantError(`scope '${scope}' is not defined by API ${audience} (it defines: ${api.scopes.join(' ') || 'none'})`);
      if (!role.permissions.some((p) => p.audience === audience && p.scope === scope)) role.permissions.push({ audience, scope });
    }
    await this.kv.put(keys.role(role.id), JSON.stringify(role));
    return role;
  }

  async assignRole(email, idOrName) {
    const user = await this.getUser(email);
    const role = await this.getRole(idOrName);
    user.roles = user.roles ?? [];
    if (user.roles.includes(role.id)) throw new TenantError(`${user.email} already has role ${role.name}`);
    if (user.roles.length >= MAX_ROLES_PER_USER) throw new TenantError(`${user.email} already has ${MAX_ROLES_PER_USER} roles, the most the worker reads`);
    user.roles.push(role.id);
    await this.kv.put(keys.user(user.email), JSON.stringify(user));
    return { user, role };
  }

  async unassignRole(email, idOrName) {
    const user = await this.getUser(email);
    const role = await this.getRole(idOrName);
    if (!(user.roles ?? []).includes(role.id)) throw new TenantError(`${user.email} does not have role ${role.name}`);
    user.roles = user.roles.filter((r) => r !== role.id);
    if (user.roles.length === 0) delete user.roles;
    await this.kv.put(keys.user(user.email), JSON.stringify(user));
    return { user, role };
  }
}
