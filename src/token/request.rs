//! Token requests: a strict `application/x-www-form-urlencoded` codec (RFC 6749
//! Appendix B), grant request builders (RFC 6749 §4.1.3, §4.4.2, §6; RFC 7636 §4.5) and
//! HTTP Basic client credentials (RFC 6749 §2.3.1).
//!
//! The codec is hand-written on purpose. The `form_urlencoded` crate (and the WHATWG
//! `URLSearchParams` parser it follows) is lenient: it passes malformed escapes such as
//! `%ZZ` through literally and replaces bad UTF-8 with U+FFFD, and it keeps repeated
//! parameters. An authorization server must reject all three (RFC 6749 §3.2, §5.2), so
//! [`FormParams::parse`] works on the raw bytes and fails instead.
//!
//! The encoder percent-encodes every byte except the RFC 3986 unreserved characters
//! `ALPHA / DIGIT / "-" / "." / "_" / "~"` and writes a space as `+`, which is exactly
//! the encoding RFC 6749 Appendix B shows (`" %&+£€"` becomes `+%25%26%2B%C2%A3%E2%82%AC`).
//! Decoders treat `+` and `%20` alike, so the choice only matters for byte-exact tests.

use alloc::{collections::BTreeSet, string::String, vec::Vec};
use core::fmt;

use base64ct::{Base64, Encoding};
use zeroize::{Zeroize, Zeroizing};

use crate::base64url;
use crate::error::{Error, Result};

// ----- the form codec ------------------------------------------------------------------

/// Encodes name/value pairs as an `application/x-www-form-urlencoded` body, in the given
/// order.
///
/// Every byte outside `ALPHA / DIGIT / "-" / "." / "_" / "~"` is percent-encoded with
/// upper-case hex digits, and a space is written as `+` (RFC 6749 Appendix B). Empty
/// values are written as `name=`; the grant builders leave absent parameters out instead.
///
/// ```
/// use edge_oauth::token::encode_form;
///
/// let body = encode_form([("grant_type", "client_credentials"), ("scope", "read write")]);
/// assert_eq!(body, "grant_type=client_credentials&scope=read+write");
/// assert_eq!(encode_form([("v", " %&+£€")]), "v=+%25%26%2B%C2%A3%E2%82%AC");
/// ```
#[must_use]
pub fn encode_form<'a, I>(pairs: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut out = String::new();
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component_into(&mut out, name);
        out.push('=');
        encode_component_into(&mut out, value);
    }
    out
}

/// Appends the form encoding of `value` to `out`.
fn encode_component_into(out: &mut String, value: &str) {
    use crate::hex::UPPER as HEX;
    for &b in value.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
    }
}

/// Decodes one name or value: `+` is a space, `%XX` is an octet, other bytes are taken
/// as they are; the resulting octets must be UTF-8.
pub(crate) fn decode_component(input: &[u8]) -> Result<String> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().copied().and_then(crate::hex::value);
                let lo = bytes.next().copied().and_then(crate::hex::value);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                    _ => {
                        out.zeroize();
                        return Err(Error::FormEncodingInvalid);
                    }
                }
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).map_err(|e| {
        // The bytes may be part of a secret: wipe them before they are dropped.
        e.into_bytes().zeroize();
        Error::FormUtf8Invalid
    })
}

/// A strictly parsed `application/x-www-form-urlencoded` body, as an authorization
/// server receives it at the token endpoint.
///
/// - `+` is a space and `%XX` an octet; the decoded octets must be UTF-8 (Appendix B).
/// - A malformed escape ([`Error::FormEncodingInvalid`]) or bad UTF-8
///   ([`Error::FormUtf8Invalid`]) fails the whole body.
/// - A parameter that occurs more than once fails the body
///   ([`Error::FormDuplicateParameter`]), even if one occurrence is empty (§3.2).
/// - A parameter with an empty value (`scope=` or `scope`) counts as absent (§3.2): it
///   is not returned by [`get`](Self::get) or [`iter`](Self::iter).
/// - Empty pairs (`&&`) are skipped; names are case-sensitive.
///
/// Decoded values are zeroized when the `FormParams` is dropped (they include client
/// secrets and codes), and `Debug` prints names only.
///
/// ```
/// use edge_oauth::token::FormParams;
///
/// let form = FormParams::parse(b"grant_type=client_credentials&scope=read+write&audience=")?;
/// assert_eq!(form.get("grant_type"), Some("client_credentials"));
/// assert_eq!(form.get("scope"), Some("read write"));
/// assert_eq!(form.get("audience"), None);
/// assert_eq!(form.len(), 2);
///
/// let err = FormParams::parse(b"code=abc&code=").unwrap_err();
/// assert_eq!(err.code(), "FORM_DUPLICATE_PARAMETER");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FormParams {
    params: Vec<(String, String)>,
}

