//! The device authorization grant (RFC 8628) from the client's side: the device
//! authorization request (§3.1) and its strictly parsed answer (§3.2), the device access
//! token request (§3.4), and what a polling client does with each error of §3.5.
//!
//! The success of a device access token request is an ordinary token response: parse
//! it with [`parse_token_response`](super::parse_token_response).
//!
//! ```
//! use edge_oauth::token::device::{
//!     DeviceAuthorizationRequest, DeviceCodeGrant, next_poll_interval,
//!     next_poll_interval_after_no_answer, parse_device_authorization_response,
//! };
//!
//! let body = DeviceAuthorizationRequest { scope: Some("openid"), client_id: Some("tv"), ..Default::default() }
//!     .to_form()?;
//! assert_eq!(body, "scope=openid&client_id=tv");
//!
//! let answer = r#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
//!   "user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","expires_in":1800}"#;
//! let authorization = parse_device_authorization_response(200, answer, 1_700_000_000)?;
//! assert_eq!(authorization.interval, 5, "the default of §3.2");
//!
//! let poll = DeviceCodeGrant { device_code: authorization.device_code.as_str(), client_id: Some("tv") }
//!     .to_form()?;
//! assert!(poll.starts_with("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&"));
//!
//! assert_eq!(next_poll_interval("authorization_pending", 5), Some(5));
//! assert_eq!(next_poll_interval("slow_down", 5), Some(10));
//! assert_eq!(next_poll_interval("access_denied", 5), None);
//! // No answer at all (the connection failed): poll again, half as often.
//! assert_eq!(next_poll_interval_after_no_answer(5), 10);
//! # Ok::<(), edge_oauth::Error>(())
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use super::DeviceCode;
use super::request::{encode_form, is_absolute_uri_without_fragment, is_scope, is_vschar_str};
use super::response::parse_error_response;
use crate::authorize::check_secure_url;
use crate::error::{Error, Result};
use crate::json::{self, Object, Value};

/// The `grant_type` of the device access token request (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The polling interval when the answer has none, in seconds (RFC 8628 §3.2).
pub const DEFAULT_INTERVAL: u64 = 5;

/// What `slow_down` adds to the interval, in seconds, for that and every later request
/// (RFC 8628 §3.5).
pub const SLOW_DOWN_INCREMENT: u64 = 5;

/// The largest `expires_in` and `interval` accepted, in seconds (about 136 years): every
/// value below it, added to a clock in seconds, stays exact as a JavaScript number.
const MAX_SECONDS: u64 = u32::MAX as u64;

/// A device authorization request (RFC 8628 §3.1), with Auth0's `audience` and the RFC
/// 8707 `resource`. `client_id` is for public clients, which must send it; confidential
/// clients authenticate as at the token endpoint instead.
///
/// ```
/// use edge_oauth::token::device::DeviceAuthorizationRequest;
///
/// let body = DeviceAuthorizationRequest {
///     scope: Some("openid offline_access"),
///     audience: Some("https://api.example.com"),
///     client_id: Some("tv"),
///     ..Default::default()
/// }
/// .to_form()?;
/// assert_eq!(body, "scope=openid+offline_access&audience=https%3A%2F%2Fapi.example.com&client_id=tv");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceAuthorizationRequest<'a> {
    /// The requested scope (RFC 6749 §3.3 syntax).
    pub scope: Option<&'a str>,
    /// The Auth0 `audience`: the API the tokens are for.
    pub audience: Option<&'a str>,
    /// The RFC 8707 `resource` indicator (absolute URI, no fragment).
    pub resource: Option<&'a str>,
    /// The client identifier, for public clients.
    pub client_id: Option<&'a str>,
}

/// An optional value: `Some("")` is treated as absent (RFC 6749 §3.2).
fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

