//! Token responses (RFC 6749 §5.1, §5.2), the `DPoP-Nonce` header (RFC 9449 §8) and
//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9449 §7.1).
//!
//! Parsing is strict, in the order the RFCs describe:
//!
//! - success is status `200` with a JSON object; anything else is an error;
//! - a member that occurs twice is rejected (§3.2: "Request and response parameters
//!   MUST NOT be included more than once"), whether the member is known or not.
//!   The strict parser ([`crate::json`]) refuses a repeated name in any object, and the
//!   error names the member when it is one of the top-level members read here;
//! - unknown members are ignored (§5.1);
//! - a known member must have the right JSON type. `null` is rejected like any other
//!   wrong type (as oauth4webapi does): RFC 6749 has no null values, and a server that
//!   sends one is better caught than guessed about;
//! - `expires_in` must be a non-negative integer JSON number: strings (`"3600"`),
//!   fractions (`3600.5`) and negatives are rejected (§5.1 "JSON numbers", Appendix A.14
//!   `1*DIGIT`).

use alloc::{
    string::{String, ToString},
    vec::Vec,
};
use core::fmt;

use crate::json::{self, Value};

use super::request::{is_nqchar, is_scope};
use super::{AccessToken, IdToken, RefreshToken};
use crate::error::{Error, Result};

// ----- types -------------------------------------------------------------------------

/// An access token type the client understands (RFC 6749 §7.1, RFC 9449 §5).
///
/// ```
/// use edge_oauth::token::TokenType;
///
/// assert_eq!(TokenType::parse("bearer")?, TokenType::Bearer);
/// assert_eq!(TokenType::parse("DPOP")?.as_str(), "DPoP");
/// assert_eq!(TokenType::parse("mac").unwrap_err().code(), "TOKEN_TYPE_UNSUPPORTED");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449): the token is bound to the client's DPoP key.
    Dpop,
}

impl TokenType {
    /// Parses a `token_type` value, ignoring ASCII case (RFC 6749 §5.1).
    ///
    /// # Errors
    ///
    /// [`Error::TokenTypeUnsupported`] for anything but `Bearer` or `DPoP`: a client
    /// must not use a token whose type it does not understand (§7.1).
    ///
    /// ```
    /// use edge_oauth::token::TokenType;
    /// assert_eq!(TokenType::parse("Bearer")?, TokenType::Bearer);
    /// assert!(TokenType::parse("Bearer ").is_err());
    /// # Ok::<(), edge_oauth::Error>(())
    /// ```
    pub fn parse(value: &str) -> Result<TokenType> {
        if value.eq_ignore_ascii_case("Bearer") {
            Ok(TokenType::Bearer)
        } else if value.eq_ignore_ascii_case("DPoP") {
            Ok(TokenType::Dpop)
        } else {
            Err(Error::TokenTypeUnsupported)
        }
    }

    /// The canonical spelling: `Bearer` or `DPoP` (also the `Authorization` scheme).
    ///
    /// ```
    /// assert_eq!(edge_oauth::token::TokenType::Bearer.as_str(), "Bearer");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Bearer => "Bearer",
            TokenType::Dpop => "DPoP",
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A successful token response (RFC 6749 §5.1). `Debug` redacts the tokens.
///
/// A client that sent a DPoP proof and gets `token_type: Bearer` back must decide
/// whether to discard it (RFC 9449 §5): compare [`token_type`](Self::token_type).
///
/// ```
/// use edge_oauth::token::{parse_token_response, TokenType};
///
/// let body = r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":3600}"#;
/// let tokens = parse_token_response(200, body, 1_700_000_000)?;
/// assert_eq!(tokens.access_token.as_str(), "2YotnFZFEjr1zCsicMWpAA");
/// assert_eq!(tokens.token_type, TokenType::Bearer);
/// assert_eq!(tokens.expires_at, Some(1_700_003_600));
/// assert!(!format!("{tokens:?}").contains("2YotnFZFEjr1zCsicMWpAA"));
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token.
    pub access_token: AccessToken,
    /// `Bearer` or `DPoP`.
    pub token_type: TokenType,
    /// The lifetime in seconds, if the server sent one.
    pub expires_in: Option<u64>,
    /// `now + expires_in`, in the caller's clock (seconds).
    pub expires_at: Option<u64>,
    /// The refresh token, if any.
    pub refresh_token: Option<RefreshToken>,
    /// The OpenID Connect ID token, if any (not validated here).
    pub id_token: Option<IdToken>,
    /// The granted scope, if the server sent one (it must when it differs from the
    /// requested scope, §3.3).
    pub scope: Option<String>,
}

/// An RFC 6749 §5.2 error response.
///
/// ```
/// use edge_oauth::token::parse_error_response;
///
/// let body = r#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#;
/// let e = parse_error_response(400, body, Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"))?;
/// assert_eq!(e.error, "use_dpop_nonce");
/// assert_eq!(e.status, 400);
/// assert_eq!(e.dpop_nonce.as_deref(), Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// The `error` code.
    pub error: String,
    /// The `error_description`, if any.
    pub error_description: Option<String>,
    /// The `error_uri`, if any.
    pub error_uri: Option<String>,
    /// The HTTP status of the response.
    pub status: u16,
    /// The `DPoP-Nonce` header of the response, if any.
    pub dpop_nonce: Option<String>,
}

// ----- reading a JSON object member by member -------------------------------------------