impl FormParams {
    /// Parses a form body.
    ///
    /// # Errors
    ///
    /// - [`Error::FormEncodingInvalid`] for a `%` not followed by two hex digits;
    /// - [`Error::FormUtf8Invalid`] if a decoded name or value is not UTF-8;
    /// - [`Error::FormDuplicateParameter`] (naming the parameter) if a name occurs twice,
    ///   empty occurrences included.
    ///
    /// ```
    /// use edge_oauth::token::FormParams;
    ///
    /// let form = FormParams::parse(b"redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb")?;
    /// assert_eq!(form.get("redirect_uri"), Some("https://client.example.com/cb"));
    ///
    /// assert_eq!(FormParams::parse(b"code=%ZZ").unwrap_err().code(), "FORM_ENCODING_INVALID");
    /// assert_eq!(FormParams::parse(b"code=%C3%28").unwrap_err().code(), "FORM_UTF8_INVALID");
    /// let err = FormParams::parse(b"grant_type=a&grant_type=b").unwrap_err();
    /// assert_eq!(err.to_string(), "form parameter is repeated: grant_type");
    /// # Ok::<(), edge_oauth::Error>(())
    /// ```
    pub fn parse(body: &[u8]) -> Result<FormParams> {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut form = FormParams::default();
        for pair in body.split(|&b| b == b'&') {
            if pair.is_empty() {
                continue;
            }
            let (raw_name, raw_value) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (
                    pair.get(..eq).unwrap_or_default(),
                    pair.get(eq + 1..).unwrap_or_default(),
                ),
                None => (pair, &[][..]),
            };
            let name = decode_component(raw_name)?;
            // Zeroized if it is not kept (duplicate or empty).
            let mut value = Zeroizing::new(decode_component(raw_value)?);
            if seen.contains(&name) {
                return Err(Error::FormDuplicateParameter(name));
            }
            seen.insert(name.clone());
            if value.is_empty() {
                continue;
            }
            form.params.push((name, core::mem::take(&mut *value)));
        }
        Ok(form)
    }

    /// The decoded value of a parameter, or `None` if it is absent or empty. Names are
    /// case-sensitive.
    ///
    /// ```
    /// let form = edge_oauth::token::FormParams::parse(b"Grant_Type=client_credentials")?;
    /// assert_eq!(form.get("grant_type"), None);
    /// assert_eq!(form.get("Grant_Type"), Some("client_credentials"));
    /// # Ok::<(), edge_oauth::Error>(())
    /// ```
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The parameters with non-empty values, in body order.
    ///
    /// ```
    /// let form = edge_oauth::token::FormParams::parse(b"&&a=1&b=&c=3&")?;
    /// let pairs: Vec<(&str, &str)> = form.iter().collect();
    /// assert_eq!(pairs, [("a", "1"), ("c", "3")]);
    /// # Ok::<(), edge_oauth::Error>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The number of parameters with non-empty values.
    ///
    /// ```
    /// let form = edge_oauth::token::FormParams::parse(b"scope=")?;
    /// assert_eq!(form.len(), 0);
    /// assert!(form.is_empty());
    /// # Ok::<(), edge_oauth::Error>(())
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether no parameter has a non-empty value.
    ///
    /// ```
    /// assert!(edge_oauth::token::FormParams::parse(b"grant_type")?.is_empty());
    /// # Ok::<(), edge_oauth::Error>(())
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}

impl fmt::Debug for FormParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, _) in &self.params {
            map.entry(name, &format_args!("[redacted]"));
        }
        map.finish()
    }
}

impl Drop for FormParams {
    fn drop(&mut self) {
        for (name, value) in &mut self.params {
            name.zeroize();
            value.zeroize();
        }
    }
}

// ----- value checks ----------------------------------------------------------------------

/// `VSCHAR = %x20-7E` (RFC 6749 Appendix A).
pub(crate) fn is_vschar_str(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// `NQCHAR = %x21 / %x23-5B / %x5D-7E` (RFC 6749 Appendix A).
pub(crate) fn is_nqchar(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e)
}

/// `scope = scope-token *( SP scope-token )`, `scope-token = 1*NQCHAR` (RFC 6749 §3.3).
pub(crate) fn is_scope(s: &str) -> bool {
    !s.is_empty()
        && s.split(' ')
            .all(|token| !token.is_empty() && token.bytes().all(is_nqchar))
}

