//! `grant_type=client_credentials` (RFC 6749 §4.4; Auth0 semantics).
//!
//! - confidential clients only, and only if registered for the grant (`unauthorized_client`);
//! - `audience` (Auth0) or `resource` (RFC 8707) must name an API the client has a client
//!   grant for: otherwise `403 access_denied` for `audience` (as Auth0) and
//!   `400 invalid_target` for `resource`; both given and different is `invalid_request`;
//! - `scope` defaults to the granted scopes and must be a subset (`invalid_scope`);
//! - `organization` (an id or a name) follows the client grant's `organization_usage`
//!   and must name an organization that enabled the grant ([`crate::orgs`]); the token
//!   then carries `org_id` (and `org_name` when configured);
//! - no refresh token (§4.4.3);
//! - with a DPoP proof the token is bound to its key (`cnf.jkt`, `token_type: DPoP`); an
//!   API with `dpop: required` refuses requests without one (`invalid_dpop_proof`).

use super::{bind_claims, load_api, not_allowed, require_dpop_for_api, require_grant, token_type};
use crate::App;
use crate::client_auth::AuthenticatedClient;
use crate::config::{ClientGrant, OrganizationUsage, grant_key};
use crate::error::OAuthError;
use crate::orgs::{self, Organization};
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

    let organization = organization_for(app, &client_grant, params.get("organization")).await?;

    let mut extra = Map::new();
    extra.insert("gty".into(), json!("client-credentials"));
    if let Some(org) = &organization {
        org.add_claims(&mut extra, app.config.organization_name_in_tokens);
    }
    // Auth0 "add permissions in the access token": a client's permissions are its grant.
    if api.enforce_rbac && api.permissions_claim {
        extra.insert("permissions".into(), json!(scopes));
    }
    bind_claims(&mut extra, dpop_jkt);
    super::bind_certificate_claims(&mut extra, auth.x5t_s256.as_deref());
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
        issued_token_type: None,
    })
}

/// The organization a client-credentials request acts for, by the client grant's
/// `organization_usage` (Auth0 "machine-to-machine access for organizations").
///
/// # Errors
/// `403 access_denied` when the grant denies organizations, or the organization is
/// unknown or has not enabled this client grant (one answer for both, so the response
/// does not tell which organizations exist); `400 invalid_request` when the grant
/// requires an organization and none was named, or the parameter is malformed.
async fn organization_for<S: Store, P: Platform>(
    app: &App<S, P>,
    client_grant: &ClientGrant,
    requested: Option<&str>,
) -> Result<Option<Organization>, OAuthError> {
    let Some(requested) = requested else {
        return if client_grant.organization_usage == OrganizationUsage::Require {
            Err(OAuthError::invalid_request(
                "organization is required for this client grant",
            ))
        } else {
            Ok(None)
        };
    };
    orgs::check_param(requested)?;
    if client_grant.organization_usage == OrganizationUsage::Deny {
        return Err(OAuthError::access_denied(
            "the client grant does not allow organizations",
        ));
    }
    match orgs::find(app, requested).await? {
        Some(org) if org.enables_grant(&client_grant.client_id, &client_grant.audience) => {
            Ok(Some(org))
        }
        _ => Err(OAuthError::access_denied(
            "the organization has not enabled this client grant",
        )),
    }
}
