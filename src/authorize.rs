//! The redirect leg of the authorization code flow: the authorization request URL
//! (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707, RFC 9449 §10, OIDC Core §3.1.2.1, Auth0's
//! `audience` and `organization`), pushed authorization requests (RFC 9126), and the
//! authorization response the browser is redirected back with (RFC 6749 §4.1.2,
//! §4.1.2.1, RFC 9207).
//!
//! The code reads in protocol order: [`AuthorizationRequest`] builds the URL to send the
//! browser to (or the PAR body, [`AuthorizationRequest::to_par_body`], and then
//! [`parse_par_response`] and [`authorization_url_from_request_uri`]); after the
//! redirect, [`parse_authorization_response`] checks `iss` and `state` and returns the
//! code, or the server's error as [`Error::AuthorizationError`].
//!
//! ```
//! use edge_oauth::authorize::{AuthorizationRequest, ResponseCheck, parse_authorization_response};
//!
//! let url = AuthorizationRequest {
//!     scope: Some("openid offline_access"),
//!     state: Some("af0ifjsldkj"),
//!     ..AuthorizationRequest::new(
//!         "https://auth.example.com/authorize",
//!         "s6BhdRkqt3",
//!         "https://client.example.org/cb",
//!         "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
//!     )
//! }
//! .to_url()?;
//! assert!(url.starts_with("https://auth.example.com/authorize?response_type=code&client_id=s6BhdRkqt3"));
//!
//! // The browser comes back to the redirect URI:
//! let back = "https://client.example.org/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj&iss=https%3A%2F%2Fauth.example.com%2F";
//! let check = ResponseCheck {
//!     issuer: Some("https://auth.example.com/"),
//!     iss_parameter_supported: true,
//!     ..ResponseCheck::new(Some("af0ifjsldkj"))
//! };
//! let response = parse_authorization_response(back, &check)?;
//! assert_eq!(response.code.as_str(), "SplxlOBeZQQYbYS6WxSbIA");
//! # Ok::<(), edge_oauth::Error>(())
//! ```

use alloc::{string::String, vec::Vec};

use subtle::ConstantTimeEq;

use crate::dpop::normalize_htu;
use crate::error::{Error, Result};
use crate::json::{self, Value};
use crate::token::AuthorizationCode;
use crate::token::request::{
    FormParams, decode_component, encode_form, is_absolute_uri_without_fragment, is_nqchar,
    is_scope, is_vschar_str,
};
use crate::token::response::parse_error_response;

// ----- URLs -------------------------------------------------------------------------------

/// Checks that `url` is an absolute `https` URL without a fragment, or `http` with a
/// loopback host (`localhost`, `127.0.0.0/8`, `[::1]`) for local development. `what`
/// names the URL in the error.
///
/// # Errors
///
/// - [`Error::UrlInvalid`] if it is not an absolute http(s) URL (see
///   [`normalize_htu`]) or has a fragment;
/// - [`Error::UrlInsecure`] for `http` with another host.
///
/// ```
/// use edge_oauth::authorize::check_secure_url;
///
/// assert!(check_secure_url("https://auth.example.com/authorize?x=1", "url").is_ok());
/// assert!(check_secure_url("http://127.0.0.1:8787/authorize", "url").is_ok());
/// assert!(check_secure_url("http://localhost/authorize", "url").is_ok());
/// assert_eq!(check_secure_url("http://auth.example.com/", "url").unwrap_err().code(), "URL_INSECURE");
/// assert_eq!(check_secure_url("https://a.example/#x", "url").unwrap_err().code(), "URL_INVALID");
/// ```
pub fn check_secure_url(url: &str, what: &'static str) -> Result<()> {
    // RFC 3986 §2 has no place for them, and a browser's URL parser drops tabs and line
    // breaks wherever they are: `st%09ate` is no `state` here, `st\tate` is one there.
    if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(Error::UrlInvalid(
            "the URL must not contain spaces or control characters",
        ));
    }
    if url.contains('#') {
        return Err(Error::UrlInvalid("the URL must not have a fragment"));
    }
    let normalized = normalize_htu(url)?;
    if normalized.starts_with("https://") {
        return Ok(());
    }
    // normalize_htu yields `http://host[:port]/path` otherwise.
    let authority = normalized
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    let host = if authority.starts_with('[') {
        authority.split(']').next().map_or("", |h| h) // "[::1"
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    let loopback = host == "localhost"
        || host == "[::1"
        || (host.starts_with("127.")
            && host.split('.').count() == 4
            && host
                .split('.')
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit())));
    if loopback {
        Ok(())
    } else {
        Err(Error::UrlInsecure(what))
    }
}

/// `base` with `query` appended: after `?`, or after `&` when `base` has a query already
/// (RFC 6749 §3.1: the endpoint's own query "MUST be retained").
fn append_query(base: &str, query: &str) -> String {
    let mut out = String::with_capacity(base.len() + 1 + query.len());
    out.push_str(base);
    if !base.contains('?') {
        out.push('?');
    } else if !base.ends_with('?') && !base.ends_with('&') {
        out.push('&');
    }
    out.push_str(query);
    out
}

/// Refuses an endpoint whose own query already names one of `names`, whatever its
/// value (`name=v`, `name=` or a bare `name`): the request would then repeat it
/// (§3.1: "Request and response parameters MUST NOT be included more than once").
fn check_endpoint_query(endpoint: &str, names: &[&str]) -> Result<()> {
    let Some((_, query)) = endpoint.split_once('?') else {
        return Ok(());
    };
    let not_a_form =
        || Error::UrlInvalid("the authorization_endpoint query is not a valid form encoding");
    // Escapes, UTF-8 and repeated names.
    FormParams::parse(query.as_bytes()).map_err(|_| not_a_form())?;
    for pair in query.split('&') {
        let raw_name = pair.split_once('=').map_or(pair, |(name, _)| name);
        let name = decode_component(raw_name.as_bytes()).map_err(|_| not_a_form())?;
        if names.contains(&name.as_str()) {
            return Err(Error::RequestParameterInvalid(
                "authorization_endpoint already has a parameter of the request in its query",
            ));
        }
    }
    Ok(())
}

// ----- the authorization request ----------------------------------------------------------

