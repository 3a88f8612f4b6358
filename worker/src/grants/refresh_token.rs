//! `grant_type=refresh_token` with rotation (RFC 6749 §6, §10.4; RFC 9700 §4.14.2).
//!
//! A refresh token is `{family id}.{secret}`. Its family record ([`FamilyRecord`],
//! `family:{id}`) holds the hash of the one current token and its generation. Presenting
//! the current token rotates: the successor (generation + 1) replaces it with a
//! compare-and-swap of the family record, so of any number of simultaneous rotations one
//! wins. Presenting any other token of the family (an older one, or the current one again
//! after a rotation that won) revokes the whole family (reuse detection) and is
//! `invalid_grant`. So a stolen token can never quietly start a second branch: there is
//! only ever one current token.
//!
//! Successors are derived, not drawn: `secret' = HMAC-SHA256(K, "edge-oauth refresh v1:"
//! || presented token || ":" || generation')` with `K = HMAC-SHA256(TRANSACTION_SECRET,
//! "edge-oauth refresh-token key v1")`. Only hashes are stored, yet the server can hand
//! out the same successor twice: the **overlap window** (`refresh_token_overlap` of the
//! API, seconds, off by default). Within it after a rotation, the same client presenting
//! the token just rotated (with the same DPoP key, for a bound family, which the key check
//! below already demands) gets the same successor again and the family lives on: two tabs
//! of one app refreshing at once stay signed in. After the window, that is reuse.
//!
//! Lifetimes (per API, [`crate::config::Api`]): a family ends at its absolute lifetime
//! (default 30 days from the code exchange) or when unused for its idle lifetime (default
//! 15 days). `scope` may only narrow (`invalid_scope`); it narrows the access token, not
//! the family. The family is bound to its client.
//!
//! DPoP (RFC 9449 §5): a family bound to a key (public clients that used DPoP) needs a
//! proof from that key, else `invalid_grant` (as node-oidc-provider); a key mismatch alone
//! does not revoke the family, since whoever lacks the key cannot use the token anyway.
//! This is checked before reuse detection. A confidential client's family is bound to the
//! client, so it may present another key or none (unless the API requires DPoP). An
//! unbound public-client family presented with a proof becomes bound from then on; a token
//! of that family from before the binding, presented again, is reuse and revokes it.
//!
//! A family started by a token exchange ([`super::token_exchange`]) names the families
//! it was exchanged from (`parents`); it refreshes only while all of them live, so
//! revoking the subject token's family ends the exchanged one too.
//!
//! The user must still exist (`user:{email}` with the same `user_id` as the family's
//! `sub`), else `invalid_grant`; `email` and `name` come from that fresh record.
//! A family issued for an organization needs the user still to be a member
//! ([`crate::orgs`]), and RBAC ([`crate::rbac`]) is applied to the user's current roles.

use super::authorization_code::{UserGrant, issue_user_tokens};
use super::{
    FamilyRecord, MAX_REFRESH_OVERLAP, access_token_lifetime, family_key, family_ttl,
    load_record_api, require_dpop_for_api, require_grant, revoke_family,
};
use crate::App;
use crate::client_auth::AuthenticatedClient;
use crate::config::{Api, User, user_key};
use crate::error::OAuthError;
use crate::jwt::{hmac_sha256, sha256_b64};
use crate::params::Params;
use crate::platform::Platform;
use crate::store::{Store, Swap, get_json};
use crate::tokens::{TokenResponse, parse_scope};
use edge_oauth::base64url;

/// How often a rotation re-reads the family after losing a compare-and-swap.
const ROTATION_ATTEMPTS: usize = 5;

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}

/// The family id of a refresh token (`{family id}.{secret}`), when it has that shape.
#[must_use]
pub fn family_of(token: &str) -> Option<&str> {
    let (family, secret) = token.split_once('.')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (ok(family) && ok(secret)).then_some(family)
}

