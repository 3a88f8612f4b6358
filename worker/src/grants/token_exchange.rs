//! `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693).
//!
//! Only for clients whose record lists the grant. The `subject_token` is an access token
//! this server issued (`subject_token_type` `urn:ietf:params:oauth:token-type:access_token`)
//! or an ID token it issued to the requesting client (`...:id_token`): signed by one of
//! the server's keys, with this issuer, not expired. A token bound to a key or a
//! certificate (`cnf.jkt`, `cnf.x5t#S256`) needs the request to prove the same key (a
//! DPoP proof) or present the same certificate, so an exchange cannot unbind it.
//! An `actor_token` (with `actor_token_type`) is checked the same way and makes the new
//! token a delegation: its `act` claim names the actor, with the subject token's own
//! `act` nested inside (the earlier actors of a chain, §4.1); a subject token's `may_act`
//! (§4.4) must name the actor. Without an actor, a subject's `act` is kept, so an
//! exchange never turns a delegation into an impersonation.
//!
//! The new token may only narrow:
//! - its audience (`audience` or `resource`, default the subject access token's API) is
//!   an API for which the tenant gave this client a client grant (`grant:{client}:{api}`):
//!   "the audiences the client may exchange into"; otherwise `invalid_target`;
//! - its scope (`scope`, default all that is allowed) is a subset of the subject token's
//!   scope (an ID token has none) and, apart from the OpenID scopes, of the client
//!   grant's scopes; otherwise `invalid_scope`. RBAC of the API narrows further;
//! - it lives at most the API's access-token lifetime and never beyond the subject
//!   token's `exp`.
//!
//! `requested_token_type` may be the access token type (the default) or absent; the answer
//! carries `issued_token_type` (§2.2.1). A refresh token is issued only when the var
//! `TOKEN_EXCHANGE_REFRESH_TOKENS` is `true`, `offline_access` is asked (and was in the
//! subject's scope), the API allows offline access and the client has the
//! `refresh_token` grant, **and** the subject access token names its refresh-token family
//! (the `sid` claim, [`super::FAMILY_CLAIM`]) and that family lives. The new family lists
//! the subject's family and that family's own parents (`parents`), and the refresh grant
//! refuses it once any of them is revoked or has ended, so revoking the subject token's
//! family does not leave the exchanged refresh token alive. A subject without a family (an
//! ID token, a client-credentials token) gets no refresh token.
//!
//! Errors: a malformed request, an unsupported token type, or a subject or actor token
//! that is invalid or unacceptable is `invalid_request` (§2.2.2 says it MUST be); an
//! unknown or unallowed audience `invalid_target`; a widened scope `invalid_scope`; a
//! client without the grant `unauthorized_client`.
//!
//! The grant behind each presented token must still stand: the family its `sid` names
//! (and every family that one was exchanged from) lives, its user still exists, and is
//! still a member of the organization its `org_id` names; the new token takes the
//! organization's claims from its record (a client's token: the organization still
//! enables the client's grant for its API). An exchanged token without a family of its
//! own names the subject's session (`sid`), and a session's ID tokens name it too, so
//! that nothing exchanged outlives a revoked session; a family may have been exchanged
//! from at most [`MAX_EXCHANGE_DEPTH`] others. Otherwise the token is unacceptable:
//! `invalid_request` (§2.2.2), so revoking a session or removing a member also ends what
//! could be exchanged from its unexpired access tokens.

use super::{
    FAMILY_CLAIM, FamilyRecord, OIDC_SCOPES, bind_certificate_claims, bind_claims, family_alive,
    family_key, family_lifetimes, load_api, require_dpop_for_api, require_grant, start_family,
    tag_family, token_type,
};
use crate::App;
use crate::client_auth::AuthenticatedClient;
use crate::config::{ClientGrant, User, grant_key, user_key};
use crate::endpoints::userinfo::{user_index_key, verify_server_jwt};
use crate::error::OAuthError;
use crate::jwt::DecodedJwt;
use crate::orgs::Organization;
use crate::params::Params;
use crate::platform::Platform;
use crate::store::{Store, get_json};
use crate::tokens::{AccessTokenSpec, TokenResponse, mint_access_token, parse_scope, random_id};
use serde_json::{Map, Value, json};

/// The grant type of RFC 8693 §2.1.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The token type of an access token (RFC 8693 §3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The token type of an ID token (RFC 8693 §3).
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// A verified subject or actor token.
struct Presented {
    claims: Map<String, Value>,
    /// The scope it carries (an ID token: none).
    scope: Vec<String>,
    /// The API it was issued for (an access token's first audience other than userinfo).
    api: Option<String>,
    exp: i64,
}