/// An authorization request of the code flow with PKCE S256 (RFC 6749 §4.1.1, RFC 7636
/// §4.3), as a URL for the browser ([`to_url`](Self::to_url)) or as the body of a pushed
/// authorization request ([`to_par_body`](Self::to_par_body), RFC 9126 §2.1).
///
/// Parameters are written in this order, absent ones left out: `response_type=code`,
/// `client_id`, `redirect_uri`, `scope`, `state`, `nonce`, `code_challenge`,
/// `code_challenge_method=S256`, `audience`, `organization`, `resource` (once per value,
/// RFC 8707 §2), `dpop_jkt`, `prompt`, `max_age`, `login_hint`, `response_mode`. An empty
/// optional value counts as absent (RFC 6749 §3.1).
///
/// ```
/// use edge_oauth::authorize::AuthorizationRequest;
///
/// let request = AuthorizationRequest {
///     scope: Some("openid read:items"),
///     state: Some("xyz"),
///     audience: Some("https://api.example.com"),
///     dpop_jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
///     ..AuthorizationRequest::new(
///         "https://auth.example.com/authorize",
///         "s6BhdRkqt3",
///         "https://client.example.com/cb",
///         "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
///     )
/// };
/// assert_eq!(
///     request.to_url()?,
///     "https://auth.example.com/authorize?response_type=code&client_id=s6BhdRkqt3\
///      &redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&scope=openid+read%3Aitems&state=xyz\
///      &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256\
///      &audience=https%3A%2F%2Fapi.example.com&dpop_jkt=0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
/// );
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthorizationRequest<'a> {
    /// The authorization endpoint: https (http only on a loopback host), no fragment. It
    /// may have a query, which is kept. Not used by [`to_par_body`](Self::to_par_body).
    pub authorization_endpoint: &'a str,
    /// The client identifier (required, `1*VSCHAR`).
    pub client_id: &'a str,
    /// The redirection URI (required, absolute, no fragment).
    pub redirect_uri: &'a str,
    /// The S256 `code_challenge` (required, 43 base64url characters).
    pub code_challenge: &'a str,
    /// The requested scope (NQCHAR tokens separated by single spaces).
    pub scope: Option<&'a str>,
    /// The CSRF `state` (`1*VSCHAR`), checked again by [`parse_authorization_response`].
    pub state: Option<&'a str>,
    /// The OIDC `nonce` (`1*VSCHAR`), checked again in the ID token.
    pub nonce: Option<&'a str>,
    /// Auth0's `audience`: the API the access token is for (`1*VSCHAR`).
    pub audience: Option<&'a str>,
    /// Auth0's `organization` id or name (`1*VSCHAR`).
    pub organization: Option<&'a str>,
    /// RFC 8707 resource indicators: absolute URIs without a fragment.
    pub resource: &'a [&'a str],
    /// The JWK thumbprint of the DPoP key the code is bound to (RFC 9449 §10): 43
    /// base64url characters.
    pub dpop_jkt: Option<&'a str>,
    /// OIDC `prompt`: space-separated values; `none` only on its own.
    pub prompt: Option<&'a str>,
    /// OIDC `max_age` in seconds; the ID token must then carry `auth_time`.
    pub max_age: Option<u64>,
    /// OIDC `login_hint`.
    pub login_hint: Option<&'a str>,
    /// `query` or `fragment` (the two an SPA can read with
    /// [`parse_authorization_response`]).
    pub response_mode: Option<&'a str>,
}

/// The parameter names an authorization request may carry, for the endpoint check.
const REQUEST_PARAMETERS: [&str; 17] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "audience",
    "organization",
    "resource",
    "dpop_jkt",
    "prompt",
    "max_age",
    "login_hint",
    "response_mode",
    "request_uri",
];

