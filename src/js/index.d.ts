// Types of the `edge-oauth` entry (src/js/index.js): hand-written, real interfaces.

/** Every function of this package throws (or rejects with) an `EdgeOAuthError`. */
export interface EdgeOAuthError extends Error {
  /** The stable library error code, e.g. `DPOP_HTU_MISMATCH` or `OAUTH_ERROR`. */
  code: string;
  /** For `OAUTH_ERROR`: the RFC 6749 `error` code sent by the server. */
  error?: string;
  /** For `OAUTH_ERROR`: the server's `error_description`. */
  errorDescription?: string;
  /** For `OAUTH_ERROR`: the server's `error_uri`. */
  errorUri?: string;
  /** For `OAUTH_ERROR`: the HTTP status of the response. */
  status?: number;
  /** For `OAUTH_ERROR`: the `DPoP-Nonce` header of the response, if any. */
  dpopNonce?: string;
  /** For `FETCH_FAILED`, `WEBCRYPTO_FAILED`, `STORAGE_FAILED`: the platform error. */
  cause?: unknown;
  /**
   * From `TokenClient.exchangeCode` / `pollDeviceToken` / `refresh`, when the call failed
   * after the server issued tokens (an ID token check, the JWKS fetch, a `Bearer` answer to
   * a DPoP client: `TOKEN_TYPE_MISMATCH`): the token set, which was not stored (a `refresh`
   * refused so also ended the session). Revoke what you will not use. Not enumerable, so that a logged error
   * does not print it.
   */
  tokens?: TokenSet;
}

/** What `init` accepts: a URL or path of `edge_oauth_bg.wasm`, its bytes, or a module. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/**
 * Loads the wasm core (by default `edge_oauth_bg.wasm` next to the glue). Call once before
 * anything else, in browsers and bundlers.
 */
export default function init(options?: { module_or_path: InitInput | Promise<InitInput> }): Promise<unknown>;

/** Synchronous `init` from the bytes of `edge_oauth_bg.wasm` (Node: `readFileSync`). */
export function initSync(options: { module: BufferSource | WebAssembly.Module }): unknown;

// ----- PKCE (RFC 7636) -------------------------------------------------------------------

/** A PKCE pair, ready for an authorization request and the code exchange. */
export interface Pkce {
  /** The secret `code_verifier` (43 characters), kept until the code exchange. */
  codeVerifier: string;
  /** `BASE64URL(SHA-256(codeVerifier))`. */
  codeChallenge: string;
  /** Always `"S256"`. */
  codeChallengeMethod: "S256";
}

/** A fresh `code_verifier` from 32 random bytes (43 characters). */
export function generateCodeVerifier(): string;
/** The S256 `code_challenge` of a verifier (43-128 unreserved characters). */
export function calculateCodeChallenge(verifier: string): string;
/** A verifier and its S256 challenge. */
export function generatePkce(): Pkce;

// ----- JWKs and DPoP (RFC 7638, RFC 9449) ------------------------------------------------

/** A public EC P-256 JWK. */
export interface PublicJwk {
  kty: "EC";
  crv: "P-256";
  /** base64url of the 32-byte x coordinate. */
  x: string;
  /** base64url of the 32-byte y coordinate. */
  y: string;
}

/** A private EC P-256 JWK. Keep it secret. */
export interface PrivateJwk extends PublicJwk {
  /** base64url of the 32-byte private scalar. */
  d: string;
}

/** Any JWK whose RFC 7638 thumbprint can be computed (EC, RSA or OKP). */
export interface Jwk {
  kty: string;
  [member: string]: unknown;
}

/** The RFC 7638 SHA-256 thumbprint of a JWK (object or JSON text), base64url. */
export function calculateJwkThumbprint(jwk: Jwk | string): string;

/** What a DPoP proof is for. */
export interface CreateProofOptions {
  /** The HTTP method of the request, e.g. `"POST"`. */
  htm: string;
  /** The request URL; its query and fragment are dropped. */
  htu: string;
  /** The last `DPoP-Nonce` the server sent. */
  nonce?: string;
  /** The access token, when calling a resource server (adds `ath`). */
  accessToken?: string;
  /** Issued-at in seconds since the epoch; defaults to now. */
  iat?: number;
  /** A unique proof id; defaults to 128 random bits. */
  jti?: string;
}

/**
 * Where a DpopKey's private key lives: `"webcrypto"` (a WebCrypto CryptoKey, usually
 * non-extractable) or `"p256"` (a P-256 scalar inside the `edge-oauth/p256` wasm module).
 */
export type DpopKeyBackend = "p256" | "webcrypto";

