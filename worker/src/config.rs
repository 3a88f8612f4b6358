//! Server configuration (from the Worker's environment) and the tenant records kept in KV.
//!
//! Environment:
//! - `ISSUER` (var, optional): the issuer identifier with a trailing `/`; when unset it is
//!   the request origin + `/`.
//! - `SIGNING_KEYS` (secret): a JSON array of private JWKs with `kid`: EC P-256 (ES256,
//!   at least one) and RSA (RS256, 2048 bits or more). The first key of each type signs
//!   with its algorithm, all are published. ID tokens are RS256 (OIDC Core §15.1) unless
//!   the client registered `id_token_signed_response_alg: "ES256"` (ES256 also when there
//!   is no RSA key); access tokens are ES256 unless their API's `signing_alg` is `RS256`.
//! - `TRANSACTION_SECRET` (secret): base64url, at least 32 bytes; the HMAC key of the
//!   signed login transaction field.
//! - `CLIENT_SECRET_KEY` (secret, optional): base64url 32 bytes; the AES-256-GCM key that
//!   seals `client_secret_jwt` secrets (`client_secret_enc`).
//! - `DPOP_NONCE_SECRET` (secret, recommended): base64url, at least 32 bytes; the HMAC key
//!   of the stateless DPoP nonces (RFC 9449 §8, see [`crate::dpop`]). When unset, the key
//!   is derived from `TRANSACTION_SECRET` as
//!   `HMAC-SHA256(TRANSACTION_SECRET, "edge-oauth dpop-nonce key v1")`, so a deployment
//!   without it still works; set it to rotate nonces independently of login transactions.
//!   `npm start` writes one into `worker/.dev.vars`.
//! - `DPOP_IAT_MAX_AGE` / `DPOP_IAT_MAX_FUTURE` (vars, optional): the accepted window of a
//!   DPoP proof's `iat`, in seconds behind and ahead of the server clock (default 60 and
//!   5; at most 600 and 60).
//! - `PASSWORD_ITERATIONS` (var, `worker/wrangler.toml` sets `"20000"`): the PBKDF2-SHA256
//!   iteration count of user passwords, 1000 to 100000. The tenant CLI hashes new passwords
//!   with the same count (it reads this file). When set, a user record with another count
//!   is refused at login (re-create the user), and the dummy derivation run for an unknown
//!   email uses this count, so a login costs the same whether the email exists or not.
//!   When unset, records keep their own counts and the dummy uses
//!   [`DEFAULT_PASSWORD_ITERATIONS`].
//! - `MTLS_PROXY_SECRET` (secret, optional, at least 32 characters): the `cname-api-key`
//!   a trusted mTLS proxy sends with its `client-certificate` headers
//!   ([`crate::mtls`]); without it those headers are ignored.
//! - `ORGANIZATION_NAME_IN_TOKENS` (var, optional, `true` or `false`): tokens that carry
//!   `org_id` carry `org_name` too (Auth0's tenant setting).
//!
//! - `TOKEN_EXCHANGE_REFRESH_TOKENS` (var, optional, `true` or `false`): a token exchange
//!   (RFC 8693) may issue a refresh token, tied to the subject token's family.
//! - `CLIENT_ASSERTION_MAX_LIFETIME` (var, optional): how far ahead a client assertion's
//!   `exp` may be, in seconds, 60 to 86400 (default 3600, as Authlib signs them).
//!
//! KV records (written by `npm run tenant`, read here): `client:{client_id}`,
//! `api:{identifier}`, `grant:{client_id}:{audience}`, `user:{lowercased email}`,
//! `org:{id}` and `org_name:{name}` ([`crate::orgs`]), `role:{id}` ([`crate::rbac`]).
//!
//! DPoP fields of the records (all optional, issue 4):
//! - client `dpop_nonce_required: true | false`: whether DPoP proofs from this client must
//!   carry a server nonce (`use_dpop_nonce` otherwise). Default: `true` for public clients
//!   (`token_endpoint_auth_method: none`, as Auth0 does), `false` for confidential ones.
//!   A proof that carries a nonce is always checked, whatever this says (RFC 9449 §8).
//! - API `dpop: "optional" | "required"` (default `optional`): with `required`, every token
//!   request for this audience must come with a DPoP proof; a Bearer (no-proof) request is
//!   refused with `400 invalid_dpop_proof` ("a DPoP proof is required for this API").

