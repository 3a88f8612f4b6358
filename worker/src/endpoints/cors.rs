//! CORS for the token and revocation endpoints: answered only for origins a client
//! registered (`allowed_origins`), preflight included. Discovery, JWKS and userinfo are
//! public (`*`, no credentials).
//!
//! A preflight carries no client identity, so it is allowed when *any* client registered
//! the origin: one KV read of the index `origin:{origin}` → `{"clients":[..]}` that the
//! tenant CLI keeps (scripts/lib/tenant.mjs, updated on client create and delete), so an
//! unauthenticated `OPTIONS` costs one read whatever the number of clients. The actual
//! response then carries `Access-Control-Allow-Origin` only when the named client's own
//! record registered the origin.

use crate::App;
use crate::config::{Client, client_key};
use crate::http::{HttpRequest, HttpResponse};
use crate::platform::Platform;
use crate::store::{Store, get_json};

/// Headers a browser may read from token responses (RFC 9449 §7.1, §8: rules.md item 84).
pub const EXPOSE: &str = "DPoP-Nonce, WWW-Authenticate";

/// The longest `Origin` looked up (a browser origin is `scheme://host[:port]`).
pub const MAX_ORIGIN_BYTES: usize = 256;

/// The KV key of the origin index: `origin:{origin}`.
#[must_use]
pub fn origin_key(origin: &str) -> String {
    format!("origin:{origin}")
}

/// `origin:{origin}`: the clients that registered an origin (written by the tenant CLI).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct OriginIndex {
    /// Client ids.
    #[serde(default)]
    pub clients: Vec<String>,
}

/// Whether any client registered `origin`: a single read of its index record.
pub async fn origin_registered<S: Store, P: Platform>(app: &App<S, P>, origin: &str) -> bool {
    if origin.is_empty() || origin.len() > MAX_ORIGIN_BYTES {
        return false;
    }
    matches!(get_json::<S, OriginIndex>(&app.store, &origin_key(origin)).await,
        Ok(Some(index)) if !index.clients.is_empty())
}

/// Answers a preflight for a token-like endpoint.
pub async fn preflight<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    // The methods and headers are the same for everyone; without
    // `Access-Control-Allow-Origin` the browser fails the preflight anyway.
    let mut response = HttpResponse::empty(204)
        .with_header("Vary", "Origin")
        .with_header("Access-Control-Allow-Methods", "POST")
        .with_header(
            "Access-Control-Allow-Headers",
            "Content-Type, Authorization, DPoP",
        );
    if let Some(origin) = req.header("origin")
        && origin_registered(app, origin).await
    {
        response = response
            .with_header("Access-Control-Allow-Origin", origin)
            .with_header("Access-Control-Max-Age", "600");
    }
    response
}

/// Adds CORS headers to a token-like response when the request's client registered the
/// request's origin. The client is the authenticated one when known, else the one named
/// by `client_id` (errors happen before authentication completes).
pub async fn decorate<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    client_hint: Option<&str>,
    mut response: HttpResponse,
) -> HttpResponse {
    let Some(origin) = req.header("origin") else {
        return response;
    };
    response = response.with_header("Vary", "Origin");
    let allowed = match client_hint {
        Some(id) if !id.is_empty() && id.len() <= crate::config::MAX_CLIENT_ID_BYTES => {
            matches!(get_json::<S, Client>(&app.store, &client_key(id)).await,
                Ok(Some(c)) if c.allowed_origins.iter().any(|o| o == origin))
        }
        _ => false,
    };
    if allowed {
        response = response
            .with_header("Access-Control-Allow-Origin", origin)
            .with_header("Access-Control-Expose-Headers", EXPOSE);
    }
    response
}

/// Adds `Access-Control-Allow-Origin: *` (public, credential-less resources).
#[must_use]
pub fn public(response: HttpResponse) -> HttpResponse {
    response
        .with_header("Access-Control-Allow-Origin", "*")
        .with_header("Access-Control-Expose-Headers", EXPOSE)
}