/**
 * An ES256 DPoP key (P-256). In browsers and workers use
 * `await DpopKey.generateNonExtractable()`; `persist` / `load` keep it in IndexedDB.
 * `generate`, `fromJwk`, `toJwk` and `createProofSync` need the `edge-oauth/p256` entry
 * (`import initP256 from "edge-oauth/p256"; await initP256();`).
 */
export class DpopKey {
  private constructor();
  /** A fresh P-256 key in wasm memory (`p256` backend). */
  static generate(): DpopKey;
  /** Imports a private EC P-256 JWK (object or JSON text), strictly (`p256` backend). */
  static fromJwk(privateJwk: PrivateJwk | string): DpopKey;
  /** A non-extractable WebCrypto P-256 key pair (`webcrypto` backend). */
  static generateNonExtractable(): Promise<DpopKey>;
  /** Wraps an ECDSA P-256 CryptoKeyPair after checking it. */
  static fromCryptoKeyPair(keyPair: CryptoKeyPair): Promise<DpopKey>;
  /** Loads a key stored by `persist` from IndexedDB; `undefined` when there is none. */
  static load(name: string): Promise<DpopKey | undefined>;
  /** Deletes the key stored under `name` in IndexedDB. */
  static remove(name: string): Promise<void>;
  /** Stores this WebCrypto key in IndexedDB (structured clone; never its bytes). */
  persist(name: string): Promise<void>;
  /** Where the private key lives. */
  readonly backend: DpopKeyBackend;
  /** The CryptoKeyPair of a `webcrypto` key; `undefined` for `p256`. */
  readonly keyPair: CryptoKeyPair | undefined;
  /** The public JWK that proofs carry. */
  readonly publicJwk: PublicJwk;
  /** The RFC 7638 thumbprint (`jkt`). */
  readonly thumbprint: string;
  /** The private JWK of a `p256` key. */
  toJwk(): PrivateJwk;
  /** A DPoP proof JWT for one request, with either backend. */
  createProof(options: CreateProofOptions): Promise<string>;
  /** A DPoP proof, synchronously (`p256` keys only). */
  createProofSync(options: CreateProofOptions): string;
}

// ----- token requests and responses (RFC 6749) -------------------------------------------

/** Parameters of an `authorization_code` token request (RFC 6749 §4.1.3, RFC 7636 §4.5). */
export interface AuthorizationCodeGrantOptions {
  code: string;
  redirectUri: string;
  codeVerifier: string;
  /** Sent in the body for public clients. */
  clientId?: string;
}

/** Parameters of a `refresh_token` request (RFC 6749 §6). */
export interface RefreshTokenGrantOptions {
  refreshToken: string;
  /** Narrows the scope; omit to keep the original scope. */
  scope?: string;
  clientId?: string;
}

/** Parameters of a `client_credentials` request (RFC 6749 §4.4, Auth0 style). */
export interface ClientCredentialsGrantOptions {
  /** The API identifier (Auth0's `audience`). */
  audience?: string;
  /** An RFC 8707 resource indicator. */
  resource?: string;
  /** An Auth0 organization id or name. */
  organization?: string;
  scope?: string;
  clientId?: string;
}

/** A validated token response (RFC 6749 §5.1). */
export interface TokenSet {
  accessToken: string;
  /** `"Bearer"` or `"DPoP"`, normalised from the case-insensitive wire value. */
  tokenType: "Bearer" | "DPoP";
  /** Lifetime in seconds, as sent. */
  expiresIn?: number;
  /** Expiry in seconds since the epoch: now + expiresIn. */
  expiresAt?: number;
  refreshToken?: string;
  idToken?: string;
  /** The granted scope, when the server sent it. */
  scope?: string;
  /** From `TokenClient.exchangeCode` / `pollDeviceToken` / `refresh` with a known issuer: the checked ID token claims. */
  idTokenClaims?: IdTokenClaims;
}

/** Response headers: a `Headers` instance or a plain object. */
export type HeadersLike = Headers | Record<string, string>;

/** The form body of an `authorization_code` request. */
export function authorizationCodeGrantBody(options: AuthorizationCodeGrantOptions): string;
/** The form body of a `refresh_token` request. */
export function refreshTokenGrantBody(options: RefreshTokenGrantOptions): string;
/** The form body of a `client_credentials` request. */
export function clientCredentialsGrantBody(options: ClientCredentialsGrantOptions): string;
/** Parses and validates a token endpoint response (RFC 6749 §5.1, §5.2). */
export function parseTokenResponse(status: number, bodyText: string, headers?: HeadersLike | null): TokenSet;

// ----- the device authorization grant (RFC 8628) -----------------------------------------

/** Parameters of a device authorization request (RFC 8628 §3.1, Auth0 style). */
export interface DeviceAuthorizationRequestOptions {
  scope?: string;
  /** The API identifier (Auth0's `audience`). */
  audience?: string;
  /** An RFC 8707 resource indicator. */
  resource?: string;
  /** Sent in the body for public clients. */
  clientId?: string;
}

