//! Discovery and ID tokens: strict authorization server metadata (RFC 8414 §2, §3.3;
//! OIDC Discovery §3, §4.3) and the client's ID token checks (OIDC Core §3.1.3.7,
//! §3.1.3.6).
//!
//! ```
//! use edge_oauth::oidc::ServerMetadata;
//!
//! let json = r#"{"issuer":"https://auth.example.com/",
//!   "authorization_endpoint":"https://auth.example.com/authorize",
//!   "token_endpoint":"https://auth.example.com/oauth/token",
//!   "response_types_supported":["code"],
//!   "authorization_response_iss_parameter_supported":true}"#;
//! let metadata = ServerMetadata::parse(json, "https://auth.example.com/")?;
//! assert_eq!(metadata.token_endpoint, "https://auth.example.com/oauth/token");
//! assert!(metadata.authorization_response_iss_parameter_supported);
//!
//! let err = ServerMetadata::parse(json, "https://auth.example.com").unwrap_err();
//! assert_eq!(err.code(), "METADATA_ISSUER_MISMATCH");
//! # Ok::<(), edge_oauth::Error>(())
//! ```

use alloc::{string::String, vec::Vec};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::authorize::check_secure_url;
use crate::error::{Error, Result};
use crate::json::{self, Object, Value};
use crate::jwk::EcPublicJwk;
use crate::jws::{self, Algorithm, DecodedJws};

// ----- server metadata ---------------------------------------------------------------

/// Authorization server metadata (RFC 8414 §2, OIDC Discovery §3), with the members a
/// client uses. Unknown members are ignored.
///
/// ```
/// use edge_oauth::oidc::ServerMetadata;
///
/// let m = ServerMetadata::parse(
///     r#"{"issuer":"http://127.0.0.1:8787/","token_endpoint":"http://127.0.0.1:8787/oauth/token","response_types_supported":["code"]}"#,
///     "http://127.0.0.1:8787/",
/// )?;
/// assert_eq!(m.authorization_endpoint, None);
/// assert!(m.code_challenge_methods_supported.is_empty());
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerMetadata {
    /// The issuer identifier, equal to the expected one.
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: Option<String>,
    /// `token_endpoint` (required).
    pub token_endpoint: String,
    /// `jwks_uri`.
    pub jwks_uri: Option<String>,
    /// `userinfo_endpoint` (OIDC).
    pub userinfo_endpoint: Option<String>,
    /// `revocation_endpoint` (RFC 7009).
    pub revocation_endpoint: Option<String>,
    /// `introspection_endpoint` (RFC 7662).
    pub introspection_endpoint: Option<String>,
    /// `pushed_authorization_request_endpoint` (RFC 9126 §5).
    pub pushed_authorization_request_endpoint: Option<String>,
    /// `end_session_endpoint` (OIDC RP-Initiated Logout).
    pub end_session_endpoint: Option<String>,
    /// `device_authorization_endpoint` (RFC 8628 §4).
    pub device_authorization_endpoint: Option<String>,
    /// `require_pushed_authorization_requests` (default `false`).
    pub require_pushed_authorization_requests: bool,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3, default `false`).
    pub authorization_response_iss_parameter_supported: bool,
    /// `response_types_supported` (required).
    pub response_types_supported: Vec<String>,
    /// `response_modes_supported`.
    pub response_modes_supported: Vec<String>,
    /// `grant_types_supported`.
    pub grant_types_supported: Vec<String>,
    /// `scopes_supported`.
    pub scopes_supported: Vec<String>,
    /// `code_challenge_methods_supported` (empty: the server does not say it supports
    /// PKCE).
    pub code_challenge_methods_supported: Vec<String>,
    /// `token_endpoint_auth_methods_supported`.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// `dpop_signing_alg_values_supported` (RFC 9449 §5.1).
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// `id_token_signing_alg_values_supported` (OIDC).
    pub id_token_signing_alg_values_supported: Vec<String>,
}

/// Messages for one URL member.
struct UrlMember {
    name: &'static str,
    not_url: &'static str,
}

const URL_MEMBERS: [UrlMember; 9] = [
    UrlMember {
        name: "authorization_endpoint",
        not_url: "authorization_endpoint must be an absolute URL without a fragment",
    },
    UrlMember {
        name: "token_endpoint",
        not_url: "token_endpoint must be an absolute URL without a fragment",
    },
    UrlMember {
        name: "jwks_uri",
        not_url: "jwks_uri must be an absolute URL without a fragment",
    },
    UrlMember {
        name: "userinfo_endpoint",
        not_url: "userinfo_endpoint must be an absolute URL without a fragment",
    },
    UrlMember {
        name: "revocation_endpoint",
        not_url: "revocation_endpoint must be an absolute URL without a fragment",
    },
    UrlMember {
        name: "introspection_endpoint",
        not_url: "introspection_endpoint must be an absolute URL without a fragment",
    },
    UrlMember {
        name: "pushed_authorization_request_endpoint",
        not_url: "pushed_authorization_request_endpoint must be an absolute URL without a fragment",
    },
    UrlMember {
        name: "end_session_endpoint",
        not_url: "end_session_endpoint must be an absolute URL without a fragment",
    },
    UrlMember {
        name: "device_authorization_endpoint",
        not_url: "device_authorization_endpoint must be an absolute URL without a fragment",
    },
];

const LIST_MEMBERS: [(&str, &str); 8] = [
    (
        "response_types_supported",
        "response_types_supported must be an array of strings",
    ),
    (
        "response_modes_supported",
        "response_modes_supported must be an array of strings",
    ),
    (
        "grant_types_supported",
        "grant_types_supported must be an array of strings",
    ),
    (
        "scopes_supported",
        "scopes_supported must be an array of strings",
    ),
    (
        "code_challenge_methods_supported",
        "code_challenge_methods_supported must be an array of strings",
    ),
    (
        "token_endpoint_auth_methods_supported",
        "token_endpoint_auth_methods_supported must be an array of strings",
    ),
    (
        "dpop_signing_alg_values_supported",
        "dpop_signing_alg_values_supported must be an array of strings",
    ),
    (
        "id_token_signing_alg_values_supported",
        "id_token_signing_alg_values_supported must be an array of strings",
    ),
];

