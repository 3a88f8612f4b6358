//! Client authentication at the token and revocation endpoints (RFC 6749 §2.3,
//! RFC 7521/7523, OIDC Core §9).
//!
//! Exactly one method per request (rules.md item 9), and it must be the client's
//! registered method. Failures are `401 invalid_client` whatever the method (items 37,
//! 38, 100: 401 is required with the `Authorization` header and allowed without it), and
//! every such 401 carries `WWW-Authenticate: Basic realm="<issuer>"` (RFC 9110 §15.5.2;
//! RFC 6749 §5.2), the scheme of the one header-based method. Secrets are compared as
//! SHA-256 hashes in constant time; nothing secret is logged or echoed.
//!
//! Mutual TLS (RFC 8705): a client registered for `tls_client_auth` or
//! `self_signed_tls_client_auth` sends only its `client_id`; the certificate is checked
//! by [`crate::mtls`]. A client with `tls_client_certificate_bound_access_tokens` must
//! present a certificate, whatever its method, and its tokens are bound to it.
//!
//! Client assertion policy (rules.md items 97–103, decided here):
//! - `iss` = `sub` = the client; a `client_id` parameter, if present, must name it too;
//! - `aud` must be a single string equal to the issuer or the token endpoint URL, or, at
//!   the PAR endpoint only, that endpoint's URL (RFC 9126 §2; [`Endpoint`]); arrays are
//!   refused, following OIDC Core d36 §9;
//! - `exp` required, not past (30 s skew) and at most `CLIENT_ASSERTION_MAX_LIFETIME`
//!   ahead (default one hour: Authlib signs `exp = iat + 3600` with no option);
//!   `nbf` and `iat` honoured with the same skew;
//! - `jti` required and single-use: kept as `assertion:{client_id}:{sha256(jti)}` until
//!   the assertion's `exp` plus the skew (RFC 7523 §3; at least 60 s, KV's minimum TTL),
//!   written with [`crate::store::Store::put_if_absent`] so two simultaneous copies cannot
//!   both pass;
//! - algorithms pinned by method: ES256 / RS256 / PS256 for `private_key_jwt`, HS256 for
//!   `client_secret_jwt` (key: the UTF-8 secret, unsealed from `client_secret_enc`).

use crate::App;
use crate::config::{AuthMethod, Client, client_key};
use crate::error::OAuthError;
use crate::http::HttpRequest;
use crate::jwt::{DecodedJwt, es256_key_from_jwk, sha256_b64};
use crate::params::Params;
use crate::platform::Platform;
use crate::store::{Store, get_json};
use edge_oauth::base64url;
use serde_json::Value;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The `client_assertion_type` of RFC 7523 §2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Allowed clock skew for assertions, in seconds.
pub const ASSERTION_SKEW: i64 = 30;

/// The default longest an assertion may live ahead of now, in seconds (the var
/// `CLIENT_ASSERTION_MAX_LIFETIME` sets it, [`crate::config::Config::assertion_max_lifetime`]).
pub const ASSERTION_MAX_LIFETIME: i64 = crate::config::DEFAULT_ASSERTION_MAX_LIFETIME;

/// The endpoint a client authenticates at; it decides which `aud` a client assertion may
/// name besides the issuer and the token endpoint URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /oauth/par`: its own URL is an audience too (RFC 9126 §2).
    PushedAuthorization,
    /// Any other endpoint (token, revocation, device authorization).
    Other,
}

/// A client that passed authentication.
#[derive(Clone, Debug)]
pub struct AuthenticatedClient {
    /// The client record.
    pub client: Client,
    /// The method it used.
    pub method: AuthMethod,
    /// The `x5t#S256` of the presented client certificate when the client's access tokens
    /// are certificate-bound (RFC 8705 §3, [`crate::mtls`]).
    pub x5t_s256: Option<String>,
}

/// The credentials a request presents, before they are checked.
enum Presented {
    Basic {
        id: String,
        secret: Zeroizing<String>,
    },
    Post {
        id: String,
        secret: Zeroizing<String>,
    },
    Assertion {
        assertion: String,
    },
    None {
        id: String,
    },
}