/// The members this module reads; everything else is ignored.
#[derive(Default)]
struct Known {
    access_token: Option<Value>,
    token_type: Option<Value>,
    expires_in: Option<Value>,
    refresh_token: Option<Value>,
    id_token: Option<Value>,
    scope: Option<Value>,
    error: Option<Value>,
    error_description: Option<Value>,
    error_uri: Option<Value>,
}

/// Parses `body` as one JSON object, rejecting repeated members.
fn read_object(body: &str) -> Result<Known> {
    let members = match json::parse(body.as_bytes()) {
        Ok(Value::Object(members)) => members,
        Err(e) if e.depth() == 1 => {
            return Err(Error::TokenResponseInvalid(repeated_message(
                e.member().unwrap_or_default(),
            )));
        }
        // Nested duplicates too: the body is not one unambiguous JSON object.
        Err(e) if e.is_duplicate() => {
            return Err(Error::TokenResponseInvalid(repeated_message("")));
        }
        Ok(_) | Err(_) => return Err(Error::TokenResponseNotJson),
    };
    let mut known = Known::default();
    for (name, value) in members {
        let slot = match name.as_str() {
            "access_token" => &mut known.access_token,
            "token_type" => &mut known.token_type,
            "expires_in" => &mut known.expires_in,
            "refresh_token" => &mut known.refresh_token,
            "id_token" => &mut known.id_token,
            "scope" => &mut known.scope,
            "error" => &mut known.error,
            "error_description" => &mut known.error_description,
            "error_uri" => &mut known.error_uri,
            _ => continue,
        };
        *slot = Some(value);
    }
    Ok(known)
}

fn repeated_message(name: &str) -> &'static str {
    match name {
        "access_token" => "access_token is repeated",
        "token_type" => "token_type is repeated",
        "expires_in" => "expires_in is repeated",
        "refresh_token" => "refresh_token is repeated",
        "id_token" => "id_token is repeated",
        "scope" => "scope is repeated",
        "error" => "error is repeated",
        "error_description" => "error_description is repeated",
        "error_uri" => "error_uri is repeated",
        _ => "a member is repeated",
    }
}

/// Messages for one string member, so that every error names its field.
struct Field {
    missing: &'static str,
    not_string: &'static str,
    empty: &'static str,
}

/// A present member that must be a non-empty JSON string.
fn string_member(value: Option<Value>, field: &Field) -> Result<Option<String>> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err(Error::TokenResponseInvalid(field.empty)),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::TokenResponseInvalid(field.not_string)),
    }
}

/// A member that must be present and a non-empty JSON string.
fn required_string_member(value: Option<Value>, field: &Field) -> Result<String> {
    string_member(value, field)?.ok_or(Error::TokenResponseInvalid(field.missing))
}