// Not inlined: eight call sites would each get a copy (the default wasm build counts bytes).
#[inline(never)]
fn url_member(object: &Object, member: &UrlMember) -> Result<Option<String>> {
    match object.get(member.name) {
        None => Ok(None),
        Some(Value::String(s)) => match check_secure_url(s, member.name) {
            Ok(()) => Ok(Some(s.clone())),
            Err(Error::UrlInsecure(what)) => Err(Error::UrlInsecure(what)),
            Err(_) => Err(Error::MetadataInvalid(member.not_url)),
        },
        Some(_) => Err(Error::MetadataInvalid(member.not_url)),
    }
}

#[inline(never)]
fn list_member(object: &Object, name: &str, message: &'static str) -> Result<Vec<String>> {
    match object.get(name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(item.as_str().ok_or(Error::MetadataInvalid(message))?.into());
            }
            Ok(out)
        }
        Some(_) => Err(Error::MetadataInvalid(message)),
    }
}

fn bool_member(object: &Object, name: &str, message: &'static str) -> Result<bool> {
    match object.get(name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(Error::MetadataInvalid(message)),
    }
}

/// Checks an issuer identifier: https (http on a loopback host), no query, no fragment
/// (RFC 8414 §2).
fn check_issuer(issuer: &str) -> Result<()> {
    if issuer.contains('?') || issuer.contains('#') {
        return Err(Error::UrlInvalid(
            "an issuer identifier has no query and no fragment",
        ));
    }
    check_secure_url(issuer, "issuer")
}

impl ServerMetadata {
    /// Parses a metadata document fetched for `expected_issuer`, strictly.
    ///
    /// - the body is one JSON object without repeated members;
    /// - `issuer` is required and must equal `expected_issuer` exactly, byte for byte (a
    ///   trailing slash matters): RFC 8414 §3.3, OIDC Discovery §4.3;
    /// - `token_endpoint` and `response_types_supported` are required;
    /// - every endpoint present is an absolute https URL without a fragment (http only
    ///   on a loopback host);
    /// - the `*_supported` lists are arrays of strings, the two flags booleans.
    ///
    /// # Errors
    ///
    /// - [`Error::UrlInvalid`] / [`Error::UrlInsecure`] if `expected_issuer` itself is
    ///   not an https URL without query and fragment;
    /// - [`Error::MetadataInvalid`] naming the member that is missing or malformed;
    /// - [`Error::MetadataIssuerMismatch`] if `issuer` differs;
    /// - [`Error::UrlInsecure`] naming the endpoint that is plain http.
    ///
    /// ```
    /// use edge_oauth::oidc::ServerMetadata;
    ///
    /// let bad = r#"{"issuer":"https://a.example/","token_endpoint":"http://a.example/token","response_types_supported":["code"]}"#;
    /// let err = ServerMetadata::parse(bad, "https://a.example/").unwrap_err();
    /// assert_eq!(err.code(), "URL_INSECURE");
    /// assert!(err.to_string().contains("token_endpoint"));
    /// ```
    pub fn parse(json: &str, expected_issuer: &str) -> Result<ServerMetadata> {
        check_issuer(expected_issuer)?;
        let object = match json::parse(json.as_bytes()) {
            Ok(Value::Object(o)) => o,
            Err(e) if e.is_duplicate() => {
                return Err(Error::MetadataInvalid("a member is repeated"));
            }
            _ => return Err(Error::MetadataInvalid("the document is not a JSON object")),
        };
        let issuer = match object.get("issuer") {
            None => return Err(Error::MetadataInvalid("issuer is missing")),
            Some(Value::String(s)) => s,
            Some(_) => return Err(Error::MetadataInvalid("issuer must be a string")),
        };
        if issuer != expected_issuer {
            return Err(Error::MetadataIssuerMismatch);
        }

        let [
            authorization_endpoint,
            token_endpoint,
            jwks_uri,
            userinfo_endpoint,
            revocation_endpoint,
            introspection_endpoint,
            pushed_authorization_request_endpoint,
            end_session_endpoint,
            device_authorization_endpoint,
        ] = &URL_MEMBERS;
        let authorization_endpoint = url_member(&object, authorization_endpoint)?;
        let token_endpoint = url_member(&object, token_endpoint)?
            .ok_or(Error::MetadataInvalid("token_endpoint is missing"))?;
        let jwks_uri = url_member(&object, jwks_uri)?;
        let userinfo_endpoint = url_member(&object, userinfo_endpoint)?;
        let revocation_endpoint = url_member(&object, revocation_endpoint)?;
        let introspection_endpoint = url_member(&object, introspection_endpoint)?;
        let pushed_authorization_request_endpoint =
            url_member(&object, pushed_authorization_request_endpoint)?;
        let end_session_endpoint = url_member(&object, end_session_endpoint)?;
        let device_authorization_endpoint = url_member(&object, device_authorization_endpoint)?;

        let list = |(name, message): &(&str, &'static str)| list_member(&object, name, message);
        let [
            response_types,
            response_modes,
            grant_types,
            scopes,
            code_challenge_methods,
            auth_methods,
            dpop_algs,
            id_token_algs,
        ] = &LIST_MEMBERS;
        let response_types_supported = list(response_types)?;
        let response_modes_supported = list(response_modes)?;
        let grant_types_supported = list(grant_types)?;
        let scopes_supported = list(scopes)?;
        let code_challenge_methods_supported = list(code_challenge_methods)?;
        let token_endpoint_auth_methods_supported = list(auth_methods)?;
        let dpop_signing_alg_values_supported = list(dpop_algs)?;
        let id_token_signing_alg_values_supported = list(id_token_algs)?;
        if !object.contains_key("response_types_supported") {
            return Err(Error::MetadataInvalid(
                "response_types_supported is missing",
            ));
        }

        Ok(ServerMetadata {
            issuer: issuer.clone(),
            authorization_endpoint,
            token_endpoint,
            jwks_uri,
            userinfo_endpoint,
            revocation_endpoint,
            introspection_endpoint,
            pushed_authorization_request_endpoint,
            end_session_endpoint,
            device_authorization_endpoint,
            require_pushed_authorization_requests: bool_member(
                &object,
                "require_pushed_authorization_requests",
                "require_pushed_authorization_requests must be a boolean",
            )?,
            authorization_response_iss_parameter_supported: bool_member(
                &object,
                "authorization_response_iss_parameter_supported",
                "authorization_response_iss_parameter_supported must be a boolean",
            )?,
            response_types_supported,
            response_modes_supported,
            grant_types_supported,
            scopes_supported,
            code_challenge_methods_supported,
            token_endpoint_auth_methods_supported,
            dpop_signing_alg_values_supported,
            id_token_signing_alg_values_supported,
        })
    }
}

// ----- ID tokens ---------------------------------------------------------------------

/// The asymmetric algorithms an ID token may use by default. `none` and HMAC never.
pub const DEFAULT_ID_TOKEN_ALGORITHMS: [Algorithm; 10] = [
    Algorithm::Es256,
    Algorithm::Es384,
    Algorithm::Es512,
    Algorithm::Rs256,
    Algorithm::Rs384,
    Algorithm::Rs512,
    Algorithm::Ps256,
    Algorithm::Ps384,
    Algorithm::Ps512,
    Algorithm::EdDsa,
];

/// What an ID token is checked against (OIDC Core §3.1.3.7).
///
/// ```
/// use edge_oauth::oidc::IdTokenValidation;
///
/// let v = IdTokenValidation { nonce: Some("n-0S6_WzA2Mj"), ..IdTokenValidation::new("https://server.example.com", "s6BhdRkqt3", 1_311_281_000) };
/// assert_eq!(v.leeway, 60);
/// assert_eq!(v.jwks, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdTokenValidation<'a> {
    /// The issuer identifier, compared exactly with `iss`.
    pub issuer: &'a str,
    /// The client's `client_id`, which `aud` must contain.
    pub client_id: &'a str,
    /// The caller's clock, seconds since the epoch.
    pub now: u64,
    /// Allowed clock skew in seconds for `exp`, `iat`, `nbf` and `auth_time` (default 60).
    pub leeway: u64,
    /// The `nonce` sent with the authorization request.
    pub nonce: Option<&'a str>,
    /// The access token issued with the ID token: `at_hash`, when present, must be its
    /// hash (§3.1.3.6).
    pub access_token: Option<&'a str>,
    /// The `max_age` sent with the request: `auth_time` is then required and bounded.
    pub max_age: Option<u64>,
    /// Audiences besides the client that the client trusts (default none: an ID token
    /// for anyone else too is refused).
    pub trusted_audiences: &'a [&'a str],
    /// The algorithms accepted (default [`DEFAULT_ID_TOKEN_ALGORITHMS`]).
    pub algorithms: &'a [Algorithm],
    /// The issuer's JWKS (`{"keys":[...]}` JSON): when given, the signature is verified
    /// (ES256 only; other algorithms are [`Error::IdTokenSignatureUnsupported`]). When
    /// `None`, the signature is not checked here: OIDC Core §3.1.3.7 item 6 lets a client
    /// that got the ID token straight from the token endpoint over TLS rely on TLS, or
    /// the caller verifies it with WebCrypto.
    pub jwks: Option<&'a str>,
}