/// Processes a token exchange for an authenticated client.
///
/// # Errors
/// The RFC 8693 §2.2.2 error to answer.
pub async fn grant<S: Store, P: Platform>(
    app: &App<S, P>,
    auth: &AuthenticatedClient,
    params: &Params,
    dpop_jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let client = &auth.client;
    require_grant(client, TOKEN_EXCHANGE_GRANT)?;
    match params.get("requested_token_type") {
        None | Some(ACCESS_TOKEN_TYPE) => {}
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "requested_token_type is not supported: only access tokens are issued",
            ));
        }
    }
    let subject_token = params
        .get("subject_token")
        .ok_or_else(|| OAuthError::invalid_request("subject_token is required"))?;
    let subject_type = params
        .get("subject_token_type")
        .ok_or_else(|| OAuthError::invalid_request("subject_token_type is required"))?;
    let actor = match (params.get("actor_token"), params.get("actor_token_type")) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type is required with actor_token",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type is sent without actor_token",
            ));
        }
        (Some(token), Some(kind)) => Some((token, kind)),
    };
    let subject = verify(
        app,
        auth,
        dpop_jkt,
        subject_token,
        subject_type,
        "subject_token",
    )
    .await?;
    let actor = match actor {
        None => None,
        Some((token, kind)) => Some(verify(app, auth, dpop_jkt, token, kind, "actor_token").await?),
    };
    // The grants behind the tokens, as they are now: a revoked session, or a user no
    // longer in the organization, makes a token unacceptable (RFC 7009 §2.1, §2.2.2).
    let (subject_family, org) = live_grant(app, &subject, "subject_token").await?;
    if let Some(actor) = &actor {
        live_grant(app, actor, "actor_token").await?;
    }
    let sub = subject
        .claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| OAuthError::invalid_request("subject_token has no sub"))?
        .to_owned();

    // The audience: an API the tenant lets this client exchange into.
    let target = match (params.get("audience"), params.get("resource")) {
        (Some(a), Some(r)) if a != r => {
            return Err(OAuthError::invalid_target(
                "audience and resource name different APIs",
            ));
        }
        (Some(a), _) | (None, Some(a)) => a.to_owned(),
        (None, None) => subject.api.clone().ok_or_else(|| {
            OAuthError::invalid_request(
                "audience (or resource) is required: the subject token names no API",
            )
        })?,
    };
    let api = load_api(app, &target)
        .await?
        .ok_or_else(|| OAuthError::invalid_target("the audience is not a known API"))?;
    let client_grant: ClientGrant = get_json(&app.store, &grant_key(&client.client_id, &target))
        .await?
        .ok_or_else(|| {
            OAuthError::invalid_target("the client may not exchange tokens for this audience")
        })?;
    require_dpop_for_api(Some(&api), dpop_jkt)?;
    crate::tokens::check_signable(
        &app.config,
        client,
        crate::tokens::access_token_alg(Some(&api))?,
    )?;

    // The scope: only narrower.
    let allowed = |s: &str| OIDC_SCOPES.contains(&s) || client_grant.scopes.iter().any(|g| g == s);
    let scope: Vec<String> = match params.get("scope") {
        None => subject
            .scope
            .iter()
            .filter(|s| allowed(s))
            .cloned()
            .collect(),
        Some(requested) => {
            let requested = parse_scope(requested)?;
            if let Some(s) = requested.iter().find(|s| !subject.scope.contains(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "the requested scope {s} is not in the subject token's scope"
                )));
            }
            if let Some(s) = requested.iter().find(|s| !allowed(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "the client's grant for the audience does not include the scope {s}"
                )));
            }
            requested
        }
    };

    // Delegation: the actor, with the subject's chain nested (§4.1).
    let mut act = subject.claims.get("act").cloned();
    if let Some(actor) = &actor {
        let actor_sub = actor
            .claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or_else(|| OAuthError::invalid_request("actor_token has no sub"))?;
        if let Some(may_act) = subject.claims.get("may_act")
            && may_act.get("sub").and_then(Value::as_str) != Some(actor_sub)
        {
            return Err(OAuthError::invalid_request(
                "the subject token's may_act does not name the actor",
            ));
        }
        let mut claim = Map::new();
        claim.insert("sub".into(), json!(actor_sub));
        if let Some(prior) = act.take() {
            claim.insert("act".into(), prior);
        }
        act = Some(Value::Object(claim));
    }

    // A user subject must still exist; RBAC narrows by their roles as they are now.
    let user = if sub.ends_with("@clients") {
        None
    } else {
        Some(load_user(app, &sub).await?.ok_or_else(|| {
            OAuthError::invalid_request(
                "subject_token is invalid: the subject's user no longer exists",
            )
        })?)
    };
    let roles = user.as_ref().map(|u| u.roles.clone()).unwrap_or_default();
    let family = subject
        .claims
        .get(FAMILY_CLAIM)
        .and_then(Value::as_str)
        .map(str::to_owned);
    let offline = app.config.token_exchange_refresh_tokens
        && scope.iter().any(|s| s == "offline_access")
        && api.allow_offline_access
        && client.allows_grant("refresh_token")
        && family.is_some()
        && user.is_some();
    let scope = scope
        .iter()
        .filter(|s| offline || *s != "offline_access")
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let granted = crate::rbac::grant_for(app, Some(&api), &roles, &scope).await?;

    let now = app.platform.now();
    let remaining = u64::try_from(subject.exp.saturating_sub(now)).unwrap_or(0);
    let lifetime = api.token_lifetime.min(remaining).max(1);
    let mut extra = Map::new();
    bind_claims(&mut extra, dpop_jkt);
    bind_certificate_claims(&mut extra, auth.x5t_s256.as_deref());
    if let Some(act) = act {
        extra.insert("act".into(), act);
    }
    // The organization as its record says now (its name may have changed).
    if let Some(org) = &org {
        org.add_claims(&mut extra, app.config.organization_name_in_tokens);
    }
    if let Some(v) = subject.claims.get("auth_time") {
        extra.insert("auth_time".into(), v.clone());
    }
    if let Some(permissions) = &granted.permissions {
        extra.insert("permissions".into(), json!(permissions));
    }
    let access_token = mint_access_token(
        &app.config,
        &app.platform,
        &AccessTokenSpec {
            sub: &sub,
            audiences: vec![api.identifier.clone()],
            client_id: &client.client_id,
            scope: &granted.scope,
            lifetime,
            extra,
            alg: crate::tokens::access_token_alg(Some(&api))?,
        },
    )?;
    let mut response = TokenResponse {
        access_token,
        token_type: token_type(dpop_jkt),
        expires_in: lifetime,
        scope: granted.scope.clone(),
        refresh_token: None,
        id_token: None,
        issued_token_type: Some(ACCESS_TOKEN_TYPE),
    };
    if offline
        && let (Some(parent), Some(user), Some(parent_record)) =
            (family.clone(), user, subject_family)
    {
        if parent_record.parents.len() >= MAX_EXCHANGE_DEPTH {
            return Err(OAuthError::invalid_request(format!(
                "subject_token is invalid: its session was exchanged from {MAX_EXCHANGE_DEPTH} others already"
            )));
        }
        let (absolute, idle) = family_lifetimes(Some(&api));
        let mut parents = vec![parent];
        parents.extend(parent_record.parents);
        let record = FamilyRecord {
            client_id: client.client_id.clone(),
            sub: user.user_id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            scope: scope.clone(),
            audience: Some(api.identifier.clone()),
            auth_time: subject
                .claims
                .get("auth_time")
                .and_then(Value::as_i64)
                .unwrap_or(now),
            jkt: dpop_jkt.filter(|_| client.is_public()).map(str::to_owned),
            org_id: org.as_ref().map(|o| o.id.clone()),
            // Never beyond the family it came from.
            expires_at: now.saturating_add(absolute).min(parent_record.expires_at),
            idle_lifetime: idle,
            parents,
            ..FamilyRecord::default()
        };
        let family_id = random_id(&app.platform)?;
        response.refresh_token = Some(start_family(app, &family_id, record).await?);
        tag_family(&mut response, &family_id);
    } else if let Some(session) = &family {
        // No family of its own: the new token names the subject's session, so that its
        // own exchanges end with that session too.
        tag_family(&mut response, session);
    }
    Ok(response)
}

