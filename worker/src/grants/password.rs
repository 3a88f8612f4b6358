//! `grant_type=password` (RFC 6749 §4.3) and Auth0's
//! `http://auth0.com/oauth/grant-type/password-realm` (the same, with `realm` naming the
//! user database).
//!
//! RFC 9700 §2.4 says this grant "MUST NOT be used": the client sees the user's password.
//! It is here for the Auth0 clients that still need it, and it is off unless a client's
//! record lists `password` in its grant types; a public client also needs
//! `allow_public_password_grant` (it cannot authenticate, so anyone can use its id).
//!
//! The check is the login form's ([`crate::users`]): the same rate-limit keys per email
//! and per address, counted before the password is checked (over the limit:
//! `429 too_many_attempts` with `Retry-After`, as Auth0 answers, for a right password
//! too); one PBKDF2 derivation whether the email exists or not; one answer,
//! `invalid_grant` "wrong email or password", for a wrong email and a wrong password.
//! `audience` (or `resource`) names an API, as for client credentials; `scope` may hold the
//! OpenID scopes and that API's scopes (`invalid_scope` otherwise), narrowed by RBAC. A
//! refresh token is issued when `offline_access` is asked, the API allows it and the
//! client has the `refresh_token` grant; an ID token when `openid` is asked.

use super::authorization_code::{UserGrant, issue_user_tokens};
use super::{
    FamilyRecord, OIDC_SCOPES, access_token_lifetime, family_lifetimes, has_scope, load_api,
    not_allowed, require_dpop_for_api, require_grant, start_family,
};
use crate::App;
use crate::client_auth::AuthenticatedClient;
use crate::error::OAuthError;
use crate::http::HttpRequest;
use crate::params::Params;
use crate::platform::Platform;
use crate::store::Store;
use crate::tokens::{TokenResponse, parse_scope, random_id};
use crate::users::{authenticate_user, ensure_subject_index, login_allowed};
use zeroize::Zeroizing;

/// Auth0's password grant with a realm.
pub const PASSWORD_REALM_GRANT: &str = "http://auth0.com/oauth/grant-type/password-realm";

/// The one user database's connection name (Auth0's default database connection), the
/// only `realm` accepted.
pub const DATABASE_REALM: &str = "Username-Password-Authentication";

/// Processes a password (or password-realm) request for an authenticated client.
///
/// # Errors
/// The RFC 6749 §5.2 error to answer.
pub async fn grant<S: Store, P: Platform>(
    app: &App<S, P>,
    auth: &AuthenticatedClient,
    req: &HttpRequest,
    params: &Params,
    dpop_jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let client = &auth.client;
    require_grant(client, "password")?;
    if client.is_public() && !client.allow_public_password_grant {
        return Err(not_allowed("password"));
    }
    if params.get("grant_type") == Some(PASSWORD_REALM_GRANT) {
        match params.get("realm") {
            None => return Err(OAuthError::invalid_request("realm is required")),
            Some(DATABASE_REALM) => {}
            Some(_) => {
                return Err(OAuthError::invalid_request(
                    "realm is not a known connection",
                ));
            }
        }
    }
    if params.contains("organization") {
        return Err(OAuthError::invalid_request(
            "organization is not supported with the password grant",
        ));
    }
    let username = params
        .get("username")
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("username is required"))?;
    let password = Zeroizing::new(
        params
            .get("password")
            .filter(|p| !p.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("password is required"))?
            .to_owned(),
    );

    let audience = match (params.get("audience"), params.get("resource")) {
        (Some(a), Some(r)) if a != r => {
            return Err(OAuthError::invalid_request(
                "audience and resource name different APIs",
            ));
        }
        (Some(a), _) => Some((a, false)),
        (None, Some(r)) => Some((r, true)),
        (None, None) => None,
    };
    let api = match audience {
        None => None,
        Some((aud, by_resource)) => Some(load_api(app, aud).await?.ok_or_else(|| {
            if by_resource {
                OAuthError::invalid_target("the resource is not a known API")
            } else {
                OAuthError::access_denied("the audience is not a known API")
            }
        })?),
    };
    require_dpop_for_api(api.as_ref(), dpop_jkt)?;
    let requested = parse_scope(params.get("scope").unwrap_or_default())?;
    for s in &requested {
        let known =
            OIDC_SCOPES.contains(&s.as_str()) || api.as_ref().is_some_and(|a| a.scopes.contains(s));
        if !known {
            return Err(OAuthError::invalid_scope("a requested scope is not known"));
        }
    }

    // The login form's brake and check, before anything is written.
    if !login_allowed(app, req, username, false).await {
        return Err(OAuthError::rate_limited(
            "too_many_attempts",
            "too many sign-in attempts; wait a minute, then try again",
        ));
    }
    let user = if username.len() > 254 {
        None
    } else {
        authenticate_user(app, username, &password).await?
    };
    let Some(user) = user else {
        return Err(OAuthError::invalid_grant("wrong email or password"));
    };

    let offline = requested.iter().any(|s| s == "offline_access")
        && api.as_ref().is_some_and(|a| a.allow_offline_access)
        && client.allows_grant("refresh_token");
    let scope = requested
        .iter()
        .filter(|s| offline || *s != "offline_access")
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let granted = crate::rbac::grant_for(app, api.as_ref(), &user.roles, &scope).await?;
    ensure_subject_index(app, &user).await?;
    let now = app.platform.now();
    let identifier = api.as_ref().map(|a| a.identifier.clone());
    let grant = UserGrant {
        sub: &user.user_id,
        email: &user.email,
        name: &user.name,
        scope: &granted.scope,
        audience: identifier.as_deref(),
        auth_time: now,
        nonce: None,
        lifetime: access_token_lifetime(api.as_ref()),
        dpop_jkt,
        alg: crate::tokens::access_token_alg(api.as_ref())?,
        org: None,
        permissions: granted.permissions.as_deref(),
        x5t_s256: auth.x5t_s256.as_deref(),
    };
    let mut response = issue_user_tokens(app, client, &grant)?;
    if offline && has_scope(&scope, "offline_access") {
        let (absolute, idle) = family_lifetimes(api.as_ref());
        let family = FamilyRecord {
            client_id: client.client_id.clone(),
            sub: user.user_id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            scope,
            audience: identifier,
            auth_time: now,
            jkt: dpop_jkt.filter(|_| client.is_public()).map(str::to_owned),
            expires_at: now.saturating_add(absolute),
            idle_lifetime: idle,
            ..FamilyRecord::default()
        };
        let family_id = random_id(&app.platform)?;
        response.refresh_token = Some(start_family(app, &family_id, family).await?);
        super::tag_family(&mut response, &family_id);
    }
    Ok(response)
}