fn optional(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

fn vschar<'a>(value: Option<&'a str>, message: &'static str) -> Result<Option<&'a str>> {
    match optional(value) {
        Some(v) if !is_vschar_str(v) => Err(Error::RequestParameterInvalid(message)),
        other => Ok(other),
    }
}

fn required<'a>(value: &'a str, name: &'static str) -> Result<&'a str> {
    if value.is_empty() {
        Err(Error::RequestParameterMissing(name))
    } else {
        Ok(value)
    }
}

impl<'a> AuthorizationRequest<'a> {
    /// A request with the four required values and nothing else.
    ///
    /// ```
    /// use edge_oauth::authorize::AuthorizationRequest;
    ///
    /// let r = AuthorizationRequest::new("https://a.example/authorize", "c", "https://app.example/", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    /// assert_eq!(r.scope, None);
    /// assert!(r.resource.is_empty());
    /// ```
    #[must_use]
    pub fn new(
        authorization_endpoint: &'a str,
        client_id: &'a str,
        redirect_uri: &'a str,
        code_challenge: &'a str,
    ) -> Self {
        AuthorizationRequest {
            authorization_endpoint,
            client_id,
            redirect_uri,
            code_challenge,
            ..AuthorizationRequest::default()
        }
    }

    /// Validates every parameter and encodes them as a form (the query of the URL, or
    /// the PAR body).
    fn encode(&self) -> Result<String> {
        let client_id = required(self.client_id, "client_id")?;
        if !is_vschar_str(client_id) {
            return Err(Error::RequestParameterInvalid(
                "client_id must only contain visible ASCII (VSCHAR)",
            ));
        }
        let redirect_uri = required(self.redirect_uri, "redirect_uri")?;
        if !is_absolute_uri_without_fragment(redirect_uri) {
            return Err(Error::RequestParameterInvalid(
                "redirect_uri must be an absolute URI without a fragment",
            ));
        }
        let code_challenge = required(self.code_challenge, "code_challenge")?;
        crate::pkce::CodeChallenge::parse(code_challenge, crate::pkce::CodeChallengeMethod::S256)?;
        let scope = match optional(self.scope) {
            Some(s) if !is_scope(s) => {
                return Err(Error::RequestParameterInvalid(
                    "scope must be NQCHAR tokens separated by single spaces",
                ));
            }
            other => other,
        };
        let state = vschar(self.state, "state must only contain visible ASCII (VSCHAR)")?;
        let nonce = vschar(self.nonce, "nonce must only contain visible ASCII (VSCHAR)")?;
        let audience = vschar(
            self.audience,
            "audience must only contain visible ASCII (VSCHAR)",
        )?;
        let organization = vschar(
            self.organization,
            "organization must only contain visible ASCII (VSCHAR)",
        )?;
        for r in self.resource {
            if !is_absolute_uri_without_fragment(r) {
                return Err(Error::RequestParameterInvalid(
                    "resource must be an absolute URI without a fragment (RFC 8707 §2)",
                ));
            }
        }
        let dpop_jkt = optional(self.dpop_jkt);
        if dpop_jkt.is_some_and(|jkt| crate::base64url::decode_array::<32>(jkt).is_err()) {
            return Err(Error::RequestParameterInvalid(
                "dpop_jkt must be a base64url SHA-256 JWK thumbprint (43 characters)",
            ));
        }
        let prompt = optional(self.prompt);
        if let Some(p) = prompt {
            if !is_scope(p) {
                return Err(Error::RequestParameterInvalid(
                    "prompt must be NQCHAR values separated by single spaces",
                ));
            }
            if p.split(' ').any(|v| v == "none") && p.contains(' ') {
                return Err(Error::RequestParameterInvalid(
                    "prompt none must not be combined with other values (OIDC Core §3.1.2.1)",
                ));
            }
        }
        let max_age = self.max_age.map(|n| {
            let mut digits = String::new();
            crate::json::write_u64(&mut digits, n);
            digits
        });
        let login_hint = optional(self.login_hint);
        let response_mode = optional(self.response_mode);
        if response_mode.is_some_and(|mode| mode != "query" && mode != "fragment") {
            return Err(Error::RequestParameterInvalid(
                "response_mode must be query or fragment",
            ));
        }

        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(16 + self.resource.len());
        pairs.push(("response_type", "code"));
        pairs.push(("client_id", client_id));
        pairs.push(("redirect_uri", redirect_uri));
        let optional_pairs = [
            ("scope", scope),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", Some(code_challenge)),
            ("code_challenge_method", Some("S256")),
            ("audience", audience),
            ("organization", organization),
        ];
        pairs.extend(
            optional_pairs
                .iter()
                .filter_map(|&(n, v)| v.map(|v| (n, v))),
        );
        pairs.extend(self.resource.iter().map(|&r| ("resource", r)));
        let tail = [
            ("dpop_jkt", dpop_jkt),
            ("prompt", prompt),
            ("max_age", max_age.as_deref()),
            ("login_hint", login_hint),
            ("response_mode", response_mode),
        ];
        pairs.extend(tail.iter().filter_map(|&(n, v)| v.map(|v| (n, v))));
        Ok(encode_form(pairs))
    }

    /// The URL to send the browser to.
    ///
    /// # Errors
    ///
    /// - [`Error::UrlInvalid`] / [`Error::UrlInsecure`] for the authorization endpoint
    ///   (see [`check_secure_url`]); [`Error::RequestParameterInvalid`] if its query
    ///   already names a parameter of the request, with a value, an empty one or none;
    /// - [`Error::RequestParameterMissing`] naming `client_id`, `redirect_uri` or
    ///   `code_challenge` when it is empty;
    /// - [`Error::RequestParameterInvalid`] naming the value outside its syntax;
    /// - [`Error::PkceChallengeInvalid`] for a `code_challenge` that is not 43 base64url
    ///   characters.
    ///
    /// ```
    /// use edge_oauth::authorize::AuthorizationRequest;
    ///
    /// let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    /// let insecure = AuthorizationRequest::new("http://auth.example.com/authorize", "c", "https://app.example/", challenge);
    /// assert_eq!(insecure.to_url().unwrap_err().code(), "URL_INSECURE");
    ///
    /// let prompt = AuthorizationRequest { prompt: Some("none login"), ..AuthorizationRequest::new("https://a.example/authorize", "c", "https://app.example/", challenge) };
    /// assert_eq!(prompt.to_url().unwrap_err().code(), "REQUEST_PARAMETER_INVALID");
    ///
    /// let kept = AuthorizationRequest::new("https://a.example/authorize?tenant=t1", "c", "https://app.example/", challenge);
    /// assert!(kept.to_url()?.starts_with("https://a.example/authorize?tenant=t1&response_type=code&"));
    /// # Ok::<(), edge_oauth::Error>(())
    /// ```
    pub fn to_url(&self) -> Result<String> {
        check_secure_url(self.authorization_endpoint, "authorization_endpoint")?;
        check_endpoint_query(self.authorization_endpoint, &REQUEST_PARAMETERS)?;
        Ok(append_query(self.authorization_endpoint, &self.encode()?))
    }

    /// The `application/x-www-form-urlencoded` body of a pushed authorization request
    /// (RFC 9126 §2.1): the same parameters as the URL. Client authentication, if the
    /// client has any, is added by the caller (a Basic header, or `client_id` alone for
    /// a public client, which is already in the body). `authorization_endpoint` is not
    /// used.
    ///
    /// # Errors
    ///
    /// As [`to_url`](Self::to_url), without the endpoint checks.
    ///
    /// ```
    /// use edge_oauth::authorize::AuthorizationRequest;
    ///
    /// let body = AuthorizationRequest { state: Some("s"), ..AuthorizationRequest::new("", "c", "https://app.example/", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") }
    ///     .to_par_body()?;
    /// assert_eq!(body, "response_type=code&client_id=c&redirect_uri=https%3A%2F%2Fapp.example%2F&state=s\
    ///     &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256");
    /// # Ok::<(), edge_oauth::Error>(())
    /// ```
    pub fn to_par_body(&self) -> Result<String> {
        self.encode()
    }
}

/// The authorization URL after a pushed authorization request: `client_id` and
/// `request_uri` only (RFC 9126 §4).
///
/// # Errors
///
/// - [`Error::UrlInvalid`] / [`Error::UrlInsecure`] for the endpoint;
///   [`Error::RequestParameterInvalid`] if its query names `client_id`, `request_uri`
///   or another authorization request parameter, with a value, an empty one or none;
/// - [`Error::RequestParameterMissing`] for an empty `client_id` or `request_uri`;
/// - [`Error::RequestParameterInvalid`] for a `client_id` that is not VSCHAR or a
///   `request_uri` that is not an absolute URI.
///
/// ```
/// use edge_oauth::authorize::authorization_url_from_request_uri;
///
/// let url = authorization_url_from_request_uri(
///     "https://as.example.com/authorize",
///     "s6BhdRkqt3",
///     "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c",
/// )?;
/// assert_eq!(url, "https://as.example.com/authorize?client_id=s6BhdRkqt3\
///     &request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A6esc_11ACC5bwc014ltc14eY22c");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
pub fn authorization_url_from_request_uri(
    authorization_endpoint: &str,
    client_id: &str,
    request_uri: &str,
) -> Result<String> {
    check_secure_url(authorization_endpoint, "authorization_endpoint")?;
    check_endpoint_query(authorization_endpoint, &REQUEST_PARAMETERS)?;
    let client_id = required(client_id, "client_id")?;
    if !is_vschar_str(client_id) {
        return Err(Error::RequestParameterInvalid(
            "client_id must only contain visible ASCII (VSCHAR)",
        ));
    }
    let request_uri = required(request_uri, "request_uri")?;
    if !is_absolute_uri_without_fragment(request_uri) {
        return Err(Error::RequestParameterInvalid(
            "request_uri must be an absolute URI",
        ));
    }
    Ok(append_query(
        authorization_endpoint,
        &encode_form([("client_id", client_id), ("request_uri", request_uri)]),
    ))
}

// ----- the pushed authorization response -------------------------------------------------

/// A successful pushed authorization response (RFC 9126 §2.2).
///
/// ```
/// use edge_oauth::authorize::parse_par_response;
///
/// let r = parse_par_response(201, r#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#)?;
/// assert_eq!(r.expires_in, 60);
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedAuthorizationResponse {
    /// The `request_uri` to send the browser with.
    pub request_uri: String,
    /// Its lifetime in seconds.
    pub expires_in: u64,
}

/// Parses the response of a pushed authorization request (RFC 9126 §2.2, §2.3).
///
/// Success is status `201` with a JSON object whose `request_uri` is a non-empty string
/// (an absolute URI) and whose `expires_in` is a positive integer; both are required.
/// Other members are ignored; a repeated member is refused. Any other status is read as
/// an RFC 6749 §5.2 error.
///
/// # Errors
///
/// - [`Error::OAuth`] for an error response (any status but 201 with an `error`);
/// - [`Error::ParResponseInvalid`] naming the problem: `unexpected HTTP status` (no
///   `error` member), a body that is not a JSON object, a repeated member,
///   `request_uri` or `expires_in` missing or of the wrong type.
///
/// ```
/// use edge_oauth::{authorize::parse_par_response, Error};
///
/// let err = parse_par_response(400, r#"{"error":"invalid_request","error_description":"bad"}"#).unwrap_err();
/// assert!(matches!(&err, Error::OAuth(e) if e.error == "invalid_request" && e.status == 400));
///
/// let err = parse_par_response(201, r#"{"request_uri":"urn:x:1","expires_in":"60"}"#).unwrap_err();
/// assert_eq!(err.to_string(), "invalid pushed authorization response: expires_in must be a positive integer");
/// ```
pub fn parse_par_response(status: u16, body: &str) -> Result<PushedAuthorizationResponse> {
    if status != 201 {
        return Err(match parse_error_response(status, body, None) {
            Ok(e) => Error::OAuth(e),
            Err(_) => Error::ParResponseInvalid("unexpected HTTP status (201 or an error)"),
        });
    }
    let object = match json::parse(body.as_bytes()) {
        Ok(Value::Object(o)) => o,
        Err(e) if e.is_duplicate() => {
            return Err(Error::ParResponseInvalid("a member is repeated"));
        }
        _ => return Err(Error::ParResponseInvalid("the body is not a JSON object")),
    };
    let request_uri = match object.get("request_uri") {
        None => return Err(Error::ParResponseInvalid("request_uri is missing")),
        Some(Value::String(s)) if is_absolute_uri_without_fragment(s) => s.clone(),
        Some(_) => {
            return Err(Error::ParResponseInvalid(
                "request_uri must be a string holding an absolute URI",
            ));
        }
    };
    let expires_in = match object.get("expires_in") {
        None => return Err(Error::ParResponseInvalid("expires_in is missing")),
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => n,
            _ => {
                return Err(Error::ParResponseInvalid(
                    "expires_in must be a positive integer",
                ));
            }
        },
    };
    Ok(PushedAuthorizationResponse {
        request_uri,
        expires_in,
    })
}