/// `VSCHAR = %x20-7E` (RFC 6749 Appendix A.12, A.17).
fn is_vschar_str(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

// ----- token responses -----------------------------------------------------------------

/// Parses a token endpoint response (RFC 6749 §5.1, §5.2).
///
/// `now` is the caller's clock in seconds; `expires_at = now + expires_in`. Only status
/// `200` with a JSON object is a success. Every other status is read as an RFC 6749 §5.2
/// error. A `200` whose object has a string `error` and no `access_token` is read as an
/// error too (some servers answer errors with 200).
///
/// To attach a `DPoP-Nonce` header to an error, call [`parse_error_response`] for
/// non-200 statuses, or set [`ErrorResponse::dpop_nonce`] on the returned
/// [`Error::OAuth`].
///
/// # Errors
///
/// - [`Error::OAuth`] with the server's `error`, `error_description`, `error_uri` and the
///   status, for an error response;
/// - [`Error::TokenResponseNotJson`] if the body is not a single JSON object;
/// - [`Error::TokenResponseInvalid`] naming the member: `access_token` missing, not a
///   string, empty or not `VSCHAR`; `token_type` missing or not a string; `expires_in`
///   not a non-negative integer, or too large to add to `now`; `refresh_token` or
///   `id_token` not a non-empty string; `scope` not a string, or not `NQCHAR` tokens
///   separated by single spaces (an empty `scope` is accepted: no scope was granted); a repeated member; a non-200 status without an
///   `error` member ("unexpected HTTP status"); an `error` outside the RFC's characters;
/// - [`Error::TokenTypeUnsupported`] if `token_type` is neither `Bearer` nor `DPoP`.
///
/// ```
/// use edge_oauth::{token::parse_token_response, Error};
///
/// let body = r#"{"access_token":"x","token_type":"DPoP","expires_in":2677,"refresh_token":"r"}"#;
/// let tokens = parse_token_response(200, body, 100)?;
/// assert_eq!(tokens.expires_at, Some(2777));
/// assert_eq!(tokens.refresh_token.as_ref().map(|t| t.as_str()), Some("r"));
///
/// let err = parse_token_response(400, r#"{"error":"invalid_grant"}"#, 100).unwrap_err();
/// let Error::OAuth(e) = &err else { panic!() };
/// assert_eq!((e.error.as_str(), e.status), ("invalid_grant", 400));
///
/// let err = parse_token_response(200, r#"{"access_token":"x","token_type":"Bearer","expires_in":"3600"}"#, 0)
///     .unwrap_err();
/// assert_eq!(err.to_string(), "invalid token response: expires_in must be a non-negative integer");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
pub fn parse_token_response(status: u16, body: &str, now: u64) -> Result<TokenSet> {
    if status != 200 {
        return Err(match error_response(status, body, None) {
            Ok(e) => Error::OAuth(e),
            Err(ErrorBody::NoError) => Error::TokenResponseInvalid("unexpected HTTP status"),
            Err(ErrorBody::Invalid(e)) => e,
        });
    }
    let mut known = read_object(body)?;
    if known.access_token.is_none() && matches!(known.error, Some(Value::String(_))) {
        return Err(match error_from_known(status, known, None) {
            Ok(e) => Error::OAuth(e),
            Err(ErrorBody::NoError) => Error::TokenResponseInvalid("access_token is missing"),
            Err(ErrorBody::Invalid(e)) => e,
        });
    }

    let access_token = required_string_member(
        known.access_token.take(),
        &Field {
            missing: "access_token is missing",
            not_string: "access_token must be a string",
            empty: "access_token must not be empty",
        },
    )?;
    if !is_vschar_str(&access_token) {
        return Err(Error::TokenResponseInvalid(
            "access_token must only contain visible ASCII (VSCHAR)",
        ));
    }
    let access_token = AccessToken::new(access_token);

    let token_type = required_string_member(
        known.token_type.take(),
        &Field {
            missing: "token_type is missing",
            not_string: "token_type must be a string",
            empty: "token_type is missing",
        },
    )?;
    let token_type = TokenType::parse(&token_type)?;

    let expires_in = match known.expires_in.take() {
        None => None,
        Some(Value::Number(n)) => Some(n.as_u64().ok_or(Error::TokenResponseInvalid(
            "expires_in must be a non-negative integer",
        ))?),
        Some(_) => {
            return Err(Error::TokenResponseInvalid(
                "expires_in must be a non-negative integer",
            ));
        }
    };
    let expires_at = match expires_in {
        None => None,
        Some(secs) => Some(
            now.checked_add(secs)
                .ok_or(Error::TokenResponseInvalid("expires_in is too large"))?,
        ),
    };

    let refresh_token = string_member(
        known.refresh_token.take(),
        &Field {
            missing: "refresh_token is missing",
            not_string: "refresh_token must be a string",
            empty: "refresh_token must not be empty",
        },
    )?;
    if refresh_token.as_deref().is_some_and(|t| !is_vschar_str(t)) {
        return Err(Error::TokenResponseInvalid(
            "refresh_token must only contain visible ASCII (VSCHAR)",
        ));
    }
    let refresh_token = refresh_token.map(RefreshToken::new);

    let id_token = string_member(
        known.id_token.take(),
        &Field {
            missing: "id_token is missing",
            not_string: "id_token must be a string",
            empty: "id_token must not be empty",
        },
    )?
    .map(IdToken::new);

    // `"scope": ""` means "granted no scope": node-oidc-provider (OpenID certified)
    // sends it for a resource token when none of the requested scopes applies to the
    // resource. It is kept as `Some("")`, distinct from an absent scope (which means
    // "as requested", §5.1).
    let scope = match known.scope.take() {
        Some(Value::String(s)) if s.is_empty() => Some(String::new()),
        other => string_member(
            other,
            &Field {
                missing: "scope is missing",
                not_string: "scope must be a string",
                empty: "scope must not be empty",
            },
        )?,
    };
    if scope
        .as_deref()
        .is_some_and(|s| !s.is_empty() && !is_scope(s))
    {
        return Err(Error::TokenResponseInvalid(
            "scope must be NQCHAR tokens separated by single spaces",
        ));
    }

    Ok(TokenSet {
        access_token,
        token_type,
        expires_in,
        expires_at,
        refresh_token,
        id_token,
        scope,
    })
}

/// Why a body is not an error response.
enum ErrorBody {
    /// A JSON object without an `error` member.
    NoError,
    /// Anything else, with its precise error.
    Invalid(Error),
}

impl From<Error> for ErrorBody {
    fn from(e: Error) -> Self {
        ErrorBody::Invalid(e)
    }
}

/// `%x20-21 / %x23-5B / %x5D-7E`: the characters of `error` and `error_description`
/// (RFC 6749 §5.2).
fn is_error_text(s: &str) -> bool {
    s.bytes().all(|b| b == 0x20 || is_nqchar(b))
}

fn error_response(
    status: u16,
    body: &str,
    dpop_nonce: Option<&str>,
) -> core::result::Result<ErrorResponse, ErrorBody> {
    let known = read_object(body)?;
    error_from_known(status, known, dpop_nonce)
}

fn error_from_known(
    status: u16,
    known: Known,
    dpop_nonce: Option<&str>,
) -> core::result::Result<ErrorResponse, ErrorBody> {
    let error = match known.error {
        None => return Err(ErrorBody::NoError),
        Some(Value::String(s)) => s,
        Some(_) => return Err(Error::TokenResponseInvalid("error must be a string").into()),
    };
    if error.is_empty() {
        return Err(Error::TokenResponseInvalid("error must not be empty").into());
    }
    if !is_error_text(&error) {
        return Err(Error::TokenResponseInvalid(
            "error must only contain %x20-21 / %x23-5B / %x5D-7E",
        )
        .into());
    }
    // The optional members only describe the error: one that is not a string of the
    // allowed characters is dropped rather than hiding the error code behind a
    // parse failure (a `use_dpop_nonce` retry must still work).
    let error_description = match known.error_description {
        Some(Value::String(s)) if !s.is_empty() && is_error_text(&s) => Some(s),
        _ => None,
    };
    let error_uri = match known.error_uri {
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(is_nqchar) => Some(s),
        _ => None,
    };
    let dpop_nonce = dpop_nonce.map(parse_dpop_nonce).transpose()?;
    Ok(ErrorResponse {
        error,
        error_description,
        error_uri,
        status,
        dpop_nonce,
    })
}

/// Parses an RFC 6749 §5.2 error response body, whatever its status, and the response's
/// `DPoP-Nonce` header if the caller has one (RFC 9449 §8).
///
/// `error` must be a non-empty string of the §5.2 characters (`%x20-21 / %x23-5B /
/// %x5D-7E`). `error_description` and `error_uri` are kept only when they are strings
/// of their allowed characters, and dropped otherwise, so that a sloppy description
/// never hides the error code.
///
/// # Errors
///
/// - [`Error::TokenResponseNotJson`] if the body is not a single JSON object;
/// - [`Error::TokenResponseInvalid`]: `error` missing, not a string, empty or with
///   characters outside §5.2, or a repeated member;
/// - [`Error::DpopNonceInvalid`] if the `DPoP-Nonce` header is not `1*NQCHAR`.
///
/// ```
/// use edge_oauth::token::parse_error_response;
///
/// let e = parse_error_response(403, r#"{"error":"invalid_grant","error_description":"Invalid authorization code"}"#, None)?;
/// assert_eq!(e.error, "invalid_grant");
/// assert_eq!(e.error_description.as_deref(), Some("Invalid authorization code"));
/// assert_eq!(e.status, 403);
///
/// let err = parse_error_response(400, r#"{"error":"invalid\"grant"}"#, None).unwrap_err();
/// assert_eq!(err.code(), "TOKEN_RESPONSE_INVALID");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
pub fn parse_error_response(
    status: u16,
    body: &str,
    dpop_nonce_header: Option<&str>,
) -> Result<ErrorResponse> {
    error_response(status, body, dpop_nonce_header).map_err(|e| match e {
        ErrorBody::NoError => Error::TokenResponseInvalid("error is missing"),
        ErrorBody::Invalid(e) => e,
    })
}

// ----- DPoP-Nonce ----------------------------------------------------------------------

/// Validates a `DPoP-Nonce` header value: `nonce = 1*NQCHAR` (RFC 9449 §8.1), and
/// returns it.
///
/// No whitespace is trimmed: Fetch already strips it, and a space inside the value
/// means several headers were combined (`a, b`), which is rejected.
///
/// # Errors
///
/// [`Error::DpopNonceInvalid`] for an empty value or a character outside `%x21 /
/// %x23-5B / %x5D-7E`.
///
/// ```
/// use edge_oauth::token::parse_dpop_nonce;
///
/// assert_eq!(parse_dpop_nonce("eyJ7S_zG.eyJH0-Z.HX4w-7v")?, "eyJ7S_zG.eyJH0-Z.HX4w-7v");
/// assert_eq!(parse_dpop_nonce("a, b").unwrap_err().code(), "DPOP_NONCE_INVALID");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
pub fn parse_dpop_nonce(value: &str) -> Result<String> {
    if value.is_empty() {
        return Err(Error::DpopNonceInvalid("must not be empty"));
    }
    if !value.bytes().all(is_nqchar) {
        return Err(Error::DpopNonceInvalid(
            "must only contain NQCHAR (%x21 / %x23-5B / %x5D-7E)",
        ));
    }
    Ok(value.to_string())
}

// ----- WWW-Authenticate ----------------------------------------------------------------

/// One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1): a scheme followed by
/// either auth-params or a token68.
///
/// ```
/// use edge_oauth::token::parse_www_authenticate;
///
/// let challenges = parse_www_authenticate(
///     r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="ES256""#,
/// )?;
/// assert_eq!(challenges.len(), 1);
/// assert!(challenges[0].scheme_is("dpop"));
/// assert_eq!(challenges[0].param("ERROR"), Some("use_dpop_nonce"));
/// assert_eq!(challenges[0].token68, None);
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth-scheme as sent (compare with [`scheme_is`](Self::scheme_is)).
    pub scheme: String,
    /// The auth-params in order, names as sent, values unquoted and unescaped.
    pub params: Vec<(String, String)>,
    /// The token68, for schemes that use one instead of auth-params.
    pub token68: Option<String>,
}