/// Authenticates the client of a token, revocation or device authorization request
/// ([`authenticate_at`] with [`Endpoint::Other`]).
///
/// # Errors
/// As [`authenticate_at`].
pub async fn authenticate<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    params: &Params,
) -> Result<AuthenticatedClient, OAuthError> {
    authenticate_at(app, req, params, Endpoint::Other).await
}

/// Authenticates the client of a request to `endpoint`.
///
/// # Errors
/// `invalid_request` for several methods or a malformed request, `invalid_client` (401,
/// with a `Basic` challenge) otherwise; storage failures map to `temporarily_unavailable`
/// / `server_error`.
pub async fn authenticate_at<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    params: &Params,
    endpoint: Endpoint,
) -> Result<AuthenticatedClient, OAuthError> {
    let used_authorization = matches!(req.authorization(), Ok(Some(_)));
    authenticate_unchallenged(app, req, params, endpoint)
        .await
        .map_err(|err| {
            // RFC 9110 §15.5.2: every 401 carries a challenge. With the Authorization
            // header (RFC 6749 §5.2), the throttled answer (429) keeps it as well.
            let challenge = err.error == "invalid_client"
                && (err.status == 401 || used_authorization)
                && !err
                    .headers
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case("www-authenticate"));
            if challenge {
                err.with_header("WWW-Authenticate", &basic_challenge(&app.config.issuer))
            } else {
                err
            }
        })
}

async fn authenticate_unchallenged<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    params: &Params,
    endpoint: Endpoint,
) -> Result<AuthenticatedClient, OAuthError> {
    let presented = presented_credentials(req, params)?;
    let claimed_id = presented.claimed_client_id();
    // RFC 8705: the client certificate, for the mTLS methods and certificate binding; read
    // only for a client that uses it (request.cf is costly to read, crate::http::CfSource).
    let certificate = std::cell::OnceCell::new();
    let certificate = || certificate.get_or_init(|| crate::mtls::presented(&app.config, req));
    let result = verify(app, params, presented, endpoint, &certificate).await;
    let Err(err) = result else {
        return bind_certificate(result?, &certificate);
    };
    // Rule 12: failures are counted per client; past the limit, 429 (crate::ratelimit).
    Err(match claimed_id {
        Some(id)
            if err.error == "invalid_client"
                && !app
                    .platform
                    .rate_limit(&crate::ratelimit::client_auth_key(&id))
                    .await =>
        {
            OAuthError::rate_limited(
                "invalid_client",
                "too many failed client authentications; retry later",
            )
        }
        _ => err,
    })
}

impl Presented {
    /// The client the credentials claim to be (not verified): the id, or the assertion's
    /// `iss`; `None` when it is unusable as a key.
    fn claimed_client_id(&self) -> Option<String> {
        let id = match self {
            Self::Basic { id, .. } | Self::Post { id, .. } | Self::None { id } => id.clone(),
            Self::Assertion { assertion } => DecodedJwt::decode(assertion)
                .ok()?
                .claim_str("iss")?
                .to_owned(),
        };
        (!id.is_empty() && id.len() <= crate::config::MAX_CLIENT_ID_BYTES).then_some(id)
    }
}

/// `Basic realm="<issuer>"` (RFC 6749 §5.2, rules.md item 38).
fn basic_challenge(issuer: &str) -> String {
    let realm: String = issuer.chars().filter(|c| *c != '"' && *c != '\\').collect();
    format!("Basic realm=\"{realm}\"")
}