impl DeviceAuthorizationRequest<'_> {
    /// Validates the request and encodes it as a form body: `scope`, `audience`,
    /// `resource`, `client_id`. An empty optional value is left out, as if it were `None`.
    ///
    /// # Errors
    ///
    /// [`Error::RequestParameterInvalid`] when `scope` is not space-separated `NQCHAR`
    /// tokens, `audience` or `client_id` is not `VSCHAR`, or `resource` is not an
    /// absolute URI without a fragment.
    ///
    /// ```
    /// use edge_oauth::token::device::DeviceAuthorizationRequest;
    ///
    /// let err = DeviceAuthorizationRequest { scope: Some("a  b"), ..Default::default() }.to_form().unwrap_err();
    /// assert_eq!(err.to_string(), "invalid parameter: scope must be NQCHAR tokens separated by single spaces");
    /// ```
    pub fn to_form(&self) -> Result<String> {
        let scope = present(self.scope);
        if scope.is_some_and(|s| !is_scope(s)) {
            return Err(Error::RequestParameterInvalid(
                "scope must be NQCHAR tokens separated by single spaces",
            ));
        }
        let audience = present(self.audience);
        if audience.is_some_and(|a| !is_vschar_str(a)) {
            return Err(Error::RequestParameterInvalid(
                "audience must only contain visible ASCII (VSCHAR)",
            ));
        }
        let resource = present(self.resource);
        if resource.is_some_and(|r| !is_absolute_uri_without_fragment(r)) {
            return Err(Error::RequestParameterInvalid(
                "resource must be an absolute URI without a fragment",
            ));
        }
        let client_id = present(self.client_id);
        if client_id.is_some_and(|id| !is_vschar_str(id)) {
            return Err(Error::RequestParameterInvalid(
                "client_id must only contain visible ASCII (VSCHAR)",
            ));
        }
        let mut pairs = Vec::with_capacity(4);
        for (name, value) in [
            ("scope", scope),
            ("audience", audience),
            ("resource", resource),
            ("client_id", client_id),
        ] {
            if let Some(v) = value {
                pairs.push((name, v));
            }
        }
        Ok(encode_form(pairs))
    }
}

/// A device access token request (RFC 8628 §3.4). `Debug` redacts the device code.
///
/// ```
/// use edge_oauth::token::device::DeviceCodeGrant;
///
/// let body = DeviceCodeGrant { device_code: "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS", client_id: Some("1406020730") }
///     .to_form()?;
/// assert_eq!(
///     body,
///     "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
///      &device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS&client_id=1406020730"
/// );
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DeviceCodeGrant<'a> {
    /// The `device_code` of the device authorization answer (required, `1*VSCHAR`).
    pub device_code: &'a str,
    /// The client identifier, for public clients.
    pub client_id: Option<&'a str>,
}

impl DeviceCodeGrant<'_> {
    /// Validates the request and encodes it as a form body, `grant_type` first.
    ///
    /// # Errors
    ///
    /// - [`Error::RequestParameterMissing`]`("device_code")` when it is empty;
    /// - [`Error::RequestParameterInvalid`] when `device_code` or `client_id` is not
    ///   `VSCHAR`.
    ///
    /// ```
    /// use edge_oauth::token::device::DeviceCodeGrant;
    ///
    /// let err = DeviceCodeGrant { device_code: "", client_id: None }.to_form().unwrap_err();
    /// assert_eq!(err.to_string(), "missing parameter: device_code");
    /// ```
    pub fn to_form(&self) -> Result<String> {
        if self.device_code.is_empty() {
            return Err(Error::RequestParameterMissing("device_code"));
        }
        if !is_vschar_str(self.device_code) {
            return Err(Error::RequestParameterInvalid(
                "device_code must only contain visible ASCII (VSCHAR)",
            ));
        }
        let client_id = present(self.client_id);
        if client_id.is_some_and(|id| !is_vschar_str(id)) {
            return Err(Error::RequestParameterInvalid(
                "client_id must only contain visible ASCII (VSCHAR)",
            ));
        }
        let mut pairs = Vec::with_capacity(3);
        pairs.push(("grant_type", DEVICE_CODE_GRANT_TYPE));
        pairs.push(("device_code", self.device_code));
        if let Some(id) = client_id {
            pairs.push(("client_id", id));
        }
        Ok(encode_form(pairs))
    }
}