/** Parameters of a device access token request (RFC 8628 §3.4). */
export interface DeviceCodeGrantOptions {
  /** The `deviceCode` of the device authorization. */
  deviceCode: string;
  clientId?: string;
}

/** A strictly checked device authorization answer (RFC 8628 §3.2). */
export interface DeviceAuthorization {
  /** The device verification code: a credential, keep it on the device. */
  deviceCode: string;
  /** The code to show the user. */
  userCode: string;
  /** Where the user enters the code (https, or http on a loopback host). */
  verificationUri: string;
  /** The verification URI with the code in it (for a link or a QR code), if sent. */
  verificationUriComplete?: string;
  /** The lifetime of the codes in seconds, as sent. */
  expiresIn: number;
  /** Their expiry in seconds since the epoch: now + expiresIn. */
  expiresAt: number;
  /** Seconds to wait between polls (5 when the server sent none). */
  interval: number;
}

/** The form body of a device authorization request. */
export function deviceAuthorizationRequestBody(options: DeviceAuthorizationRequestOptions): string;
/** The form body of a device access token request (`urn:ietf:params:oauth:grant-type:device_code`). */
export function deviceCodeGrantBody(options: DeviceCodeGrantOptions): string;
/** Parses the device authorization answer strictly (`DEVICE_AUTHORIZATION_RESPONSE_INVALID` names the member). */
export function parseDeviceAuthorizationResponse(status: number, bodyText: string): DeviceAuthorization;

// ----- the redirect leg (RFC 6749 §4.1, RFC 7636, RFC 9126, RFC 9207, RFC 8414, OIDC) ----

/** The parameters of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3). */
export interface AuthorizationRequestParams {
  /** The client identifier. */
  clientId: string;
  /** The redirection URI, exactly as registered. */
  redirectUri: string;
  /** The S256 `code_challenge` from `generatePkce()`. */
  codeChallenge: string;
  /** Space-separated scopes, e.g. `"openid profile offline_access"`. */
  scope?: string;
  /** The CSRF `state`; pass it again to `parseAuthorizationResponse`. */
  state?: string;
  /** The OIDC `nonce`; pass it again to `validateIdTokenClaims` / `exchangeCode`. */
  nonce?: string;
  /** Auth0's `audience`: the API the access token is for. */
  audience?: string;
  /** RFC 8707 resource indicator(s): absolute URIs. */
  resource?: string | string[];
  /** Auth0's `organization` id or name. */
  organization?: string;
  /** The DPoP key's JWK thumbprint (`DpopKey.thumbprint`), binding the code (RFC 9449 §10). */
  dpopJkt?: string;
  /** OIDC `prompt`, e.g. `"login"` or `"none"`. */
  prompt?: string;
  /** OIDC `max_age` in seconds. */
  maxAge?: number;
  /** OIDC `login_hint`. */
  loginHint?: string;
  /** Where the response parameters go: `"query"` (the default) or `"fragment"`. */
  responseMode?: "query" | "fragment";
}

/** Options of `buildAuthorizationUrl`. */
export interface AuthorizationUrlOptions extends Partial<AuthorizationRequestParams> {
  /** The authorization endpoint: https (http only on a loopback host). */
  authorizationEndpoint: string;
  clientId: string;
  /** The `request_uri` of a pushed request: the URL then carries `client_id` and `request_uri` only. */
  requestUri?: string;
}

/** Options of `parseAuthorizationResponse`. */
export interface AuthorizationResponseOptions {
  /** The `state` sent with the request; `null` only if none was sent. */
  state: string | null;
  /** The issuer identifier the request went to (`iss` must equal it, RFC 9207). */
  issuer?: string;
  /** The metadata's `authorization_response_iss_parameter_supported`: `iss` is then required. */
  issParameterSupported?: boolean;
  /**
   * Where the response must be: the `responseMode` the request was built with. Without it
   * the response is read from the fragment when the fragment has `code`, `state`, `error`
   * or `iss`, from the query otherwise. Response parameters in both parts are
   * `AUTHORIZATION_RESPONSE_AMBIGUOUS` either way; with it, response parameters only in
   * the other part are `AUTHORIZATION_RESPONSE_MODE_MISMATCH`.
   */
  responseMode?: "query" | "fragment";
}

/**
 * Options of `TokenClient.parseAuthorizationResponse`: those of `parseAuthorizationResponse`,
 * with the client's issuer and metadata behind them.
 */