fn presented_credentials(req: &HttpRequest, params: &Params) -> Result<Presented, OAuthError> {
    let authorization = req.authorization().map_err(|_| {
        OAuthError::invalid_request("the request has more than one Authorization field")
    })?;
    let basic = authorization.map(parse_basic).transpose()?;
    let post = params.contains("client_secret");
    let assertion = params.contains("client_assertion") || params.contains("client_assertion_type");
    let count = usize::from(basic.is_some()) + usize::from(post) + usize::from(assertion);
    if count > 1 {
        return Err(OAuthError::invalid_request(
            "the request uses more than one client authentication method",
        ));
    }
    if let Some((id, secret)) = basic {
        if params.get("client_id").is_some_and(|c| c != id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the Authorization header",
            ));
        }
        return Ok(Presented::Basic { id, secret });
    }
    if post {
        let id = params.get("client_id").ok_or_else(|| {
            OAuthError::invalid_client("client_id is required with client_secret")
        })?;
        let secret = Zeroizing::new(params.get("client_secret").unwrap_or_default().to_owned());
        return Ok(Presented::Post {
            id: id.to_owned(),
            secret,
        });
    }
    if assertion {
        if params.get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(OAuthError::invalid_request(
                "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ));
        }
        let assertion = params
            .get("client_assertion")
            .ok_or_else(|| OAuthError::invalid_request("client_assertion is required"))?;
        return Ok(Presented::Assertion {
            assertion: assertion.to_owned(),
        });
    }
    match params.get("client_id") {
        Some(id) => Ok(Presented::None { id: id.to_owned() }),
        None => Err(OAuthError::invalid_client(
            "client authentication is required",
        )),
    }
}

/// Parses `Authorization: Basic` with the §2.3.1 form-decoding of both parts (the core's
/// `decode_basic_credentials`). Another scheme is `invalid_request`; malformed Basic
/// credentials are `invalid_client`.
fn parse_basic(value: &str) -> Result<(String, Zeroizing<String>), OAuthError> {
    let scheme = value.trim().split(' ').next().unwrap_or_default();
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_request(
            "unsupported Authorization scheme at this endpoint",
        ));
    }
    let (id, secret) = edge_oauth::token::request::decode_basic_credentials(value.trim())
        .map_err(|_| OAuthError::invalid_client("malformed Basic credentials"))?;
    let secret = Zeroizing::new(secret);
    // RFC 6749 Appendix A: client_id and client_secret are VSCHAR.
    if id.chars().any(char::is_control) || secret.chars().any(char::is_control) {
        return Err(OAuthError::invalid_request(
            "the Basic credentials contain a control character",
        ));
    }
    Ok((id, secret))
}

async fn load_client<S: Store, P: Platform>(
    app: &App<S, P>,
    client_id: &str,
) -> Result<Option<Client>, OAuthError> {
    if client_id.is_empty() || client_id.len() > crate::config::MAX_CLIENT_ID_BYTES {
        return Ok(None);
    }
    Ok(get_json::<S, Client>(&app.store, &client_key(client_id)).await?)
}

fn secret_matches(client: Option<&Client>, secret: &str) -> bool {
    let presented = sha256_b64(secret.as_bytes());
    // Compare against a dummy when there is no hash, so timing does not tell.
    let stored = client
        .and_then(|c| c.client_secret_hash.as_deref())
        .unwrap_or("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let equal = bool::from(presented.as_bytes().ct_eq(stored.as_bytes()));
    equal && client.is_some_and(|c| c.client_secret_hash.is_some()) && !secret.is_empty()
}

/// The client certificate of a request ([`crate::mtls::presented`]), read on first use.
type Certificate = Result<Option<crate::mtls::ClientCertificate>, OAuthError>;

/// Records the certificate a certificate-bound client presented (RFC 8705 §3).
///
/// # Errors
/// `invalid_request` when such a client presented none.
fn bind_certificate<'a>(
    mut auth: AuthenticatedClient,
    certificate: &dyn Fn() -> &'a Certificate,
) -> Result<AuthenticatedClient, OAuthError> {
    if auth.client.tls_client_certificate_bound_access_tokens {
        let cert = certificate().clone()?.ok_or_else(|| {
            OAuthError::invalid_request(
                "a client certificate is required: the client's access tokens are certificate-bound",
            )
        })?;
        auth.x5t_s256 = Some(cert.x5t_s256);
    }
    Ok(auth)
}