use crate::jwt::{RsaSigningKey, SigningKey};
use edge_oauth::base64url;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A configuration problem (reported as `server_error`, details only in logs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub &'static str);

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.0)
    }
}

/// The server configuration. `Clone` is cheap next to parsing (the P-256 keys are shared),
/// so the worker parses it once per isolate and copies it per request.
#[derive(Clone)]
pub struct Config {
    /// The issuer identifier (`https://auth.example.com/`, with the trailing slash).
    pub issuer: String,
    /// ES256 signing keys: the first signs, all are published in the JWKS.
    pub signing_keys: Vec<SigningKey>,
    /// RS256 signing keys (RSA keys of `SIGNING_KEYS`): the first signs, all are published.
    pub rsa_signing_keys: Vec<RsaSigningKey>,
    /// HMAC key for the signed login transaction.
    pub transaction_secret: Zeroizing<Vec<u8>>,
    /// AES-256-GCM key for sealed client secrets (`client_secret_jwt`).
    pub client_secret_key: Option<Zeroizing<Vec<u8>>>,
    /// DPoP settings (nonce key, `iat` window).
    pub dpop: DpopConfig,
    /// `PASSWORD_ITERATIONS`: the one PBKDF2 iteration count user records must have.
    pub password_iterations: Option<u32>,
    /// `CLIENT_ASSERTION_MAX_LIFETIME`: how far ahead of now a client assertion's `exp`
    /// may be, in seconds.
    pub assertion_max_lifetime: i64,
    /// `ORGANIZATION_NAME_IN_TOKENS`: tokens that carry `org_id` also carry `org_name`.
    pub organization_name_in_tokens: bool,
    /// `MTLS_PROXY_SECRET`: the `cname-api-key` value of a trusted mTLS proxy
    /// ([`crate::mtls`]); `None`: the proxy's certificate headers are ignored.
    pub mtls_proxy_secret: Option<Zeroizing<Vec<u8>>>,
    /// `TOKEN_EXCHANGE_REFRESH_TOKENS`: a token exchange may issue a refresh token
    /// ([`crate::grants::token_exchange`]).
    pub token_exchange_refresh_tokens: bool,
}

/// The default of `CLIENT_ASSERTION_MAX_LIFETIME`: one hour, what Authlib's
/// `client_secret_jwt` and `private_key_jwt` sign (`exp = iat + 3600`). Each used `jti`
/// is kept until the assertion's `exp` (RFC 7523 §3), so a longer lifetime opens no
/// replay window.
pub const DEFAULT_ASSERTION_MAX_LIFETIME: i64 = 3_600;

/// The largest `CLIENT_ASSERTION_MAX_LIFETIME` accepted (one day).
pub const MAX_ASSERTION_MAX_LIFETIME: i64 = 86_400;

/// The tenant CLI's default PBKDF2 iteration count (`DEFAULT_PBKDF2_ITERATIONS` in
/// scripts/lib/tenant.mjs).
pub const DEFAULT_PASSWORD_ITERATIONS: u32 = 20_000;

/// How long a DPoP nonce time step lasts, in seconds. A nonce is valid during its own
/// step and the next one (so 5 to 10 minutes).
pub const DPOP_NONCE_STEP: i64 = 300;

/// The default `iat` window of a DPoP proof: 60 s back (RFC 9449 §11.1 "seconds or
/// minutes"), 5 s ahead for client clock skew.
pub const DPOP_DEFAULT_MAX_AGE: u64 = 60;
/// See [`DPOP_DEFAULT_MAX_AGE`].
pub const DPOP_DEFAULT_MAX_FUTURE: u64 = 5;

/// DPoP settings (RFC 9449).
#[derive(Clone)]
pub struct DpopConfig {
    /// The HMAC-SHA256 key of the stateless nonces.
    pub nonce_secret: Zeroizing<Vec<u8>>,
    /// How old a proof's `iat` may be, in seconds.
    pub max_age: u64,
    /// How far ahead of the server clock a proof's `iat` may be, in seconds.
    pub max_future: u64,
    /// The nonce time step, in seconds.
    pub nonce_step: i64,
}

