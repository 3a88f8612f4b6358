//! Token minting: RFC 9068 JWT access tokens, OIDC ID tokens, opaque codes and refresh
//! tokens, and the Auth0-shaped success response.
//!
//! Signing is sans-IO: the grants build the claims ([`mint_access_token`],
//! [`mint_id_token`] return an unsigned [`Jwt`]) and the token endpoint signs them with
//! [`TokenResponse::sign`], which picks the algorithm and may await the platform
//! (RS256 is WebCrypto on Workers). Access tokens are ES256 unless their API's
//! `signing_alg` is `RS256`; ID tokens are RS256 (OIDC Core §15.1, the registration
//! default of `id_token_signed_response_alg`) unless the client registered `ES256`, or
//! the deployment has no RSA key.

use crate::App;
use crate::config::{Client, Config};
use crate::error::OAuthError;
use crate::http::HttpResponse;
use crate::jwt::{SigningKey, at_hash, signing_input};
use crate::platform::Platform;
use crate::store::Store;
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
    /// The algorithm its API asks for ([`access_token_alg`]).
    pub alg: SigningAlg,
}

/// A JWT the server issues: its claims until [`TokenResponse::sign`] signs it, then the
/// compact JWS. Serialises as the JWS (an unsigned one does not serialise).
#[derive(Clone, Debug)]
pub enum Jwt {
    /// Not signed yet: the `typ` header and the claims.
    Unsigned {
        /// The `typ` header (`at+jwt` or `JWT`).
        typ: &'static str,
        /// The claims.
        claims: Map<String, Value>,
        /// The algorithm, when the minting grant decided it (access tokens); `None`: the
        /// client's ID token algorithm, decided at signing.
        alg: Option<SigningAlg>,
    },
    /// The compact JWS.
    Signed(String),
}

impl Jwt {
    /// The compact JWS, once signed.
    #[must_use]
    pub fn as_signed(&self) -> Option<&str> {
        match self {
            Self::Signed(s) => Some(s),
            Self::Unsigned { .. } => None,
        }
    }
}

impl Serialize for Jwt {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Signed(s) => serializer.serialize_str(s),
            Self::Unsigned { .. } => Err(serde::ser::Error::custom("the JWT is not signed")),
        }
    }
}

/// A JWS algorithm the server signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAlg {
    /// ECDSA P-256 SHA-256, in Rust.
    Es256,
    /// RSASSA-PKCS1-v1_5 SHA-256, through the platform.
    Rs256,
}

impl SigningAlg {
    /// Parses a record's `signing_alg` / `id_token_signed_response_alg`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }
}

/// Signs `claims` with `alg` under the first configured key of that type.
///
/// # Errors
/// `server_error` without a key of that type or when the platform cannot sign.
pub async fn sign_jwt<P: Platform>(
    config: &Config,
    platform: &P,
    alg: SigningAlg,
    typ: &str,
    claims: &Value,
) -> Result<String, OAuthError> {
    let failed = || OAuthError::new("server_error", 500, "the token could not be signed");
    match alg {
        SigningAlg::Es256 => {
            let key = signer(config)?;
            let input = signing_input("ES256", key.kid(), typ, claims);
            let signature = platform
                .sign_es256(key, input.as_bytes())
                .await
                .map_err(|_| failed())?;
            if signature.len() != 64 {
                return Err(failed());
            }
            Ok(format!("{input}.{}", base64url::encode(&signature)))
        }
        SigningAlg::Rs256 => {
            let key = config.rsa_signing_keys.first().ok_or_else(failed)?;
            let input = signing_input("RS256", key.kid(), typ, claims);
            let signature = platform
                .sign_rsa(key.private_jwk(), input.as_bytes())
                .await
                .map_err(|_| failed())?;
            Ok(format!("{input}.{}", base64url::encode(&signature)))
        }
    }
}

/// Mints an RFC 9068 access token (`typ: at+jwt`, `kid`; claims `iss`, `sub`, `aud`,
/// `exp`, `iat`, `jti`, `client_id`, `scope`), unsigned: [`TokenResponse::sign`] signs it.
///
/// # Errors
/// `server_error` without a signing key or RNG.
pub fn mint_access_token<P: Platform>(
    config: &Config,
    platform: &P,
    spec: &AccessTokenSpec<'_>,
) -> Result<Jwt, OAuthError> {
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
    signer(config)?;
    Ok(Jwt::Unsigned {
        typ: "at+jwt",
        claims,
        alg: Some(spec.alg),
    })
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
    /// The access token issued alongside (for `at_hash`, computed once it is signed).
    pub access_token: &'a Jwt,
    /// `email` when the `email` scope was granted.
    pub email: Option<&'a str>,
    /// `name` when the `profile` scope was granted.
    pub name: Option<&'a str>,
    /// `org_id` (and `org_name`) of the organization the user logged in to.
    pub org: Option<(&'a str, Option<&'a str>)>,
}