export interface ClientAuthorizationResponseOptions {
  /** The `state` sent with the request; `null` only if none was sent. */
  state: string | null;
  /** The issuer identifier the request went to; `undefined` or `null`: the client's. A client that knows its issuer refuses another (`ARGUMENT_INVALID`). */
  issuer?: string | null;
  /**
   * `true` requires `iss` even where the metadata does not advertise
   * `authorization_response_iss_parameter_supported`. `false`, `undefined` or `null` leave
   * the metadata's value: where it advertises it, `iss` is required whatever this says.
   */
  issParameterSupported?: boolean | null;
  /** As for `parseAuthorizationResponse`. */
  responseMode?: "query" | "fragment" | null;
}

/** A checked authorization response (RFC 6749 §4.1.2). */
export interface AuthorizationResponse {
  /** The authorization code for `exchangeCode`. */
  code: string;
  /** The `state`, equal to the one sent. */
  state?: string;
  /** The `iss`, equal to the issuer, when the server sent it. */
  iss?: string;
}

/** A pushed authorization response (RFC 9126 §2.2). */
export interface ParResponse {
  /** The `request_uri` for `buildAuthorizationUrl({ requestUri })`. */
  requestUri: string;
  /** Its lifetime in seconds. */
  expiresIn: number;
  /** Its expiry in seconds since the epoch: now + expiresIn. */
  expiresAt: number;
}

/** What `TokenClient.pushAuthorizationRequest` resolves to. */
export interface PushedAuthorizationRequest extends ParResponse {
  /** The authorization URL carrying the `request_uri`, when the authorization endpoint is known. */
  authorizationUrl?: string;
}

/** Authorization server metadata (RFC 8414 §2, OIDC Discovery §3), camelCase. */
export interface ServerMetadata {
  issuer: string;
  authorizationEndpoint?: string;
  tokenEndpoint: string;
  jwksUri?: string;
  userinfoEndpoint?: string;
  revocationEndpoint?: string;
  introspectionEndpoint?: string;
  pushedAuthorizationRequestEndpoint?: string;
  endSessionEndpoint?: string;
  /** RFC 8628 §4. */
  deviceAuthorizationEndpoint?: string;
  requirePushedAuthorizationRequests: boolean;
  authorizationResponseIssParameterSupported: boolean;
  responseTypesSupported: string[];
  responseModesSupported: string[];
  grantTypesSupported: string[];
  scopesSupported: string[];
  codeChallengeMethodsSupported: string[];
  tokenEndpointAuthMethodsSupported: string[];
  dpopSigningAlgValuesSupported: string[];
  idTokenSigningAlgValuesSupported: string[];
}

/** A JSON Web Key Set, e.g. the body of the metadata's `jwks_uri`. */
export interface Jwks {
  keys: Record<string, unknown>[];
}

/** Options of `validateIdTokenClaims` (OIDC Core §3.1.3.7). */
export interface IdTokenValidationOptions {
  /** The issuer identifier: `iss` must equal it exactly. */
  issuer: string;
  /** The client's id: `aud` must contain it. */
  clientId: string;
  /** The `nonce` sent with the authorization request. */
  nonce?: string;
  /** The access token issued alongside: `at_hash`, when present, must match it. */
  accessToken?: string;
  /** The `max_age` sent: `auth_time` is then required and bounded. */
  maxAge?: number;
  /** The current time in seconds since the epoch (default `Date.now() / 1000`). */
  now?: number;
  /** Allowed clock skew in seconds (default 60). */
  leeway?: number;
  /** Other audiences the client trusts (default none). */
  trustedAudiences?: string[];
  /** Accepted `alg` values (default every asymmetric one; never `none` or HMAC). */
  algorithms?: string[];
  /**
   * The issuer's JWKS: when given, the ES256 signature is verified first, synchronously,
   * by `edge-oauth/p256` (`KEY_BACKEND_UNSUPPORTED` until it is initialised; the default
   * entry has no P-256 arithmetic). `verifyIdToken` verifies through WebCrypto instead.
   */
  jwks?: Jwks | string;
}

/** The claims of a validated ID token. */
export interface IdTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nonce?: string;
  azp?: string;
  auth_time?: number;
  at_hash?: string;
  [claim: string]: unknown;
}

/** The authorization URL (RFC 6749 §4.1.1): response_type=code, PKCE S256, and the rest. */
export function buildAuthorizationUrl(options: AuthorizationUrlOptions): string;
/** The form body of a pushed authorization request (RFC 9126 §2.1). */
export function buildParRequestBody(options: AuthorizationRequestParams): string;
/** Parses a pushed authorization response (201 with request_uri and expires_in). */
export function parseParResponse(status: number, body: string): ParResponse;
/**
 * Checks the redirect back (state, RFC 9207 iss, typed error redirects), one code per
 * failure. `url` is the URL the browser came back with: a string, a `URL`, or
 * `window.location` itself.
 *
 * @example
 * const { code } = parseAuthorizationResponse(window.location, { state: tx.state, issuer: metadata.issuer });
 *
 * @example
 * // Requested with responseMode: "fragment" and redirectUri "https://app.example/cb?tenant=a":
 * // the browser comes back to https://app.example/cb?tenant=a#code=...&state=...
 * const { code } = parseAuthorizationResponse(window.location, { state: tx.state, issuer: metadata.issuer, responseMode: "fragment" });
 */
