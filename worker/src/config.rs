//! Server configuration (from the Worker's environment) and the tenant records kept in KV.
//!
//! Environment:
//! - `ISSUER` (var, optional): the issuer identifier with a trailing `/`; when unset it is
//!   the request origin + `/`.
//! - `SIGNING_KEYS` (secret): a JSON array of ES256 private JWKs with `kid`; the first
//!   signs, all are published.
//! - `TRANSACTION_SECRET` (secret): base64url, at least 32 bytes; the HMAC key of the
//!   signed login transaction field.
//! - `CLIENT_SECRET_KEY` (secret, optional): base64url 32 bytes; the AES-256-GCM key that
//!   seals `client_secret_jwt` secrets (`client_secret_enc`).
//! - `PASSWORD_ITERATIONS` is not read: each user record carries its own iteration count.
//!
//! KV records (written by `npm run tenant`, read here): `client:{client_id}`,
//! `api:{identifier}`, `grant:{client_id}:{audience}`, `user:{lowercased email}`.

use crate::jwt::SigningKey;
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

/// The server configuration.
pub struct Config {
    /// The issuer identifier (`https://auth.example.com/`, with the trailing slash).
    pub issuer: String,
    /// Signing keys: the first signs, all are published in the JWKS.
    pub signing_keys: Vec<SigningKey>,
    /// HMAC key for the signed login transaction.
    pub transaction_secret: Zeroizing<Vec<u8>>,
    /// AES-256-GCM key for sealed client secrets (`client_secret_jwt`).
    pub client_secret_key: Option<Zeroizing<Vec<u8>>>,
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
    /// [`ConfigError`] when `SIGNING_KEYS` is missing or malformed or
    /// `TRANSACTION_SECRET` is missing or shorter than 32 bytes.
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
        let keys =
            SigningKey::parse_set(signing_keys.ok_or(ConfigError("SIGNING_KEYS is not set"))?)?;
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
        Ok(Self {
            issuer,
            signing_keys: keys,
            transaction_secret: Zeroizing::new(tx),
            client_secret_key: csk,
        })
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
}

impl Client {
    /// Whether the client is public (no credentials).
    #[must_use]
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == AuthMethod::None
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
}

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
