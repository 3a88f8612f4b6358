//! HTTP endpoints: each takes the app and a [`crate::http::HttpRequest`] and returns a
//! [`crate::http::HttpResponse`].

pub mod authorize;
pub mod cors;
pub mod device;
pub mod discovery;
pub mod revoke;
pub mod token;
pub mod userinfo;

use crate::error::OAuthError;
use crate::http::HttpRequest;
use crate::params::Params;

/// Reads the strict body of a token or revocation request (form or JSON, 16 KiB cap).
///
/// # Errors
/// `invalid_request` for an oversized body, another media type, or a strictness
/// violation (rules.md items 3, 6).
pub fn read_body_params(req: &HttpRequest) -> Result<Params, OAuthError> {
    if req.body_too_large {
        return Err(OAuthError::invalid_request(
            "the request body is larger than 16 KB",
        ));
    }
    let parsed = match req.media_type().as_deref() {
        Some("application/x-www-form-urlencoded") => Params::from_form(&req.body),
        Some("application/json") => Params::from_json(&req.body),
        _ => {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded or application/json",
            ));
        }
    };
    let params = parsed.map_err(|e| OAuthError::invalid_request(e.describe()))?;
    refuse_control_characters(&params)?;
    Ok(params)
}

/// `invalid_request` when a protocol parameter holds a control character
/// ([`Params::control_character`], RFC 6749 Appendix A).
///
/// # Errors
/// `invalid_request` naming the parameter.
pub fn refuse_control_characters(params: &Params) -> Result<(), OAuthError> {
    match params.control_character() {
        None => Ok(()),
        Some(name) => Err(OAuthError::invalid_request(format!(
            "{name} contains a control character"
        ))),
    }
}

/// Refuses client credentials in the query string (RFC 6749 §2.3.1, rules.md item 8);
/// other query parameters are ignored (§3.2).
///
/// # Errors
/// `invalid_request` when the query carries `client_secret`, `client_assertion` or is
/// malformed.
pub fn refuse_query_credentials(req: &HttpRequest) -> Result<(), OAuthError> {
    let Some(query) = req.query.as_deref() else {
        return Ok(());
    };
    let params = Params::from_form(query.as_bytes())
        .map_err(|_| OAuthError::invalid_request("the query string is malformed"))?;
    if [
        "client_id",
        "client_secret",
        "client_assertion",
        "client_assertion_type",
    ]
    .iter()
    .any(|n| params.contains(n))
    {
        return Err(OAuthError::invalid_request(
            "client credentials must not be sent in the URI",
        ));
    }
    Ok(())
}

/// `405 Method Not Allowed` with `Allow` and an `invalid_request` body (rules.md item 2).
#[must_use]
pub fn method_not_allowed(allow: &str) -> crate::http::HttpResponse {
    let mut err = OAuthError::new("invalid_request", 405, "method not allowed");
    err = err.with_header("Allow", allow);
    err.to_response()
}