// ----- the authorization response ---------------------------------------------------------

/// An error redirect from the authorization endpoint (RFC 6749 §4.1.2.1), carried by
/// [`Error::AuthorizationError`].
///
/// ```
/// use edge_oauth::authorize::{ResponseCheck, parse_authorization_response};
/// use edge_oauth::Error;
///
/// let url = "https://app.example/cb?error=access_denied&error_description=User+cancelled&state=s";
/// let err = parse_authorization_response(url, &ResponseCheck::new(Some("s"))).unwrap_err();
/// let Error::AuthorizationError(e) = &err else { panic!() };
/// assert_eq!(e.error, "access_denied");
/// assert_eq!(e.error_description.as_deref(), Some("User cancelled"));
/// assert_eq!(err.code(), "AUTHORIZATION_ERROR");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationError {
    /// The `error` code (`access_denied`, `login_required`, ...).
    pub error: String,
    /// The `error_description`, if any.
    pub error_description: Option<String>,
    /// The `error_uri`, if any.
    pub error_uri: Option<String>,
}

/// A successful authorization response (RFC 6749 §4.1.2).
///
/// ```
/// use edge_oauth::authorize::{ResponseCheck, parse_authorization_response};
///
/// let r = parse_authorization_response("https://app.example/cb?code=abc&state=s", &ResponseCheck::new(Some("s")))?;
/// assert_eq!((r.code.as_str(), r.state.as_deref(), r.iss), ("abc", Some("s"), None));
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationResponse {
    /// The authorization code, for the token request.
    pub code: AuthorizationCode,
    /// The `state`, equal to the expected one.
    pub state: Option<String>,
    /// The `iss`, equal to the expected issuer, when the server sent it.
    pub iss: Option<String>,
}

/// Where the authorization server puts the response parameters: the `response_mode` of
/// the request (OAuth 2.0 Multiple Response Type Encoding Practices §2.1).
///
/// ```
/// use edge_oauth::authorize::{ResponseCheck, ResponseMode, parse_authorization_response};
///
/// let check = ResponseCheck { response_mode: Some(ResponseMode::Fragment), ..ResponseCheck::new(Some("s")) };
/// let r = parse_authorization_response("https://app.example/cb?tenant=a#code=c&state=s", &check)?;
/// assert_eq!(r.code.as_str(), "c");
/// let err = parse_authorization_response("https://app.example/cb?code=c&state=s", &check).unwrap_err();
/// assert_eq!(err.code(), "AUTHORIZATION_RESPONSE_MODE_MISMATCH");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// The query of the redirect URI (`response_mode=query`, the default for `code`).
    Query,
    /// The fragment (`response_mode=fragment`).
    Fragment,
}

/// What [`parse_authorization_response`] checks the response against.
///
/// ```
/// use edge_oauth::authorize::ResponseCheck;
///
/// let check = ResponseCheck { issuer: Some("https://auth.example.com/"), ..ResponseCheck::new(Some("s")) };
/// assert!(!check.iss_parameter_supported);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseCheck<'a> {
    /// The `state` sent with the request (`None` if none was sent: a returned `state`
    /// is then refused).
    pub state: Option<&'a str>,
    /// The issuer identifier of the server the request went to. Needed whenever `iss`
    /// can be checked: when the response carries one, or when the server advertises
    /// it.
    pub issuer: Option<&'a str>,
    /// The server's metadata says `authorization_response_iss_parameter_supported`:
    /// `iss` is then required (RFC 9207 §2.4).
    pub iss_parameter_supported: bool,
    /// Where the response must be. `None`: in the fragment when the fragment carries a
    /// response parameter (`code`, `state`, `error`, `iss`), in the query otherwise.
    pub response_mode: Option<ResponseMode>,
}

impl<'a> ResponseCheck<'a> {
    /// A check of `state` only; set `issuer` (and `iss_parameter_supported`) to check
    /// `iss` too.
    ///
    /// ```
    /// assert_eq!(edge_oauth::authorize::ResponseCheck::new(None).issuer, None);
    /// ```
    #[must_use]
    pub fn new(state: Option<&'a str>) -> Self {
        ResponseCheck {
            state,
            issuer: None,
            iss_parameter_supported: false,
            response_mode: None,
        }
    }
}