/// An absolute URI without a fragment: `scheme ":" ...` with `scheme = ALPHA *( ALPHA /
/// DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1, §4.3), printable ASCII only. Enough to
/// catch a relative path or a pasted fragment; the server does the exact comparison.
pub(crate) fn is_absolute_uri_without_fragment(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut scheme_bytes = scheme.bytes();
    let scheme_ok = scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    scheme_ok
        && !rest.is_empty()
        && !s.contains('#')
        && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// A required value: non-empty (an empty value is an omitted one, §3.2).
fn required<'a>(value: &'a str, name: &'static str) -> Result<&'a str> {
    if value.is_empty() {
        Err(Error::RequestParameterMissing(name))
    } else {
        Ok(value)
    }
}

/// An optional value: `Some("")` is treated as absent (§3.2).
fn optional(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

fn check_client_id(client_id: Option<&str>) -> Result<Option<&str>> {
    match optional(client_id) {
        Some(id) if !is_vschar_str(id) => Err(Error::RequestParameterInvalid(
            "client_id must only contain visible ASCII (VSCHAR)",
        )),
        other => Ok(other),
    }
}

fn check_scope(scope: Option<&str>) -> Result<Option<&str>> {
    match optional(scope) {
        Some(s) if !is_scope(s) => Err(Error::RequestParameterInvalid(
            "scope must be NQCHAR tokens separated by single spaces",
        )),
        other => Ok(other),
    }
}

/// Redacted `Debug` for builder fields that hold secrets.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

// ----- grant builders --------------------------------------------------------------------

/// An `authorization_code` token request with PKCE (RFC 6749 §4.1.3, RFC 7636 §4.5).
///
/// `client_id` is for public clients, which must send it (§3.2.1); confidential clients
/// authenticate with [`encode_basic_credentials`] instead. `Debug` redacts the code and
/// the verifier.
///
/// ```
/// use edge_oauth::token::AuthorizationCodeGrant;
///
/// let body = AuthorizationCodeGrant {
///     code: "SplxlOBeZQQYbYS6WxSbIA",
///     redirect_uri: "https://client.example.com/cb",
///     code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
///     client_id: Some("s6BhdRkqt3"),
/// }
/// .to_form()?;
/// assert_eq!(
///     body,
///     "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA\
///      &redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb\
///      &code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&client_id=s6BhdRkqt3"
/// );
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AuthorizationCodeGrant<'a> {
    /// The authorization code (required, `1*VSCHAR`).
    pub code: &'a str,
    /// The `redirect_uri` of the authorization request (required, absolute, no fragment).
    pub redirect_uri: &'a str,
    /// The PKCE code verifier (required, 43-128 unreserved characters).
    pub code_verifier: &'a str,
    /// The client identifier, for public clients.
    pub client_id: Option<&'a str>,
}

impl AuthorizationCodeGrant<'_> {
    /// Validates the request and encodes it as a form body, `grant_type` first.
    ///
    /// # Errors
    ///
    /// - [`Error::RequestParameterMissing`] naming `code`, `redirect_uri` or
    ///   `code_verifier` when it is empty;
    /// - [`Error::RequestParameterInvalid`] when `code` or `client_id` is not `VSCHAR`,
    ///   or `redirect_uri` is not an absolute URI without a fragment;
    /// - [`Error::PkceVerifierInvalid`] when the verifier is not 43-128 unreserved
    ///   characters.
    ///
    /// ```
    /// use edge_oauth::token::AuthorizationCodeGrant;
    ///
    /// let grant = AuthorizationCodeGrant {
    ///     code: "",
    ///     redirect_uri: "https://client.example.com/cb",
    ///     code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    ///     client_id: None,
    /// };
    /// let err = grant.to_form().unwrap_err();
    /// assert_eq!(err.code(), "REQUEST_PARAMETER_MISSING");
    /// assert_eq!(err.to_string(), "missing parameter: code");
    /// ```
    pub fn to_form(&self) -> Result<String> {
        let code = required(self.code, "code")?;
        if !is_vschar_str(code) {
            return Err(Error::RequestParameterInvalid(
                "code must only contain visible ASCII (VSCHAR)",
            ));
        }
        let redirect_uri = required(self.redirect_uri, "redirect_uri")?;
        if !is_absolute_uri_without_fragment(redirect_uri) {
            return Err(Error::RequestParameterInvalid(
                "redirect_uri must be an absolute URI without a fragment",
            ));
        }
        let code_verifier = required(self.code_verifier, "code_verifier")?;
        crate::pkce::CodeVerifier::new(code_verifier)?;
        let client_id = check_client_id(self.client_id)?;

        let mut pairs = Vec::with_capacity(5);
        pairs.push(("grant_type", "authorization_code"));
        pairs.push(("code", code));
        pairs.push(("redirect_uri", redirect_uri));
        pairs.push(("code_verifier", code_verifier));
        if let Some(id) = client_id {
            pairs.push(("client_id", id));
        }
        Ok(encode_form(pairs))
    }
}

impl fmt::Debug for AuthorizationCodeGrant<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationCodeGrant")
            .field("code", &Redacted)
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &Redacted)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// A `refresh_token` token request (RFC 6749 §6). `Debug` redacts the refresh token.
///
/// ```
/// use edge_oauth::token::RefreshTokenGrant;
///
/// let body = RefreshTokenGrant {
///     refresh_token: "tGzv3JOkF0XG5Qx2TlKWIA",
///     scope: Some("read write"),
///     client_id: None,
/// }
/// .to_form()?;
/// assert_eq!(body, "grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA&scope=read+write");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RefreshTokenGrant<'a> {
    /// The refresh token (required, `1*VSCHAR`).
    pub refresh_token: &'a str,
    /// A narrower scope to request (RFC 6749 §3.3 syntax).
    pub scope: Option<&'a str>,
    /// The client identifier, for public clients.
    pub client_id: Option<&'a str>,
}

impl RefreshTokenGrant<'_> {
    /// Validates the request and encodes it as a form body, `grant_type` first. An
    /// empty optional value is left out, as if it were `None`.
    ///
    /// # Errors
    ///
    /// - [`Error::RequestParameterMissing`]`("refresh_token")` when it is empty;
    /// - [`Error::RequestParameterInvalid`] when `refresh_token` or `client_id` is not
    ///   `VSCHAR`, or `scope` is not space-separated `NQCHAR` tokens.
    ///
    /// ```
    /// use edge_oauth::token::RefreshTokenGrant;
    ///
    /// let grant = RefreshTokenGrant { refresh_token: "rt", scope: Some("read\"write"), client_id: None };
    /// let err = grant.to_form().unwrap_err();
    /// assert_eq!(err.code(), "REQUEST_PARAMETER_INVALID");
    /// assert!(err.to_string().contains("scope"));
    /// ```
    pub fn to_form(&self) -> Result<String> {
        let refresh_token = required(self.refresh_token, "refresh_token")?;
        if !is_vschar_str(refresh_token) {
            return Err(Error::RequestParameterInvalid(
                "refresh_token must only contain visible ASCII (VSCHAR)",
            ));
        }
        let scope = check_scope(self.scope)?;
        let client_id = check_client_id(self.client_id)?;

        let mut pairs = Vec::with_capacity(4);
        pairs.push(("grant_type", "refresh_token"));
        pairs.push(("refresh_token", refresh_token));
        if let Some(s) = scope {
            pairs.push(("scope", s));
        }
        if let Some(id) = client_id {
            pairs.push(("client_id", id));
        }
        Ok(encode_form(pairs))
    }
}