impl DpopConfig {
    /// Settings from raw environment values (see the module docs).
    ///
    /// # Errors
    /// [`ConfigError`] when `DPOP_NONCE_SECRET` is not base64url of at least 32 bytes, or a
    /// window value is not a whole number in range.
    pub fn from_env(
        transaction_secret: &[u8],
        nonce_secret: Option<&str>,
        max_age: Option<&str>,
        max_future: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let nonce_secret = match nonce_secret.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => base64url::decode(s)
                .ok()
                .filter(|k| k.len() >= 32)
                .ok_or(ConfigError(
                    "DPOP_NONCE_SECRET must be base64url of at least 32 bytes",
                ))?,
            None => crate::jwt::hmac_sha256(transaction_secret, b"edge-oauth dpop-nonce key v1")
                .to_vec(),
        };
        let window = |value: Option<&str>, default: u64, max: u64, what: &'static str| match value
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or(ConfigError(what)),
        };
        Ok(Self {
            nonce_secret: Zeroizing::new(nonce_secret),
            max_age: window(
                max_age,
                DPOP_DEFAULT_MAX_AGE,
                600,
                "DPOP_IAT_MAX_AGE must be a whole number of seconds, at most 600",
            )?,
            max_future: window(
                max_future,
                DPOP_DEFAULT_MAX_FUTURE,
                60,
                "DPOP_IAT_MAX_FUTURE must be a whole number of seconds, at most 60",
            )?,
            nonce_step: DPOP_NONCE_STEP,
        })
    }
}