impl<'a> IdTokenValidation<'a> {
    /// The default checks for `issuer`, `client_id` at `now`.
    ///
    /// ```
    /// let v = edge_oauth::oidc::IdTokenValidation::new("https://as.example/", "c", 0);
    /// assert!(v.trusted_audiences.is_empty());
    /// ```
    #[must_use]
    pub fn new(issuer: &'a str, client_id: &'a str, now: u64) -> Self {
        IdTokenValidation {
            issuer,
            client_id,
            now,
            leeway: 60,
            nonce: None,
            access_token: None,
            max_age: None,
            trusted_audiences: &[],
            algorithms: &DEFAULT_ID_TOKEN_ALGORITHMS,
            jwks: None,
        }
    }
}

/// A validated ID token's claims.
///
/// ```
/// # use edge_oauth::oidc::{IdTokenValidation, validate_id_token};
/// # let token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUvIiwic3ViIjoiMjQ4Mjg5NzYxMDAxIiwiYXVkIjoiYyIsImV4cCI6MjAwLCJpYXQiOjEwMH0.c2ln";
/// let claims = validate_id_token(token, &IdTokenValidation::new("https://as.example/", "c", 150))?;
/// assert_eq!(claims.sub, "248289761001");
/// assert!(!claims.signature_verified);
/// assert_eq!(claims.claims["exp"], 200);
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// Every claim of the payload.
    pub claims: Object,
    /// `sub`.
    pub sub: String,
    /// `exp`, floored to whole seconds.
    pub exp: i64,
    /// `iat`, floored to whole seconds.
    pub iat: i64,
    /// `auth_time`, when present.
    pub auth_time: Option<i64>,
    /// The header's `alg`.
    pub alg: Algorithm,
    /// Whether the signature was verified against the JWKS given.
    pub signature_verified: bool,
}

fn numeric_date(claims: &Object, name: &str, message: &'static str) -> Result<Option<i64>> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .floor_i64()
            .map(Some)
            .ok_or(Error::IdTokenClaimInvalid(message)),
        Some(_) => Err(Error::IdTokenClaimInvalid(message)),
    }
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// `at_hash` for the SHA-256 algorithms (OIDC Core §3.1.3.6): base64url of the left half
/// of SHA-256 of the access token. Only ES256, RS256 and PS256 are computed, so that the
/// SHA-384/512 code stays out of the wasm; an ID token of another algorithm that carries
/// `at_hash` is refused rather than accepted unchecked.
fn check_at_hash(at_hash: &str, access_token: &str, alg: Algorithm) -> Result<()> {
    match alg {
        Algorithm::Es256 | Algorithm::Rs256 | Algorithm::Ps256 => {
            let digest = Sha256::digest(access_token.as_bytes());
            let (left, _) = digest.split_at(16);
            if ct_eq(at_hash, &crate::base64url::encode(left)) {
                Ok(())
            } else {
                Err(Error::IdTokenAtHashMismatch)
            }
        }
        _ => Err(Error::IdTokenClaimInvalid(
            "at_hash is checked for ES256, RS256 and PS256 only",
        )),
    }
}

