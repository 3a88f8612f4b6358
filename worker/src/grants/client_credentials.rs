//! `grant_type=client_credentials` (RFC 6749 §4.4; Auth0 semantics).
//!
//! - confidential clients only, and only if registered for the grant (`unauthorized_client`);
//! - `audience` (Auth0) or `resource` (RFC 8707) must name an API the client has a client
//!   grant for: otherwise `403 access_denied` for `audience` (as Auth0) and
//!   `400 invalid_target` for `resource`; both given and different is `invalid_request`;
//! - `scope` defaults to the granted scopes and must be a subset (`invalid_scope`);
//! - `organization` is passed through as the `org_id` claim;
//! - no refresh token (§4.4.3);
//! - with a DPoP proof the token is bound to its key (`cnf.jkt`, `token_type: DPoP`); an
//!   API with `dpop: required` refuses requests without one (`invalid_dpop_proof`).

use super::{bind_claims, load_api, not_allowed, require_dpop_for_api, require_grant, token_type};
use crate::App;
use crate::client_auth::AuthenticatedClient;
use crate::config::{ClientGrant, grant_key};
use crate::error::OAuthError;
use crate::params::Params;
use crate::platform::Platform;
use crate::store::{Store, get_json};
use crate::tokens::{AccessTokenSpec, TokenResponse, mint_access_token, parse_scope};
use serde_json::{Map, json};

/// Processes a client credentials request for an authenticated client.
///
/// # Errors
/// The RFC 6749 §5.2 error to answer.
pub async fn grant<S: Store, P: Platform>(
    app: &App<S, P>,
    auth: &AuthenticatedClient,
    params: &Params,
    dpop_jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let client = &auth.client;
    if client.is_public() {
        return Err(not_allowed("client_credentials"));
    }
    require_grant(client, "client_credentials")?;
    let (audience, by_resource) = match (params.get("audience"), params.get("resource")) {
        (Some(a), Some(r)) if a != r => {
            return Err(OAuthError::invalid_request(
                "audience and resource name different APIs",
            ));
        }
        (Some(a), _) => (a, false),
        (None, Some(r)) => (r, true),
        (None, None) => {
            return Err(OAuthError::access_denied(
                "no audience was given and no default audience is configured",
            ));
        }
    };
    let refuse = |why: &str| {
        if by_resource {
            OAuthError::invalid_target(why)
        } else {
            OAuthError::access_denied(why)
        }
    };
    let api = load_api(app, audience)
        .await?
        .ok_or_else(|| refuse("the audience is not a known API"))?;
    let client_grant: ClientGrant =
        get_json(&app.store, &grant_key(&client.client_id, &api.identifier))
            .await?
            .ok_or_else(|| refuse("the client has no grant for this audience"))?;
    require_dpop_for_api(Some(&api), dpop_jkt)?;

    let scopes = match params.get("scope") {
        None => client_grant.scopes.clone(),
        Some(requested) => {
            let requested = parse_scope(requested)?;
            if requested.iter().any(|s| !client_grant.scopes.contains(s)) {
                return Err(OAuthError::invalid_scope(
                    "the requested scope exceeds the client grant",
                ));
            }
            requested
        }
    };
    let scope = scopes.join(" ");

    let mut extra = Map::new();
    extra.insert("gty".into(), json!("client-credentials"));
    if let Some(org) = params.get("organization") {
        if org.len() > 256 || !org.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(OAuthError::invalid_request("organization is malformed"));
        }
        extra.insert("org_id".into(), json!(org));
    }
    bind_claims(&mut extra, dpop_jkt);
    let sub = format!("{}@clients", client.client_id);
    let access_token = mint_access_token(
        &app.config,
        &app.platform,
        &AccessTokenSpec {
            sub: &sub,
            audiences: vec![api.identifier.clone()],
            client_id: &client.client_id,
            scope: &scope,
            lifetime: api.token_lifetime,
            extra,
            alg: crate::tokens::access_token_alg(Some(&api))?,
        },
    )?;
    Ok(TokenResponse {
        access_token,
        token_type: token_type(dpop_jkt),
        expires_in: api.token_lifetime,
        scope,
        refresh_token: None,
        id_token: None,
    })
}