export function parseAuthorizationResponse(url: string | URL | Location, options: AuthorizationResponseOptions): AuthorizationResponse;
/** Parses server metadata strictly: its `issuer` must equal `expectedIssuer`. */
export function parseServerMetadata(json: string, expectedIssuer: string): ServerMetadata;
/** Validates an ID token's claims (and, with `jwks` and `edge-oauth/p256` initialised, its ES256 signature). */
export function validateIdTokenClaims(idToken: string, options: IdTokenValidationOptions): IdTokenClaims;

/** Options of `verifyIdToken`: the claim checks, and the issuer's JWKS (required). */
export interface IdTokenVerificationOptions extends IdTokenValidationOptions {
  /** The issuer's JWK Set: the signature must verify with one of its keys (by `kid`). */
  jwks: Jwks | string;
}

/**
 * Verifies an ID token's signature with WebCrypto (RS256, PS256 or ES256) against the
 * issuer's JWKS, then checks its claims as `validateIdTokenClaims` does.
 *
 * @example
 * const jwks = await (await fetch(metadata.jwksUri)).json();
 * const claims = await verifyIdToken(tokens.idToken, {
 *   issuer: metadata.issuer, clientId: "my-spa", nonce, accessToken: tokens.accessToken, jwks,
 * });
 */
export function verifyIdToken(idToken: string, options: IdTokenVerificationOptions): Promise<IdTokenClaims>;

// ----- token stores ----------------------------------------------------------------------

/**
 * What a token store keeps per client: the token set, its session, and which refresh
 * tokens it replaced. A record of the same session at a higher `generation`, or of a
 * session `created` later, replaces it; records of earlier formats (no `session`) are read.
 */
export interface TokenRecord {
  tokens: TokenSet;
  /** The session's random id, minted at the sign-in (`exchangeCode`, `pollDeviceToken`). */
  session?: string;
  /** 0 at the sign-in, one more per refresh (whether or not the refresh token rotated). */
  generation?: number;
  /** When the session started (milliseconds since the epoch). */
  created?: number;
  /**
   * base64url(SHA-256) of the refresh tokens spent on the way to `tokens`, newest first
   * (at most 32): a refresh of any of them resolves to this set instead of sending it.
   */
  spent?: string[];
  /** The newest entry of `spent` (a record of the earlier format has only this). */
  replaces?: string;
}

/** Where a `TokenClient` keeps its token set. */
export interface TokenStore {
  get(key: string): Promise<TokenRecord | undefined>;
  set(key: string, record: TokenRecord): Promise<void>;
  delete(key: string): Promise<void>;
}

/** The default store: memory of this runtime; tabs stay in step via BroadcastChannel. */
export class MemoryTokenStore implements TokenStore {
  get(key: string): Promise<TokenRecord | undefined>;
  set(key: string, record: TokenRecord): Promise<void>;
  delete(key: string): Promise<void>;
}

/** IndexedDB (database `edge-oauth`, store `tokens`): shared by the origin's tabs. */
export class IndexedDbTokenStore implements TokenStore {
  /** Throws `STORAGE_UNAVAILABLE` where there is no IndexedDB. */
  constructor();
  get(key: string): Promise<TokenRecord | undefined>;
  set(key: string, record: TokenRecord): Promise<void>;
  delete(key: string): Promise<void>;
}

// ----- TokenClient and fetchWithDpop -----------------------------------------------------

