//! Token minting: RFC 9068 JWT access tokens, OIDC ID tokens, opaque codes and refresh
//! tokens, and the Auth0-shaped success response.

use crate::config::Config;
use crate::error::OAuthError;
use crate::http::HttpResponse;
use crate::jwt::{SigningKey, at_hash};
use crate::platform::Platform;
use edge_oauth::base64url;
use serde::Serialize;
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

/// Lifetime of ID tokens, in seconds.
pub const ID_TOKEN_LIFETIME: i64 = 3_600;

/// The default access-token lifetime when no API sets one (userinfo-only tokens).
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: u64 = 86_400;

/// Generates an opaque credential: 32 CSPRNG bytes (256 bits, rules.md item 14), base64url.
///
/// # Errors
/// `server_error` when the platform RNG fails.
pub fn random_token<P: Platform>(platform: &P) -> Result<Zeroizing<String>, OAuthError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    platform
        .fill_random(bytes.as_mut_slice())
        .map_err(|_| OAuthError::server_error())?;
    Ok(Zeroizing::new(base64url::encode(bytes.as_slice())))
}

/// A random identifier (16 bytes, base64url) for `jti`s and token families.
///
/// # Errors
/// `server_error` when the platform RNG fails.
pub fn random_id<P: Platform>(platform: &P) -> Result<String, OAuthError> {
    let mut bytes = [0u8; 16];
    platform
        .fill_random(&mut bytes)
        .map_err(|_| OAuthError::server_error())?;
    Ok(base64url::encode(&bytes))
}

fn signer(config: &Config) -> Result<&SigningKey, OAuthError> {
    config
        .signing_keys
        .first()
        .ok_or_else(OAuthError::server_error)
}

/// What goes into an access token.
#[derive(Clone, Debug)]
pub struct AccessTokenSpec<'a> {
    /// `sub`: the user, or `{client_id}@clients` for client credentials.
    pub sub: &'a str,
    /// `aud`: one or more audiences (a single one is written as a string).
    pub audiences: Vec<String>,
    /// `client_id` (and `azp`).
    pub client_id: &'a str,
    /// `scope` (space-separated; omitted when empty).
    pub scope: &'a str,
    /// Lifetime in seconds.
    pub lifetime: u64,
    /// Extra claims (`org_id`, `gty`, `auth_time`).
    pub extra: Map<String, Value>,
}

/// Mints an RFC 9068 access token (`typ: at+jwt`, ES256, `kid`; claims `iss`, `sub`,
/// `aud`, `exp`, `iat`, `jti`, `client_id`, `scope`).
///
/// # Errors
/// `server_error` without a signing key or RNG.
pub fn mint_access_token<P: Platform>(
    config: &Config,
    platform: &P,
    spec: &AccessTokenSpec<'_>,
) -> Result<String, OAuthError> {
    let now = platform.now();
    let aud = match spec.audiences.as_slice() {
        [one] => json!(one),
        many => json!(many),
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(config.issuer));
    claims.insert("sub".into(), json!(spec.sub));
    claims.insert("aud".into(), aud);
    claims.insert("iat".into(), json!(now));
    claims.insert(
        "exp".into(),
        json!(now.saturating_add(i64::try_from(spec.lifetime).unwrap_or(i64::MAX))),
    );
    claims.insert("jti".into(), json!(random_id(platform)?));
    claims.insert("client_id".into(), json!(spec.client_id));
    claims.insert("azp".into(), json!(spec.client_id));
    if !spec.scope.is_empty() {
        claims.insert("scope".into(), json!(spec.scope));
    }
    for (k, v) in &spec.extra {
        claims.insert(k.clone(), v.clone());
    }
    signer(config)?
        .sign("at+jwt", &Value::Object(claims))
        .map_err(|_| OAuthError::new("server_error", 500, "the token could not be signed"))
}

/// What goes into an ID token.
#[derive(Clone, Debug)]
pub struct IdTokenSpec<'a> {
    /// The user.
    pub sub: &'a str,
    /// The client (`aud` and `azp`).
    pub client_id: &'a str,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The authorization request's nonce (never on refresh, OIDC Core §12.2).
    pub nonce: Option<&'a str>,
    /// The access token issued alongside (for `at_hash`).
    pub access_token: &'a str,
    /// `email` when the `email` scope was granted.
    pub email: Option<&'a str>,
    /// `name` when the `profile` scope was granted.
    pub name: Option<&'a str>,
    /// `org_id` (and `org_name`) of the organization the user logged in to.
    pub org: Option<(&'a str, Option<&'a str>)>,
}

/// Mints an OIDC ID token (OIDC Core §2, §3.1.3.6).
///
/// # Errors
/// `server_error` without a signing key.
pub fn mint_id_token<P: Platform>(
    config: &Config,
    platform: &P,
    spec: &IdTokenSpec<'_>,
) -> Result<String, OAuthError> {
    let now = platform.now();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(config.issuer));
    claims.insert("sub".into(), json!(spec.sub));
    claims.insert("aud".into(), json!(spec.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now.saturating_add(ID_TOKEN_LIFETIME)));
    claims.insert("auth_time".into(), json!(spec.auth_time));
    if let Some(nonce) = spec.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("at_hash".into(), json!(at_hash(spec.access_token)));
    claims.insert("azp".into(), json!(spec.client_id));
    if let Some(email) = spec.email {
        claims.insert("email".into(), json!(email));
    }
    if let Some(name) = spec.name {
        claims.insert("name".into(), json!(name));
    }
    if let Some((org_id, org_name)) = spec.org {
        claims.insert("org_id".into(), json!(org_id));
        if let Some(org_name) = org_name {
            claims.insert("org_name".into(), json!(org_name));
        }
    }
    signer(config)?
        .sign("JWT", &Value::Object(claims))
        .map_err(|_| OAuthError::new("server_error", 500, "the token could not be signed"))
}

/// The token endpoint's success body (RFC 6749 §5.1, Auth0 shape).
#[derive(Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `Bearer`, or `DPoP` when the access token is bound to a DPoP key (RFC 9449 §5).
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The granted scope.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// The refresh token, when issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The ID token, when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl TokenResponse {
    /// `200` JSON with `Cache-Control: no-store` and `Pragma: no-cache`.
    #[must_use]
    pub fn to_response(&self) -> HttpResponse {
        HttpResponse::json(200, self).no_store()
    }
}

/// The most scope tokens a request may carry (distinct or not); more is `invalid_scope`.
pub const MAX_SCOPE_TOKENS: usize = 64;

/// Splits a scope string into tokens, checking each is `1*NQCHAR` (RFC 6749 §3.3), and
/// drops repeats (first occurrence kept, in order). Linear: at most
/// [`MAX_SCOPE_TOKENS`] tokens, repeats found with a set.
///
/// # Errors
/// `invalid_scope` for a malformed token or more than [`MAX_SCOPE_TOKENS`] tokens.
pub fn parse_scope(scope: &str) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, token) in scope.split(' ').filter(|t| !t.is_empty()).enumerate() {
        if i >= MAX_SCOPE_TOKENS {
            return Err(OAuthError::invalid_scope("scope has too many scope tokens"));
        }
        if !token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err(OAuthError::invalid_scope(
                "scope has a malformed scope token",
            ));
        }
        if seen.insert(token) {
            out.push(token.to_owned());
        }
    }
    Ok(out)
}