impl Challenge {
    /// The value of an auth-param; names are matched case-insensitively (RFC 9110
    /// §11.2).
    ///
    /// ```
    /// let c = &edge_oauth::token::parse_www_authenticate(r#"Bearer realm="example", error="invalid_token""#)?[0];
    /// assert_eq!(c.param("Realm"), Some("example"));
    /// assert_eq!(c.param("scope"), None);
    /// # Ok::<(), edge_oauth::Error>(())
    /// ```
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the auth-scheme is `scheme`, ignoring ASCII case (RFC 9110 §11.1).
    ///
    /// ```
    /// let c = &edge_oauth::token::parse_www_authenticate("Basic realm=example")?[0];
    /// assert!(c.scheme_is("basic"));
    /// assert!(!c.scheme_is("Bearer"));
    /// # Ok::<(), edge_oauth::Error>(())
    /// ```
    #[must_use]
    pub fn scheme_is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }
}

/// `tchar` (RFC 9110 §5.6.2).
fn is_tchar(c: char) -> bool {
    // On bytes: `str::contains(char)` with a runtime char brings in the substring searcher.
    c.is_ascii_alphanumeric() || (c.is_ascii() && b"!#$%&'*+-.^_`|~".contains(&(c as u8)))
}

/// The token68 characters before the trailing `=` (RFC 9110 §11.2).
fn is_token68_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || (c.is_ascii() && b"-._~+/".contains(&(c as u8)))
}

