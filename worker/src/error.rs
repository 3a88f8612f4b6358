//! Wire errors: RFC 6749 §5.2 JSON with the right status and no caching.
//!
//! Status codes follow the RFCs, not Auth0's observed 403s (rules.md item 40): clients
//! should branch on `error`. The exceptions are `access_denied` (403, as Auth0 answers an
//! audience the client has no grant for) and `temporarily_unavailable` (503).

use crate::http::HttpResponse;
use crate::store::StoreError;
use serde::Serialize;

/// An OAuth error answered as `{"error", "error_description"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    /// The RFC error code (`invalid_grant`, ...).
    pub error: &'static str,
    /// A fixed, human-readable description (never echoes request input).
    pub description: String,
    /// The HTTP status.
    pub status: u16,
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`).
    pub headers: Vec<(String, String)>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    /// An error with a code, a status and a description.
    #[must_use]
    pub fn new(error: &'static str, status: u16, description: impl Into<String>) -> Self {
        Self {
            error,
            description: sanitize(&description.into()),
            status,
            headers: Vec::new(),
        }
    }

    /// `400 invalid_request`.
    #[must_use]
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", 400, description)
    }

    /// `401 invalid_client`.
    #[must_use]
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new("invalid_client", 401, description)
    }

    /// `400 invalid_grant`.
    #[must_use]
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", 400, description)
    }

    /// `400 invalid_scope`.
    #[must_use]
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new("invalid_scope", 400, description)
    }

    /// `400 unauthorized_client`.
    #[must_use]
    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new("unauthorized_client", 400, description)
    }

    /// `403 access_denied`.
    #[must_use]
    pub fn access_denied(description: impl Into<String>) -> Self {
        Self::new("access_denied", 403, description)
    }

    /// `400 invalid_target` (RFC 8707 §2).
    #[must_use]
    pub fn invalid_target(description: impl Into<String>) -> Self {
        Self::new("invalid_target", 400, description)
    }

    /// `500 server_error` (configuration problems; details are never sent).
    #[must_use]
    pub fn server_error() -> Self {
        Self::new(
            "server_error",
            500,
            "the server is not configured correctly",
        )
    }

    /// `503 temporarily_unavailable` with `Retry-After`.
    #[must_use]
    pub fn temporarily_unavailable() -> Self {
        Self::new(
            "temporarily_unavailable",
            503,
            "the storage backend is rate limited; retry shortly",
        )
        .with_header("Retry-After", "1")
    }

    /// `429 Too Many Requests` with `Retry-After` (the rate limiter's period) and an RFC
    /// 6749 §5.2 body: `error` names what failed (`invalid_client` for throttled client
    /// authentication failures, `invalid_request` for throttled pushed requests); see
    /// [`crate::ratelimit`].
    #[must_use]
    pub fn rate_limited(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(error, 429, description).with_header(
            "Retry-After",
            &crate::ratelimit::RETRY_AFTER_SECONDS.to_string(),
        )
    }

    /// Adds a response header (builder style).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The JSON response, with `Cache-Control: no-store` and `Pragma: no-cache`.
    #[must_use]
    pub fn to_response(&self) -> HttpResponse {
        let mut response = HttpResponse::json(
            self.status,
            &ErrorBody {
                error: self.error,
                error_description: &self.description,
            },
        )
        .no_store();
        for (name, value) in &self.headers {
            response = response.with_header(name, value);
        }
        response
    }
}

impl From<StoreError> for OAuthError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::RateLimited => Self::temporarily_unavailable(),
            StoreError::Corrupt(_) | StoreError::Backend(_) | StoreError::Invalid(_) => {
                Self::new("server_error", 500, "storage error")
            }
        }
    }
}

/// Keeps only the characters RFC 6749 §5.2 allows in `error_description`
/// (`%x20-21 / %x23-5B / %x5D-7E`), rules.md item 39.
#[must_use]
pub fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(*c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
        .collect()
}