/// `error` and `error_description` characters: `%x20-21 / %x23-5B / %x5D-7E`
/// (RFC 6749 §4.1.2.1).
fn is_error_text(s: &str) -> bool {
    s.bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

/// The parameters that make a query or a fragment an authorization response.
const RESPONSE_PARAMETERS: [&str; 4] = ["code", "state", "error", "iss"];

/// Whether a query or fragment names a response parameter, with a value or without
/// (the names decoded as [`FormParams`] decodes them).
fn has_response_parameter(component: &str) -> bool {
    component.as_bytes().split(|&b| b == b'&').any(|pair| {
        let name = pair.split(|&b| b == b'=').next().unwrap_or_default();
        decode_component(name).is_ok_and(|name| RESPONSE_PARAMETERS.contains(&name.as_str()))
    })
}

/// The parameters of a redirect URL: those of the fragment when `mode` says so or, with
/// no mode, when the fragment has a response parameter; those of the query otherwise.
/// Response parameters in the part not read fail: in both parts the response is
/// ambiguous, in the other part alone it is not where `mode` says.
fn response_params(url: &str, mode: Option<ResponseMode>) -> Result<FormParams> {
    let (before_fragment, fragment) = url.split_once('#').unwrap_or((url, ""));
    if !is_absolute_uri_without_fragment(before_fragment) {
        return Err(Error::AuthorizationResponseInvalid(
            "the redirect URL is not an absolute URL",
        ));
    }
    let query = before_fragment.split_once('?').map_or("", |(_, q)| q);
    let in_query = has_response_parameter(query);
    let in_fragment = has_response_parameter(fragment);
    if in_query && in_fragment {
        return Err(Error::AuthorizationResponseAmbiguous);
    }
    let from_fragment = match mode {
        None => in_fragment,
        Some(mode) => mode == ResponseMode::Fragment,
    };
    let raw = match (from_fragment, in_query, in_fragment) {
        (true, true, _) => {
            return Err(Error::AuthorizationResponseModeMismatch(
                "query, not the fragment",
            ));
        }
        (false, _, true) => {
            return Err(Error::AuthorizationResponseModeMismatch(
                "fragment, not the query",
            ));
        }
        (true, ..) => fragment,
        (false, ..) => query,
    };
    FormParams::parse(raw.as_bytes()).map_err(|e| match e {
        Error::FormDuplicateParameter(name) => Error::AuthorizationResponseParameterRepeated(name),
        Error::FormUtf8Invalid => {
            Error::AuthorizationResponseInvalid("a parameter does not decode to UTF-8")
        }
        _ => Error::AuthorizationResponseInvalid("a parameter has a malformed percent-escape"),
    })
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Parses and checks the URL the browser was redirected to after the authorization
/// request (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 §2.4).
///
/// In order:
/// 1. the parameters are read strictly from the fragment when `check.response_mode` is
///    [`ResponseMode::Fragment`] or, without a mode, when the fragment has a response
///    parameter (`code`, `state`, `error` or `iss`), and from the query otherwise (a
///    redirect URI may have a query of its own, RFC 6749 §3.1.2): a repeated parameter,
///    a malformed escape or bad UTF-8 fails. Response parameters in both the query and
///    the fragment fail (which one is the response is ambiguous), and so do response
///    parameters only in the part the mode does not name;
/// 2. `iss`: when present it must equal `check.issuer` exactly; when the server
///    advertises `authorization_response_iss_parameter_supported` it must be present.
///    This comes first so that an error from a mixed-up server is not believed;
/// 3. `state` must equal the one sent (or be absent if none was sent);
/// 4. an `error` becomes [`Error::AuthorizationError`];
/// 5. `code` must be present and `1*VSCHAR`.
///
/// # Errors
///
/// - [`Error::AuthorizationResponseInvalid`] for a URL that is not absolute, bad
///   encoding, or an `error` / `code` outside its syntax;
/// - [`Error::AuthorizationResponseParameterRepeated`] naming the parameter;
/// - [`Error::AuthorizationResponseAmbiguous`] for response parameters in both the query
///   and the fragment;
/// - [`Error::AuthorizationResponseModeMismatch`] for response parameters only in the part
///   of the URL `check.response_mode` does not name;
/// - [`Error::AuthorizationResponseIssMissing`] / [`Error::AuthorizationResponseIssMismatch`];
/// - [`Error::AuthorizationResponseStateMissing`] / [`Error::AuthorizationResponseStateMismatch`]
///   / [`Error::AuthorizationResponseStateUnexpected`];
/// - [`Error::AuthorizationError`] for an error redirect;
/// - [`Error::AuthorizationResponseCodeMissing`] for a response with neither;
/// - [`Error::ArgumentInvalid`] when `iss` must be checked and `check.issuer` is `None`.
///
/// ```
/// use edge_oauth::authorize::{ResponseCheck, parse_authorization_response};
///
/// let check = ResponseCheck { issuer: Some("https://as.example/"), ..ResponseCheck::new(Some("s")) };
/// let code = |url: &str| parse_authorization_response(url, &check).map_err(|e| e.code());
///
/// assert_eq!(code("https://app.example/cb?code=c&state=t").unwrap_err(), "AUTHORIZATION_RESPONSE_STATE_MISMATCH");
/// assert_eq!(code("https://app.example/cb?code=c&state=s&iss=https%3A%2F%2Fevil.example%2F").unwrap_err(),
///            "AUTHORIZATION_RESPONSE_ISS_MISMATCH");
/// assert_eq!(code("https://app.example/cb?code=c&code=d&state=s").unwrap_err(),
///            "AUTHORIZATION_RESPONSE_PARAMETER_REPEATED");
/// assert!(code("https://app.example/cb?code=c&state=s&iss=https%3A%2F%2Fas.example%2F").is_ok());
/// // response_mode=fragment to a redirect URI with a query of its own:
/// assert!(code("https://app.example/cb?tenant=a#code=c&state=s").is_ok());
/// assert_eq!(code("https://app.example/cb?code=c&state=s#code=d&state=s").unwrap_err(),
///            "AUTHORIZATION_RESPONSE_AMBIGUOUS");
/// ```
pub fn parse_authorization_response(
    url: &str,
    check: &ResponseCheck<'_>,
) -> Result<AuthorizationResponse> {
    let params = response_params(url, check.response_mode)?;

    let iss = params.get("iss");
    if iss.is_some() || check.iss_parameter_supported {
        let Some(expected) = check.issuer else {
            return Err(Error::ArgumentInvalid(
                "issuer is required to check the iss of the authorization response",
            ));
        };
        match iss {
            None => return Err(Error::AuthorizationResponseIssMissing),
            Some(iss) if iss != expected => return Err(Error::AuthorizationResponseIssMismatch),
            Some(_) => {}
        }
    }

    let state = params.get("state");
    match (check.state.filter(|s| !s.is_empty()), state) {
        (Some(_), None) => return Err(Error::AuthorizationResponseStateMissing),
        (Some(expected), Some(got)) if !ct_eq(expected, got) => {
            return Err(Error::AuthorizationResponseStateMismatch);
        }
        (None, Some(_)) => return Err(Error::AuthorizationResponseStateUnexpected),
        _ => {}
    }

    if let Some(error) = params.get("error") {
        if !is_error_text(error) {
            return Err(Error::AuthorizationResponseInvalid(
                "error must only contain %x20-21 / %x23-5B / %x5D-7E",
            ));
        }
        let error_description = params
            .get("error_description")
            .filter(|d| is_error_text(d))
            .map(String::from);
        let error_uri = params
            .get("error_uri")
            .filter(|u| u.bytes().all(is_nqchar))
            .map(String::from);
        return Err(Error::AuthorizationError(AuthorizationError {
            error: String::from(error),
            error_description,
            error_uri,
        }));
    }

    let code = params
        .get("code")
        .ok_or(Error::AuthorizationResponseCodeMissing)?;
    if !is_vschar_str(code) {
        return Err(Error::AuthorizationResponseInvalid(
            "code must only contain visible ASCII (VSCHAR)",
        ));
    }
    Ok(AuthorizationResponse {
        code: AuthorizationCode::new(code),
        state: state.map(String::from),
        iss: iss.map(String::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const ISSUER: &str = "https://as.example/";

    fn request() -> AuthorizationRequest<'static> {
        AuthorizationRequest::new(
            "https://as.example/authorize",
            "s6BhdRkqt3",
            "https://client.example.com/cb",
            CHALLENGE,
        )
    }

    fn check() -> ResponseCheck<'static> {
        ResponseCheck {
            issuer: Some(ISSUER),
            ..ResponseCheck::new(Some("xyz"))
        }
    }

    fn err(url: &str, check: &ResponseCheck<'_>) -> &'static str {
        parse_authorization_response(url, check).unwrap_err().code()
    }

    #[test]
    fn rfc6749_4_1_1_request_has_the_required_parameters_in_order() {
        let url = AuthorizationRequest {
            state: Some("xyz"),
            ..request()
        }
        .to_url()
        .unwrap();
        assert_eq!(
            url,
            "https://as.example/authorize?response_type=code&client_id=s6BhdRkqt3\
             &redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&state=xyz\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        );
    }

    #[test]
    fn rfc6749_4_1_1_every_optional_parameter() {
        let resources = ["https://api.example.com/", "https://other.example.com/"];
        let url = AuthorizationRequest {
            scope: Some("openid profile"),
            state: Some("s"),
            nonce: Some("n-0S6_WzA2Mj"),
            audience: Some("https://api.example.com"),
            organization: Some("org_123"),
            resource: &resources,
            dpop_jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
            prompt: Some("login consent"),
            max_age: Some(300),
            login_hint: Some("jane doe@example.com"),
            response_mode: Some("fragment"),
            ..request()
        }
        .to_url()
        .unwrap();
        let query = url.split_once('?').unwrap().1;
        let names: Vec<&str> = query
            .split('&')
            .map(|p| p.split_once('=').unwrap().0)
            .collect();
        assert_eq!(
            names,
            [
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
                "audience",
                "organization",
                "resource",
                "resource",
                "dpop_jkt",
                "prompt",
                "max_age",
                "login_hint",
                "response_mode"
            ]
        );
        assert!(query.contains("&max_age=300&login_hint=jane+doe%40example.com&"));
        assert!(query.contains("&prompt=login+consent&"));
    }

    #[test]
    fn rfc6749_3_1_empty_optional_values_are_left_out() {
        let url = AuthorizationRequest {
            scope: Some(""),
            state: Some(""),
            audience: Some(""),
            ..request()
        }
        .to_url()
        .unwrap();
        assert!(!url.contains("scope=") && !url.contains("state=") && !url.contains("audience"));
    }

    #[test]
    fn rfc6749_4_1_1_invalid_values_are_refused_each_with_its_message() {
        let cases: [(AuthorizationRequest<'_>, &str); 10] = [
            (
                AuthorizationRequest {
                    client_id: "",
                    ..request()
                },
                "missing parameter: client_id",
            ),
            (
                AuthorizationRequest {
                    redirect_uri: "/cb",
                    ..request()
                },
                "invalid parameter: redirect_uri must be an absolute URI without a fragment",
            ),
            (
                AuthorizationRequest {
                    code_challenge: "",
                    ..request()
                },
                "missing parameter: code_challenge",
            ),
            (
                AuthorizationRequest {
                    scope: Some("a  b"),
                    ..request()
                },
                "invalid parameter: scope must be NQCHAR tokens separated by single spaces",
            ),
            (
                AuthorizationRequest {
                    state: Some("caf\u{e9}"),
                    ..request()
                },
                "invalid parameter: state must only contain visible ASCII (VSCHAR)",
            ),
            (
                AuthorizationRequest {
                    nonce: Some("a\nb"),
                    ..request()
                },
                "invalid parameter: nonce must only contain visible ASCII (VSCHAR)",
            ),
            (
                AuthorizationRequest {
                    resource: &["api"],
                    ..request()
                },
                "invalid parameter: resource must be an absolute URI without a fragment (RFC 8707 §2)",
            ),
            (
                AuthorizationRequest {
                    dpop_jkt: Some("abc"),
                    ..request()
                },
                "invalid parameter: dpop_jkt must be a base64url SHA-256 JWK thumbprint (43 characters)",
            ),
            (
                AuthorizationRequest {
                    prompt: Some("none consent"),
                    ..request()
                },
                "invalid parameter: prompt none must not be combined with other values (OIDC Core §3.1.2.1)",
            ),
            (
                AuthorizationRequest {
                    response_mode: Some("form_post"),
                    ..request()
                },
                "invalid parameter: response_mode must be query or fragment",
            ),
        ];
        for (r, message) in cases {
            assert_eq!(r.to_url().unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn rfc7636_4_3_code_challenge_must_be_s256_syntax() {
        let r = AuthorizationRequest {
            code_challenge: "short",
            ..request()
        };
        assert_eq!(r.to_url().unwrap_err().code(), "PKCE_CHALLENGE_INVALID");
    }

    #[test]
    fn rfc6749_3_1_endpoint_query_is_kept_and_never_repeats_a_parameter() {
        let r = AuthorizationRequest {
            authorization_endpoint: "https://as.example/authorize?tenant=a",
            ..request()
        };
        assert!(
            r.to_url()
                .unwrap()
                .starts_with("https://as.example/authorize?tenant=a&response_type=code&")
        );
        let r = AuthorizationRequest {
            authorization_endpoint: "https://as.example/authorize?client_id=x",
            ..request()
        };
        assert_eq!(r.to_url().unwrap_err().code(), "REQUEST_PARAMETER_INVALID");
        let r = AuthorizationRequest {
            authorization_endpoint: "https://as.example/authorize#f",
            ..request()
        };
        assert_eq!(r.to_url().unwrap_err().code(), "URL_INVALID");
    }

    #[test]
    fn rfc6749_3_1_endpoint_query_naming_a_parameter_without_a_value_is_refused() {
        for endpoint in [
            "https://as.example/authorize?client_id=&state",
            "https://as.example/authorize?client_id=",
            "https://as.example/authorize?state",
            "https://as.example/authorize?tenant=a&scope",
            "https://as.example/authorize?tenant=a&request_uri=&x=1",
            "https://as.example/authorize?%73tate",
        ] {
            let r = AuthorizationRequest {
                authorization_endpoint: endpoint,
                state: Some("s"),
                ..request()
            };
            assert_eq!(
                r.to_url().unwrap_err().to_string(),
                "invalid parameter: authorization_endpoint already has a parameter of the request in its query",
                "{endpoint}"
            );
            assert_eq!(
                authorization_url_from_request_uri(endpoint, "c", "urn:x:1")
                    .unwrap_err()
                    .code(),
                "REQUEST_PARAMETER_INVALID",
                "{endpoint}"
            );
        }
        for endpoint in [
            "https://as.example/authorize?",
            "https://as.example/authorize?&&tenant&x=",
            "https://as.example/authorize?client_idx=&states",
        ] {
            let r = AuthorizationRequest {
                authorization_endpoint: endpoint,
                ..request()
            };
            assert!(r.to_url().is_ok(), "{endpoint}");
            assert!(
                authorization_url_from_request_uri(endpoint, "c", "urn:x:1").is_ok(),
                "{endpoint}"
            );
        }
    }

    /// A browser's URL parser removes tabs and line breaks anywhere in a URL, so a name
    /// with one in an endpoint's query would become a request parameter there, sent twice
    /// (RFC 6749 §3.1): such URLs, and spaces and other controls, are refused.
    #[test]
    fn rfc3986_2_endpoint_urls_with_spaces_or_controls_are_refused() {
        for endpoint in [
            "https://as.example/authorize?cl\tient_id=attacker",
            "https://as.example/authorize?st\rate=x",
            "https://as.example/authorize?redirect\n_uri=https://evil.example/cb",
            "https://as.example/author ize",
            "https://as.example/authorize?x=\u{7f}",
            "https://as.example/\u{0}",
        ] {
            assert_eq!(
                check_secure_url(endpoint, "u").unwrap_err().code(),
                "URL_INVALID",
                "{endpoint:?}"
            );
            let r = AuthorizationRequest {
                authorization_endpoint: endpoint,
                ..request()
            };
            assert_eq!(
                r.to_url().unwrap_err().code(),
                "URL_INVALID",
                "{endpoint:?}"
            );
        }
        assert!(check_secure_url("https://as.example/authorize?x=%09", "u").is_ok());
    }

    #[test]
    fn rfc9700_2_6_endpoint_must_be_https_except_loopback() {
        for ok in [
            "http://127.0.0.1:8787/authorize",
            "http://127.1.2.3/authorize",
            "http://localhost:3000/authorize",
            "http://[::1]:8080/authorize",
            "HTTPS://AS.example/authorize",
        ] {
            assert!(check_secure_url(ok, "u").is_ok(), "{ok}");
        }
        for bad in [
            "http://as.example/authorize",
            "http://127.0.0.1.evil.example/",
            "http://localhost.evil.example/",
            "http://10.0.0.1/",
        ] {
            assert_eq!(
                check_secure_url(bad, "u").unwrap_err().code(),
                "URL_INSECURE",
                "{bad}"
            );
        }
        assert_eq!(
            check_secure_url("ftp://as.example/", "u")
                .unwrap_err()
                .code(),
            "URL_INVALID"
        );
    }

    #[test]
    fn rfc9126_2_1_par_body_is_the_request_without_the_endpoint() {
        let body = AuthorizationRequest {
            authorization_endpoint: "",
            scope: Some("openid"),
            ..request()
        }
        .to_par_body()
        .unwrap();
        assert!(body.starts_with("response_type=code&client_id=s6BhdRkqt3&"));
        assert!(body.contains("&scope=openid&"));
    }

    #[test]
    fn rfc9126_4_authorization_url_has_client_id_and_request_uri_only() {
        let url = authorization_url_from_request_uri(
            "https://as.example/authorize",
            "s6BhdRkqt3",
            "urn:ietf:params:oauth:request_uri:bwc4JK-ESC0w8acc191e-Y1LTC2",
        )
        .unwrap();
        let query = url.split_once('?').unwrap().1;
        let form = FormParams::parse(query.as_bytes()).unwrap();
        assert_eq!(form.len(), 2);
        assert_eq!(form.get("client_id"), Some("s6BhdRkqt3"));
        assert_eq!(
            form.get("request_uri"),
            Some("urn:ietf:params:oauth:request_uri:bwc4JK-ESC0w8acc191e-Y1LTC2")
        );
        assert_eq!(
            authorization_url_from_request_uri("https://as.example/authorize", "c", "")
                .unwrap_err()
                .code(),
            "REQUEST_PARAMETER_MISSING"
        );
        assert_eq!(
            authorization_url_from_request_uri("https://as.example/authorize", "c", "relative")
                .unwrap_err()
                .code(),
            "REQUEST_PARAMETER_INVALID"
        );
        assert_eq!(
            authorization_url_from_request_uri("http://as.example/authorize", "c", "urn:x:1")
                .unwrap_err()
                .code(),
            "URL_INSECURE"
        );
    }

    #[test]
    fn rfc9126_2_2_par_response_success() {
        let r = parse_par_response(
            201,
            r#"{"request_uri":"urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c","expires_in":60,"x":1}"#,
        )
        .unwrap();
        assert_eq!(
            r.request_uri,
            "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c"
        );
        assert_eq!(r.expires_in, 60);
    }

    #[test]
    fn rfc9126_2_2_par_response_is_strict() {
        let cases = [
            (201, r#"{"expires_in":60}"#, "request_uri is missing"),
            (201, r#"{"request_uri":"urn:x:1"}"#, "expires_in is missing"),
            (
                201,
                r#"{"request_uri":5,"expires_in":60}"#,
                "request_uri must be a string holding an absolute URI",
            ),
            (
                201,
                r#"{"request_uri":"urn:x:1","expires_in":0}"#,
                "expires_in must be a positive integer",
            ),
            (
                201,
                r#"{"request_uri":"urn:x:1","expires_in":6.5}"#,
                "expires_in must be a positive integer",
            ),
            (
                201,
                r#"{"request_uri":"urn:x:1","request_uri":"urn:x:2","expires_in":60}"#,
                "a member is repeated",
            ),
            (201, "[]", "the body is not a JSON object"),
            (
                200,
                r#"{"request_uri":"urn:x:1","expires_in":60}"#,
                "unexpected HTTP status (201 or an error)",
            ),
        ];
        for (status, body, message) in cases {
            let e = parse_par_response(status, body).unwrap_err();
            assert_eq!(e.code(), "PAR_RESPONSE_INVALID", "{body}");
            assert_eq!(
                e.to_string(),
                alloc::format!("invalid pushed authorization response: {message}")
            );
        }
    }

    #[test]
    fn rfc9126_2_3_par_error_response() {
        let e = parse_par_response(
            401,
            r#"{"error":"invalid_client","error_description":"no"}"#,
        )
        .unwrap_err();
        let Error::OAuth(e) = e else { panic!("{e:?}") };
        assert_eq!((e.error.as_str(), e.status), ("invalid_client", 401));
    }

    #[test]
    fn rfc6749_4_1_2_code_and_state() {
        let r = parse_authorization_response(
            "https://client.example.com/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz",
            &check(),
        )
        .unwrap();
        assert_eq!(r.code.as_str(), "SplxlOBeZQQYbYS6WxSbIA");
        assert_eq!(r.state.as_deref(), Some("xyz"));
        assert_eq!(r.iss, None);
    }

    #[test]
    fn rfc6749_4_1_2_fragment_when_there_is_no_query() {
        let r = parse_authorization_response(
            "https://client.example.com/cb#code=abc&state=xyz",
            &check(),
        )
        .unwrap();
        assert_eq!(r.code.as_str(), "abc");
    }

    #[test]
    fn rfc6749_3_1_2_fragment_response_to_a_redirect_uri_with_a_query() {
        // The redirect URI's own query is kept (§3.1.2); the response is in the fragment.
        let r = parse_authorization_response(
            "https://app.example/cb?tenant=a#code=c&state=xyz",
            &check(),
        )
        .unwrap();
        assert_eq!((r.code.as_str(), r.state.as_deref()), ("c", Some("xyz")));
        let advertised = ResponseCheck {
            iss_parameter_supported: true,
            ..check()
        };
        let r = parse_authorization_response(
            "https://app.example/cb?tenant=a#code=c&state=xyz&iss=https%3A%2F%2Fas.example%2F",
            &advertised,
        )
        .unwrap();
        assert_eq!(r.iss.as_deref(), Some(ISSUER));
        // The fragment's own checks still apply.
        assert_eq!(
            err(
                "https://app.example/cb?tenant=a#code=c&state=evil",
                &check()
            ),
            "AUTHORIZATION_RESPONSE_STATE_MISMATCH"
        );
        assert_eq!(
            err(
                "https://app.example/cb?tenant=a#code=c&state=xyz",
                &advertised
            ),
            "AUTHORIZATION_RESPONSE_ISS_MISSING"
        );
        let e = parse_authorization_response(
            "https://app.example/cb?tenant=a#error=access_denied&state=xyz",
            &check(),
        )
        .unwrap_err();
        assert_eq!(e.code(), "AUTHORIZATION_ERROR");
        assert_eq!(
            err(
                "https://app.example/cb?tenant=a#code=c&code=d&state=xyz",
                &check()
            ),
            "AUTHORIZATION_RESPONSE_PARAMETER_REPEATED"
        );
        assert_eq!(
            err(
                "https://app.example/cb?tenant=a#code=%ZZ&state=xyz",
                &check()
            ),
            "AUTHORIZATION_RESPONSE_INVALID"
        );
    }

    #[test]
    fn rfc6749_4_1_2_query_response_ignores_a_fragment_without_response_parameters() {
        for url in [
            "https://c.example/cb?code=a&state=xyz#_=_",
            "https://c.example/cb?code=a&state=xyz#",
            "https://c.example/cb?code=a&state=xyz#/home",
            "https://c.example/cb?code=a&state=xyz#x=%ZZ&x",
            "https://c.example/cb?code=a&state=xyz#error_description=x&codes=1",
        ] {
            let r = parse_authorization_response(url, &check()).unwrap();
            assert_eq!(r.code.as_str(), "a", "{url}");
        }
    }

    #[test]
    fn rfc9700_4_4_response_parameters_in_query_and_fragment_are_ambiguous() {
        for url in [
            "https://c.example/cb?code=a&state=xyz#code=b&state=xyz",
            "https://c.example/cb?code=a#state=xyz",
            "https://c.example/cb?iss=https%3A%2F%2Fas.example%2F#code=c&state=xyz",
            "https://c.example/cb?error=access_denied#code=c&state=xyz",
            "https://c.example/cb?code=a&state=xyz#error=access_denied",
            "https://c.example/cb?state=#code=c&state=xyz",
            "https://c.example/cb?tenant=a&%63ode=a#code=c&state=xyz",
            "https://c.example/cb?code=a&state=xyz#c%6Fde=b",
            "https://c.example/cb?code#state=xyz&code=c",
        ] {
            let e = parse_authorization_response(url, &check()).unwrap_err();
            assert_eq!(e.code(), "AUTHORIZATION_RESPONSE_AMBIGUOUS", "{url}");
            assert_eq!(
                e.to_string(),
                "authorization response parameters are in both the query and the fragment"
            );
        }
    }

    #[test]
    fn oauth_responses_2_1_response_mode_names_the_part_to_read() {
        let mode = |response_mode| ResponseCheck {
            response_mode: Some(response_mode),
            ..check()
        };
        let (query, fragment) = (mode(ResponseMode::Query), mode(ResponseMode::Fragment));
        let code = |url: &str, check: &ResponseCheck<'_>| {
            parse_authorization_response(url, check)
                .unwrap()
                .code
                .as_str()
                .to_string()
        };
        assert_eq!(
            code("https://c.example/cb?code=a&state=xyz#_=_", &query),
            "a"
        );
        assert_eq!(
            code("https://c.example/cb?tenant=a#code=b&state=xyz", &fragment),
            "b"
        );
        assert_eq!(
            code("https://c.example/cb#code=b&state=xyz", &fragment),
            "b"
        );
        for (url, check, message) in [
            (
                "https://c.example/cb?tenant=a#code=b&state=xyz",
                &query,
                "fragment, not the query",
            ),
            (
                "https://c.example/cb?code=a&state=xyz",
                &fragment,
                "query, not the fragment",
            ),
            (
                "https://c.example/cb?error=access_denied&state=xyz#_=_",
                &fragment,
                "query, not the fragment",
            ),
        ] {
            let e = parse_authorization_response(url, check).unwrap_err();
            assert_eq!(e.code(), "AUTHORIZATION_RESPONSE_MODE_MISMATCH", "{url}");
            assert_eq!(
                e.to_string(),
                alloc::format!("authorization response parameters are in the {message}")
            );
        }
        // In both parts: ambiguous whatever the mode.
        for check in [&query, &fragment] {
            assert_eq!(
                err("https://c.example/cb?code=a&state=xyz#code=b", check),
                "AUTHORIZATION_RESPONSE_AMBIGUOUS"
            );
        }
        // In neither: the part named is read, and lacks the state.
        assert_eq!(
            err("https://c.example/cb?tenant=a", &fragment),
            "AUTHORIZATION_RESPONSE_STATE_MISSING"
        );
        assert_eq!(
            err("https://c.example/cb#_=_", &query),
            "AUTHORIZATION_RESPONSE_STATE_MISSING"
        );
    }

    #[test]
    fn rfc6749_10_12_state_mismatch_missing_and_unexpected() {
        assert_eq!(
            err("https://c.example/cb?code=a&state=xyZ", &check()),
            "AUTHORIZATION_RESPONSE_STATE_MISMATCH"
        );
        assert_eq!(
            err("https://c.example/cb?code=a", &check()),
            "AUTHORIZATION_RESPONSE_STATE_MISSING"
        );
        assert_eq!(
            err("https://c.example/cb?code=a&state=", &check()),
            "AUTHORIZATION_RESPONSE_STATE_MISSING"
        );
        let no_state = ResponseCheck::new(None);
        assert_eq!(
            err("https://c.example/cb?code=a&state=xyz", &no_state),
            "AUTHORIZATION_RESPONSE_STATE_UNEXPECTED"
        );
        assert!(parse_authorization_response("https://c.example/cb?code=a", &no_state).is_ok());
    }

    #[test]
    fn rfc9207_2_4_iss_mismatch() {
        assert_eq!(
            err(
                "https://c.example/cb?code=a&state=xyz&iss=https%3A%2F%2Fas.example",
                &check()
            ),
            "AUTHORIZATION_RESPONSE_ISS_MISMATCH"
        );
        let r = parse_authorization_response(
            "https://c.example/cb?code=a&state=xyz&iss=https%3A%2F%2Fas.example%2F",
            &check(),
        )
        .unwrap();
        assert_eq!(r.iss.as_deref(), Some(ISSUER));
    }

    #[test]
    fn rfc9207_2_4_iss_missing_when_advertised() {
        let advertised = ResponseCheck {
            iss_parameter_supported: true,
            ..check()
        };
        assert_eq!(
            err("https://c.example/cb?code=a&state=xyz", &advertised),
            "AUTHORIZATION_RESPONSE_ISS_MISSING"
        );
        // Without the metadata flag, a missing iss is fine.
        assert!(
            parse_authorization_response("https://c.example/cb?code=a&state=xyz", &check()).is_ok()
        );
    }

    #[test]
    fn rfc9207_2_4_iss_is_checked_before_the_error() {
        let url =
            "https://c.example/cb?error=access_denied&state=xyz&iss=https%3A%2F%2Fevil.example%2F";
        assert_eq!(err(url, &check()), "AUTHORIZATION_RESPONSE_ISS_MISMATCH");
    }

    #[test]
    fn rfc9207_2_4_iss_needs_an_expected_issuer() {
        let no_issuer = ResponseCheck::new(Some("xyz"));
        assert_eq!(
            err(
                "https://c.example/cb?code=a&state=xyz&iss=https%3A%2F%2Fas.example%2F",
                &no_issuer
            ),
            "ARGUMENT_INVALID"
        );
    }

    #[test]
    fn rfc6749_4_1_2_1_error_redirect_is_typed() {
        let e = parse_authorization_response(
            "https://c.example/cb?error=access_denied&error_description=The+user+said+no&error_uri=https%3A%2F%2Fas.example%2Fe&state=xyz",
            &check(),
        )
        .unwrap_err();
        assert_eq!(e.code(), "AUTHORIZATION_ERROR");
        assert_eq!(
            e.to_string(),
            "authorization failed: access_denied (The user said no)"
        );
        let Error::AuthorizationError(e) = e else {
            panic!()
        };
        assert_eq!(e.error, "access_denied");
        assert_eq!(e.error_description.as_deref(), Some("The user said no"));
        assert_eq!(e.error_uri.as_deref(), Some("https://as.example/e"));
    }

    #[test]
    fn rfc6749_4_1_2_1_error_redirect_with_wrong_state_is_a_state_error() {
        assert_eq!(
            err(
                "https://c.example/cb?error=access_denied&state=evil",
                &check()
            ),
            "AUTHORIZATION_RESPONSE_STATE_MISMATCH"
        );
    }

    #[test]
    fn rfc6749_4_1_2_1_error_outside_its_characters() {
        assert_eq!(
            err("https://c.example/cb?error=a%22b&state=xyz", &check()),
            "AUTHORIZATION_RESPONSE_INVALID"
        );
    }

    #[test]
    fn rfc6749_3_1_repeated_parameter() {
        for url in [
            "https://c.example/cb?code=a&code=b&state=xyz",
            "https://c.example/cb?code=a&state=xyz&state=xyz",
            "https://c.example/cb?code=a&state=xyz&iss=x&iss=",
        ] {
            let e = parse_authorization_response(url, &check()).unwrap_err();
            assert_eq!(
                e.code(),
                "AUTHORIZATION_RESPONSE_PARAMETER_REPEATED",
                "{url}"
            );
        }
        let e = parse_authorization_response("https://c.example/cb?code=a&code=b", &check())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "authorization response parameter is repeated: code"
        );
    }

    #[test]
    fn rfc6749_4_1_2_code_missing_or_malformed() {
        assert_eq!(
            err("https://c.example/cb?state=xyz", &check()),
            "AUTHORIZATION_RESPONSE_CODE_MISSING"
        );
        assert_eq!(
            err("https://c.example/cb?code=a%0Ab&state=xyz", &check()),
            "AUTHORIZATION_RESPONSE_INVALID"
        );
        assert_eq!(
            err("https://c.example/cb?code=%ZZ&state=xyz", &check()),
            "AUTHORIZATION_RESPONSE_INVALID"
        );
        assert_eq!(
            err("https://c.example/cb?code=%FF&state=xyz", &check()),
            "AUTHORIZATION_RESPONSE_INVALID"
        );
        assert_eq!(
            err("/cb?code=a&state=xyz", &check()),
            "AUTHORIZATION_RESPONSE_INVALID"
        );
    }
}