/// The keys of a JWKS that may have signed an ES256 ID token: the P-256 signing keys with
/// the header's `kid` (all of them when the header has none), in the order of the set.
/// Entries that are not valid P-256 public keys are skipped.
///
/// # Errors
///
/// [`Error::IdTokenSignatureUnsupported`] for an `alg` other than ES256,
/// [`Error::JwkInvalid`] for a JWKS that is not an object with a `keys` array,
/// [`Error::IdTokenKeyNotFound`] when no key qualifies.
fn jwks_candidates(decoded: &DecodedJws<'_>, jwks: &str) -> Result<Vec<EcPublicJwk>> {
    if decoded.alg() != Algorithm::Es256 {
        return Err(Error::IdTokenSignatureUnsupported);
    }
    let set = jws::parse_json_object(jwks.as_bytes())
        .map_err(|_| Error::JwkInvalid("the JWKS is not a JSON object"))?;
    let Some(Value::Array(keys)) = set.get("keys") else {
        return Err(Error::JwkInvalid("the JWKS has no keys array"));
    };
    let kid = decoded.kid();
    let mut candidates = Vec::new();
    for key in keys {
        let Value::Object(k) = key else { continue };
        if kid.is_some() && k.get("kid").and_then(Value::as_str) != kid {
            continue;
        }
        if k.get("kty").and_then(Value::as_str) != Some("EC")
            || k.get("crv").and_then(Value::as_str) != Some("P-256")
        {
            continue;
        }
        if let Ok(public) = EcPublicJwk::from_json_value(key) {
            candidates.push(public);
        }
    }
    if candidates.is_empty() {
        return Err(Error::IdTokenKeyNotFound);
    }
    Ok(candidates)
}

/// What verifying an ID token's signature against a JWKS takes, read without P-256
/// arithmetic: the decoded JWS (its signing input and raw signature) and the candidate
/// keys, one of which must verify it ([`verify_id_token_signature`] does; the default
/// npm entry hands these to `edge-oauth/p256`).
///
/// # Errors
///
/// As [`verify_id_token_signature`], except [`Error::JwsSignatureInvalid`], which only
/// the verification itself can give.
///
/// ```
/// use edge_oauth::oidc::{DEFAULT_ID_TOKEN_ALGORITHMS, id_token_signature_keys};
///
/// let err = id_token_signature_keys("eyJhbGciOiJSUzI1NiJ9.e30.AA", &DEFAULT_ID_TOKEN_ALGORITHMS, r#"{"keys":[]}"#);
/// assert_eq!(err.unwrap_err().code(), "ID_TOKEN_SIGNATURE_UNSUPPORTED");
/// ```
pub fn id_token_signature_keys<'a>(
    id_token: &'a str,
    algorithms: &[Algorithm],
    jwks: &str,
) -> Result<(DecodedJws<'a>, Vec<EcPublicJwk>)> {
    let decoded = jws::decode(id_token, algorithms)?;
    if decoded.alg().is_symmetric() {
        return Err(Error::JwsAlgNotAllowed);
    }
    let keys = jwks_candidates(&decoded, jwks)?;
    Ok((decoded, keys))
}

/// Verifies an ES256 ID token against the candidate keys of a JWKS.
#[cfg(not(all(feature = "wasm", not(feature = "wasm-p256"))))]
fn verify_with_jwks(decoded: &DecodedJws<'_>, jwks: &str) -> Result<()> {
    let candidates = jwks_candidates(decoded, jwks)?;
    if candidates
        .iter()
        .any(|public| decoded.verify_es256(public).is_ok())
    {
        Ok(())
    } else {
        Err(Error::JwsSignatureInvalid)
    }
}

/// Verifies an ID token's signature against a JWKS (ES256; the first step of
/// [`validate_id_token`] when `jwks` is given): the compact JWS and its `alg` (one of
/// `algorithms`; never `none` or HMAC), then the signature by one of the P-256 signing
/// keys of the set with the header's `kid` (any of them when the header has none).
///
/// # Errors
///
/// The JWS errors of [`jws::decode`], [`Error::IdTokenSignatureUnsupported`] for an
/// `alg` other than ES256, [`Error::IdTokenKeyNotFound`], [`Error::JwsSignatureInvalid`],
/// [`Error::JwkInvalid`] for a malformed JWKS.
///
/// ```
/// use edge_oauth::oidc::{DEFAULT_ID_TOKEN_ALGORITHMS, verify_id_token_signature};
///
/// let err = verify_id_token_signature("eyJhbGciOiJFUzI1NiJ9.e30.AA", &DEFAULT_ID_TOKEN_ALGORITHMS, r#"{"keys":[]}"#);
/// assert_eq!(err.unwrap_err().code(), "ID_TOKEN_KEY_NOT_FOUND");
/// ```
#[cfg(not(all(feature = "wasm", not(feature = "wasm-p256"))))]
pub fn verify_id_token_signature(
    id_token: &str,
    algorithms: &[Algorithm],
    jwks: &str,
) -> Result<()> {
    let decoded = jws::decode(id_token, algorithms)?;
    if decoded.alg().is_symmetric() {
        return Err(Error::JwsAlgNotAllowed);
    }
    verify_with_jwks(&decoded, jwks)
}

