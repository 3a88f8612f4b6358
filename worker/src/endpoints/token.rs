//! `POST /oauth/token` (RFC 6749 §3.2, §4.1.3, §4.4, §6; Auth0 semantics).
//!
//! Order: method, query credentials, body, `grant_type`, client authentication, then the
//! `DPoP` proof ([`crate::dpop::verify_token_request`]: its nonce policy depends on the
//! client), then the grant with the proof's key. Every response to a request that carried
//! a `DPoP` header carries the current `DPoP-Nonce` (RFC 9449 §8.2).

use super::{cors, method_not_allowed, read_body_params, refuse_query_credentials};
use crate::App;
use crate::client_auth::authenticate;
use crate::error::OAuthError;
use crate::grants::{authorization_code, client_credentials, password, refresh_token};
use crate::http::{HttpRequest, HttpResponse};
use crate::params::Params;
use crate::platform::Platform;
use crate::store::Store;

/// The grant types this server implements (the password grants only for the clients
/// whose record enables them, [`crate::grants::password`]).
pub const GRANT_TYPES: [&str; 5] = [
    "authorization_code",
    "client_credentials",
    "refresh_token",
    "password",
    password::PASSWORD_REALM_GRANT,
];

/// Handles the token endpoint: preflight, 405 for other methods, then the grant.
pub async fn handle<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    match req.method.as_str() {
        "OPTIONS" => return cors::preflight(app, req).await,
        "POST" => {}
        _ => return method_not_allowed("POST"),
    }
    let params = read_body_params(req).ok();
    let hint = client_hint(req, params.as_ref());
    let mut response = match token(app, req).await {
        Ok(response) => response,
        Err(err) => err.to_response(),
    };
    if req.header("dpop").is_some() {
        response = crate::dpop::with_nonce(app, response);
    }
    cors::decorate(app, req, hint.as_deref(), response).await
}

/// The client a request names (for CORS on error responses): `client_id`, the Basic user
/// id, or the assertion's `iss`. Not authenticated.
fn client_hint(req: &HttpRequest, params: Option<&Params>) -> Option<String> {
    if let Some(id) = params.and_then(|p| p.get("client_id")) {
        return Some(id.to_owned());
    }
    if let Some(value) = req.header("authorization") {
        return edge_oauth::token::request::decode_basic_credentials(value.trim())
            .ok()
            .map(|(id, _)| id);
    }
    let assertion = params.and_then(|p| p.get("client_assertion"))?;
    let jwt = crate::jwt::DecodedJwt::decode(assertion).ok()?;
    jwt.claim_str("iss").map(str::to_owned)
}

async fn token<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
) -> Result<HttpResponse, OAuthError> {
    refuse_query_credentials(req)?;
    let params = read_body_params(req)?;
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    if !GRANT_TYPES.contains(&grant_type) {
        return Err(OAuthError::new(
            "unsupported_grant_type",
            400,
            "the grant type is not supported",
        ));
    }
    let client = authenticate(app, req, &params).await?;
    let proof =
        crate::dpop::verify_token_request(app, req, &client.client, &app.config.token_endpoint())
            .await?;
    let jkt = proof.as_ref().map(|p| p.jkt.as_str());
    let response = match grant_type {
        "authorization_code" => authorization_code::grant(app, &client, &params, jkt).await?,
        "client_credentials" => client_credentials::grant(app, &client, &params, jkt).await?,
        "password" | password::PASSWORD_REALM_GRANT => {
            password::grant(app, &client, req, &params, jkt).await?
        }
        _ => refresh_token::grant(app, &client, &params, jkt).await?,
    };
    Ok(response.to_response())
}