/// How many families a family may have been exchanged from: each refresh and exchange
/// reads them all.
pub const MAX_EXCHANGE_DEPTH: usize = 8;

/// Checks that the grant behind a verified token still stands: the refresh-token family
/// it names (`sid`) and every family that one was exchanged from live, and its user is
/// still a member of the organization it names (`org_id`). Returns the family's record
/// and the organization.
///
/// # Errors
/// `invalid_request` naming `name` (RFC 8693 §2.2.2: the token is unacceptable), or a
/// storage failure.
async fn live_grant<S: Store, P: Platform>(
    app: &App<S, P>,
    token: &Presented,
    name: &str,
) -> Result<(Option<FamilyRecord>, Option<Organization>), OAuthError> {
    let now = app.platform.now();
    let ended = || OAuthError::invalid_request(format!("{name} is invalid: its session has ended"));
    let family = match token.claims.get(FAMILY_CLAIM) {
        None => None,
        Some(Value::String(id)) => {
            let record: Option<FamilyRecord> = get_json(&app.store, &family_key(id)).await?;
            let record = record.filter(|r| family_alive(r, now)).ok_or_else(ended)?;
            if !super::parents_alive(app, &record, now).await? {
                return Err(ended());
            }
            Some(record)
        }
        Some(_) => return Err(ended()),
    };
    let org = match token.claims.get("org_id") {
        None => None,
        Some(Value::String(org_id)) => {
            let sub = token
                .claims
                .get("sub")
                .and_then(Value::as_str)
                .unwrap_or_default();
            // A user must still be a member; a client (client credentials) must still
            // have its grant for the token's API enabled by the organization.
            let still = |org: &Organization| match sub.strip_suffix("@clients") {
                Some(client_id) => token
                    .api
                    .as_deref()
                    .is_some_and(|api| org.enables_grant(client_id, api)),
                None => org.has_member(sub),
            };
            match crate::orgs::find(app, org_id).await? {
                Some(org) if org.id == *org_id && still(&org) => Some(org),
                _ => {
                    return Err(OAuthError::invalid_request(format!(
                        "{name} is invalid: it is no longer a member of the organization, or no longer enabled by it"
                    )));
                }
            }
        }
        Some(_) => {
            return Err(OAuthError::invalid_request(format!(
                "{name} is invalid: its org_id is not a string"
            )));
        }
    };
    Ok((family, org))
}