impl core::fmt::Debug for Config {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer)
            .field("signing_keys", &self.signing_keys.len())
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Builds the configuration from raw environment values.
    ///
    /// # Errors
    /// [`ConfigError`] when the issuer is not an `https` URL (or `http` on a loopback
    /// host) without query and fragment ([`check_issuer`]), `SIGNING_KEYS` is missing or
    /// malformed or `TRANSACTION_SECRET` is missing or shorter than 32 bytes.
    pub fn from_env(
        issuer: &str,
        signing_keys: Option<&str>,
        transaction_secret: Option<&str>,
        client_secret_key: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let mut issuer = issuer.trim().to_owned();
        if !issuer.ends_with('/') {
            issuer.push('/');
        }
        check_issuer(&issuer)?;
        let (keys, rsa_keys) = crate::jwt::parse_signing_keys(
            signing_keys.ok_or(ConfigError("SIGNING_KEYS is not set"))?,
        )?;
        let tx = transaction_secret
            .and_then(|s| base64url::decode(s.trim()).ok())
            .filter(|k| k.len() >= 32)
            .ok_or(ConfigError(
                "TRANSACTION_SECRET must be base64url of at least 32 bytes",
            ))?;
        let csk = match client_secret_key.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(Zeroizing::new(
                base64url::decode(s)
                    .ok()
                    .filter(|k| k.len() == 32)
                    .ok_or(ConfigError(
                        "CLIENT_SECRET_KEY must be base64url of 32 bytes",
                    ))?,
            )),
        };
        let dpop = DpopConfig::from_env(&tx, None, None, None)?;
        Ok(Self {
            issuer,
            signing_keys: keys,
            rsa_signing_keys: rsa_keys,
            transaction_secret: Zeroizing::new(tx),
            client_secret_key: csk,
            dpop,
            password_iterations: None,
            assertion_max_lifetime: DEFAULT_ASSERTION_MAX_LIFETIME,
            organization_name_in_tokens: false,
            mtls_proxy_secret: None,
            token_exchange_refresh_tokens: false,
        })
    }

    /// Applies `CLIENT_ASSERTION_MAX_LIFETIME` (builder style); `None` or empty keeps
    /// [`DEFAULT_ASSERTION_MAX_LIFETIME`].
    ///
    /// # Errors
    /// [`ConfigError`] unless it is a whole number of seconds from 60 to 86400.
    pub fn with_assertion_max_lifetime(mut self, value: Option<&str>) -> Result<Self, ConfigError> {
        if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
            self.assertion_max_lifetime = v
                .parse::<i64>()
                .ok()
                .filter(|n| (60..=MAX_ASSERTION_MAX_LIFETIME).contains(n))
                .ok_or(ConfigError(
                    "CLIENT_ASSERTION_MAX_LIFETIME must be a whole number of seconds from 60 to 86400",
                ))?;
        }
        Ok(self)
    }

    /// Applies `MTLS_PROXY_SECRET` (builder style): the shared secret a trusted proxy
    /// sends as `cname-api-key` with its `client-certificate` headers. Unset or empty:
    /// those headers are ignored.
    ///
    /// # Errors
    /// [`ConfigError`] when it is shorter than 32 characters.
    pub fn with_mtls_proxy_secret(mut self, value: Option<&str>) -> Result<Self, ConfigError> {
        self.mtls_proxy_secret = match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) if v.len() >= 32 => Some(Zeroizing::new(v.as_bytes().to_vec())),
            Some(_) => {
                return Err(ConfigError(
                    "MTLS_PROXY_SECRET must be at least 32 characters",
                ));
            }
        };
        Ok(self)
    }

    /// Applies `ORGANIZATION_NAME_IN_TOKENS` (builder style): `"true"` adds `org_name`
    /// next to `org_id` in access and ID tokens (Auth0's tenant setting); unset or empty
    /// is `false`.
    ///
    /// # Errors
    /// [`ConfigError`] unless it is `true` or `false`.
    pub fn with_organization_names(mut self, value: Option<&str>) -> Result<Self, ConfigError> {
        self.organization_name_in_tokens = match value.map(str::trim).filter(|v| !v.is_empty()) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ConfigError(
                    "ORGANIZATION_NAME_IN_TOKENS must be true or false",
                ));
            }
        };
        Ok(self)
    }

    /// Applies `TOKEN_EXCHANGE_REFRESH_TOKENS` (builder style): `"true"` lets a token
    /// exchange issue a refresh token (RFC 8693 §2.2.1, tied to the subject's family);
    /// unset or empty is `false`.
    ///
    /// # Errors
    /// [`ConfigError`] unless it is `true` or `false`.
    pub fn with_token_exchange_refresh_tokens(
        mut self,
        value: Option<&str>,
    ) -> Result<Self, ConfigError> {
        self.token_exchange_refresh_tokens = match value.map(str::trim).filter(|v| !v.is_empty()) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ConfigError(
                    "TOKEN_EXCHANGE_REFRESH_TOKENS must be true or false",
                ));
            }
        };
        Ok(self)
    }

    /// Applies `PASSWORD_ITERATIONS` (builder style); `None` or empty leaves it unset.
    ///
    /// # Errors
    /// [`ConfigError`] unless it is a whole number from 1000 to 100000.
    pub fn with_password_iterations(mut self, value: Option<&str>) -> Result<Self, ConfigError> {
        self.password_iterations = match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(
                v.parse::<u32>()
                    .ok()
                    .filter(|n| (1_000..=100_000).contains(n))
                    .ok_or(ConfigError(
                        "PASSWORD_ITERATIONS must be a whole number from 1000 to 100000",
                    ))?,
            ),
        };
        Ok(self)
    }

    /// The iteration count of the dummy derivation for unknown emails.
    #[must_use]
    pub fn dummy_password_iterations(&self) -> u32 {
        self.password_iterations
            .unwrap_or(DEFAULT_PASSWORD_ITERATIONS)
    }

    /// Applies the DPoP environment (`DPOP_NONCE_SECRET`, `DPOP_IAT_MAX_AGE`,
    /// `DPOP_IAT_MAX_FUTURE`) on top of [`Config::from_env`]'s defaults (builder style).
    ///
    /// # Errors
    /// As [`DpopConfig::from_env`].
    pub fn with_dpop_env(
        mut self,
        nonce_secret: Option<&str>,
        max_age: Option<&str>,
        max_future: Option<&str>,
    ) -> Result<Self, ConfigError> {
        self.dpop =
            DpopConfig::from_env(&self.transaction_secret, nonce_secret, max_age, max_future)?;
        Ok(self)
    }

    /// `{issuer}oauth/par`.
    #[must_use]
    pub fn par_endpoint(&self) -> String {
        format!("{}oauth/par", self.issuer)
    }

    /// `{issuer}oauth/token`.
    #[must_use]
    pub fn token_endpoint(&self) -> String {
        format!("{}oauth/token", self.issuer)
    }

    /// `{issuer}userinfo`: also the audience of tokens usable at `/userinfo`.
    #[must_use]
    pub fn userinfo_endpoint(&self) -> String {
        format!("{}userinfo", self.issuer)
    }
}

