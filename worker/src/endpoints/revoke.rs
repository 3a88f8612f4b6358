//! `POST /oauth/revoke` (RFC 7009): revokes a refresh token's whole family. Access tokens
//! are self-contained JWTs and cannot be revoked; like unknown tokens they get `200`
//! (RFC 7009 §2.2).

use super::{cors, method_not_allowed, read_body_params, refuse_query_credentials};
use crate::App;
use crate::client_auth::authenticate;
use crate::error::OAuthError;
use crate::grants::refresh_token;
use crate::http::{HttpRequest, HttpResponse};
use crate::platform::Platform;
use crate::store::Store;

/// Handles the revocation endpoint.
pub async fn handle<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    match req.method.as_str() {
        "OPTIONS" => return cors::preflight(app, req).await,
        "POST" => {}
        _ => return method_not_allowed("POST"),
    }
    let hint = read_body_params(req)
        .ok()
        .and_then(|p| p.get("client_id").map(str::to_owned));
    let response = match revoke(app, req).await {
        Ok(()) => HttpResponse::empty(200).no_store(),
        Err(err) => err.to_response(),
    };
    cors::decorate(app, req, hint.as_deref(), response).await
}

async fn revoke<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
) -> Result<(), OAuthError> {
    refuse_query_credentials(req)?;
    let params = read_body_params(req)?;
    let client = authenticate(app, req, &params).await?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    refresh_token::revoke(app, &client.client.client_id, token).await
}