impl core::fmt::Debug for DeviceCodeGrant<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceCodeGrant")
            .field("device_code", &"[redacted]")
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// A successful device authorization answer (RFC 8628 §3.2). `Debug` redacts the
/// device code (the user code is meant to be shown).
///
/// ```
/// use edge_oauth::token::device::parse_device_authorization_response;
///
/// let a = parse_device_authorization_response(
///     200,
///     r#"{"device_code":"dc","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","expires_in":1800,"interval":5}"#,
///     100,
/// )?;
/// assert_eq!((a.expires_in, a.expires_at, a.interval), (1800, 1900, 5));
/// assert!(!format!("{a:?}").contains("\"dc\""));
/// # Ok::<(), edge_oauth::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    /// The device verification code, for the token requests.
    pub device_code: DeviceCode,
    /// The code the user enters at the verification URI.
    pub user_code: String,
    /// Where the user goes (on another device) to enter the user code.
    pub verification_uri: String,
    /// The verification URI with the user code in it, when the server sent one (for a
    /// QR code or a link).
    pub verification_uri_complete: Option<String>,
    /// The lifetime of the codes in seconds, as sent.
    pub expires_in: u64,
    /// Their expiry in seconds since the epoch: now + `expires_in`.
    pub expires_at: u64,
    /// The seconds to wait between polls ([`DEFAULT_INTERVAL`] when not sent).
    pub interval: u64,
}

/// A required or optional member that must be a non-empty JSON string.
fn string_member(
    object: &Object,
    name: &str,
    missing: &'static str,
    not_string: &'static str,
) -> Result<Option<String>> {
    match object.get(name) {
        None if missing.is_empty() => Ok(None),
        None => Err(Error::DeviceAuthorizationResponseInvalid(missing)),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(Error::DeviceAuthorizationResponseInvalid(not_string)),
    }
}

/// A URL the user opens: https (http only on a loopback host), no fragment.
fn user_url(url: String, what: &'static str, not_url: &'static str) -> Result<String> {
    match check_secure_url(&url, what) {
        Ok(()) => Ok(url),
        Err(Error::UrlInsecure(what)) => Err(Error::UrlInsecure(what)),
        Err(_) => Err(Error::DeviceAuthorizationResponseInvalid(not_url)),
    }
}

/// A positive number of seconds up to [`MAX_SECONDS`].
fn seconds(value: &Value, not_positive: &'static str, too_large: &'static str) -> Result<u64> {
    match value.as_u64() {
        Some(0) | None => Err(Error::DeviceAuthorizationResponseInvalid(not_positive)),
        Some(n) if n > MAX_SECONDS => Err(Error::DeviceAuthorizationResponseInvalid(too_large)),
        Some(n) => Ok(n),
    }
}