impl fmt::Debug for RefreshTokenGrant<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokenGrant")
            .field("refresh_token", &Redacted)
            .field("scope", &self.scope)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// A `client_credentials` token request (RFC 6749 §4.4.2), with the Auth0 `audience`
/// and `organization` extensions and RFC 8707 `resource`. Every field is optional; the
/// client authenticates separately (usually with [`encode_basic_credentials`]).
///
/// ```
/// use edge_oauth::token::ClientCredentialsGrant;
///
/// let body = ClientCredentialsGrant {
///     audience: Some("https://api.example.com"),
///     scope: Some("read:users"),
///     ..Default::default()
/// }
/// .to_form()?;
/// assert_eq!(
///     body,
///     "grant_type=client_credentials&audience=https%3A%2F%2Fapi.example.com&scope=read%3Ausers"
/// );
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientCredentialsGrant<'a> {
    /// The Auth0 `audience`: the API the token is for.
    pub audience: Option<&'a str>,
    /// The RFC 8707 `resource` indicator (absolute URI, no fragment).
    pub resource: Option<&'a str>,
    /// The Auth0 `organization` (id or name).
    pub organization: Option<&'a str>,
    /// The requested scope (RFC 6749 §3.3 syntax).
    pub scope: Option<&'a str>,
    /// The client identifier, when it is sent in the body.
    pub client_id: Option<&'a str>,
}

impl ClientCredentialsGrant<'_> {
    /// Validates the request and encodes it as a form body: `grant_type` first, then
    /// `audience`, `resource`, `organization`, `scope`, `client_id`. An empty optional
    /// value is left out, as if it were `None`.
    ///
    /// # Errors
    ///
    /// [`Error::RequestParameterInvalid`] when `resource` is not an absolute URI without
    /// a fragment (RFC 8707 §2), `scope` is not space-separated `NQCHAR` tokens, or
    /// `client_id` is not `VSCHAR`.
    ///
    /// ```
    /// use edge_oauth::token::ClientCredentialsGrant;
    ///
    /// let body = ClientCredentialsGrant::default().to_form()?;
    /// assert_eq!(body, "grant_type=client_credentials");
    ///
    /// let grant = ClientCredentialsGrant { resource: Some("/api"), ..Default::default() };
    /// let err = grant.to_form().unwrap_err();
    /// assert_eq!(err.to_string(), "invalid parameter: resource must be an absolute URI without a fragment");
    /// # Ok::<(), edge_oauth::Error>(())
    /// ```
    pub fn to_form(&self) -> Result<String> {
        let audience = optional(self.audience);
        let resource = optional(self.resource);
        if let Some(r) = resource
            && !is_absolute_uri_without_fragment(r)
        {
            return Err(Error::RequestParameterInvalid(
                "resource must be an absolute URI without a fragment",
            ));
        }
        let organization = optional(self.organization);
        let scope = check_scope(self.scope)?;
        let client_id = check_client_id(self.client_id)?;

        let mut pairs = Vec::with_capacity(6);
        pairs.push(("grant_type", "client_credentials"));
        for (name, value) in [
            ("audience", audience),
            ("resource", resource),
            ("organization", organization),
            ("scope", scope),
            ("client_id", client_id),
        ] {
            if let Some(v) = value {
                pairs.push((name, v));
            }
        }
        Ok(encode_form(pairs))
    }
}

// ----- token revocation (RFC 7009) -----------------------------------------------------

/// A token revocation request (RFC 7009 §2.1). `Debug` redacts the token.
///
/// `token_type_hint` is `access_token` or `refresh_token` (§2.1, registered in §4.1.2);
/// `client_id` is for public clients, as with the grants.
///
/// ```
/// use edge_oauth::token::TokenRevocation;
///
/// let body = TokenRevocation {
///     token: "45ghiukldjahdnhzdauz",
///     token_type_hint: Some("refresh_token"),
///     client_id: Some("spa"),
/// }
/// .to_form()?;
/// assert_eq!(body, "token=45ghiukldjahdnhzdauz&token_type_hint=refresh_token&client_id=spa");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenRevocation<'a> {
    /// The token to revoke (required, `1*VSCHAR`).
    pub token: &'a str,
    /// `access_token` or `refresh_token`, when the client knows it.
    pub token_type_hint: Option<&'a str>,
    /// The client identifier, for public clients.
    pub client_id: Option<&'a str>,
}