/** How a `TokenClient` reaches and authenticates to the authorization server. */
export interface TokenClientOptions {
  /** The absolute URL of the token endpoint, e.g. `https://auth.example.com/oauth/token`. */
  tokenEndpoint: string;
  clientId: string;
  /** For confidential clients: sent as HTTP Basic (`client_secret_basic`). Without it the
   *  client is public and `client_id` goes in the body. */
  clientSecret?: string;
  /** Sign every token request with this key (RFC 9449) and require `token_type: DPoP`. */
  dpopKey?: DpopKey;
  /** The RFC 7009 revocation endpoint; defaults to `<origin of tokenEndpoint>/oauth/revoke`. */
  revocationEndpoint?: string;
  /** Where `exchangeCode` and `refresh` keep the token set; a `MemoryTokenStore` by default.
   *  Use an `IndexedDbTokenStore` to share the session between tabs and reloads. */
  store?: TokenStore;
  /** The key of this client's record in the store; defaults to `<origin> <clientId>`. */
  storeKey?: string;
  /**
   * Hears the store's failures, always as an `EdgeOAuthError`: `STORAGE_FAILED` (IndexedDB's
   * own, or a custom store's error as its `cause`), or the store's own EdgeOAuthError: a write of a token set
   * the server issued, a read or delete while `clearTokens` runs or while another tab's
   * set or sign-out is applied. A failed write loses nothing: the call still resolves to
   * the tokens, the other tabs still get them, and this runtime keeps them (for
   * `getTokens` and `refresh`) until a later write succeeds. Errors that are not the
   * store's do not come here. A throw of it is ignored. Default: `console.warn`.
   *
   * ```js
   * const client = new TokenClient({
   *   tokenEndpoint, clientId: "my-spa", store: new IndexedDbTokenStore(),
   *   onStoreError: (error) => showBanner(`This tab could not save the session (${error.code})`),
   * });
   * ```
   */
  onStoreError?: (error: EdgeOAuthError) => void;
  /** The issuer identifier: enables the ID token check of `exchangeCode` and RFC 9207. */
  issuer?: string;
  /** The authorization endpoint, for `authorizationUrl` and `pushAuthorizationRequest`. */
  authorizationEndpoint?: string;
  /** The RFC 9126 endpoint, for `pushAuthorizationRequest`. */
  pushedAuthorizationRequestEndpoint?: string;
  /** The issuer's JWKS URL, for `exchangeCode({ verifySignature: true })`. */
  jwksUri?: string;
  /** Server metadata (`parseServerMetadata`): its `authorization_response_iss_parameter_supported` is used. */
  metadata?: ServerMetadata;
  /** The RFC 8628 device authorization endpoint. Default: the metadata's; without
   *  metadata, Auth0's `.../oauth/device/code` beside a `.../oauth/token` endpoint. */
  deviceAuthorizationEndpoint?: string;
}

/** The TokenClient options besides what `TokenClient.discover` fills in. */
export type DiscoverOptions = Omit<TokenClientOptions, "tokenEndpoint" | "issuer" | "metadata" | "authorizationEndpoint" | "pushedAuthorizationRequestEndpoint" | "jwksUri">;

/** An `authorization_code` exchange (RFC 6749 §4.1.3 with PKCE, RFC 7636 §4.5). */
export interface ExchangeCodeOptions {
  code: string;
  /** Exactly the `redirect_uri` of the authorization request. */
  redirectUri: string;
  codeVerifier: string;
  /** The OIDC `nonce` of the request: the answer must carry an ID token with it. Needs the client's issuer. */
  nonce?: string;
  /**
   * The `max_age` of the request (a non-negative integer): the answer must carry an ID token
   * whose `auth_time` is bounded by it. Needs the client's issuer.
   */
  maxAge?: number;
  /** Verify the ID token's signature (RS256, PS256 or ES256, with WebCrypto) against the issuer's JWKS. Needs the client's issuer. */
  verifySignature?: boolean;
  /** The JWKS to verify with (default: fetched from `jwksUri`, which must then be known). */
  jwks?: Jwks | string;
}

/** Options of a refresh (RFC 6749 §6). */
export interface RefreshOptions {
  /** Narrows the scope; omit to keep the original scope. */
  scope?: string;
  /**
   * Stops waiting for the refresh: the call rejects with `ABORTED` (`name` `AbortError`)
   * as soon as it aborts, also while it waits for the lock, for this tab's queue or for
   * another tab's answer. Before the token request is sent, nothing is sent; once it is
   * sent, it is never aborted (the server spends the refresh token as it answers): it
   * runs to its end, still holding the lock, and its answer is stored and handed to the
   * other tabs as if nobody had aborted. A call with a signal does not join a concurrent
   * identical call. The request has no timeout of its own: one that never answers holds
   * the lock, and every tab's refresh, until the runtime's network timeout ends it.
   *
   * ```js
   * const tokens = await client.refresh(refreshToken, { signal: AbortSignal.timeout(10_000) });
   * ```
   */
  signal?: AbortSignal | null;
}

/** A `client_credentials` request (RFC 6749 §4.4, Auth0 style). */
export interface ClientCredentialsOptions {
  /** The API identifier (Auth0's `audience`). */
  audience?: string;
  /** An RFC 8707 resource indicator. */
  resource?: string;
  /** An Auth0 organization id or name. */
  organization?: string;
  scope?: string;
}

/** `TokenClient.deviceAuthorization`: what the tokens are for (RFC 8628 §3.1). */
export interface DeviceAuthorizationOptions {
  scope?: string;
  /** The API identifier (Auth0's `audience`). */
  audience?: string;
  /** An RFC 8707 resource indicator. */
  resource?: string;
  /** Cancels the request: it rejects with `ABORTED`. */
  signal?: AbortSignal;
}

