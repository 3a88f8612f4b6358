//! `grant_type=refresh_token` with rotation (RFC 6749 §6, §10.4; RFC 9700 §4.14.2).
//!
//! Every use rotates: the presented token is marked used and a new one in the same
//! family is issued with the original scope (§6). Presenting a used token again revokes
//! the whole family (reuse detection) and is `invalid_grant`. `scope` may only narrow
//! (`invalid_scope`); it narrows the access token, not the family. The token is bound to
//! its client.
//!
//! DPoP (RFC 9449 §5): a token bound to a key (public clients that used DPoP) needs a
//! proof from that key, else `invalid_grant` (as node-oidc-provider); a key mismatch alone
//! does not revoke the family, since whoever lacks the key cannot use the token anyway.
//! This is checked before reuse detection. A confidential client's token is bound to the
//! client, so it may present another key or none (unless the API requires DPoP). An
//! unbound public-client token presented with a proof becomes bound from then on.
//!
//! The user must still exist (`user:{email}` with the same `user_id` as the token's
//! `sub`), else `invalid_grant`; `email` and `name` come from that fresh record.
//! A family issued for an organization needs the user still to be a member
//! ([`crate::orgs`]), and RBAC ([`crate::rbac`]) is applied to the user's current roles.

use super::authorization_code::{UserGrant, issue_user_tokens};
use super::{
    REFRESH_LIFETIME, RefreshRecord, UsedMarker, access_token_lifetime, family_revoked,
    issue_refresh_token, load_record_api, require_dpop_for_api, require_grant,
    required_credential_hash, revoke_family,
};
use crate::App;
use crate::client_auth::AuthenticatedClient;
use crate::config::{User, user_key};
use crate::error::OAuthError;
use crate::jwt::sha256_b64;
use crate::params::Params;
use crate::platform::Platform;
use crate::store::{MIN_TTL_SECONDS, Store, get_json, put_json};
use crate::tokens::{TokenResponse, parse_scope};

/// Processes a refresh token request for an authenticated client.
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
    require_grant(client, "refresh_token")?;
    let hash = required_credential_hash(params, "refresh_token")?;
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let record: RefreshRecord = get_json(&app.store, &format!("refresh:{hash}"))
        .await?
        .ok_or_else(invalid)?;
    let now = app.platform.now();
    if record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if record.expires_at <= now || family_revoked(app, &record.family_id).await? {
        return Err(invalid());
    }
    match (&record.jkt, dpop_jkt) {
        (None, _) => {}
        (Some(bound), Some(jkt)) if bound == jkt => {}
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant(
                "a DPoP proof is required: the refresh token is bound to a DPoP key",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "the DPoP proof key does not match the key the refresh token is bound to",
            ));
        }
    }
    let used_key = format!("refresh_used:{hash}");
    if get_json::<S, UsedMarker>(&app.store, &used_key)
        .await?
        .is_some()
    {
        revoke_family(app, &record.family_id, "refresh_token_reuse").await?;
        return Err(invalid());
    }

    let original = parse_scope(&record.scope)?;
    let scope = match params.get("scope") {
        None => record.scope.clone(),
        Some(requested) => {
            let requested = parse_scope(requested)?;
            if requested.iter().any(|s| !original.contains(s)) {
                return Err(OAuthError::invalid_scope(
                    "the requested scope exceeds the scope originally granted",
                ));
            }
            requested.join(" ")
        }
    };
    let api = load_record_api(app, record.audience.as_deref(), invalid).await?;
    if !api.as_ref().is_some_and(|a| a.allow_offline_access) {
        return Err(invalid());
    }
    require_dpop_for_api(api.as_ref(), dpop_jkt)?;
    // The user must still exist, as the same subject: a deleted (or deleted and
    // re-created) user's refresh tokens stop working. Claims come from the fresh record.
    let user: Option<User> = get_json(&app.store, &user_key(&record.email)).await?;
    let Some(user) = user.filter(|u| u.user_id == record.sub) else {
        return Err(invalid());
    };

    let org = match &record.org_id {
        Some(org_id) => Some(crate::orgs::require_member(app, org_id, &record.sub).await?),
        None => None,
    };
    let granted = crate::rbac::grant_for(app, api.as_ref(), &user.roles, &scope).await?;

    let ttl = u64::try_from(record.expires_at.saturating_sub(now))
        .unwrap_or(0)
        .max(MIN_TTL_SECONDS);
    put_json(
        &app.store,
        &used_key,
        &UsedMarker {
            family_id: Some(record.family_id.clone()),
        },
        Some(ttl),
    )
    .await?;

    let grant = UserGrant {
        sub: &record.sub,
        email: &user.email,
        name: &user.name,
        scope: &granted.scope,
        audience: record.audience.as_deref(),
        auth_time: record.auth_time,
        nonce: None,
        lifetime: access_token_lifetime(api.as_ref()),
        dpop_jkt,
        org: org.as_ref(),
        permissions: granted.permissions.as_deref(),
        x5t_s256: auth.x5t_s256.as_deref(),
    };
    let mut response = issue_user_tokens(app, client, &grant)?;
    let jkt = record
        .jkt
        .clone()
        .or_else(|| dpop_jkt.filter(|_| client.is_public()).map(str::to_owned));
    let rotated = RefreshRecord {
        expires_at: now.saturating_add(REFRESH_LIFETIME),
        jkt,
        email: user.email,
        name: user.name,
        ..record
    };
    response.refresh_token = Some(issue_refresh_token(app, &rotated).await?);
    Ok(response)
}

/// Marks a family revoked (used by `/oauth/revoke`).
///
/// # Errors
/// Storage failures.
pub async fn revoke<S: Store, P: Platform>(
    app: &App<S, P>,
    client_id: &str,
    token: &str,
) -> Result<(), OAuthError> {
    let hash = sha256_b64(token.as_bytes());
    let record: Option<RefreshRecord> = get_json(&app.store, &format!("refresh:{hash}")).await?;
    match record {
        None => Ok(()),
        Some(r) if r.client_id != client_id => Err(OAuthError::invalid_grant(
            "the token was issued to another client",
        )),
        Some(r) => revoke_family(app, &r.family_id, "revoked").await,
    }
}