/// Checks an issuer identifier (RFC 8414 §2, OIDC Core §2; rules.md items 110, 114):
/// `https://host[:port]/[path]`, or `http` on a loopback host (local development), with
/// no query, fragment or userinfo.
///
/// # Errors
/// [`ConfigError`] naming the problem.
pub fn check_issuer(issuer: &str) -> Result<(), ConfigError> {
    if issuer.contains('?') || issuer.contains('#') {
        return Err(ConfigError("ISSUER must not have a query or fragment"));
    }
    if issuer.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError("ISSUER must not contain whitespace"));
    }
    let (secure, rest) = if let Some(rest) = issuer.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = issuer.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(ConfigError("ISSUER must be an https URL"));
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(ConfigError("ISSUER must name a host (and no userinfo)"));
    }
    if !secure && !crate::http::is_loopback_host(crate::http::host_of(authority)) {
        return Err(ConfigError(
            "ISSUER must be https (http only on 127.0.0.1, [::1] or localhost)",
        ));
    }
    Ok(())
}

/// The kind of application a client is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppType {
    /// A single-page app: public client.
    Spa,
    /// A server-side web app: confidential client.
    RegularWeb,
    /// A machine-to-machine client (client credentials).
    M2m,
}

/// How a client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Public client: `client_id` only.
    None,
    /// HTTP Basic (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_secret` in the body.
    ClientSecretPost,
    /// HS256 client assertion (OIDC Core §9).
    ClientSecretJwt,
    /// Asymmetric client assertion (RFC 7523).
    PrivateKeyJwt,
    /// Mutual TLS with a CA-issued certificate (RFC 8705 §2.1).
    TlsClientAuth,
    /// Mutual TLS with a self-signed certificate registered in `jwks` (RFC 8705 §2.2).
    SelfSignedTlsClientAuth,
}

impl AuthMethod {
    /// The registered name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretJwt => "client_secret_jwt",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::TlsClientAuth => "tls_client_auth",
            Self::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
        }
    }
}

/// `client:{client_id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Client {
    /// The client identifier.
    pub client_id: String,
    /// Display name (shown on the login page).
    #[serde(default)]
    pub name: String,
    /// Application type.
    pub app_type: AppType,
    /// Registered redirect URIs (exact match).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Origins allowed to call the token endpoint from a browser (CORS).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Grant types the client may use.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// The registered token endpoint authentication method.
    pub token_endpoint_auth_method: AuthMethod,
    /// base64url SHA-256 of the client secret.
    #[serde(default)]
    pub client_secret_hash: Option<String>,
    /// The secret sealed for `client_secret_jwt` (see [`crate::platform::Platform::open_client_secret`]),
    /// base64url.
    #[serde(default)]
    pub client_secret_enc: Option<String>,
    /// Public keys for `private_key_jwt` (`{"keys": [...]}`).
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Whether DPoP proofs from this client must carry a server nonce (RFC 9449 §8);
    /// `None`: only for public clients (see [`Client::requires_dpop_nonce`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_nonce_required: Option<bool>,
    /// The algorithm of this client's ID tokens (OIDC Dynamic Client Registration §2):
    /// `RS256` (the default) or `ES256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    /// A public client may use the password grant only when this is also set (RFC 9700
    /// §2.4: the grant "MUST NOT be used"; a public client cannot even prove who asks).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_public_password_grant: bool,
    /// `tls_client_auth`: the certificate's subject DN (RFC 4514).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_subject_dn: Option<String>,
    /// `tls_client_auth`: a `dNSName` subject alternative name of the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_dns: Option<String>,
    /// `tls_client_auth`: a `uniformResourceIdentifier` SAN of the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_uri: Option<String>,
    /// Access tokens are bound to the client certificate (`cnf.x5t#S256`, RFC 8705 §3).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_client_certificate_bound_access_tokens: bool,
    /// The lifetime of this client's device codes in seconds (RFC 8628 `expires_in`;
    /// default 900, at most 1800, [`crate::grants::device_code`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_code_lifetime: Option<u64>,
}

impl Client {
    /// Whether the client is public (no credentials).
    #[must_use]
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == AuthMethod::None
    }

    /// Whether this client's DPoP proofs must carry a server nonce: the record's
    /// `dpop_nonce_required`, by default true exactly for public clients.
    #[must_use]
    pub fn requires_dpop_nonce(&self) -> bool {
        self.dpop_nonce_required.unwrap_or_else(|| self.is_public())
    }

    /// Whether the client may use `grant_type`.
    #[must_use]
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