/** What `onPending` hears after each poll that did not end the flow. */
export interface DevicePollPending {
  /**
   * The server's answer (the user has not decided yet, or the client polls too fast), or
   * `FETCH_FAILED`: the poll got no answer (the network failed), and polling goes on.
   */
  error: "authorization_pending" | "slow_down" | "FETCH_FAILED";
  /** The seconds until the next poll (5 more after each `slow_down`, twice as many after `FETCH_FAILED`). */
  interval: number;
  /** How many polls were made so far. */
  polls: number;
  /** With `FETCH_FAILED`: the `FETCH_FAILED` error of that poll (its `cause` is what `fetch` threw). */
  cause?: Error;
}

/** `TokenClient.pollDeviceToken` options. */
export interface PollDeviceTokenOptions {
  /** Stops polling: the promise rejects with `ABORTED` (name `AbortError`, the reason as `cause`). */
  signal?: AbortSignal;
  /** Called after each `authorization_pending` / `slow_down` / poll without an answer; a throw stops polling with that error. */
  onPending?: (pending: DevicePollPending) => void;
  /** Verify the ID token's signature against the issuer's JWKS, as `exchangeCode` does. */
  verifySignature?: boolean;
  /** The JWKS to verify with (default: fetched from the metadata's `jwks_uri`). */
  jwks?: Jwks | string;
}

/** Options of a revocation (RFC 7009 §2.1). */
export interface RevokeOptions {
  tokenTypeHint?: "access_token" | "refresh_token";
}

/**
 * A small OAuth 2.0 client for one authorization server, over the global `fetch`.
 * With a `dpopKey` every token request carries a fresh DPoP proof, the authorization
 * server's nonces are cached per origin (apart from the resource servers' nonces that
 * `fetchWithDpop` caches, even on the same origin), `use_dpop_nonce` is retried once, and
 * a non-DPoP token is refused. Its requests to the authorization server (token, PAR,
 * revocation, device authorization) never follow a redirect: one is `FETCH_FAILED`.
 */