impl TokenRevocation<'_> {
    /// Validates the request and encodes it as a form body.
    ///
    /// # Errors
    ///
    /// - [`Error::RequestParameterMissing`]`("token")` for an empty token;
    /// - [`Error::RequestParameterInvalid`] when the token or `client_id` is not
    ///   `VSCHAR`, or the hint is neither `access_token` nor `refresh_token`.
    ///
    /// ```
    /// use edge_oauth::token::TokenRevocation;
    /// let r = TokenRevocation { token: "t", token_type_hint: Some("id_token"), client_id: None };
    /// assert_eq!(r.to_form().unwrap_err().code(), "REQUEST_PARAMETER_INVALID");
    /// ```
    pub fn to_form(&self) -> Result<String> {
        let token = required(self.token, "token")?;
        if !is_vschar_str(token) {
            return Err(Error::RequestParameterInvalid(
                "token must only contain visible ASCII (VSCHAR)",
            ));
        }
        let hint = match optional(self.token_type_hint) {
            None => None,
            Some(h @ ("access_token" | "refresh_token")) => Some(h),
            Some(_) => {
                return Err(Error::RequestParameterInvalid(
                    "token_type_hint must be access_token or refresh_token",
                ));
            }
        };
        let client_id = check_client_id(self.client_id)?;
        let mut pairs = Vec::with_capacity(3);
        pairs.push(("token", token));
        if let Some(h) = hint {
            pairs.push(("token_type_hint", h));
        }
        if let Some(id) = client_id {
            pairs.push(("client_id", id));
        }
        Ok(encode_form(pairs))
    }
}

impl fmt::Debug for TokenRevocation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRevocation")
            .field("token", &Redacted)
            .field("token_type_hint", &self.token_type_hint)
            .field("client_id", &self.client_id)
            .finish()
    }
}

// ----- HTTP Basic client authentication --------------------------------------------------

/// Builds an `Authorization` header value for `client_secret_basic` (RFC 6749 §2.3.1):
/// the client id and secret are each form-encoded (Appendix B), joined with `:`, and
/// base64-encoded (RFC 7617 §2, padded standard alphabet).
///
/// # Errors
///
/// [`Error::RequestParameterMissing`]`("client_id")` if the client id is empty. An empty
/// secret is allowed (`"id:"`), since some servers register clients that way.
///
/// The header value carries the secret, so it comes back [`Zeroizing`]: it is wiped when
/// dropped.
///
/// ```
/// use edge_oauth::token::encode_basic_credentials;
///
/// assert_eq!(
///     encode_basic_credentials("s6BhdRkqt3", "7Fjfp0ZBr1KtDRbnfVdmIw")?.as_str(),
///     "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3"
/// );
/// # Ok::<(), edge_oauth::Error>(())
/// ```
pub fn encode_basic_credentials(client_id: &str, client_secret: &str) -> Result<Zeroizing<String>> {
    let client_id = required(client_id, "client_id")?;
    // Sized for the worst case (every byte escaped) so that it never reallocates and
    // leaves a copy of the secret behind.
    let capacity = client_id
        .len()
        .saturating_add(client_secret.len())
        .saturating_mul(3)
        .saturating_add(1);
    let mut joined = Zeroizing::new(String::with_capacity(capacity));
    encode_component_into(&mut joined, client_id);
    joined.push(':');
    encode_component_into(&mut joined, client_secret);
    // Standard base64 (RFC 4648 §4) is base64url with `+` and `/` for `-` and `_`, padded
    // to a multiple of 4 characters: mapped here, the wasm entries carry one base64 encoder
    // (base64ct's, constant-time) instead of two. The mapping does not branch on the
    // characters of the secret.
    let encoded = Zeroizing::new(base64url::encode(joined.as_bytes()));
    let padded = encoded.len().div_ceil(4) * 4 + 6;
    // Sized exactly, so that no reallocation leaves a copy behind.
    let mut header = Zeroizing::new(String::with_capacity(padded));
    header.push_str("Basic ");
    for b in encoded.bytes() {
        let b = b ^ (u8::from(b == b'-') * (b'-' ^ b'+')) ^ (u8::from(b == b'_') * (b'_' ^ b'/'));
        header.push(char::from(b));
    }
    while header.len() < padded {
        header.push('=');
    }
    Ok(header)
}

