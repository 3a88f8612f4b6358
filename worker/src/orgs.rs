//! Organizations (Auth0 semantics): who may act for which organization.
//!
//! KV records (written by `npm run tenant -- org ...`):
//! - `org:{id}` → [`Organization`]: the id (`org_` + 16 random characters), the name
//!   (lower case `a-z 0-9 _ -`, unique), a display name, the member user ids and the
//!   client grants enabled for it;
//! - `org_name:{name}` → `{"id": ...}`: the name index.
//!
//! The `organization` parameter (client credentials, `/authorize`) names an organization
//! by id (`org_...`) or by name. Client credentials: the client grant's
//! `organization_usage` decides (`deny`, the default, refuses the parameter; `allow` takes
//! it; `require` needs it), and the organization must have enabled that client grant
//! (client and audience): otherwise `403 access_denied`, the same answer for an unknown
//! organization and one that did not enable the grant. `/authorize`: the organization
//! must exist, and the user who logs in must be a member (`access_denied` otherwise);
//! the code, its tokens and the refresh-token family carry its `org_id`, and every
//! exchange or refresh checks the membership again, so removing a member (or deleting the
//! organization) stops their refresh tokens. Tokens carry `org_id`, and `org_name` when
//! the worker var `ORGANIZATION_NAME_IN_TOKENS` is `true`.

use crate::App;
use crate::error::OAuthError;
use crate::platform::Platform;
use crate::store::{Store, get_json};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The prefix of organization ids.
pub const ORG_ID_PREFIX: &str = "org_";

/// The longest `organization` parameter looked up (an id or a name).
pub const MAX_ORGANIZATION_PARAM: usize = 64;

/// `org:{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Organization {
    /// `org_` + 16 random characters.
    pub id: String,
    /// The unique name (lower case).
    pub name: String,
    /// The display name.
    #[serde(default)]
    pub display_name: String,
    /// The user ids of the members.
    #[serde(default)]
    pub members: Vec<String>,
    /// The client grants enabled for this organization (machine-to-machine access).
    #[serde(default)]
    pub client_grants: Vec<EnabledGrant>,
}

/// A client grant enabled for an organization: the client and the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnabledGrant {
    /// The client.
    pub client_id: String,
    /// The API identifier.
    pub audience: String,
}

impl Organization {
    /// Whether `user_id` is a member.
    #[must_use]
    pub fn has_member(&self, user_id: &str) -> bool {
        self.members.iter().any(|m| m == user_id)
    }

    /// Whether the client grant of `client_id` for `audience` is enabled here.
    #[must_use]
    pub fn enables_grant(&self, client_id: &str, audience: &str) -> bool {
        self.client_grants
            .iter()
            .any(|g| g.client_id == client_id && g.audience == audience)
    }

    /// Adds `org_id` (and `org_name` when `with_name`) to token claims.
    pub fn add_claims(&self, claims: &mut Map<String, Value>, with_name: bool) {
        claims.insert("org_id".into(), json!(self.id));
        if with_name {
            claims.insert("org_name".into(), json!(self.name));
        }
    }
}

/// The KV key of an organization.
#[must_use]
pub fn org_key(id: &str) -> String {
    format!("org:{id}")
}

/// The KV key of the name index.
#[must_use]
pub fn org_name_key(name: &str) -> String {
    format!("org_name:{name}")
}

/// Checks the syntax of an `organization` parameter: 1 to 64 characters of
/// `A-Z a-z 0-9 _ -`.
///
/// # Errors
/// `400 invalid_request` "organization is malformed".
pub fn check_param(value: &str) -> Result<(), OAuthError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_ORGANIZATION_PARAM
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(OAuthError::invalid_request("organization is malformed"))
    }
}

/// Finds an organization by id (`org_...`) or by name (compared in lower case).
///
/// # Errors
/// Storage failures (a malformed parameter is simply not found).
pub async fn find<S: Store, P: Platform>(
    app: &App<S, P>,
    id_or_name: &str,
) -> Result<Option<Organization>, OAuthError> {
    if check_param(id_or_name).is_err() {
        return Ok(None);
    }
    let id = if id_or_name.starts_with(ORG_ID_PREFIX) {
        id_or_name.to_owned()
    } else {
        let index: Option<Value> =
            get_json(&app.store, &org_name_key(&id_or_name.to_ascii_lowercase())).await?;
        match index
            .as_ref()
            .and_then(|v| v.get("id"))
            .and_then(Value::as_str)
        {
            Some(id) => id.to_owned(),
            None => return Ok(None),
        }
    };
    Ok(get_json::<S, Organization>(&app.store, &org_key(&id))
        .await?
        .filter(|org| org.id == id))
}

/// The organization `org_id` if it still exists and `user_id` is still a member: what a
/// code exchange or a refresh of an organization's tokens needs.
///
/// # Errors
/// `invalid_grant` otherwise; storage failures.
pub async fn require_member<S: Store, P: Platform>(
    app: &App<S, P>,
    org_id: &str,
    user_id: &str,
) -> Result<Organization, OAuthError> {
    match find(app, org_id).await? {
        Some(org) if org.id == org_id && org.has_member(user_id) => Ok(org),
        _ => Err(OAuthError::invalid_grant(
            "the user is no longer a member of the organization",
        )),
    }
}