/// A cursor over the header value. All positions stay on character boundaries, and
/// every access goes through `str::get`, so no input can make it panic.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn at_end(&self) -> bool {
        self.rest().is_empty()
    }

    /// Skips `OWS = *( SP / HTAB )`.
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    /// Skips list separators: OWS, commas, OWS (empty list elements are allowed,
    /// RFC 9110 §5.6.1.2).
    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | ',')) {
            self.pos += 1;
        }
    }

    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
        self.s.get(start..self.pos).unwrap_or_default()
    }

    /// If a token68 starts here and is followed by the end of the challenge (end of
    /// input or a comma, after OWS), consumes and returns it.
    fn try_token68(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let body = self.take_while(is_token68_char);
        if body.is_empty() {
            self.pos = start;
            return None;
        }
        self.take_while(|c| c == '=');
        let end = self.pos;
        self.skip_ows();
        if self.at_end() || self.peek() == Some(',') {
            self.s.get(start..end)
        } else {
            self.pos = start;
            None
        }
    }

    /// Whether an auth-param (`token BWS "="`) starts here, without consuming it.
    fn at_auth_param(&self) -> bool {
        let mut probe = Cursor {
            s: self.s,
            pos: self.pos,
        };
        let name = probe.take_while(is_tchar);
        probe.skip_ows();
        !name.is_empty() && probe.peek() == Some('=')
    }

    /// `quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE` (RFC 9110 §5.6.4),
    /// after the opening quote.
    fn quoted_string(&mut self) -> Result<String> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(Error::ChallengeInvalid("unterminated quoted-string")),
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some(c) if c == '\t' || c == ' ' || c.is_ascii_graphic() || !c.is_ascii() => {
                        out.push(c);
                    }
                    _ => {
                        return Err(Error::ChallengeInvalid(
                            "invalid quoted-pair in quoted-string",
                        ));
                    }
                },
                Some(c) if c == '\t' || c == ' ' || c.is_ascii_graphic() || !c.is_ascii() => {
                    out.push(c);
                }
                Some(_) => {
                    return Err(Error::ChallengeInvalid(
                        "control character in quoted-string",
                    ));
                }
            }
        }
    }
}

/// The longest `WWW-Authenticate` value [`parse_www_authenticate`] reads, in bytes.
/// Real challenges are a few hundred bytes; the cap bounds the work on hostile input.
pub const MAX_WWW_AUTHENTICATE_LEN: usize = 8 * 1024;

/// The most auth-params one challenge may have in [`parse_www_authenticate`]. Each new
/// parameter is checked against the earlier ones for a repeat, so the cap keeps that
/// check from growing quadratically.
pub const MAX_CHALLENGE_PARAMS: usize = 64;

/// Parses a `WWW-Authenticate` header value into its challenges (RFC 9110 §11.6.1):
///
/// ```text
/// challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
/// auth-param = token BWS "=" BWS ( token / quoted-string )
/// ```
///
/// Challenges and parameters are both separated by commas; a parameter is told apart
/// from the next challenge by its `=`. Empty list elements are skipped. Quoted values
/// are unescaped. Use it to read `DPoP error="use_dpop_nonce"` (RFC 9449 §9) and
/// `Bearer error="invalid_token"` (RFC 6750 §3).
///
/// # Errors
///
/// [`Error::ChallengeInvalid`] naming the problem: an empty header, a missing or
/// invalid auth-scheme, an auth-param without a value, an unterminated or invalid
/// quoted-string, a parameter repeated within one challenge (RFC 9110 §11.2), a value
/// longer than [`MAX_WWW_AUTHENTICATE_LEN`], a challenge with more than
/// [`MAX_CHALLENGE_PARAMS`] parameters, or anything else that does not fit the grammar.
///
/// ```
/// use edge_oauth::token::parse_www_authenticate;
///
/// let cs = parse_www_authenticate(r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#)?;
/// assert_eq!(cs.len(), 2);
/// assert_eq!(cs[0].param("title"), Some("Login to \"apps\""));
/// assert_eq!(cs[1].scheme, "Basic");
///
/// let err = parse_www_authenticate(r#"Bearer error="invalid_token"#).unwrap_err();
/// assert_eq!(err.to_string(), "invalid WWW-Authenticate header: unterminated quoted-string");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
pub fn parse_www_authenticate(value: &str) -> Result<Vec<Challenge>> {
    if value.len() > MAX_WWW_AUTHENTICATE_LEN {
        return Err(Error::ChallengeInvalid("longer than 8192 bytes"));
    }
    let mut cur = Cursor { s: value, pos: 0 };
    let mut challenges = Vec::new();
    cur.skip_separators();
    if cur.at_end() {
        return Err(Error::ChallengeInvalid("no challenge"));
    }
    while !cur.at_end() {
        let scheme = cur.take_while(is_tchar);
        if scheme.is_empty() {
            return Err(Error::ChallengeInvalid("expected an auth-scheme"));
        }
        let mut challenge = Challenge {
            scheme: scheme.to_string(),
            params: Vec::new(),
            token68: None,
        };
        match cur.peek() {
            None => {
                challenges.push(challenge);
                break;
            }
            Some(',') => {
                challenges.push(challenge);
                cur.skip_separators();
                continue;
            }
            Some(' ') => {}
            Some(_) => return Err(Error::ChallengeInvalid("invalid character in auth-scheme")),
        }
        // 1*SP after the scheme.
        while cur.peek() == Some(' ') {
            cur.pos += 1;
        }
        if cur.at_end() {
            challenges.push(challenge);
            break;
        }
        if cur.peek() != Some(',') {
            if let Some(token68) = cur.try_token68() {
                challenge.token68 = Some(token68.to_string());
            } else {
                parse_params(&mut cur, &mut challenge)?;
            }
        }
        challenges.push(challenge);
        cur.skip_separators();
    }
    Ok(challenges)
}