/// The successor of `token` at `generation` (see the module docs).
#[must_use]
pub fn successor(
    transaction_secret: &[u8],
    family_id: &str,
    token: &str,
    generation: u64,
) -> String {
    let key = hmac_sha256(transaction_secret, b"edge-oauth refresh-token key v1");
    let mac = hmac_sha256(
        &key,
        format!("edge-oauth refresh v1:{token}:{generation}").as_bytes(),
    );
    format!("{family_id}.{}", base64url::encode(&mac))
}

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
    let token = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let family_id = family_of(token).ok_or_else(invalid)?;
    let key = family_key(family_id);
    let hash = sha256_b64(token.as_bytes());
    // First the copy this isolate may hold (it can be stale): only a rotation, which the
    // compare-and-swap verifies, is decided on it; anything else is decided again on a
    // fresh read. A lost swap answers the family's current state, which is fresh.
    let mut known = app.store.get_cached(&key).await?;
    let mut fresh = false;
    for _ in 0..ROTATION_ATTEMPTS {
        let text = match known.take() {
            Some(text) => text,
            None => {
                fresh = true;
                app.store.get(&key).await?.ok_or_else(invalid)?
            }
        };
        let record: FamilyRecord =
            serde_json::from_str(&text).map_err(|_| OAuthError::server_error())?;
        let verdict = check(app, client, params, dpop_jkt, &record, &hash).await;
        let rotates = matches!(&verdict, Ok(Verdict::Go(c)) if matches!(c.step, Step::Rotate));
        if !fresh && !rotates {
            continue;
        }
        let checked = match verdict? {
            Verdict::Go(checked) => checked,
            Verdict::Reuse => {
                revoke_family(app, family_id, "refresh_token_reuse").await?;
                return Err(invalid());
            }
        };
        let now = app.platform.now();
        let (successor, written) = match checked.step {
            Step::Rotate => {
                let generation = record.generation.saturating_add(1);
                let next = successor(&app.config.transaction_secret, family_id, token, generation);
                let rotated = FamilyRecord {
                    generation,
                    current: sha256_b64(next.as_bytes()),
                    previous: Some(hash.clone()),
                    rotated_at: now,
                    last_used: now,
                    jkt: record
                        .jkt
                        .clone()
                        .or_else(|| dpop_jkt.filter(|_| client.is_public()).map(str::to_owned)),
                    bound_at: record.bound_at.or_else(|| {
                        (record.jkt.is_none() && dpop_jkt.is_some() && client.is_public())
                            .then_some(generation)
                    }),
                    email: checked.user.email.clone(),
                    name: checked.user.name.clone(),
                    ..record.clone()
                };
                (next, Some(rotated))
            }
            Step::Overlap => (
                successor(
                    &app.config.transaction_secret,
                    family_id,
                    token,
                    record.generation,
                ),
                None,
            ),
        };
        if let Some(rotated) = written {
            let new = serde_json::to_string(&rotated).map_err(|_| OAuthError::server_error())?;
            let ttl = Some(family_ttl(&rotated, now));
            if let Swap::Conflict(current) = app
                .store
                .compare_and_swap(&key, Some(&text), &new, ttl)
                .await?
            {
                // Another request changed the family first (or the copy was stale): decide
                // again on what the family holds now.
                known = Some(current.ok_or_else(invalid)?);
                fresh = true;
                continue;
            }
        } else if sha256_b64(successor.as_bytes()) != record.current {
            return Err(invalid());
        }
        let grant = UserGrant {
            sub: &record.sub,
            email: &checked.user.email,
            name: &checked.user.name,
            scope: &checked.granted.scope,
            audience: record.audience.as_deref(),
            auth_time: record.auth_time,
            nonce: None,
            lifetime: access_token_lifetime(checked.api.as_ref()),
            dpop_jkt,
            alg: crate::tokens::access_token_alg(checked.api.as_ref())?,
            org: checked.org.as_ref(),
            permissions: checked.granted.permissions.as_deref(),
            x5t_s256: auth.x5t_s256.as_deref(),
        };
        let mut response = issue_user_tokens(app, client, &grant)?;
        response.refresh_token = Some(successor);
        super::tag_family(&mut response, family_id);
        return Ok(response);
    }
    Err(OAuthError::new(
        "temporarily_unavailable",
        503,
        "the refresh token is being used by several requests at once; retry",
    ))
}