/// The user `sub` through the server's subject index.
async fn load_user<S: Store, P: Platform>(
    app: &App<S, P>,
    sub: &str,
) -> Result<Option<User>, OAuthError> {
    let email = get_json::<S, Value>(&app.store, &user_index_key(sub))
        .await?
        .and_then(|v| v.get("email").and_then(Value::as_str).map(str::to_owned));
    let Some(email) = email else {
        return Ok(None);
    };
    let user: Option<User> = get_json(&app.store, &user_key(&email)).await?;
    Ok(user.filter(|u| u.user_id == sub))
}

/// Verifies a subject or actor token of type `kind` (`name` is the parameter, for the
/// error descriptions).
async fn verify<S: Store, P: Platform>(
    app: &App<S, P>,
    auth: &AuthenticatedClient,
    dpop_jkt: Option<&str>,
    token: &str,
    kind: &str,
    name: &str,
) -> Result<Presented, OAuthError> {
    let bad = |why: &str| OAuthError::invalid_request(format!("{name} is invalid: {why}"));
    let id_token = match kind {
        ACCESS_TOKEN_TYPE => false,
        ID_TOKEN_TYPE => true,
        _ => {
            return Err(OAuthError::invalid_request(format!(
                "{name}_type is not supported: use {ACCESS_TOKEN_TYPE} or {ID_TOKEN_TYPE}"
            )));
        }
    };
    let jwt = DecodedJwt::decode(token).map_err(|_| bad("it is not a JWT"))?;
    let typ_ok = if id_token {
        matches!(jwt.header_str("typ"), Some("JWT") | None)
    } else {
        matches!(jwt.header_str("typ"), Some("at+jwt" | "application/at+jwt"))
    };
    if !typ_ok {
        return Err(bad("its typ does not match the token type"));
    }
    let jwt = verify_server_jwt(app, jwt).await.map_err(bad)?;
    let now = app.platform.now();
    let exp = jwt.claim_i64("exp").ok_or_else(|| bad("it has no exp"))?;
    if exp <= now {
        return Err(bad("it has expired"));
    }
    let claims = jwt.claims;
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let (scope, api) = if id_token {
        if !audiences.contains(&auth.client.client_id.as_str()) {
            return Err(bad("the ID token was issued to another client"));
        }
        (Vec::new(), None)
    } else {
        let userinfo = app.config.userinfo_endpoint();
        let scope = parse_scope(claims.get("scope").and_then(Value::as_str).unwrap_or(""))
            .map_err(|_| bad("its scope is malformed"))?;
        let api = audiences
            .iter()
            .find(|a| **a != userinfo)
            .map(|a| (*a).to_owned());
        (scope, api)
    };
    // A sender-constrained token stays so: the request must prove the same key or
    // present the same certificate.
    if let Some(cnf) = claims.get("cnf") {
        if let Some(jkt) = cnf.get("jkt").and_then(Value::as_str)
            && dpop_jkt != Some(jkt)
        {
            return Err(bad(
                "it is bound to a DPoP key: send a DPoP proof of that key",
            ));
        }
        if let Some(x5t) = cnf.get("x5t#S256").and_then(Value::as_str)
            && auth.x5t_s256.as_deref() != Some(x5t)
        {
            return Err(bad(
                "it is bound to a client certificate: present that certificate",
            ));
        }
    }
    Ok(Presented {
        claims,
        scope,
        api,
        exp,
    })
}
