//! `POST /oauth/token` (RFC 6749 §3.2, §4.1.3, §4.4, §6; Auth0 semantics).
//!
//! Order: method, query credentials, body, `grant_type`, client authentication, then the
//! `DPoP` proof ([`crate::dpop::verify_token_request`]: its nonce policy depends on the
//! client), then the grant with the proof's key, and only then the proof's `jti` marker:
//! nothing is written for a request before the checks that need no write have passed (a
//! junk request with `code=bogus` writes nothing). The grants that spend a single-use
//! credential record the marker themselves, after their checks and before the write that
//! hands out tokens: a replayed proof cannot reach reuse detection ([`refresh_token`]),
//! and a marker that cannot be written, or a `jti` seen before, leaves the code, the
//! device approval or the refresh token usable ([`authorization_code`],
//! [`device_code`]). Every response to a `DPoP` request of a
//! client that must send nonces carries the current `DPoP-Nonce` (RFC 9449 §8.2); other
//! clients are never handed one, since a server that provides a nonce must not accept
//! proofs without one (RFC 9449 §11.3).
//!
//! Failed requests of public clients (which anyone can send) are counted per client and
//! per client address (IPv6 /64, IPv4 address, [`crate::ratelimit::ip_prefix`]); past the
//! limit the failure is answered `429` with `Retry-After` instead. Successes are never
//! counted nor refused, so this cannot lock a public client's real users out; neither are
//! the device grant's `authorization_pending` and `slow_down` (polling, not guessing).

use super::{cors, method_not_allowed, read_body_params, refuse_query_credentials};
use crate::App;
use crate::client_auth::authenticate;
use crate::error::OAuthError;
use crate::grants::{
    authorization_code, client_credentials, device_code, password, refresh_token, token_exchange,
};
use crate::http::{HttpRequest, HttpResponse};
use crate::params::Params;
use crate::platform::Platform;
use crate::store::Store;

/// The grant types this server implements (the password grants only for the clients
/// whose record enables them, [`crate::grants::password`]).
pub const GRANT_TYPES: [&str; 7] = [
    "authorization_code",
    "client_credentials",
    "refresh_token",
    "password",
    password::PASSWORD_REALM_GRANT,
    device_code::DEVICE_CODE_GRANT,
    token_exchange::TOKEN_EXCHANGE_GRANT,
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
    let mut nonce_required = false;
    let mut response = match token(app, req, &mut nonce_required).await {
        Ok(response) => response,
        Err(err) => err.to_response(),
    };
    if nonce_required && req.header("dpop").is_some() {
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

/// The token request; `nonce_required` is set once the client is known to be one that
/// must send DPoP nonces.
async fn token<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    nonce_required: &mut bool,
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
    *nonce_required = client.client.requires_dpop_nonce();
    let result = grant(app, req, &client, &params, grant_type).await;
    match result {
        // A nonce challenge (RFC 9449 §8) is a step every DPoP client takes, not a failure:
        // counting it would let junk from anyone turn real users' challenges into 429s. Nor
        // is a device polling while its user decides (RFC 8628 §3.5).
        Err(err)
            if client.client.is_public()
                && err.status < 500
                && !matches!(
                    err.error,
                    "use_dpop_nonce" | "authorization_pending" | "slow_down"
                ) =>
        {
            Err(limit_public_failure(app, req, &client.client.client_id, err).await)
        }
        other => other,
    }
}

async fn grant<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    client: &crate::client_auth::AuthenticatedClient,
    params: &Params,
    grant_type: &str,
) -> Result<HttpResponse, OAuthError> {
    let proof =
        crate::dpop::verify_token_request(app, req, &client.client, &app.config.token_endpoint())
            .await?;
    let jkt = proof.as_ref().map(|p| p.jkt.as_str());
    let mut response = match grant_type {
        "authorization_code" => {
            authorization_code::grant(app, client, params, proof.as_ref()).await?
        }
        "client_credentials" => client_credentials::grant(app, client, params, jkt).await?,
        "password" | password::PASSWORD_REALM_GRANT => {
            password::grant(app, client, req, params, jkt).await?
        }
        device_code::DEVICE_CODE_GRANT => {
            device_code::grant(app, client, params, proof.as_ref()).await?
        }
        token_exchange::TOKEN_EXCHANGE_GRANT => {
            token_exchange::grant(app, client, params, jkt).await?
        }
        // Records the proof's `jti` itself, before its first state change.
        _ => refresh_token::grant(app, client, params, proof.as_ref()).await?,
    };
    // The grants that spend a single-use credential (a code, a device code's approval,
    // a refresh token) record the proof's `jti` themselves, before the write that hands
    // out their tokens: a marker that cannot be written must not spend the credential.
    if let Some(proof) = &proof
        && !matches!(
            grant_type,
            "authorization_code" | "refresh_token" | device_code::DEVICE_CODE_GRANT
        )
    {
        crate::dpop::record_token_request_jti(app, proof).await?;
    }
    response.sign(app, &client.client).await?;
    Ok(response.to_response())
}

/// Counts a failed public-client token request per client and per address; past either
/// limit the answer is `429` (with `Retry-After`) instead of `err`.
async fn limit_public_failure<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    client_id: &str,
    err: OAuthError,
) -> OAuthError {
    let mut allowed = app
        .platform
        .rate_limit(&crate::ratelimit::token_failure_client_key(client_id))
        .await;
    if let Some(ip) = crate::ratelimit::client_ip(req) {
        allowed &= app
            .platform
            .rate_limit(&crate::ratelimit::token_failure_ip_key(ip))
            .await;
    }
    if allowed {
        err
    } else {
        OAuthError::rate_limited(err.error, "too many failed token requests; retry later")
    }
}