async fn verify<'a, S: Store, P: Platform>(
    app: &App<S, P>,
    params: &Params,
    presented: Presented,
    endpoint: Endpoint,
    certificate: &dyn Fn() -> &'a Certificate,
) -> Result<AuthenticatedClient, OAuthError> {
    let failed = || OAuthError::invalid_client("client authentication failed");
    match presented {
        Presented::Basic { id, secret } => {
            let client = load_client(app, &id).await?;
            let ok = secret_matches(client.as_ref(), &secret);
            match client {
                Some(client)
                    if ok && client.token_endpoint_auth_method == AuthMethod::ClientSecretBasic =>
                {
                    Ok(AuthenticatedClient {
                        client,
                        method: AuthMethod::ClientSecretBasic,
                        x5t_s256: None,
                    })
                }
                _ => Err(failed()),
            }
        }
        Presented::Post { id, secret } => {
            let client = load_client(app, &id).await?;
            let ok = secret_matches(client.as_ref(), &secret);
            match client {
                Some(client)
                    if ok && client.token_endpoint_auth_method == AuthMethod::ClientSecretPost =>
                {
                    Ok(AuthenticatedClient {
                        client,
                        method: AuthMethod::ClientSecretPost,
                        x5t_s256: None,
                    })
                }
                _ => Err(failed()),
            }
        }
        Presented::None { id } => match load_client(app, &id).await? {
            // RFC 8705 §2: the client_id alone, authenticated by the TLS certificate.
            Some(client)
                if matches!(
                    client.token_endpoint_auth_method,
                    AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth
                ) =>
            {
                let cert = certificate().as_ref().map_err(Clone::clone)?;
                crate::mtls::authenticate_client(&client, cert.as_ref())?;
                let method = client.token_endpoint_auth_method;
                Ok(AuthenticatedClient {
                    client,
                    method,
                    x5t_s256: None,
                })
            }
            Some(client) if client.token_endpoint_auth_method == AuthMethod::None => {
                Ok(AuthenticatedClient {
                    client,
                    method: AuthMethod::None,
                    x5t_s256: None,
                })
            }
            _ => Err(failed()),
        },
        Presented::Assertion { assertion } => {
            verify_assertion(app, params, &assertion, endpoint).await
        }
    }
}

