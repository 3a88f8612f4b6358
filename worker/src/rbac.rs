//! Role-based access control per API (Auth0 "Enable RBAC" and "Add Permissions in the
//! Access Token").
//!
//! KV records (written by `npm run tenant -- role ...` and `user assign-role`):
//! - `role:{id}` → [`Role`]: the id (`rol_` + 16 random characters), a unique name, and
//!   the permissions it grants, each an API identifier and one of that API's scopes;
//! - a user record's `roles` lists the ids of the roles assigned to the user.
//!
//! For an API with `enforce_rbac`, a user token (code, refresh, password grant) gets only
//! the requested API scopes that one of the user's roles grants; the OpenID scopes are
//! not affected, and the response's `scope` is what was granted (RFC 6749 §3.3). The
//! roles are read at every issuance, so a refresh after a role was removed narrows the
//! token. With `permissions_claim` too, the access token carries `permissions`: every
//! permission the user's roles grant for the API, whatever was requested (as Auth0). An
//! API without `enforce_rbac` gives every requested scope it defines.

use crate::App;
use crate::config::{Api, User, user_key};
use crate::error::OAuthError;
use crate::grants::OIDC_SCOPES;
use crate::platform::Platform;
use crate::store::{Store, get_json};
use serde::{Deserialize, Serialize};

/// The most roles of one user that are read at an issuance (the tenant CLI refuses more).
pub const MAX_ROLES_PER_USER: usize = 50;

/// `role:{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Role {
    /// `rol_` + 16 random characters.
    pub id: String,
    /// The unique name.
    pub name: String,
    /// A description.
    #[serde(default)]
    pub description: String,
    /// The API permissions the role grants.
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

/// One API permission: a scope of one API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    /// The API identifier.
    pub audience: String,
    /// The scope (permission name).
    pub scope: String,
}

/// The KV key of a role.
#[must_use]
pub fn role_key(id: &str) -> String {
    format!("role:{id}")
}

/// What a user token may carry for an API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Granted {
    /// The granted scope (space-separated).
    pub scope: String,
    /// The `permissions` claim, when the API asks for it.
    pub permissions: Option<Vec<String>>,
}

/// The permissions `roles` grant for `api` (scopes the API still defines), in the order
/// the roles list them, without repeats.
///
/// # Errors
/// Storage failures.
pub async fn permissions_for<S: Store, P: Platform>(
    app: &App<S, P>,
    api: &Api,
    roles: &[String],
) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    for id in roles.iter().take(MAX_ROLES_PER_USER) {
        let Some(role) = get_json::<S, Role>(&app.store, &role_key(id)).await? else {
            continue;
        };
        for p in role.permissions {
            if p.audience == api.identifier
                && api.scopes.contains(&p.scope)
                && !out.contains(&p.scope)
            {
                out.push(p.scope);
            }
        }
    }
    Ok(out)
}

/// Applies the API's RBAC policy to a requested (already validated) scope for a user
/// with `roles`.
///
/// # Errors
/// Storage failures.
pub async fn grant_for<S: Store, P: Platform>(
    app: &App<S, P>,
    api: Option<&Api>,
    roles: &[String],
    requested: &str,
) -> Result<Granted, OAuthError> {
    let Some(api) = api.filter(|a| a.enforce_rbac) else {
        return Ok(Granted {
            scope: requested.to_owned(),
            permissions: None,
        });
    };
    let permissions = permissions_for(app, api, roles).await?;
    let scope = requested
        .split(' ')
        .filter(|s| !s.is_empty())
        .filter(|s| OIDC_SCOPES.contains(s) || permissions.iter().any(|p| p == s))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Granted {
        scope,
        permissions: api.permissions_claim.then_some(permissions),
    })
}

/// The roles of the user `sub` (found by `email`), for an API that enforces RBAC; empty
/// otherwise (no read).
///
/// # Errors
/// `invalid_grant` when RBAC applies and the user no longer exists as `sub`; storage
/// failures.
pub async fn roles_of<S: Store, P: Platform>(
    app: &App<S, P>,
    api: Option<&Api>,
    sub: &str,
    email: &str,
) -> Result<Vec<String>, OAuthError> {
    if !api.is_some_and(|a| a.enforce_rbac) {
        return Ok(Vec::new());
    }
    let user: Option<User> = get_json(&app.store, &user_key(email)).await?;
    match user.filter(|u| u.user_id == sub) {
        Some(user) => Ok(user.roles),
        None => Err(OAuthError::invalid_grant("the user no longer exists")),
    }
}