/// Parses the answer of the device authorization endpoint (RFC 8628 §3.2), strictly.
///
/// Success is status `200` with one JSON object (no repeated member; unknown members are
/// ignored) holding `device_code` (a non-empty `VSCHAR` string), `user_code` (a non-empty
/// string without control characters, since it is shown to the user), `verification_uri`
/// and the optional `verification_uri_complete` (https URLs, http only on a loopback
/// host, without a fragment), `expires_in` (a positive integer) and the optional
/// `interval` (a positive integer, [`DEFAULT_INTERVAL`] when absent). `now` is the
/// caller's clock in seconds: `expires_at = now + expires_in`. Any other status is read
/// as an RFC 6749 §5.2 error (§3.2 of RFC 8628).
///
/// # Errors
///
/// - [`Error::OAuth`] for an error answer;
/// - [`Error::DeviceAuthorizationResponseInvalid`] naming the problem: an unexpected
///   status without an `error`, a body that is not a JSON object, a repeated member, or
///   the member that is missing or malformed;
/// - [`Error::UrlInsecure`] naming `verification_uri` or `verification_uri_complete`
///   when it is plain http on a host that is not loopback.
///
/// ```
/// use edge_oauth::{token::device::parse_device_authorization_response, Error};
///
/// let err = parse_device_authorization_response(401, r#"{"error":"invalid_client"}"#, 0).unwrap_err();
/// assert!(matches!(&err, Error::OAuth(e) if e.error == "invalid_client" && e.status == 401));
///
/// let err = parse_device_authorization_response(
///     200,
///     r#"{"device_code":"dc","user_code":"U","verification_uri":"https://a.example/device","expires_in":"600"}"#,
///     0,
/// )
/// .unwrap_err();
/// assert_eq!(err.code(), "DEVICE_AUTHORIZATION_RESPONSE_INVALID");
/// assert_eq!(err.to_string(), "invalid device authorization response: expires_in must be a positive integer");
/// ```
pub fn parse_device_authorization_response(
    status: u16,
    body: &str,
    now: u64,
) -> Result<DeviceAuthorization> {
    if status != 200 {
        return Err(match parse_error_response(status, body, None) {
            Ok(e) => Error::OAuth(e),
            Err(_) => Error::DeviceAuthorizationResponseInvalid(
                "unexpected HTTP status (200 or an error)",
            ),
        });
    }
    let object = match json::parse(body.as_bytes()) {
        Ok(Value::Object(o)) => o,
        Err(e) if e.is_duplicate() => {
            return Err(Error::DeviceAuthorizationResponseInvalid(
                "a member is repeated",
            ));
        }
        _ => {
            return Err(Error::DeviceAuthorizationResponseInvalid(
                "the body is not a JSON object",
            ));
        }
    };
    // Some servers answer an error with 200: read it as the error it is.
    if !object.contains_key("device_code") && matches!(object.get("error"), Some(Value::String(_)))
    {
        return Err(match parse_error_response(status, body, None) {
            Ok(e) => Error::OAuth(e),
            Err(e) => e,
        });
    }

    let device_code = string_member(
        &object,
        "device_code",
        "device_code is missing",
        "device_code must be a non-empty string",
    )?
    .unwrap_or_default();
    if !is_vschar_str(&device_code) {
        return Err(Error::DeviceAuthorizationResponseInvalid(
            "device_code must only contain visible ASCII (VSCHAR)",
        ));
    }
    let user_code = string_member(
        &object,
        "user_code",
        "user_code is missing",
        "user_code must be a non-empty string",
    )?
    .unwrap_or_default();
    if user_code.chars().any(char::is_control) {
        return Err(Error::DeviceAuthorizationResponseInvalid(
            "user_code must not contain control characters",
        ));
    }
    let verification_uri = string_member(
        &object,
        "verification_uri",
        "verification_uri is missing",
        "verification_uri must be a non-empty string",
    )?
    .unwrap_or_default();
    let verification_uri = user_url(
        verification_uri,
        "verification_uri",
        "verification_uri must be an absolute URL without a fragment",
    )?;
    let verification_uri_complete = string_member(
        &object,
        "verification_uri_complete",
        "",
        "verification_uri_complete must be a non-empty string",
    )?
    .map(|url| {
        user_url(
            url,
            "verification_uri_complete",
            "verification_uri_complete must be an absolute URL without a fragment",
        )
    })
    .transpose()?;
    let expires_in = match object.get("expires_in") {
        None => {
            return Err(Error::DeviceAuthorizationResponseInvalid(
                "expires_in is missing",
            ));
        }
        Some(v) => seconds(
            v,
            "expires_in must be a positive integer",
            "expires_in is too large",
        )?,
    };
    let expires_at =
        now.checked_add(expires_in)
            .ok_or(Error::DeviceAuthorizationResponseInvalid(
                "expires_in is too large",
            ))?;
    let interval = match object.get("interval") {
        None => DEFAULT_INTERVAL,
        Some(v) => seconds(
            v,
            "interval must be a positive integer",
            "interval is too large",
        )?,
    };
    Ok(DeviceAuthorization {
        device_code: DeviceCode::new(device_code),
        user_code,
        verification_uri,
        verification_uri_complete,
        expires_in,
        expires_at,
        interval,
    })
}

/// What a polling client does after the token endpoint answered `error` (RFC 8628 §3.5):
/// `Some(interval)` to poll again after that many seconds, `None` to stop.
///
/// - `authorization_pending`: the user has not acted yet; poll again at the same
///   interval;
/// - `slow_down`: poll again, with the interval increased by [`SLOW_DOWN_INCREMENT`] for
///   this and every later request;
/// - anything else (`access_denied`, `expired_token`, `invalid_grant`, ...): stop.
///
/// ```
/// use edge_oauth::token::device::next_poll_interval;
///
/// assert_eq!(next_poll_interval("slow_down", 10), Some(15));
/// assert_eq!(next_poll_interval("slow_down", u64::MAX), Some(u64::MAX));
/// assert_eq!(next_poll_interval("expired_token", 5), None);
/// ```
#[must_use]
pub fn next_poll_interval(error: &str, interval: u64) -> Option<u64> {
    match error {
        "authorization_pending" => Some(interval),
        "slow_down" => Some(interval.saturating_add(SLOW_DOWN_INCREMENT)),
        _ => None,
    }
}