async fn verify_assertion<S: Store, P: Platform>(
    app: &App<S, P>,
    params: &Params,
    assertion: &str,
    endpoint: Endpoint,
) -> Result<AuthenticatedClient, OAuthError> {
    let fail = |why: &str| OAuthError::invalid_client(format!("invalid client assertion: {why}"));
    if assertion.len() > 8 * 1024 {
        return Err(fail("too large"));
    }
    let jwt = DecodedJwt::decode(assertion).map_err(|_| fail("malformed JWT"))?;
    let iss = jwt
        .claim_str("iss")
        .ok_or_else(|| fail("iss is required"))?;
    let sub = jwt
        .claim_str("sub")
        .ok_or_else(|| fail("sub is required"))?;
    if iss != sub {
        return Err(fail("iss and sub must both be the client_id"));
    }
    if params.get("client_id").is_some_and(|c| c != iss) {
        return Err(fail("client_id does not match the assertion"));
    }
    // One description for an unknown client, a client without JWT authentication, a
    // wrong algorithm, key or MAC: the answer does not tell which clients exist.
    let generic = || OAuthError::invalid_client("client authentication failed");
    let client = load_client(app, iss).await?.ok_or_else(generic)?;
    let method = client.token_endpoint_auth_method;
    let verified = match method {
        AuthMethod::PrivateKeyJwt => verify_private_key_jwt(app, &client, &jwt).await,
        AuthMethod::ClientSecretJwt => verify_client_secret_jwt(app, &client, &jwt).await,
        _ => Err(generic()),
    };
    verified.map_err(|_| generic())?;

    let now = app.platform.now();
    // Simple string comparison (RFC 7523 §3), one string only.
    let aud_ok = match jwt.claims.get("aud") {
        Some(Value::String(aud)) => {
            *aud == app.config.issuer
                || *aud == app.config.token_endpoint()
                || (endpoint == Endpoint::PushedAuthorization && *aud == app.config.par_endpoint())
        }
        _ => false,
    };
    if !aud_ok {
        return Err(fail(match endpoint {
            Endpoint::PushedAuthorization => {
                "aud must be the issuer, the token endpoint or the PAR endpoint"
            }
            Endpoint::Other => "aud must be the issuer or the token endpoint",
        }));
    }
    let exp = jwt
        .claim_i64("exp")
        .ok_or_else(|| fail("exp is required"))?;
    if exp <= now.saturating_sub(ASSERTION_SKEW) {
        return Err(fail("expired"));
    }
    let max_lifetime = app.config.assertion_max_lifetime;
    if exp > now.saturating_add(max_lifetime.saturating_add(ASSERTION_SKEW)) {
        return Err(fail(&format!(
            "exp is more than {max_lifetime} seconds ahead"
        )));
    }
    if let Some(nbf) = jwt.claims.get("nbf")
        && nbf
            .as_i64()
            .is_none_or(|t| t > now.saturating_add(ASSERTION_SKEW))
    {
        return Err(fail("not yet valid"));
    }
    if let Some(iat) = jwt.claims.get("iat")
        && iat
            .as_i64()
            .is_none_or(|t| t > now.saturating_add(ASSERTION_SKEW))
    {
        return Err(fail("iat is in the future"));
    }
    let jti = jwt
        .claim_str("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| fail("jti is required"))?;
    let key = format!(
        "assertion:{}:{}",
        client.client_id,
        sha256_b64(jti.as_bytes())
    );
    let ttl = u64::try_from(exp.saturating_sub(now).saturating_add(ASSERTION_SKEW))
        .unwrap_or(0)
        .max(crate::store::MIN_TTL_SECONDS);
    if !app.store.put_if_absent(&key, "1", Some(ttl)).await? {
        return Err(fail("jti was already used"));
    }
    Ok(AuthenticatedClient {
        client,
        method,
        x5t_s256: None,
    })
}

async fn verify_private_key_jwt<S: Store, P: Platform>(
    app: &App<S, P>,
    client: &Client,
    jwt: &DecodedJwt,
) -> Result<(), OAuthError> {
    let fail = |why: &str| OAuthError::invalid_client(format!("invalid client assertion: {why}"));
    let alg = jwt.alg();
    let kty = match alg {
        "ES256" => "EC",
        "RS256" | "PS256" => "RSA",
        _ => return Err(fail("alg is not allowed for private_key_jwt")),
    };
    let keys: Vec<&Value> = client
        .jwks
        .as_ref()
        .and_then(|j| j.get("keys"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|k| k.get("kty").and_then(Value::as_str) == Some(kty))
                .filter(|k| {
                    k.get("use")
                        .and_then(Value::as_str)
                        .is_none_or(|u| u == "sig")
                })
                .filter(|k| {
                    k.get("alg")
                        .and_then(Value::as_str)
                        .is_none_or(|a| a == alg)
                })
                .collect()
        })
        .unwrap_or_default();
    let candidates: Vec<&Value> = match jwt.header_str("kid") {
        Some(kid) => keys
            .into_iter()
            .filter(|k| {
                k.get("kid")
                    .and_then(Value::as_str)
                    .is_none_or(|k| k == kid)
            })
            .collect(),
        None => keys,
    };
    for key in candidates {
        let ok = if kty == "EC" {
            es256_assertion_verifies(&app.platform, key, jwt).await
        } else {
            app.platform
                .verify_rsa(alg, key, jwt.signing_input.as_bytes(), &jwt.signature)
                .await
                .unwrap_or(false)
        };
        if ok {
            return Ok(());
        }
    }
    Err(fail("signature does not verify with the registered keys"))
}