/// Validates an ID token (OIDC Core §3.1.3.7) and returns its claims.
///
/// In order: the compact JWS and its `alg` (one of `v.algorithms`; never `none` or
/// HMAC); the signature, when `v.jwks` is given; then the claims:
/// 1. `iss` equals `v.issuer` exactly;
/// 2. `sub` is a string of 1-255 ASCII characters;
/// 3. `aud` (a string or an array of strings) contains `v.client_id`, and every other
///    audience is in `v.trusted_audiences`;
/// 4. with several audiences `azp` is required; when present it equals `v.client_id`;
/// 5. `exp` is after `now - leeway`;
/// 6. `iat` is present and not after `now + leeway`;
/// 7. `nbf`, when present, is a number and not after `now + leeway` (RFC 7519 §4.1.5);
/// 8. with `v.nonce`, `nonce` is present and equal;
/// 9. with `v.access_token` and an `at_hash` claim, `at_hash` is the left half of the
///    SHA-256 of the token (§3.1.3.6; ES256, RS256 and PS256: another `alg` with an
///    `at_hash` is `ID_TOKEN_CLAIM_INVALID`);
/// 10. with `v.max_age`, `auth_time` is present and `auth_time + max_age + leeway` is
///     not before `now`; `auth_time`, when present, is a number.
///
/// # Errors
///
/// The JWS errors of [`jws::decode`] (`JWS_MALFORMED`, `JWS_ALG_NOT_ALLOWED`, ...),
/// [`Error::JwsSignatureInvalid`], [`Error::IdTokenKeyNotFound`],
/// [`Error::IdTokenSignatureUnsupported`], [`Error::JwkInvalid`] for a malformed JWKS;
/// then one code per check: [`Error::IdTokenClaimInvalid`] (a missing or mistyped
/// claim, named), `ID_TOKEN_ISS_MISMATCH`, `ID_TOKEN_AUD_MISMATCH`,
/// `ID_TOKEN_AUD_UNTRUSTED`, `ID_TOKEN_AZP_MISSING`, `ID_TOKEN_AZP_MISMATCH`,
/// `ID_TOKEN_EXPIRED`, `ID_TOKEN_IAT_IN_FUTURE`, `ID_TOKEN_NOT_YET_VALID`,
/// `ID_TOKEN_NONCE_MISSING`, `ID_TOKEN_NONCE_MISMATCH`, `ID_TOKEN_AT_HASH_MISMATCH`,
/// `ID_TOKEN_AUTH_TIME_MISSING`, `ID_TOKEN_AUTH_TIME_TOO_OLD`.
///
/// ```
/// use edge_oauth::oidc::{IdTokenValidation, validate_id_token};
///
/// // OIDC Core Appendix A.3 (RS256; the signature is left to TLS or WebCrypto here).
/// let token = "eyJraWQiOiIxZTlnZGs3IiwiYWxnIjoiUlMyNTYifQ.ewogImlzcyI6ICJodHRwczovL3NlcnZlci5leGFtcGxlLmNvbSIsCiAic3ViIjogIjI0ODI4OTc2MTAwMSIsCiAiYXVkIjogInM2QmhkUmtxdDMiLAogIm5vbmNlIjogIm4tMFM2X1d6QTJNaiIsCiAiZXhwIjogMTMxMTI4MTk3MCwKICJpYXQiOiAxMzExMjgwOTcwLAogImF0X2hhc2giOiAiNzdRbVVQdGpQZnpXdEYyQW5wSzlSUSIKfQ.c2ln";
/// let v = IdTokenValidation {
///     nonce: Some("n-0S6_WzA2Mj"),
///     access_token: Some("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
///     ..IdTokenValidation::new("https://server.example.com", "s6BhdRkqt3", 1_311_281_000)
/// };
/// assert_eq!(validate_id_token(token, &v)?.sub, "248289761001");
///
/// let late = IdTokenValidation { now: 1_311_282_100, ..v };
/// assert_eq!(validate_id_token(token, &late).unwrap_err().code(), "ID_TOKEN_EXPIRED");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
pub fn validate_id_token(id_token: &str, v: &IdTokenValidation<'_>) -> Result<IdTokenClaims> {
    let decoded = jws::decode(id_token, v.algorithms)?;
    if decoded.alg().is_symmetric() {
        return Err(Error::JwsAlgNotAllowed);
    }
    let signature_verified = match v.jwks {
        #[cfg(not(all(feature = "wasm", not(feature = "wasm-p256"))))]
        Some(jwks) => {
            verify_with_jwks(&decoded, jwks)?;
            true
        }
        // The default npm entry carries no P-256 arithmetic: its JS layer verifies
        // through edge-oauth/p256 (verify_id_token_signature) or WebCrypto.
        #[cfg(all(feature = "wasm", not(feature = "wasm-p256")))]
        Some(_) => {
            return Err(Error::KeyBackendUnsupported(
                "an ID token is verified against a JWKS by edge-oauth/p256 (import init from \"edge-oauth/p256\" and await init() first) or by verifyIdToken (WebCrypto)",
            ));
        }
        None => false,
    };
    let claims = decoded
        .claims()
        .map_err(|_| Error::IdTokenClaimInvalid("the payload is not a JSON object"))?;

    match claims.get("iss") {
        None => return Err(Error::IdTokenClaimInvalid("iss is missing")),
        Some(Value::String(iss)) if iss == v.issuer => {}
        Some(Value::String(_)) => return Err(Error::IdTokenIssMismatch),
        Some(_) => return Err(Error::IdTokenClaimInvalid("iss must be a string")),
    }

    let sub = match claims.get("sub") {
        None => return Err(Error::IdTokenClaimInvalid("sub is missing")),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 && s.is_ascii() => s.clone(),
        Some(_) => {
            return Err(Error::IdTokenClaimInvalid(
                "sub must be a string of 1-255 ASCII characters",
            ));
        }
    };

    let audiences: Vec<&str> = match claims.get("aud") {
        None => return Err(Error::IdTokenClaimInvalid("aud is missing")),
        Some(Value::String(s)) => alloc::vec![s.as_str()],
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(item.as_str().ok_or(Error::IdTokenClaimInvalid(
                    "aud must be a string or a non-empty array of strings",
                ))?);
            }
            out
        }
        Some(_) => {
            return Err(Error::IdTokenClaimInvalid(
                "aud must be a string or a non-empty array of strings",
            ));
        }
    };
    if !audiences.contains(&v.client_id) {
        return Err(Error::IdTokenAudMismatch);
    }
    if audiences
        .iter()
        .any(|a| *a != v.client_id && !v.trusted_audiences.contains(a))
    {
        return Err(Error::IdTokenAudUntrusted);
    }
    match claims.get("azp") {
        None if audiences.len() > 1 => return Err(Error::IdTokenAzpMissing),
        None => {}
        Some(Value::String(azp)) if azp == v.client_id => {}
        Some(Value::String(_)) => return Err(Error::IdTokenAzpMismatch),
        Some(_) => return Err(Error::IdTokenClaimInvalid("azp must be a string")),
    }

    let now = i128::from(v.now);
    let leeway = i128::from(v.leeway);
    let exp = numeric_date(&claims, "exp", "exp must be a number")?
        .ok_or(Error::IdTokenClaimInvalid("exp is missing"))?;
    if i128::from(exp) + leeway <= now {
        return Err(Error::IdTokenExpired);
    }
    let iat = numeric_date(&claims, "iat", "iat must be a number")?
        .ok_or(Error::IdTokenClaimInvalid("iat is missing"))?;
    if i128::from(iat) > now + leeway {
        return Err(Error::IdTokenIatInFuture);
    }
    let nbf = numeric_date(&claims, "nbf", "nbf must be a number")?;
    if nbf.is_some_and(|nbf| i128::from(nbf) > now + leeway) {
        return Err(Error::IdTokenNotYetValid);
    }

    if let Some(expected) = v.nonce {
        match claims.get("nonce") {
            None => return Err(Error::IdTokenNonceMissing),
            Some(Value::String(n)) if ct_eq(n, expected) => {}
            Some(Value::String(_)) => return Err(Error::IdTokenNonceMismatch),
            Some(_) => return Err(Error::IdTokenClaimInvalid("nonce must be a string")),
        }
    }

    if let Some(access_token) = v.access_token {
        match claims.get("at_hash") {
            None => {}
            Some(Value::String(h)) => check_at_hash(h, access_token, decoded.alg())?,
            Some(_) => return Err(Error::IdTokenClaimInvalid("at_hash must be a string")),
        }
    }

    let auth_time = numeric_date(&claims, "auth_time", "auth_time must be a number")?;
    if let Some(max_age) = v.max_age {
        let auth_time = auth_time.ok_or(Error::IdTokenAuthTimeMissing)?;
        if i128::from(auth_time) + i128::from(max_age) + leeway < now {
            return Err(Error::IdTokenAuthTimeTooOld);
        }
    }

    Ok(IdTokenClaims {
        claims,
        sub,
        exp,
        iat,
        auth_time,
        alg: decoded.alg(),
        signature_verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base64url;
    use crate::jwk::EcPrivateJwk;
    use alloc::format;
    use alloc::string::ToString;

    const ISSUER: &str = "https://as.example/";

    fn metadata(extra: &str) -> String {
        format!(
            r#"{{"issuer":"https://as.example/","token_endpoint":"https://as.example/oauth/token","response_types_supported":["code"]{extra}}}"#
        )
    }

    #[test]
    fn rfc8414_3_3_issuer_must_be_identical() {
        assert!(ServerMetadata::parse(&metadata(""), ISSUER).is_ok());
        for expected in [
            "https://as.example",
            "https://AS.example/",
            "https://as.example/x",
        ] {
            assert_eq!(
                ServerMetadata::parse(&metadata(""), expected)
                    .unwrap_err()
                    .code(),
                "METADATA_ISSUER_MISMATCH",
                "{expected}"
            );
        }
    }

    #[test]
    fn rfc8414_2_expected_issuer_is_https_without_query() {
        assert_eq!(
            ServerMetadata::parse(&metadata(""), "http://as.example/")
                .unwrap_err()
                .code(),
            "URL_INSECURE"
        );
        assert_eq!(
            ServerMetadata::parse(&metadata(""), "https://as.example/?a=1")
                .unwrap_err()
                .code(),
            "URL_INVALID"
        );
    }

    #[test]
    fn rfc8414_2_all_members() {
        let m = ServerMetadata::parse(
            &metadata(
                r#","authorization_endpoint":"https://as.example/authorize","jwks_uri":"https://as.example/jwks",
                "userinfo_endpoint":"https://as.example/userinfo","revocation_endpoint":"https://as.example/revoke",
                "introspection_endpoint":"https://as.example/introspect","pushed_authorization_request_endpoint":"https://as.example/par",
                "end_session_endpoint":"https://as.example/logout","require_pushed_authorization_requests":true,
                "device_authorization_endpoint":"https://as.example/oauth/device/code",
                "authorization_response_iss_parameter_supported":true,"response_modes_supported":["query"],
                "grant_types_supported":["authorization_code","refresh_token"],"scopes_supported":["openid"],
                "code_challenge_methods_supported":["S256"],"token_endpoint_auth_methods_supported":["none"],
                "dpop_signing_alg_values_supported":["ES256"],"id_token_signing_alg_values_supported":["ES256"],"x":{"y":1}"#,
            ),
            ISSUER,
        )
        .unwrap();
        assert_eq!(
            m.pushed_authorization_request_endpoint.as_deref(),
            Some("https://as.example/par")
        );
        assert_eq!(
            m.end_session_endpoint.as_deref(),
            Some("https://as.example/logout")
        );
        assert_eq!(
            m.device_authorization_endpoint.as_deref(),
            Some("https://as.example/oauth/device/code")
        );
        assert!(m.require_pushed_authorization_requests);
        assert!(m.authorization_response_iss_parameter_supported);
        assert_eq!(
            m.grant_types_supported,
            ["authorization_code", "refresh_token"]
        );
        assert_eq!(m.id_token_signing_alg_values_supported, ["ES256"]);
    }

    #[test]
    fn rfc8414_2_members_are_strict() {
        let cases = [
            (
                r#","token_endpoint":"https://as.example/t""#,
                "a member is repeated",
            ),
            (
                r#","jwks_uri":5"#,
                "jwks_uri must be an absolute URL without a fragment",
            ),
            (
                r#","device_authorization_endpoint":["https://as.example/d"]"#,
                "device_authorization_endpoint must be an absolute URL without a fragment",
            ),
            (
                r#","userinfo_endpoint":"/userinfo""#,
                "userinfo_endpoint must be an absolute URL without a fragment",
            ),
            (
                r#","authorization_endpoint":"https://as.example/a#f""#,
                "authorization_endpoint must be an absolute URL without a fragment",
            ),
            (
                r#","scopes_supported":"openid""#,
                "scopes_supported must be an array of strings",
            ),
            (
                r#","grant_types_supported":["a",1]"#,
                "grant_types_supported must be an array of strings",
            ),
            (
                r#","authorization_response_iss_parameter_supported":"true""#,
                "authorization_response_iss_parameter_supported must be a boolean",
            ),
        ];
        for (extra, message) in cases {
            let e = ServerMetadata::parse(&metadata(extra), ISSUER).unwrap_err();
            assert_eq!(e.code(), "METADATA_INVALID", "{extra}");
            assert_eq!(e.to_string(), format!("invalid server metadata: {message}"));
        }
        let e = ServerMetadata::parse(
            r#"{"issuer":"https://as.example/","response_types_supported":["code"]}"#,
            ISSUER,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid server metadata: token_endpoint is missing"
        );
        let e = ServerMetadata::parse(
            r#"{"issuer":"https://as.example/","token_endpoint":"https://as.example/t"}"#,
            ISSUER,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid server metadata: response_types_supported is missing"
        );
        let e = ServerMetadata::parse(r#"{"token_endpoint":"https://as.example/t"}"#, ISSUER)
            .unwrap_err();
        assert_eq!(e.to_string(), "invalid server metadata: issuer is missing");
        let e = ServerMetadata::parse("[]", ISSUER).unwrap_err();
        assert_eq!(e.code(), "METADATA_INVALID");
    }

    #[test]
    fn rfc8414_2_endpoints_must_be_https() {
        let e = ServerMetadata::parse(
            &metadata(r#","revocation_endpoint":"http://as.example/revoke""#),
            ISSUER,
        )
        .unwrap_err();
        assert_eq!(e.code(), "URL_INSECURE");
        assert_eq!(
            e.to_string(),
            "insecure URL: revocation_endpoint must be https (http only for a loopback host)"
        );
        let local = r#"{"issuer":"http://127.0.0.1:8787/","token_endpoint":"http://127.0.0.1:8787/oauth/token","response_types_supported":["code"]}"#;
        assert!(ServerMetadata::parse(local, "http://127.0.0.1:8787/").is_ok());
    }

    // ----- ID tokens

    fn key() -> EcPrivateJwk {
        EcPrivateJwk::parse(
            r#"{"kty":"EC","crv":"P-256",
            "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
            "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#,
        )
        .unwrap()
    }

    const AT: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
    const AT_HASH: &str = "fUHyO2r2Z3DZ53EsNrWBbw";

    fn signed(claims: &str, kid: Option<&str>) -> String {
        let header = match kid {
            Some(k) => format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{k}"}}"#),
            None => r#"{"alg":"ES256","typ":"JWT"}"#.to_string(),
        };
        jws::sign_es256(&header, claims.as_bytes(), key().signing_key()).unwrap()
    }

    fn claims(extra: &str) -> String {
        format!(
            r#"{{"iss":"https://as.example/","sub":"auth0|1","aud":"spa","exp":1000,"iat":900,"nonce":"n-1","auth_time":800,"at_hash":"{AT_HASH}"{extra}}}"#
        )
    }

    fn check() -> IdTokenValidation<'static> {
        IdTokenValidation {
            nonce: Some("n-1"),
            access_token: Some(AT),
            ..IdTokenValidation::new(ISSUER, "spa", 950)
        }
    }

    fn code(token: &str, v: &IdTokenValidation<'_>) -> &'static str {
        validate_id_token(token, v).unwrap_err().code()
    }

    fn jwks(kid: &str) -> String {
        format!(
            r#"{{"keys":[{{"kty":"RSA","kid":"{kid}","n":"AQAB","e":"AQAB"}},{{"kty":"EC","crv":"P-256","kid":"{kid}","use":"sig","alg":"ES256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}}]}}"#
        )
    }

    #[test]
    fn oidc_core_3_1_3_7_valid_token() {
        let token = signed(&claims(""), None);
        let c = validate_id_token(&token, &check()).unwrap();
        assert_eq!(c.sub, "auth0|1");
        assert_eq!((c.exp, c.iat, c.auth_time), (1000, 900, Some(800)));
        assert_eq!(c.alg, Algorithm::Es256);
        assert!(!c.signature_verified);
    }

    #[test]
    fn oidc_core_3_1_3_7_iss_mismatch_and_missing() {
        let token = signed(
            &claims("").replace("https://as.example/", "https://as.example"),
            None,
        );
        assert_eq!(code(&token, &check()), "ID_TOKEN_ISS_MISMATCH");
        let token = signed(r#"{"sub":"x"}"#, None);
        assert_eq!(code(&token, &check()), "ID_TOKEN_CLAIM_INVALID");
    }

    #[test]
    fn oidc_core_3_1_3_7_aud_string_or_array() {
        let other = signed(
            &claims("").replace(r#""aud":"spa""#, r#""aud":"other""#),
            None,
        );
        assert_eq!(code(&other, &check()), "ID_TOKEN_AUD_MISMATCH");
        let single = signed(
            &claims("").replace(r#""aud":"spa""#, r#""aud":["spa"]"#),
            None,
        );
        assert!(validate_id_token(&single, &check()).is_ok());
        let empty = signed(&claims("").replace(r#""aud":"spa""#, r#""aud":[]"#), None);
        assert_eq!(code(&empty, &check()), "ID_TOKEN_CLAIM_INVALID");
    }

    #[test]
    fn oidc_core_3_1_3_7_several_audiences_need_trust_and_azp() {
        let two = claims("").replace(
            r#""aud":"spa""#,
            r#""aud":["spa","https://api.example.com"]"#,
        );
        let token = signed(&two, None);
        assert_eq!(code(&token, &check()), "ID_TOKEN_AUD_UNTRUSTED");
        let trusting = IdTokenValidation {
            trusted_audiences: &["https://api.example.com"],
            ..check()
        };
        assert_eq!(code(&token, &trusting), "ID_TOKEN_AZP_MISSING");
        let with_azp = signed(&two.replace(r#""iat""#, r#""azp":"spa","iat""#), None);
        assert!(validate_id_token(&with_azp, &trusting).is_ok());
        let wrong_azp = signed(&claims(r#","azp":"other""#), None);
        assert_eq!(code(&wrong_azp, &check()), "ID_TOKEN_AZP_MISMATCH");
    }

    #[test]
    fn oidc_core_3_1_3_7_exp_and_iat_with_leeway() {
        let token = signed(&claims(""), None);
        let at = |now| IdTokenValidation { now, ..check() };
        assert!(validate_id_token(&token, &at(1059)).is_ok());
        assert_eq!(code(&token, &at(1060)), "ID_TOKEN_EXPIRED");
        assert!(validate_id_token(&token, &at(840)).is_ok());
        assert_eq!(code(&token, &at(839)), "ID_TOKEN_IAT_IN_FUTURE");
        let no_exp = signed(&claims("").replace(r#""exp":1000,"#, ""), None);
        assert_eq!(
            validate_id_token(&no_exp, &check())
                .unwrap_err()
                .to_string(),
            "invalid ID token: exp is missing"
        );
        let text_iat = signed(&claims("").replace(r#""iat":900"#, r#""iat":"900""#), None);
        assert_eq!(
            validate_id_token(&text_iat, &check())
                .unwrap_err()
                .to_string(),
            "invalid ID token: iat must be a number"
        );
    }

    #[test]
    fn rfc7519_4_1_5_nbf_with_leeway_and_type() {
        let token = signed(&claims(r#","nbf":1010"#), None);
        let at = |now| IdTokenValidation { now, ..check() };
        assert!(validate_id_token(&token, &at(950)).is_ok());
        assert_eq!(code(&token, &at(949)), "ID_TOKEN_NOT_YET_VALID");
        assert_eq!(
            validate_id_token(&token, &at(949)).unwrap_err().to_string(),
            "ID token is not valid yet (nbf)"
        );
        let far = signed(&claims(r#","nbf":87350"#), None);
        assert_eq!(code(&far, &check()), "ID_TOKEN_NOT_YET_VALID");
        for bad in [r#""x""#, r#""900""#, "null", "true", "[900]", "{}"] {
            let token = signed(&claims(&format!(r#","nbf":{bad}"#)), None);
            assert_eq!(
                validate_id_token(&token, &check()).unwrap_err().to_string(),
                "invalid ID token: nbf must be a number",
                "{bad}"
            );
        }
    }

    #[test]
    fn oidc_core_3_1_3_7_nonce() {
        let token = signed(&claims(""), None);
        let other = IdTokenValidation {
            nonce: Some("n-2"),
            ..check()
        };
        assert_eq!(code(&token, &other), "ID_TOKEN_NONCE_MISMATCH");
        let no_nonce = signed(&claims("").replace(r#""nonce":"n-1","#, ""), None);
        assert_eq!(code(&no_nonce, &check()), "ID_TOKEN_NONCE_MISSING");
        let unchecked = IdTokenValidation {
            nonce: None,
            ..check()
        };
        assert!(validate_id_token(&no_nonce, &unchecked).is_ok());
    }

    #[test]
    fn oidc_core_3_1_3_6_at_hash() {
        let token = signed(&claims(""), None);
        let other = IdTokenValidation {
            access_token: Some("another-token"),
            ..check()
        };
        assert_eq!(code(&token, &other), "ID_TOKEN_AT_HASH_MISMATCH");
        // OPTIONAL in the code flow: absent is fine.
        let without = signed(
            &claims("").replace(&format!(r#","at_hash":"{AT_HASH}""#), ""),
            None,
        );
        assert!(validate_id_token(&without, &check()).is_ok());
    }

    #[test]
    fn oidc_core_3_1_3_6_at_hash_of_other_algorithms_is_not_accepted_unchecked() {
        let es384 = format!(
            "eyJhbGciOiJFUzM4NCJ9.{}.c2ln",
            base64url::encode(claims("").as_bytes())
        );
        let e = validate_id_token(&es384, &check()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid ID token: at_hash is checked for ES256, RS256 and PS256 only"
        );
        let no_token = IdTokenValidation {
            access_token: None,
            ..check()
        };
        assert!(validate_id_token(&es384, &no_token).is_ok());
    }

    #[test]
    fn oidc_core_3_1_2_1_max_age_and_auth_time() {
        let token = signed(&claims(""), None);
        let max_age = |m| IdTokenValidation {
            max_age: Some(m),
            ..check()
        };
        assert!(validate_id_token(&token, &max_age(90)).is_ok());
        assert_eq!(code(&token, &max_age(89)), "ID_TOKEN_AUTH_TIME_TOO_OLD");
        let without = signed(&claims("").replace(r#","auth_time":800"#, ""), None);
        assert_eq!(code(&without, &max_age(1000)), "ID_TOKEN_AUTH_TIME_MISSING");
        assert!(validate_id_token(&without, &check()).is_ok());
    }

    #[test]
    fn oidc_core_2_sub_syntax() {
        let long = "a".repeat(256);
        let token = signed(&claims("").replace("auth0|1", &long), None);
        assert_eq!(code(&token, &check()), "ID_TOKEN_CLAIM_INVALID");
    }

    #[test]
    fn oidc_core_3_1_3_7_alg_none_and_hmac_are_refused() {
        let payload = base64url::encode(claims("").as_bytes());
        let none = format!("eyJhbGciOiJub25lIn0.{payload}.");
        assert_eq!(code(&none, &check()), "JWS_ALG_NOT_ALLOWED");
        let hs = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln");
        assert_eq!(code(&hs, &check()), "JWS_ALG_NOT_ALLOWED");
        let allow_hs = IdTokenValidation {
            algorithms: &[Algorithm::Hs256],
            ..check()
        };
        assert_eq!(code(&hs, &allow_hs), "JWS_ALG_NOT_ALLOWED");
    }

    #[test]
    fn oidc_core_3_1_3_7_signature_against_the_jwks() {
        let token = signed(&claims(""), Some("k1"));
        let with_jwks = |j: &'static str| IdTokenValidation {
            jwks: Some(j),
            ..check()
        };
        let good: &'static str = alloc::boxed::Box::leak(jwks("k1").into_boxed_str());
        let c = validate_id_token(&token, &with_jwks(good)).unwrap();
        assert!(c.signature_verified);
        let other_kid: &'static str = alloc::boxed::Box::leak(jwks("k2").into_boxed_str());
        assert_eq!(
            code(&token, &with_jwks(other_kid)),
            "ID_TOKEN_KEY_NOT_FOUND"
        );
        // Tamper with the payload: the signature no longer verifies.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = base64url::encode(claims("").replace("auth0|1", "auth0|2").as_bytes());
        parts[1] = &forged;
        let forged = parts.join(".");
        assert_eq!(code(&forged, &with_jwks(good)), "JWS_SIGNATURE_INVALID");
        assert_eq!(code(&token, &with_jwks("[]")), "JWK_INVALID");
        // RS256 cannot be verified here.
        let rs = format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
            base64url::encode(claims("").as_bytes())
        );
        assert_eq!(
            code(&rs, &with_jwks(good)),
            "ID_TOKEN_SIGNATURE_UNSUPPORTED"
        );
    }
}