/// What a presented token may do.
enum Step {
    /// It is the current token: rotate.
    Rotate,
    /// It is the token rotated last, within the overlap window: the same successor again.
    Overlap,
}

/// What the checks decided.
enum Verdict {
    /// Any other token of the family was presented: revoke the family.
    Reuse,
    /// The token may be redeemed.
    Go(Box<Checked>),
}

/// The outcome of the checks of a presented token.
struct Checked {
    step: Step,
    granted: crate::rbac::Granted,
    org: Option<crate::orgs::Organization>,
    api: Option<Api>,
    user: User,
}

/// The checks that need no write.
async fn check<S: Store, P: Platform>(
    app: &App<S, P>,
    client: &crate::config::Client,
    params: &Params,
    dpop_jkt: Option<&str>,
    record: &FamilyRecord,
    hash: &str,
) -> Result<Verdict, OAuthError> {
    let now = app.platform.now();
    if record.revoked.is_some() {
        return Err(invalid());
    }
    if record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if record.expires_at <= now || record.last_used.saturating_add(record.idle_lifetime) <= now {
        return Err(invalid());
    }
    // A family bound at a rotation: whoever holds a token from before it may be the thief
    // who chose the key (or its victim), so a non-current token without that key is reuse
    // (RFC 9700 §4.14.2), not a key mismatch that leaves the family alive.
    if record.bound_at.is_some() && hash != record.current && dpop_jkt != record.jkt.as_deref() {
        return Ok(Verdict::Reuse);
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
    // A family exchanged from others (RFC 8693) ends with any of them.
    for parent in &record.parents {
        let alive = get_json::<S, FamilyRecord>(&app.store, &family_key(parent))
            .await?
            .is_some_and(|p| super::family_alive(&p, now));
        if !alive {
            return Err(invalid());
        }
    }
    let api = load_record_api(app, record.audience.as_deref(), invalid).await?;
    let step = if hash == record.current {
        Step::Rotate
    } else {
        let window = api
            .as_ref()
            .map_or(0, |a| a.refresh_token_overlap.min(MAX_REFRESH_OVERLAP));
        let window = i64::try_from(window).unwrap_or(0);
        if record.previous.as_deref() == Some(hash)
            && now < record.rotated_at.saturating_add(window)
        {
            Step::Overlap
        } else {
            // Reuse is decided before the scope, API and user checks: it revokes whatever
            // else the request gets wrong.
            return Ok(Verdict::Reuse);
        }
    };

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
    if !api.as_ref().is_some_and(|a| a.allow_offline_access) {
        return Err(invalid());
    }
    require_dpop_for_api(api.as_ref(), dpop_jkt)?;
    crate::tokens::check_signable(
        &app.config,
        client,
        crate::tokens::access_token_alg(api.as_ref())?,
    )?;
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
    Ok(Verdict::Go(Box::new(Checked {
        step,
        granted,
        org,
        api,
        user,
    })))
}

/// Revokes the family of `token` (used by `/oauth/revoke`).
///
/// # Errors
/// Storage failures; `invalid_grant` when the token belongs to another client.
pub async fn revoke<S: Store, P: Platform>(
    app: &App<S, P>,
    client_id: &str,
    token: &str,
) -> Result<(), OAuthError> {
    let Some(family_id) = family_of(token) else {
        return Ok(());
    };
    let record: Option<FamilyRecord> = get_json(&app.store, &family_key(family_id)).await?;
    match record {
        None => Ok(()),
        Some(r) if r.revoked.is_some() => Ok(()),
        Some(r) if r.client_id != client_id => Err(OAuthError::invalid_grant(
            "the token was issued to another client",
        )),
        // RFC 7009 §2.1: the current token, or the one it replaced, revokes the family.
        Some(r) => {
            let hash = sha256_b64(token.as_bytes());
            if r.current == hash || r.previous.as_deref() == Some(hash.as_str()) {
                revoke_family(app, family_id, "revoked").await
            } else {
                Ok(())
            }
        }
    }
}