/// Decodes an `Authorization: Basic` header value into `(client_id, client_secret)`, as
/// the token endpoint does for `client_secret_basic` (RFC 6749 §2.3.1, RFC 7617 §2).
///
/// The scheme is matched case-insensitively and followed by one or more spaces, then
/// strict padded base64 (standard alphabet). The decoded octets are split on the
/// **first** `:`, and each part is form-decoded ([`FormParams`] rules: `+` is a space,
/// `%XX` an octet, then UTF-8). The secret may be empty (`"plain:"`): a server must
/// treat that as an authentication failure for a client that has a secret.
///
/// # Errors
///
/// - [`Error::RequestParameterInvalid`] if the scheme is not `Basic`, the credentials
///   are missing or not padded base64, or the decoded value has no `:`;
/// - [`Error::FormEncodingInvalid`] / [`Error::FormUtf8Invalid`] for a malformed
///   escape or bad UTF-8 in either part;
/// - [`Error::RequestParameterMissing`]`("client_id")` if the client id is empty.
///
/// ```
/// use edge_oauth::token::decode_basic_credentials;
///
/// let (id, secret) = decode_basic_credentials("Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3")?;
/// assert_eq!(id, "s6BhdRkqt3");
/// assert_eq!(secret, "7Fjfp0ZBr1KtDRbnfVdmIw");
///
/// let err = decode_basic_credentials("Bearer abc").unwrap_err();
/// assert_eq!(err.to_string(), "invalid parameter: Authorization scheme must be Basic");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
pub fn decode_basic_credentials(header_value: &str) -> Result<(String, String)> {
    let (scheme, rest) = header_value
        .split_once(' ')
        .ok_or(Error::RequestParameterInvalid(
            "Authorization scheme must be Basic",
        ))?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Err(Error::RequestParameterInvalid(
            "Authorization scheme must be Basic",
        ));
    }
    let credentials = rest.trim_start_matches(' ');
    if credentials.is_empty() {
        return Err(Error::RequestParameterInvalid(
            "Authorization Basic credentials are missing",
        ));
    }
    let decoded = Zeroizing::new(Base64::decode_vec(credentials).map_err(|_| {
        Error::RequestParameterInvalid("Authorization Basic credentials must be padded base64")
    })?);
    let colon = decoded
        .iter()
        .position(|&b| b == b':')
        .ok_or(Error::RequestParameterInvalid(
            "Authorization Basic credentials must contain ':'",
        ))?;
    let raw_id = decoded.get(..colon).unwrap_or_default();
    let raw_secret = decoded.get(colon + 1..).unwrap_or_default();
    let client_id = decode_component(raw_id)?;
    let client_secret = decode_component(raw_secret)?;
    if client_id.is_empty() {
        return Err(Error::RequestParameterMissing("client_id"));
    }
    Ok((client_id, client_secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn assert_err(err: Error, code: &str, message: &str) {
        assert_eq!(err.code(), code);
        assert_eq!(err.to_string(), message);
    }

    // ----- codec ------------------------------------------------------------------------

    #[test]
    fn form_bad_escape_truncated() {
        for body in [
            &b"code=%"[..],
            b"code=%4",
            b"code=%G1",
            b"code=%1G",
            b"%ZZ=x",
        ] {
            assert_err(
                FormParams::parse(body).unwrap_err(),
                "FORM_ENCODING_INVALID",
                "form body has a malformed percent-escape",
            );
        }
    }

    #[test]
    fn form_bad_utf8_raw_and_escaped() {
        for body in [&b"code=%C3%28"[..], b"code=\xff", b"%FF=x", b"code=%E2%82"] {
            assert_err(
                FormParams::parse(body).unwrap_err(),
                "FORM_UTF8_INVALID",
                "form body is not valid UTF-8",
            );
        }
    }

    #[test]
    fn form_duplicate_after_decoding_names() {
        assert_err(
            FormParams::parse(b"scope=a&sc%6Fpe=b").unwrap_err(),
            "FORM_DUPLICATE_PARAMETER",
            "form parameter is repeated: scope",
        );
        // An empty first occurrence still counts.
        assert_err(
            FormParams::parse(b"code&code=abc").unwrap_err(),
            "FORM_DUPLICATE_PARAMETER",
            "form parameter is repeated: code",
        );
    }

    #[test]
    fn form_duplicate_name_is_sanitised_in_message() {
        let err = FormParams::parse(b"a%0Ab=1&a%0Ab=2").unwrap_err();
        assert_eq!(err, Error::FormDuplicateParameter("a\nb".to_string()));
        assert_eq!(err.to_string(), "form parameter is repeated: a?b");
    }

    #[test]
    fn form_value_may_contain_equals_and_lowercase_hex() {
        let form = FormParams::parse(b"a=b=c&d=%2f%2F").unwrap();
        assert_eq!(form.get("a"), Some("b=c"));
        assert_eq!(form.get("d"), Some("//"));
    }

    #[test]
    fn form_debug_redacts_values() {
        let form = FormParams::parse(b"client_secret=hunter2").unwrap();
        let debug = alloc::format!("{form:?}");
        assert_eq!(debug, "{\"client_secret\": [redacted]}");
    }

    #[test]
    fn form_encode_round_trip_all_bytes() {
        let value: String = (1u8..=0x7f).map(char::from).chain("é€😀".chars()).collect();
        let body = encode_form([("v", value.as_str()), ("k y", "")]);
        assert!(
            body.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%+=&".contains(&b))
        );
        let form = FormParams::parse(body.as_bytes()).unwrap();
        assert_eq!(form.get("v"), Some(value.as_str()));
        assert_eq!(form.get("k y"), None);
        assert!(body.ends_with("&k+y="));
    }

    // ----- builders ---------------------------------------------------------------------

    fn code_grant<'a>() -> AuthorizationCodeGrant<'a> {
        AuthorizationCodeGrant {
            code: "SplxlOBeZQQYbYS6WxSbIA",
            redirect_uri: "https://client.example.com/cb",
            code_verifier: VERIFIER,
            client_id: None,
        }
    }

    #[test]
    fn authorization_code_missing_each_required_field() {
        for (grant, name) in [
            (
                AuthorizationCodeGrant {
                    code: "",
                    ..code_grant()
                },
                "code",
            ),
            (
                AuthorizationCodeGrant {
                    redirect_uri: "",
                    ..code_grant()
                },
                "redirect_uri",
            ),
            (
                AuthorizationCodeGrant {
                    code_verifier: "",
                    ..code_grant()
                },
                "code_verifier",
            ),
        ] {
            assert_err(
                grant.to_form().unwrap_err(),
                "REQUEST_PARAMETER_MISSING",
                &alloc::format!("missing parameter: {name}"),
            );
        }
    }

    #[test]
    fn authorization_code_invalid_values() {
        assert_err(
            AuthorizationCodeGrant {
                code: "a\nb",
                ..code_grant()
            }
            .to_form()
            .unwrap_err(),
            "REQUEST_PARAMETER_INVALID",
            "invalid parameter: code must only contain visible ASCII (VSCHAR)",
        );
        for uri in [
            "/cb",
            "https://client.example.com/cb#frag",
            "1http://x",
            "https:",
            "https://a b",
        ] {
            assert_err(
                AuthorizationCodeGrant {
                    redirect_uri: uri,
                    ..code_grant()
                }
                .to_form()
                .unwrap_err(),
                "REQUEST_PARAMETER_INVALID",
                "invalid parameter: redirect_uri must be an absolute URI without a fragment",
            );
        }
        assert_err(
            AuthorizationCodeGrant {
                client_id: Some("é"),
                ..code_grant()
            }
            .to_form()
            .unwrap_err(),
            "REQUEST_PARAMETER_INVALID",
            "invalid parameter: client_id must only contain visible ASCII (VSCHAR)",
        );
    }

    #[test]
    fn authorization_code_verifier_checks() {
        let short = &VERIFIER[..42];
        assert_err(
            AuthorizationCodeGrant {
                code_verifier: short,
                ..code_grant()
            }
            .to_form()
            .unwrap_err(),
            "PKCE_VERIFIER_INVALID",
            "invalid PKCE code_verifier: must be at least 43 characters",
        );
        let long = "a".repeat(129);
        assert_err(
            AuthorizationCodeGrant {
                code_verifier: &long,
                ..code_grant()
            }
            .to_form()
            .unwrap_err(),
            "PKCE_VERIFIER_INVALID",
            "invalid PKCE code_verifier: must be at most 128 characters",
        );
        let bad = "a".repeat(42) + "+";
        assert_err(
            AuthorizationCodeGrant {
                code_verifier: &bad,
                ..code_grant()
            }
            .to_form()
            .unwrap_err(),
            "PKCE_VERIFIER_INVALID",
            "invalid PKCE code_verifier: must contain only unreserved characters (A-Z a-z 0-9 - . _ ~)",
        );
        let max = "~".repeat(128);
        assert!(
            AuthorizationCodeGrant {
                code_verifier: &max,
                ..code_grant()
            }
            .to_form()
            .is_ok()
        );
        assert!(
            AuthorizationCodeGrant {
                code_verifier: &VERIFIER[..43],
                ..code_grant()
            }
            .to_form()
            .is_ok()
        );
    }

    #[test]
    fn authorization_code_empty_client_id_is_absent_and_custom_scheme_ok() {
        let body = AuthorizationCodeGrant {
            client_id: Some(""),
            redirect_uri: "com.example.app:/oauth2redirect",
            ..code_grant()
        }
        .to_form()
        .unwrap();
        assert!(!body.contains("client_id"));
        assert!(body.contains("redirect_uri=com.example.app%3A%2Foauth2redirect"));
    }

    #[test]
    fn authorization_code_debug_redacts() {
        let debug = alloc::format!("{:?}", code_grant());
        assert!(!debug.contains("SplxlOBeZQQYbYS6WxSbIA"));
        assert!(!debug.contains(VERIFIER));
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn refresh_token_errors() {
        let grant = RefreshTokenGrant {
            refresh_token: "",
            scope: None,
            client_id: None,
        };
        assert_err(
            grant.to_form().unwrap_err(),
            "REQUEST_PARAMETER_MISSING",
            "missing parameter: refresh_token",
        );
        let grant = RefreshTokenGrant {
            refresh_token: "a\u{7f}",
            scope: None,
            client_id: None,
        };
        assert_err(
            grant.to_form().unwrap_err(),
            "REQUEST_PARAMETER_INVALID",
            "invalid parameter: refresh_token must only contain visible ASCII (VSCHAR)",
        );
        for scope in ["read  write", " read", "read ", "r\u{e9}ad", "a\\b"] {
            let grant = RefreshTokenGrant {
                refresh_token: "rt",
                scope: Some(scope),
                client_id: None,
            };
            assert_err(
                grant.to_form().unwrap_err(),
                "REQUEST_PARAMETER_INVALID",
                "invalid parameter: scope must be NQCHAR tokens separated by single spaces",
            );
        }
        let grant = RefreshTokenGrant {
            refresh_token: "rt",
            scope: None,
            client_id: Some("a\tb"),
        };
        assert_err(
            grant.to_form().unwrap_err(),
            "REQUEST_PARAMETER_INVALID",
            "invalid parameter: client_id must only contain visible ASCII (VSCHAR)",
        );
        assert!(!alloc::format!("{grant:?}").contains("rt\""));
    }

    #[test]
    fn refresh_token_order_and_optional_empty() {
        let grant = RefreshTokenGrant {
            refresh_token: "rt",
            scope: Some(""),
            client_id: Some("c"),
        };
        assert_eq!(
            grant.to_form().unwrap(),
            "grant_type=refresh_token&refresh_token=rt&client_id=c"
        );
    }

    #[test]
    fn client_credentials_all_fields_in_order() {
        let body = ClientCredentialsGrant {
            audience: Some("https://api.example.com/"),
            resource: Some("https://rs.example.com/"),
            organization: Some("org_123"),
            scope: Some("read write"),
            client_id: Some("s6BhdRkqt3"),
        }
        .to_form()
        .unwrap();
        assert_eq!(
            body,
            "grant_type=client_credentials&audience=https%3A%2F%2Fapi.example.com%2F\
             &resource=https%3A%2F%2Frs.example.com%2F&organization=org_123\
             &scope=read+write&client_id=s6BhdRkqt3"
        );
    }

    #[test]
    fn client_credentials_errors() {
        for resource in ["rs.example.com", "https://rs.example.com/#x"] {
            let grant = ClientCredentialsGrant {
                resource: Some(resource),
                ..Default::default()
            };
            assert_err(
                grant.to_form().unwrap_err(),
                "REQUEST_PARAMETER_INVALID",
                "invalid parameter: resource must be an absolute URI without a fragment",
            );
        }
        let grant = ClientCredentialsGrant {
            scope: Some("a\"b"),
            ..Default::default()
        };
        assert_err(
            grant.to_form().unwrap_err(),
            "REQUEST_PARAMETER_INVALID",
            "invalid parameter: scope must be NQCHAR tokens separated by single spaces",
        );
        let grant = ClientCredentialsGrant {
            client_id: Some("\u{0}"),
            ..Default::default()
        };
        assert_err(
            grant.to_form().unwrap_err(),
            "REQUEST_PARAMETER_INVALID",
            "invalid parameter: client_id must only contain visible ASCII (VSCHAR)",
        );
    }

    // ----- Basic ------------------------------------------------------------------------

    #[test]
    fn basic_encode_returns_a_zeroizing_header() {
        let header: Zeroizing<String> = encode_basic_credentials("id", "secret").unwrap();
        assert_eq!(header.as_str(), "Basic aWQ6c2VjcmV0");
        assert_eq!(
            header.capacity(),
            header.len(),
            "no spare copy in a reallocation"
        );
    }

    #[test]
    fn rfc4648_4_basic_encode_is_padded_standard_base64() {
        // Every secret of up to two printable ASCII characters: all three paddings, and
        // the `+` that the mapping from base64url produces. (`/` needs an octet ending in
        // six 1 bits in the third place of a group, which form encoding never leaves
        // unescaped: `?`, DEL and non-ASCII are percent-encoded.)
        let mut seen = [false; 3];
        let chars: Vec<char> = (' '..='~').collect();
        let mut secrets = vec![String::new()];
        secrets.extend(chars.iter().map(|c| c.to_string()));
        for a in &chars {
            secrets.extend(chars.iter().map(|b| [*a, *b].iter().collect::<String>()));
        }
        for secret in &secrets {
            let header = encode_basic_credentials("svc", secret).unwrap();
            let mut joined = String::from("svc:");
            encode_component_into(&mut joined, secret);
            let expected = alloc::format!("Basic {}", Base64::encode_string(joined.as_bytes()));
            assert_eq!(header.as_str(), expected, "secret {secret:?}");
            assert_eq!(header.capacity(), header.len());
            for (i, probe) in ["+", "=", "=="].iter().enumerate() {
                seen[i] |= header.contains(probe);
            }
        }
        assert_eq!(seen, [true; 3], "+, = and == all occur");
    }

    #[test]
    fn basic_encode_empty_client_id() {
        assert_err(
            encode_basic_credentials("", "secret").unwrap_err(),
            "REQUEST_PARAMETER_MISSING",
            "missing parameter: client_id",
        );
    }

    #[test]
    fn basic_decode_scheme_errors() {
        for value in [
            "",
            "Basic",
            "Bearer czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3",
            "Basicx abc",
        ] {
            assert_err(
                decode_basic_credentials(value).unwrap_err(),
                "REQUEST_PARAMETER_INVALID",
                "invalid parameter: Authorization scheme must be Basic",
            );
        }
        // Scheme is case-insensitive; more than one space is allowed (1*SP).
        let (id, secret) = decode_basic_credentials("bAsIc   aWQ6YSti").unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("id", "a b"));
    }

    #[test]
    fn basic_decode_base64_errors() {
        // Unpadded, url-safe alphabet, trailing whitespace, empty.
        assert_err(
            decode_basic_credentials("Basic ").unwrap_err(),
            "REQUEST_PARAMETER_INVALID",
            "invalid parameter: Authorization Basic credentials are missing",
        );
        for value in [
            "Basic cGxhaW46Og",
            "Basic cGxh-W46",
            "Basic cGxhaW46 ",
            "Basic cGxhaW46\t",
        ] {
            assert_err(
                decode_basic_credentials(value).unwrap_err(),
                "REQUEST_PARAMETER_INVALID",
                "invalid parameter: Authorization Basic credentials must be padded base64",
            );
        }
    }

    #[test]
    fn basic_decode_no_colon() {
        // "plain" without ':'
        assert_err(
            decode_basic_credentials("Basic cGxhaW4=").unwrap_err(),
            "REQUEST_PARAMETER_INVALID",
            "invalid parameter: Authorization Basic credentials must contain ':'",
        );
    }

    #[test]
    fn basic_decode_form_errors() {
        let header = alloc::format!("Basic {}", Base64::encode_string(b"id:%ZZ"));
        assert_err(
            decode_basic_credentials(&header).unwrap_err(),
            "FORM_ENCODING_INVALID",
            "form body has a malformed percent-escape",
        );
        let header = alloc::format!("Basic {}", Base64::encode_string(b"\xff:secret"));
        assert_err(
            decode_basic_credentials(&header).unwrap_err(),
            "FORM_UTF8_INVALID",
            "form body is not valid UTF-8",
        );
        let header = alloc::format!("Basic {}", Base64::encode_string(b":secret"));
        assert_err(
            decode_basic_credentials(&header).unwrap_err(),
            "REQUEST_PARAMETER_MISSING",
            "missing parameter: client_id",
        );
    }
}