/// Whether the ES256 signature of `jwt` verifies under the registered EC JWK `key`, through
/// the platform (WebCrypto on Workers); an unusable key or a backend failure is `false`.
async fn es256_assertion_verifies<P: Platform>(
    platform: &P,
    key: &Value,
    jwt: &DecodedJwt,
) -> bool {
    match es256_key_from_jwk(key) {
        Ok(public) => platform
            .verify_es256_key(&public, jwt.signing_input.as_bytes(), &jwt.signature)
            .await
            .unwrap_or(false),
        Err(_) => false,
    }
}

async fn verify_client_secret_jwt<S: Store, P: Platform>(
    app: &App<S, P>,
    client: &Client,
    jwt: &DecodedJwt,
) -> Result<(), OAuthError> {
    let fail = |why: &str| OAuthError::invalid_client(format!("invalid client assertion: {why}"));
    if jwt.alg() != "HS256" {
        return Err(fail("alg is not allowed for client_secret_jwt"));
    }
    let sealed = client
        .client_secret_enc
        .as_deref()
        .and_then(|s| base64url::decode(s).ok())
        .ok_or_else(|| fail("the client has no usable secret"))?;
    let key = app
        .config
        .client_secret_key
        .as_ref()
        .map(|k| k.as_slice())
        .unwrap_or_default();
    let secret = Zeroizing::new(
        app.platform
            .open_client_secret(key, &client.client_id, &sealed)
            .await
            .map_err(|_| fail("the client has no usable secret"))?,
    );
    // The unsealed secret must still match the registered hash.
    let hash_ok = client
        .client_secret_hash
        .as_deref()
        .is_some_and(|h| bool::from(sha256_b64(&secret).as_bytes().ct_eq(h.as_bytes())));
    if !hash_ok {
        return Err(fail("the client has no usable secret"));
    }
    jwt.verify_hs256(&secret)
        .map_err(|_| fail("MAC does not verify"))
}

#[cfg(test)]
mod tests {
    use super::es256_assertion_verifies;
    use crate::jwt::DecodedJwt;
    use crate::platform::PlatformError;
    use crate::testing::{RecordingPlatform, block_on};
    use edge_oauth::jwk::EcPrivateJwk;
    use serde_json::Value;

    #[test]
    fn rfc7523_2_2_es256_assertion_signature_is_verified_by_the_platform() {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let key = EcPrivateJwk::generate(&mut rng);
        let registered: Value = serde_json::from_str(&key.public().to_json()).unwrap();
        let token = edge_oauth::jws::sign_es256(
            r#"{"alg":"ES256","typ":"JWT"}"#,
            br#"{"iss":"c1","sub":"c1","aud":"https://as.example/oauth/token","jti":"j1","exp":2000}"#,
            key.signing_key(),
        )
        .unwrap();
        let jwt = DecodedJwt::decode(&token).unwrap();

        let platform = RecordingPlatform::new(1_000, None);
        assert!(block_on(es256_assertion_verifies(
            &platform,
            &registered,
            &jwt
        )));
        assert_eq!(platform.calls.get(), 1);

        // Another key's signature is refused (software default of the platform).
        let other = EcPrivateJwk::generate(&mut rng);
        let other: Value = serde_json::from_str(&other.public().to_json()).unwrap();
        assert!(!block_on(es256_assertion_verifies(&platform, &other, &jwt)));

        // The platform's verdict counts: a refusal or a failure refuses a genuine assertion.
        for answer in [Ok(false), Err(PlatformError::Crypto)] {
            let platform = RecordingPlatform::new(1_000, Some(answer));
            assert!(!block_on(es256_assertion_verifies(
                &platform,
                &registered,
                &jwt
            )));
            assert_eq!(platform.calls.get(), 1);
        }
        // A private JWK as the registered key is never used.
        let private: Value = serde_json::from_str(&key.to_json()).unwrap();
        let platform = RecordingPlatform::new(1_000, Some(Ok(true)));
        assert!(!block_on(es256_assertion_verifies(
            &platform, &private, &jwt
        )));
        assert_eq!(platform.calls.get(), 0);
    }
}