/// What a polling client does after a polling request got no answer (the connection
/// failed or timed out, RFC 8628 §3.5: the client "MUST unilaterally reduce its polling
/// frequency before retrying", by doubling the interval as the RFC recommends): the
/// interval for this and every later poll, at most the largest accepted interval (about
/// 136 years). The device code is still good, so polling goes on until it expires.
///
/// ```
/// use edge_oauth::token::device::next_poll_interval_after_no_answer;
///
/// assert_eq!(next_poll_interval_after_no_answer(5), 10);
/// assert_eq!(next_poll_interval_after_no_answer(u64::MAX), u64::from(u32::MAX));
/// ```
#[must_use]
pub fn next_poll_interval_after_no_answer(interval: u64) -> u64 {
    interval.saturating_mul(2).min(MAX_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    /// The example answer of RFC 8628 §3.2.
    const RFC_EXAMPLE: &str = r#"{
      "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
      "user_code": "WDJB-MJHT",
      "verification_uri": "https://example.com/device",
      "verification_uri_complete": "https://example.com/device?user_code=WDJB-MJHT",
      "expires_in": 1800,
      "interval": 5
    }"#;

    fn invalid(body: &str) -> Error {
        parse_device_authorization_response(200, body, 1000).unwrap_err()
    }

    fn with(member: &str) -> String {
        format!(
            r#"{{"device_code":"dc","user_code":"U","verification_uri":"https://a.example/d","expires_in":600,{member}}}"#
        )
    }

    fn without(name: &str) -> String {
        let mut members = alloc::vec![
            r#""device_code":"dc""#,
            r#""user_code":"U""#,
            r#""verification_uri":"https://a.example/d""#,
            r#""expires_in":600"#,
        ];
        members.retain(|m| !m.starts_with(&format!("\"{name}\"")));
        format!("{{{}}}", members.join(","))
    }

    #[test]
    fn rfc8628_3_2_example_response() {
        let a = parse_device_authorization_response(200, RFC_EXAMPLE, 1_700_000_000).unwrap();
        assert_eq!(
            a.device_code.as_str(),
            "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"
        );
        assert_eq!(a.user_code, "WDJB-MJHT");
        assert_eq!(a.verification_uri, "https://example.com/device");
        assert_eq!(
            a.verification_uri_complete.as_deref(),
            Some("https://example.com/device?user_code=WDJB-MJHT")
        );
        assert_eq!(a.expires_in, 1800);
        assert_eq!(a.expires_at, 1_700_001_800);
        assert_eq!(a.interval, 5);
        assert!(!format!("{a:?}").contains("GmRhmhcx"));
    }

    #[test]
    fn rfc8628_3_2_interval_defaults_to_5() {
        let a = parse_device_authorization_response(200, &without("interval"), 0).unwrap();
        assert_eq!(a.interval, 5);
        assert_eq!(a.verification_uri_complete, None);
        let a = parse_device_authorization_response(200, &with(r#""interval":7"#), 0).unwrap();
        assert_eq!(a.interval, 7);
    }

    #[test]
    fn rfc8628_3_2_required_members() {
        for (name, message) in [
            ("device_code", "device_code is missing"),
            ("user_code", "user_code is missing"),
            ("verification_uri", "verification_uri is missing"),
            ("expires_in", "expires_in is missing"),
        ] {
            let err = invalid(&without(name));
            assert_eq!(err, Error::DeviceAuthorizationResponseInvalid(message));
            assert_eq!(err.code(), "DEVICE_AUTHORIZATION_RESPONSE_INVALID");
        }
    }

    #[test]
    fn rfc8628_3_2_mistyped_members() {
        let cases = [
            (
                r#"{"device_code":5,"user_code":"U","verification_uri":"https://a.example/d","expires_in":600}"#,
                "device_code must be a non-empty string",
            ),
            (
                r#"{"device_code":"","user_code":"U","verification_uri":"https://a.example/d","expires_in":600}"#,
                "device_code must be a non-empty string",
            ),
            (
                r#"{"device_code":"d\u00e9","user_code":"U","verification_uri":"https://a.example/d","expires_in":600}"#,
                "device_code must only contain visible ASCII (VSCHAR)",
            ),
            (
                r#"{"device_code":"dc","user_code":null,"verification_uri":"https://a.example/d","expires_in":600}"#,
                "user_code must be a non-empty string",
            ),
            (
                r#"{"device_code":"dc","user_code":"AB\u001b[2J","verification_uri":"https://a.example/d","expires_in":600}"#,
                "user_code must not contain control characters",
            ),
            (
                r#"{"device_code":"dc","user_code":"U","verification_uri":["https://a.example/d"],"expires_in":600}"#,
                "verification_uri must be a non-empty string",
            ),
            (
                r#"{"device_code":"dc","user_code":"U","verification_uri":"/device","expires_in":600}"#,
                "verification_uri must be an absolute URL without a fragment",
            ),
            (
                r#"{"device_code":"dc","user_code":"U","verification_uri":"https://a.example/d#x","expires_in":600}"#,
                "verification_uri must be an absolute URL without a fragment",
            ),
            (
                &with(r#""verification_uri_complete":true"#),
                "verification_uri_complete must be a non-empty string",
            ),
            (
                &with(r#""verification_uri_complete":"device?user_code=U""#),
                "verification_uri_complete must be an absolute URL without a fragment",
            ),
            (
                r#"{"device_code":"dc","user_code":"U","verification_uri":"https://a.example/d","expires_in":"600"}"#,
                "expires_in must be a positive integer",
            ),
            (
                r#"{"device_code":"dc","user_code":"U","verification_uri":"https://a.example/d","expires_in":0}"#,
                "expires_in must be a positive integer",
            ),
            (
                r#"{"device_code":"dc","user_code":"U","verification_uri":"https://a.example/d","expires_in":600.5}"#,
                "expires_in must be a positive integer",
            ),
            (
                r#"{"device_code":"dc","user_code":"U","verification_uri":"https://a.example/d","expires_in":4294967296}"#,
                "expires_in is too large",
            ),
            (
                &with(r#""interval":"5""#),
                "interval must be a positive integer",
            ),
            (
                &with(r#""interval":0"#),
                "interval must be a positive integer",
            ),
            (
                &with(r#""interval":-5"#),
                "interval must be a positive integer",
            ),
            (&with(r#""interval":10000000000"#), "interval is too large"),
        ];
        for (body, message) in cases {
            assert_eq!(
                invalid(body),
                Error::DeviceAuthorizationResponseInvalid(message),
                "{body}"
            );
        }
    }

    #[test]
    fn rfc8628_3_2_insecure_verification_uri() {
        let body = r#"{"device_code":"dc","user_code":"U","verification_uri":"http://a.example/d","expires_in":600}"#;
        assert_eq!(invalid(body), Error::UrlInsecure("verification_uri"));
        let err = invalid(&with(
            r#""verification_uri_complete":"http://a.example/d?user_code=U""#,
        ));
        assert_eq!(err, Error::UrlInsecure("verification_uri_complete"));
        // Loopback hosts may be http (local development).
        let local = r#"{"device_code":"dc","user_code":"U","verification_uri":"http://127.0.0.1:8787/activate","expires_in":600}"#;
        assert!(parse_device_authorization_response(200, local, 0).is_ok());
    }

    #[test]
    fn rfc8628_3_2_body_shape() {
        assert_eq!(
            invalid("[]"),
            Error::DeviceAuthorizationResponseInvalid("the body is not a JSON object")
        );
        assert_eq!(
            invalid("<html>"),
            Error::DeviceAuthorizationResponseInvalid("the body is not a JSON object")
        );
        assert_eq!(
            invalid(&with(r#""user_code":"V""#)),
            Error::DeviceAuthorizationResponseInvalid("a member is repeated")
        );
        // Unknown members are ignored.
        assert!(parse_device_authorization_response(200, &with(r#""message":"hello""#), 0).is_ok());
    }

    #[test]
    fn rfc8628_3_2_error_answers() {
        let err = parse_device_authorization_response(
            400,
            r#"{"error":"invalid_scope","error_description":"unknown scope"}"#,
            0,
        )
        .unwrap_err();
        let Error::OAuth(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            (e.error.as_str(), e.status, e.error_description.as_deref()),
            ("invalid_scope", 400, Some("unknown scope"))
        );
        let err =
            parse_device_authorization_response(200, r#"{"error":"server_error"}"#, 0).unwrap_err();
        assert!(matches!(&err, Error::OAuth(e) if e.error == "server_error" && e.status == 200));
        assert_eq!(
            parse_device_authorization_response(502, "Bad gateway", 0).unwrap_err(),
            Error::DeviceAuthorizationResponseInvalid("unexpected HTTP status (200 or an error)")
        );
        assert_eq!(
            parse_device_authorization_response(201, RFC_EXAMPLE, 0).unwrap_err(),
            Error::DeviceAuthorizationResponseInvalid("unexpected HTTP status (200 or an error)")
        );
    }

    #[test]
    fn rfc8628_3_2_expiry_overflow() {
        assert_eq!(
            parse_device_authorization_response(200, RFC_EXAMPLE, u64::MAX - 10).unwrap_err(),
            Error::DeviceAuthorizationResponseInvalid("expires_in is too large")
        );
    }

    #[test]
    fn rfc8628_3_1_request_body() {
        assert_eq!(DeviceAuthorizationRequest::default().to_form().unwrap(), "");
        let body = DeviceAuthorizationRequest {
            scope: Some("read:items"),
            audience: Some(""),
            resource: Some("https://api.example.com/"),
            client_id: Some("tv"),
        }
        .to_form()
        .unwrap();
        assert_eq!(
            body,
            "scope=read%3Aitems&resource=https%3A%2F%2Fapi.example.com%2F&client_id=tv"
        );
        for (request, message) in [
            (
                DeviceAuthorizationRequest {
                    scope: Some("a\"b"),
                    ..Default::default()
                },
                "scope must be NQCHAR tokens separated by single spaces",
            ),
            (
                DeviceAuthorizationRequest {
                    audience: Some("api\n"),
                    ..Default::default()
                },
                "audience must only contain visible ASCII (VSCHAR)",
            ),
            (
                DeviceAuthorizationRequest {
                    resource: Some("api"),
                    ..Default::default()
                },
                "resource must be an absolute URI without a fragment",
            ),
            (
                DeviceAuthorizationRequest {
                    client_id: Some("t\u{e9}l\u{e9}"),
                    ..Default::default()
                },
                "client_id must only contain visible ASCII (VSCHAR)",
            ),
        ] {
            assert_eq!(
                request.to_form().unwrap_err(),
                Error::RequestParameterInvalid(message)
            );
        }
    }

    #[test]
    fn rfc8628_3_4_token_request_body() {
        let body = DeviceCodeGrant {
            device_code: "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
            client_id: None,
        }
        .to_form()
        .unwrap();
        assert_eq!(
            body,
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"
        );
        assert_eq!(
            DeviceCodeGrant {
                device_code: "d c\u{7f}",
                client_id: None
            }
            .to_form()
            .unwrap_err(),
            Error::RequestParameterInvalid("device_code must only contain visible ASCII (VSCHAR)")
        );
        let grant = DeviceCodeGrant {
            device_code: "secret-device-code",
            client_id: Some("tv"),
        };
        assert!(!format!("{grant:?}").contains("secret-device-code"));
    }

    #[test]
    fn rfc8628_3_5_polling_errors() {
        assert_eq!(next_poll_interval("authorization_pending", 5), Some(5));
        assert_eq!(next_poll_interval("slow_down", 5), Some(10));
        assert_eq!(next_poll_interval("slow_down", 10), Some(15));
        for stop in [
            "access_denied",
            "expired_token",
            "invalid_grant",
            "invalid_client",
            "use_dpop_nonce",
            "AUTHORIZATION_PENDING",
        ] {
            assert_eq!(next_poll_interval(stop, 5), None, "{stop}");
        }
    }

    #[test]
    fn rfc8628_3_5_no_answer_doubles_the_interval() {
        assert_eq!(next_poll_interval_after_no_answer(1), 2);
        assert_eq!(next_poll_interval_after_no_answer(5), 10);
        assert_eq!(next_poll_interval_after_no_answer(10), 20);
        // Never past the largest interval an answer may give, so it stays a valid input.
        assert_eq!(
            next_poll_interval_after_no_answer(MAX_SECONDS / 2 + 1),
            MAX_SECONDS
        );
        assert_eq!(next_poll_interval_after_no_answer(MAX_SECONDS), MAX_SECONDS);
        assert_eq!(next_poll_interval_after_no_answer(u64::MAX), MAX_SECONDS);
    }
}