export class TokenClient {
  constructor(options: TokenClientOptions);
  /**
   * Reads the issuer's metadata (OIDC Discovery, then RFC 8414), strictly, and fills in the
   * endpoints. An issuer that is not https (http only on a loopback host) is `URL_INSECURE`
   * before anything is fetched; the RFC 8414 location is tried when the OIDC one answers
   * other than 200 or not at all (`FETCH_FAILED`, e.g. a CORS error on its 404).
   */
  static discover(issuer: string, options: DiscoverOptions): Promise<TokenClient>;
  /** The issuer identifier, if known. */
  readonly issuer: string | undefined;
  /** The metadata `discover` read, if any. */
  readonly metadata: ServerMetadata | undefined;
  /** The authorization endpoint, if known. */
  readonly authorizationEndpoint: string | undefined;
  /** The RFC 9126 endpoint, if known. */
  readonly pushedAuthorizationRequestEndpoint: string | undefined;
  /** `buildAuthorizationUrl` with this client's endpoint and id. */
  authorizationUrl(params: Omit<AuthorizationRequestParams, "clientId">): string;
  /** Pushes the authorization request (RFC 9126), with a DPoP proof when the client has a key. */
  pushAuthorizationRequest(params: Omit<AuthorizationRequestParams, "clientId">): Promise<PushedAuthorizationRequest>;
  /** `parseAuthorizationResponse` with this client's issuer and metadata; `url` may be `window.location`. */
  parseAuthorizationResponse(url: string | URL | Location, options: ClientAuthorizationResponseOptions): AuthorizationResponse;
  /** The token endpoint URL. */
  readonly tokenEndpoint: string;
  /** The RFC 8628 device authorization endpoint, if known. */
  readonly deviceAuthorizationEndpoint: string | undefined;
  /** The revocation endpoint URL. */
  readonly revocationEndpoint: string;
  /** The key of this client's record in its store. */
  readonly storeKey: string;
  /**
   * Exchanges an authorization code for tokens, checks the ID token (with a known issuer),
   * and stores them. Its own options (`maxAge`, `jwks`, and the issuer or `jwksUri` that
   * `nonce`, `maxAge` and `verifySignature` need) are checked before the code is sent
   * (`ARGUMENT_INVALID`). A failure after the server answered (an ID token check, a missing
   * ID token, the JWKS fetch) stores nothing, and carries the issued set as `err.tokens`.
   *
   * ```js
   * try {
   *   tokens = await client.exchangeCode({ code, redirectUri, codeVerifier, nonce, verifySignature: true });
   * } catch (err) {
   *   if (err.tokens?.refreshToken) await client.revoke(err.tokens.refreshToken, { tokenTypeHint: "refresh_token" });
   *   throw err;
   * }
   * ```
   */
  exchangeCode(options: ExchangeCodeOptions): Promise<TokenSet>;
  /**
   * Uses a refresh token, as a single flight across tabs. A spent refresh token resolves
   * to the newest set (or refreshes it with its own refresh token when its access token
   * expired or `scope` is given). The answer is stored and handed to the other tabs when
   * it continues the stored session (or the store is empty); an answer for a token of
   * another session, or of one `clearTokens` cleared, is returned but not stored. `signal`
   * rejects the call (`ABORTED`) but never aborts a sent request, whose answer is kept; a
   * request has no timeout but the runtime's network timeout. With a known issuer, an ID
   * token in the answer is checked (OIDC Core §12.2: iss, aud, azp, exp, iat, at_hash, no
   * nonce required; the `sub`, the `nonce` if present and the `auth_time` of the session's stored ID token) and returned as
   * `idTokenClaims`. The server spent the refresh token as it answered, so a refused ID
   * token never leaves the spent one stored: refused for its times or its `at_hash`
   * (`ID_TOKEN_EXPIRED`, `ID_TOKEN_IAT_IN_FUTURE`, `ID_TOKEN_NOT_YET_VALID`,
   * `ID_TOKEN_AT_HASH_MISMATCH`: clock skew, a server's bug), the set is stored and
   * resolved without it (`idToken` and `idTokenClaims` undefined; the previous ID token is
   * not carried over); refused for anything else (iss, aud, azp, sub, a malformed or
   * unsigned ID token) the session ends in every tab as `clearTokens` ends it, and the
   * call rejects with the issued set on `err.tokens` (revoke it: it is stored nowhere). A
   * later refresh of the spent token, in any tab that heard it, is refused with the same
   * code before anything is sent. A `200` answer that is refused itself (a `Bearer` token
   * for a DPoP client, `TOKEN_TYPE_MISMATCH`; a malformed set) ends the session the same
   * way. A client without an issuer returns the ID token
   * unchecked.
   */
  refresh(refreshToken: string, options?: RefreshOptions | null): Promise<TokenSet>;
  /**
   * Starts the device flow (RFC 8628 §3.1): resolves to the code and URL to show the user.
   *
   * ```js
   * const authorization = await client.deviceAuthorization({ scope: "openid offline_access" });
   * console.log(`Open ${authorization.verificationUri} and enter ${authorization.userCode}`);
   * const tokens = await client.pollDeviceToken(authorization, { signal });
   * ```
   */
  deviceAuthorization(options?: DeviceAuthorizationOptions | null): Promise<DeviceAuthorization>;
  /**
   * Polls until the user approves (then stores the tokens, as `exchangeCode` does), denies
   * (`OAUTH_ERROR` `access_denied`), or the code expires (`expired_token`,
   * `DEVICE_CODE_EXPIRED`); `signal` cancels (`ABORTED`). A poll without an answer
   * (`FETCH_FAILED`) doubles the interval and polling goes on (RFC 8628 §3.5).
   */
  pollDeviceToken(authorization: DeviceAuthorization, options?: PollDeviceTokenOptions | null): Promise<TokenSet>;
  /** A token for the client itself (`client_credentials`); not stored. */
  clientCredentials(options?: ClientCredentialsOptions | null): Promise<TokenSet>;
  /** Revokes a token (RFC 7009). */
  revoke(token: string, options?: RevokeOptions | null): Promise<void>;
  /** The stored token set (the newest any tab obtained), or `undefined`. */
  getTokens(): Promise<TokenSet | undefined>;
  /**
   * Removes the stored token set (sign-out), in every tab: the others drop it too, and a
   * refresh of it still under way returns its answer without storing it again.
   *
   * ```js
   * await client.revoke((await client.getTokens()).refreshToken, { tokenTypeHint: "refresh_token" });
   * await client.clearTokens();
   * ```
   */
  clearTokens(): Promise<void>;
}

/** The credentials of a DPoP-protected resource request (RFC 9449 §7). */
export interface FetchWithDpopOptions {
  /** A DPoP-bound access token: sent as `Authorization: DPoP <token>`, hashed into `ath`. */
  accessToken: string;
  /** The key the token is bound to. */
  dpopKey: DpopKey;
}

/**
 * Calls a DPoP-protected resource; one retry on a `use_dpop_nonce` challenge. The key
 * keeps the resource servers' nonces per origin, apart from the authorization server's.
 * Redirects are followed as `init.redirect` says (fetch's default: follow; the proof, for
 * `url`, goes wherever fetch forwards the headers: pass `redirect: "error"` to stop). An
 * answer from another origin than `url`'s is returned as it is: its `DPoP-Nonce` is kept
 * for no origin, and its `use_dpop_nonce` is not retried.
 */
export function fetchWithDpop(url: string | URL, init: RequestInit | undefined | null, options: FetchWithDpopOptions): Promise<Response>;