/// Mints an OIDC ID token (OIDC Core §2, §3.1.3.6), unsigned: [`TokenResponse::sign`]
/// adds `at_hash` once the access token is signed, then signs it.
///
/// # Errors
/// `server_error` without a signing key.
pub fn mint_id_token<P: Platform>(
    config: &Config,
    platform: &P,
    spec: &IdTokenSpec<'_>,
) -> Result<Jwt, OAuthError> {
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
    if let Some(access_token) = spec.access_token.as_signed() {
        claims.insert("at_hash".into(), json!(at_hash(access_token)));
    }
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
    signer(config)?;
    Ok(Jwt::Unsigned {
        typ: "JWT",
        claims,
        alg: None,
    })
}

/// The token endpoint's success body (RFC 6749 §5.1, Auth0 shape).
#[derive(Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: Jwt,
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
    pub id_token: Option<Jwt>,
    /// The type of the token issued by a token exchange (RFC 8693 §2.2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

impl TokenResponse {
    /// Signs the access token (ES256, or RS256 when its API's `signing_alg` says so), then
    /// the ID token with the `at_hash` of the signed access token (RS256, or ES256 when
    /// `client` registered it or no RSA key is configured).
    ///
    /// # Errors
    /// `server_error` for an algorithm without a configured key or a record naming an
    /// unsupported algorithm; storage failures reading the API.
    pub async fn sign<S: Store, P: Platform>(
        &mut self,
        app: &App<S, P>,
        client: &Client,
    ) -> Result<(), OAuthError> {
        let unsupported = || {
            OAuthError::new(
                "server_error",
                500,
                "the configured signing algorithm is not supported",
            )
        };
        if let Jwt::Unsigned { typ, claims, alg } = &self.access_token {
            let alg = alg.ok_or_else(unsupported)?;
            let signed = sign_jwt(
                &app.config,
                &app.platform,
                alg,
                typ,
                &Value::Object(claims.clone()),
            )
            .await?;
            self.access_token = Jwt::Signed(signed);
        }
        if let Some(Jwt::Unsigned { typ, claims, .. }) = &self.id_token {
            let alg = id_token_alg(&app.config, client)?;
            let mut claims = claims.clone();
            if let Some(access_token) = self.access_token.as_signed() {
                claims
                    .entry("at_hash")
                    .or_insert_with(|| json!(at_hash(access_token)));
            }
            let signed =
                sign_jwt(&app.config, &app.platform, alg, typ, &Value::Object(claims)).await?;
            self.id_token = Some(Jwt::Signed(signed));
        }
        Ok(())
    }

    /// `200` JSON with `Cache-Control: no-store` and `Pragma: no-cache`; `500
    /// server_error` if a token is not signed yet ([`TokenResponse::sign`]).
    #[must_use]
    pub fn to_response(&self) -> HttpResponse {
        let unsigned = self.access_token.as_signed().is_none()
            || self
                .id_token
                .as_ref()
                .is_some_and(|t| t.as_signed().is_none());
        if unsigned {
            return OAuthError::server_error().to_response();
        }
        HttpResponse::json(200, self).no_store()
    }
}

/// The algorithm of an access token for `api`: its `signing_alg`, ES256 by default (and
/// without an API).
///
/// # Errors
/// `server_error` for a record naming an algorithm the server does not sign with.
pub fn access_token_alg(api: Option<&crate::config::Api>) -> Result<SigningAlg, OAuthError> {
    match api.and_then(|a| a.signing_alg.as_deref()) {
        None => Ok(SigningAlg::Es256),
        Some(name) => SigningAlg::parse(name).ok_or_else(|| {
            OAuthError::new(
                "server_error",
                500,
                "the configured signing algorithm is not supported",
            )
        }),
    }
}

/// The algorithm of `client`'s ID tokens: its `id_token_signed_response_alg`, else RS256
/// (ES256 when the deployment has no RSA key).
///
/// # Errors
/// `server_error` for a record naming an algorithm the server does not sign with.
pub fn id_token_alg(config: &Config, client: &Client) -> Result<SigningAlg, OAuthError> {
    match client.id_token_signed_response_alg.as_deref() {
        None if config.rsa_signing_keys.is_empty() => Ok(SigningAlg::Es256),
        None => Ok(SigningAlg::Rs256),
        Some(name) => SigningAlg::parse(name).ok_or_else(|| {
            OAuthError::new(
                "server_error",
                500,
                "the configured signing algorithm is not supported",
            )
        }),
    }
}

/// Checks that the server holds a key for the access token's algorithm and for the
/// client's ID tokens, so that a grant fails before it changes any state (a code taken, a
/// family rotated) rather than after, when signing would fail and the state change would
/// cost the user their session.
///
/// # Errors
/// `server_error` when an algorithm has no configured key or is not supported.
pub fn check_signable(
    config: &Config,
    client: &Client,
    access: SigningAlg,
) -> Result<(), OAuthError> {
    let has_key = |alg: SigningAlg| match alg {
        SigningAlg::Es256 => !config.signing_keys.is_empty(),
        SigningAlg::Rs256 => !config.rsa_signing_keys.is_empty(),
    };
    if has_key(access) && has_key(id_token_alg(config, client)?) {
        Ok(())
    } else {
        Err(OAuthError::new(
            "server_error",
            500,
            "no signing key is configured for the token's algorithm",
        ))
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