/// Parses `#auth-param` for one challenge, leaving the cursor at the next challenge (or
/// the end).
fn parse_params(cur: &mut Cursor<'_>, challenge: &mut Challenge) -> Result<()> {
    loop {
        let name = cur.take_while(is_tchar);
        if name.is_empty() {
            return Err(Error::ChallengeInvalid("expected an auth-param name"));
        }
        cur.skip_ows();
        if cur.bump() != Some('=') {
            return Err(Error::ChallengeInvalid(
                "expected '=' after an auth-param name",
            ));
        }
        cur.skip_ows();
        let value = if cur.peek() == Some('"') {
            cur.bump();
            cur.quoted_string()?
        } else {
            let token = cur.take_while(is_tchar);
            if token.is_empty() {
                return Err(Error::ChallengeInvalid(
                    "auth-param value must be a token or a quoted-string",
                ));
            }
            token.to_string()
        };
        if challenge.params.len() >= MAX_CHALLENGE_PARAMS {
            return Err(Error::ChallengeInvalid(
                "more than 64 auth-params in one challenge",
            ));
        }
        if challenge.param(name).is_some() {
            return Err(Error::ChallengeInvalid("an auth-param is repeated"));
        }
        challenge.params.push((name.to_string(), value));
        cur.skip_ows();
        match cur.peek() {
            None => return Ok(()),
            Some(',') => {
                cur.skip_separators();
                if cur.at_end() || !cur.at_auth_param() {
                    return Ok(());
                }
            }
            Some(_) => return Err(Error::ChallengeInvalid("expected ',' after an auth-param")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{format, vec};

    #[test]
    fn www_authenticate_is_bounded_in_length_and_parameters() {
        let params = |n: usize| {
            (0..n)
                .map(|i| format!("p{i}=v"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ok = parse_www_authenticate(&format!("DPoP {}", params(64))).unwrap();
        assert_eq!(ok[0].params.len(), 64);
        assert_err(
            parse_www_authenticate(&format!("DPoP {}", params(65))).unwrap_err(),
            "CHALLENGE_INVALID",
            "invalid WWW-Authenticate header: more than 64 auth-params in one challenge",
        );
        // 64 per challenge, counted per challenge.
        let two = format!("DPoP {}, Bearer {}", params(64), params(64));
        assert_eq!(parse_www_authenticate(&two).unwrap().len(), 2);

        let at_limit = format!("DPoP realm=\"{}\"", "a".repeat(8192 - 13));
        assert_eq!(at_limit.len(), 8192);
        assert!(parse_www_authenticate(&at_limit).is_ok());
        let over = format!("DPoP realm=\"{}\"", "a".repeat(8192 - 12));
        assert_err(
            parse_www_authenticate(&over).unwrap_err(),
            "CHALLENGE_INVALID",
            "invalid WWW-Authenticate header: longer than 8192 bytes",
        );
        // What used to take quadratic time: one challenge with thousands of parameters.
        assert_eq!(
            parse_www_authenticate(&format!("DPoP {}", params(5000)))
                .unwrap_err()
                .code(),
            "CHALLENGE_INVALID"
        );
    }

    fn assert_err(err: Error, code: &str, message: &str) {
        assert_eq!(err.code(), code);
        assert_eq!(err.to_string(), message);
    }

    fn invalid(body: &str, message: &str) {
        assert_err(
            parse_token_response(200, body, 0).unwrap_err(),
            "TOKEN_RESPONSE_INVALID",
            &format!("invalid token response: {message}"),
        );
    }

    #[test]
    fn serde_json_value_keeps_the_last_duplicate_silently() {
        // Why the strict parser exists: `serde_json::Value` would accept this.
        let v: serde_json::Value = serde_json::from_str(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(v["a"], 2);
        invalid(
            r#"{"a":1,"a":2,"access_token":"x","token_type":"Bearer"}"#,
            "a member is repeated",
        );
    }

    #[test]
    fn not_json_variants() {
        for body in [
            "",
            "null",
            "[]",
            "\"x\"",
            "{",
            "{}{}",
            "{\"a\":1} x",
            "access_token=x",
        ] {
            assert_err(
                parse_token_response(200, body, 0).unwrap_err(),
                "TOKEN_RESPONSE_NOT_JSON",
                "token response body is not a JSON object",
            );
        }
        assert_err(
            parse_token_response(500, "<html>", 0).unwrap_err(),
            "TOKEN_RESPONSE_NOT_JSON",
            "token response body is not a JSON object",
        );
    }

    #[test]
    fn access_token_errors() {
        invalid(r#"{"token_type":"Bearer"}"#, "access_token is missing");
        invalid(
            r#"{"access_token":null,"token_type":"Bearer"}"#,
            "access_token must be a string",
        );
        invalid(
            r#"{"access_token":["x"],"token_type":"Bearer"}"#,
            "access_token must be a string",
        );
        invalid(
            r#"{"access_token":"","token_type":"Bearer"}"#,
            "access_token must not be empty",
        );
        invalid(
            r#"{"access_token":"a\nb","token_type":"Bearer"}"#,
            "access_token must only contain visible ASCII (VSCHAR)",
        );
    }

    #[test]
    fn token_type_errors() {
        invalid(r#"{"access_token":"x"}"#, "token_type is missing");
        invalid(
            r#"{"access_token":"x","token_type":""}"#,
            "token_type is missing",
        );
        invalid(
            r#"{"access_token":"x","token_type":1}"#,
            "token_type must be a string",
        );
        assert_err(
            parse_token_response(200, r#"{"access_token":"x","token_type":"mac"}"#, 0).unwrap_err(),
            "TOKEN_TYPE_UNSUPPORTED",
            "invalid token response: token_type must be Bearer or DPoP",
        );
    }

    #[test]
    fn expires_in_errors() {
        for v in [
            "\"3600\"",
            "-1",
            "3600.5",
            "3600.0",
            "1e3",
            "null",
            "true",
            "18446744073709551616",
        ] {
            invalid(
                &format!(r#"{{"access_token":"x","token_type":"Bearer","expires_in":{v}}}"#),
                "expires_in must be a non-negative integer",
            );
        }
        assert_err(
            parse_token_response(
                200,
                r#"{"access_token":"x","token_type":"Bearer","expires_in":18446744073709551615}"#,
                1,
            )
            .unwrap_err(),
            "TOKEN_RESPONSE_INVALID",
            "invalid token response: expires_in is too large",
        );
        let t = parse_token_response(
            200,
            r#"{"access_token":"x","token_type":"Bearer","expires_in":18446744073709551615}"#,
            0,
        )
        .unwrap();
        assert_eq!(t.expires_at, Some(u64::MAX));
        let t = parse_token_response(
            200,
            r#"{"access_token":"x","token_type":"Bearer","expires_in":0}"#,
            5,
        )
        .unwrap();
        assert_eq!((t.expires_in, t.expires_at), (Some(0), Some(5)));
    }

    #[test]
    fn an_empty_scope_means_no_scope_granted() {
        let body = r#"{"access_token":"x","token_type":"DPoP","scope":""}"#;
        let tokens = parse_token_response(200, body, 0).unwrap();
        assert_eq!(tokens.scope.as_deref(), Some(""));
    }

    #[test]
    fn optional_member_errors() {
        let base = r#""access_token":"x","token_type":"Bearer""#;
        for (member, value, message) in [
            ("refresh_token", "null", "refresh_token must be a string"),
            ("refresh_token", "1", "refresh_token must be a string"),
            ("refresh_token", "\"\"", "refresh_token must not be empty"),
            (
                "refresh_token",
                "\"a\\u0000\"",
                "refresh_token must only contain visible ASCII (VSCHAR)",
            ),
            ("id_token", "null", "id_token must be a string"),
            ("id_token", "{}", "id_token must be a string"),
            ("id_token", "\"\"", "id_token must not be empty"),
            ("scope", "null", "scope must be a string"),
            ("scope", "[\"read\"]", "scope must be a string"),
            (
                "scope",
                "\"read  write\"",
                "scope must be NQCHAR tokens separated by single spaces",
            ),
            (
                "scope",
                "\"r\\u00e9ad\"",
                "scope must be NQCHAR tokens separated by single spaces",
            ),
        ] {
            invalid(&format!("{{{base},\"{member}\":{value}}}"), message);
        }
    }

    #[test]
    fn repeated_known_members_are_named() {
        for name in [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "id_token",
            "scope",
            "error",
            "error_description",
            "error_uri",
        ] {
            invalid(
                &format!(r#"{{"access_token":"x","token_type":"Bearer","{name}":1,"{name}":2}}"#),
                &format!("{name} is repeated"),
            );
        }
    }

    #[test]
    fn full_success_with_unknown_members() {
        let body = r#"{"access_token":"at","token_type":"DPoP","expires_in":60,"refresh_token":"rt",
            "id_token":"a.b.c","scope":"openid profile","x":{"nested":[1,null]},"error":null}"#;
        let t = parse_token_response(200, body, 1000).unwrap();
        assert_eq!(t.access_token.as_str(), "at");
        assert_eq!(t.token_type, TokenType::Dpop);
        assert_eq!(t.expires_in, Some(60));
        assert_eq!(t.expires_at, Some(1060));
        assert_eq!(
            t.refresh_token.as_ref().map(RefreshToken::as_str),
            Some("rt")
        );
        assert_eq!(t.id_token.as_ref().map(IdToken::as_str), Some("a.b.c"));
        assert_eq!(t.scope.as_deref(), Some("openid profile"));
        let debug = format!("{t:?}");
        assert!(!debug.contains("\"at\"") && !debug.contains("rt\"") && !debug.contains("a.b.c"));
        assert!(debug.contains("AccessToken([redacted])"));
    }

    #[test]
    fn status_200_with_error_is_an_oauth_error() {
        let err = parse_token_response(200, r#"{"error":"bad_verification_code"}"#, 0).unwrap_err();
        assert_eq!(err.code(), "OAUTH_ERROR");
        assert_eq!(
            err.to_string(),
            "authorization server error: bad_verification_code"
        );
    }

    #[test]
    fn non_200_errors() {
        assert_err(
            parse_token_response(201, r#"{"access_token":"x","token_type":"Bearer"}"#, 0)
                .unwrap_err(),
            "TOKEN_RESPONSE_INVALID",
            "invalid token response: unexpected HTTP status",
        );
        assert_err(
            parse_token_response(400, r#"{"error":5}"#, 0).unwrap_err(),
            "TOKEN_RESPONSE_INVALID",
            "invalid token response: error must be a string",
        );
        assert_err(
            parse_token_response(400, r#"{"error":""}"#, 0).unwrap_err(),
            "TOKEN_RESPONSE_INVALID",
            "invalid token response: error must not be empty",
        );
        assert_err(
            parse_token_response(400, r#"{"error":"a\u0000"}"#, 0).unwrap_err(),
            "TOKEN_RESPONSE_INVALID",
            "invalid token response: error must only contain %x20-21 / %x23-5B / %x5D-7E",
        );
        assert_err(
            parse_token_response(400, r#"{"error":"a","error":"b"}"#, 0).unwrap_err(),
            "TOKEN_RESPONSE_INVALID",
            "invalid token response: error is repeated",
        );
    }

    #[test]
    fn error_response_optional_members_dropped_when_invalid() {
        let e = parse_error_response(
            400,
            r#"{"error":"invalid_grant","error_description":"Code expir\u00e9","error_uri":"https://x/a b"}"#,
            None,
        )
        .unwrap();
        assert_eq!(e.error_description, None);
        assert_eq!(e.error_uri, None);
        let e = parse_error_response(
            400,
            r#"{"error":"invalid_grant","error_description":null,"error_uri":"https://example.com/e"}"#,
            None,
        )
        .unwrap();
        assert_eq!(e.error_description, None);
        assert_eq!(e.error_uri.as_deref(), Some("https://example.com/e"));
    }

    #[test]
    fn parse_error_response_errors() {
        assert_err(
            parse_error_response(400, "{}", None).unwrap_err(),
            "TOKEN_RESPONSE_INVALID",
            "invalid token response: error is missing",
        );
        assert_err(
            parse_error_response(400, "oops", None).unwrap_err(),
            "TOKEN_RESPONSE_NOT_JSON",
            "token response body is not a JSON object",
        );
        assert_err(
            parse_error_response(400, r#"{"error":"use_dpop_nonce"}"#, Some("a b")).unwrap_err(),
            "DPOP_NONCE_INVALID",
            "invalid DPoP-Nonce header: must only contain NQCHAR (%x21 / %x23-5B / %x5D-7E)",
        );
    }

    #[test]
    fn dpop_nonce_errors() {
        assert_err(
            parse_dpop_nonce("").unwrap_err(),
            "DPOP_NONCE_INVALID",
            "invalid DPoP-Nonce header: must not be empty",
        );
        for bad in ["a\"b", "a\\b", " a", "a\t", "\u{e9}", "a\u{7f}"] {
            assert_err(
                parse_dpop_nonce(bad).unwrap_err(),
                "DPOP_NONCE_INVALID",
                "invalid DPoP-Nonce header: must only contain NQCHAR (%x21 / %x23-5B / %x5D-7E)",
            );
        }
        assert_eq!(parse_dpop_nonce("!#[]~,").unwrap(), "!#[]~,");
    }

    #[test]
    fn www_authenticate_shapes() {
        let cs = parse_www_authenticate("Basic").unwrap();
        assert_eq!(
            cs,
            vec![Challenge {
                scheme: "Basic".into(),
                params: vec![],
                token68: None
            }]
        );

        let cs =
            parse_www_authenticate("Negotiate YWJj==, Bearer, DPoP algs=\"ES256 PS256\"").unwrap();
        assert_eq!(cs.len(), 3);
        assert_eq!(cs[0].token68.as_deref(), Some("YWJj=="));
        assert!(cs[1].scheme_is("bearer") && cs[1].params.is_empty());
        assert_eq!(cs[2].param("algs"), Some("ES256 PS256"));

        let cs = parse_www_authenticate(" , Bearer realm = \"a\\\\b\" ,, error=invalid_token , ")
            .unwrap();
        assert_eq!(cs.len(), 1);
        assert_eq!(
            cs[0].params,
            vec![
                ("realm".into(), "a\\b".into()),
                ("error".into(), "invalid_token".into())
            ]
        );

        let cs = parse_www_authenticate("Bearer   a=").unwrap();
        assert_eq!(cs[0].token68.as_deref(), Some("a="));
    }

    #[test]
    fn www_authenticate_errors() {
        for (value, message) in [
            ("", "no challenge"),
            (" , ", "no challenge"),
            ("=x", "expected an auth-scheme"),
            ("Bearer\"", "invalid character in auth-scheme"),
            ("Bearer realm x", "expected '=' after an auth-param name"),
            (
                "Bearer realm\u{e9}=x",
                "expected '=' after an auth-param name",
            ),
            ("Bearer realm=\"x", "unterminated quoted-string"),
            ("Bearer realm=\"x\\", "invalid quoted-pair in quoted-string"),
            (
                "Bearer realm=\"x\u{1}\"",
                "control character in quoted-string",
            ),
            (
                "Bearer a=b, realm=",
                "auth-param value must be a token or a quoted-string",
            ),
            ("Bearer realm=a, Realm=b", "an auth-param is repeated"),
            ("Bearer realm=a b", "expected ',' after an auth-param"),
            ("Bearer \"x\"", "expected an auth-param name"),
        ] {
            assert_err(
                parse_www_authenticate(value).unwrap_err(),
                "CHALLENGE_INVALID",
                &format!("invalid WWW-Authenticate header: {message}"),
            );
        }
    }
}