/// `api:{identifier}`: a resource server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Api {
    /// The identifier, used as the access token audience.
    pub identifier: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Scopes the API defines.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Access token lifetime in seconds.
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime: u64,
    /// Whether refresh tokens may be issued for this API.
    #[serde(default)]
    pub allow_offline_access: bool,
    /// Whether tokens for this API must be DPoP-bound (default `optional`).
    #[serde(default)]
    pub dpop: DpopPolicy,
    /// Absolute lifetime of a refresh-token family in seconds, from the code exchange
    /// (default 30 days, [`crate::grants::REFRESH_ABSOLUTE_LIFETIME`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_lifetime: Option<u64>,
    /// Idle lifetime of a refresh-token family in seconds: unused for this long, it ends
    /// (default 15 days, [`crate::grants::REFRESH_IDLE_LIFETIME`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_idle_lifetime: Option<u64>,
    /// The rotation overlap window in seconds (default 0: off, at most
    /// [`crate::grants::MAX_REFRESH_OVERLAP`]): within it, the same client (and key)
    /// presenting the token it just rotated gets the same successor again.
    #[serde(default)]
    pub refresh_token_overlap: u64,
    /// The algorithm of this API's access tokens: `ES256` (the default) or `RS256` (for
    /// resource servers that only verify RSA, as Auth0 lets each API choose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<String>,
    /// Role-based access control: a user gets only the requested scopes of this API that
    /// their roles grant ([`crate::rbac`]).
    #[serde(default)]
    pub enforce_rbac: bool,
    /// With `enforce_rbac`: user access tokens carry a `permissions` array (every
    /// permission the user's roles grant for this API), client-credentials tokens the
    /// granted scopes.
    #[serde(default)]
    pub permissions_claim: bool,
}

/// An API's DPoP policy (`api:{identifier}` field `dpop`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpopPolicy {
    /// Bearer and DPoP token requests are both accepted.
    #[default]
    Optional,
    /// Only token requests with a valid DPoP proof are accepted; Bearer requests get
    /// `400 invalid_dpop_proof`.
    Required,
}

fn default_token_lifetime() -> u64 {
    86_400
}

/// `grant:{client_id}:{audience}`: scopes a client may get with client credentials.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientGrant {
    /// The client.
    pub client_id: String,
    /// The API identifier.
    pub audience: String,
    /// Granted scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Whether client-credentials requests under this grant may or must name an
    /// organization (Auth0 `organization_usage`, default `deny`).
    #[serde(default)]
    pub organization_usage: OrganizationUsage,
}

/// A client grant's `organization_usage` (Auth0 "machine-to-machine access for
/// organizations").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationUsage {
    /// A request that names an organization is refused.
    #[default]
    Deny,
    /// A request may name an organization that enabled the grant.
    Allow,
    /// A request must name an organization that enabled the grant.
    Require,
}

/// A stored password hash.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasswordHash {
    /// Always `PBKDF2-SHA256`.
    pub alg: String,
    /// Iteration count.
    pub iterations: u32,
    /// base64url salt (16 bytes).
    pub salt: String,
    /// base64url derived key (32 bytes).
    pub hash: String,
}

/// `user:{lowercased email}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    /// Stable subject identifier (`user|...`).
    pub user_id: String,
    /// Email address.
    pub email: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// The password hash.
    pub password: PasswordHash,
    /// The ids of the roles assigned to the user (`role:{id}`, see [`crate::rbac`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// The longest client id (bytes) looked up in KV; the tenant CLI allows 1 to 128
/// characters of `A-Z a-z 0-9 _ . -`.
pub const MAX_CLIENT_ID_BYTES: usize = 128;

/// The longest API identifier (bytes) looked up in KV: `grant:{client_id}:{identifier}`
/// must fit Workers KV's 512-byte keys with a 128-byte client id (6 + 128 + 1 + 377).
pub const MAX_API_IDENTIFIER_BYTES: usize = 377;

/// The KV key of a client record.
#[must_use]
pub fn client_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

/// The KV key of an API record.
#[must_use]
pub fn api_key(identifier: &str) -> String {
    format!("api:{identifier}")
}

/// The KV key of a client grant.
#[must_use]
pub fn grant_key(client_id: &str, audience: &str) -> String {
    format!("grant:{client_id}:{audience}")
}

/// The KV key of a user.
#[must_use]
pub fn user_key(email: &str) -> String {
    format!("user:{}", email.trim().to_lowercase())
}
