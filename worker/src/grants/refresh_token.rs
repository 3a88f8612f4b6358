//! `grant_type=refresh_token` with rotation (RFC 6749 §6, §10.4; RFC 9700 §4.14.2).
//!
//! A refresh token is `{family id}.{secret}`. Its family record ([`FamilyRecord`],
//! `family:{id}`) holds the hash of the one current token and its generation. Presenting
//! the current token rotates: the successor (generation + 1) replaces it with a
//! compare-and-swap of the family record, so of any number of simultaneous rotations one
//! wins. Presenting a token the family issued and has rotated out (an older one, or the
//! current one again after a rotation that won) revokes the whole family (reuse
//! detection) and is `invalid_grant`. So a stolen token can never quietly start a second
//! branch: there is only ever one current token.
//!
//! **What counts as reuse.** The family id is no secret (access tokens carry it as `sid`),
//! so a secret the family never issued must not count: it is `invalid_grant` and changes
//! nothing (and counts toward the failure limits of public clients). The server tells
//! them apart without storing any token: the secret is
//! `base64url(generation (4 bytes, big-endian) || chain (24 bytes) || tag (16 bytes))`
//! with `tag = HMAC-SHA256(K, "edge-oauth refresh tag v2:" || family id || ":" ||
//! generation || chain)` truncated. A token whose tag verifies, for a generation before
//! the current one, was issued by this family and rotated out: reuse, whatever its
//! generation (no list of old hashes to overflow, nothing more stored). The token rotated
//! last is also known by its hash (`previous`). Anything else is unknown. Tokens issued
//! before this format (a 43-character secret without a tag) keep working: the current one
//! rotates (to the new format), the one it replaced is reuse; an older one is unknown.
//! Forging a tag needs `K`; with `K` alone one could forge only rotated-out tokens
//! (revocations), never the current one, which is chained to the token before it.
//!
//! Successors are derived, not drawn: `chain' = HMAC-SHA256(K, "edge-oauth refresh v2:"
//! || presented token || ":" || generation')` truncated, with `K = HMAC-SHA256(
//! TRANSACTION_SECRET, "edge-oauth refresh-token key v1")`. Only hashes are stored, yet the
//! server can hand out the same successor twice: the **overlap window**
//! (`refresh_token_overlap` of the API, seconds, off by default). Within it after a
//! rotation, the same client presenting the token just rotated (with the same DPoP key,
//! for a bound family, which the key check below already demands) gets the same successor
//! again and the family lives on: two tabs of one app refreshing at once stay signed in.
//! After the window, that is reuse.
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
//! unbound public-client family presented with a proof becomes bound from then on
//! (`bound_at`); a token of that family from before the binding, presented again without
//! that key, is reuse and revokes it (the thief may be the one who chose the key).
//!
//! The proof's `jti` (§11.1) is recorded here, before the grant's first state change (the
//! rotation or the revocation): a replayed request (a rotated-out token with its captured
//! proof) is `invalid_dpop_proof` and revokes nothing; a rotated-out token with a fresh
//! proof of the bound key is reuse.
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
use edge_oauth::dpop::VerifiedProof;
use subtle::ConstantTimeEq;

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

/// Bytes of a secret: the generation (big-endian), the chain, the tag.
const GENERATION_BYTES: usize = 4;
/// Bytes of the chain part (the unguessable part).
pub const CHAIN_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
const SECRET_BYTES: usize = GENERATION_BYTES + CHAIN_BYTES + TAG_BYTES;

fn token_key(transaction_secret: &[u8]) -> [u8; 32] {
    hmac_sha256(transaction_secret, b"edge-oauth refresh-token key v1")
}

fn tag(key: &[u8], family_id: &str, generation: &[u8], chain: &[u8]) -> [u8; 32] {
    let mut message = Vec::with_capacity(64 + family_id.len());
    message.extend_from_slice(b"edge-oauth refresh tag v2:");
    message.extend_from_slice(family_id.as_bytes());
    message.push(b':');
    message.extend_from_slice(generation);
    message.extend_from_slice(chain);
    hmac_sha256(key, &message)
}

/// The token of `family_id` at `generation` with the chain part `chain` (the first
/// [`CHAIN_BYTES`] bytes are used): `{family id}.{secret}` as the module docs describe.
#[must_use]
pub fn family_token(
    transaction_secret: &[u8],
    family_id: &str,
    generation: u64,
    chain: &[u8],
) -> String {
    let key = token_key(transaction_secret);
    let generation = u32::try_from(generation).unwrap_or(u32::MAX).to_be_bytes();
    let chain = chain.get(..CHAIN_BYTES).unwrap_or(chain);
    let mut secret = zeroize::Zeroizing::new(Vec::with_capacity(SECRET_BYTES));
    secret.extend_from_slice(&generation);
    secret.extend_from_slice(chain);
    let tag = tag(&key, family_id, &generation, chain);
    secret.extend_from_slice(tag.get(..TAG_BYTES).unwrap_or_default());
    format!("{family_id}.{}", base64url::encode(&secret))
}

/// The generation a token of `family_id` was issued at, when its tag verifies (it was
/// issued by this family); `None` for any other secret, tokens from before the tag
/// included.
#[must_use]
pub fn issued_generation(transaction_secret: &[u8], family_id: &str, token: &str) -> Option<u64> {
    let (_, secret) = token.split_once('.')?;
    let bytes = zeroize::Zeroizing::new(base64url::decode(secret).ok()?);
    // One spelling only: a re-encoding must give the same text.
    if bytes.len() != SECRET_BYTES || base64url::encode(&bytes) != secret {
        return None;
    }
    let (generation, rest) = bytes.split_at(GENERATION_BYTES);
    let (chain, presented) = rest.split_at(CHAIN_BYTES);
    let expected = tag(&token_key(transaction_secret), family_id, generation, chain);
    let valid = expected
        .get(..TAG_BYTES)
        .is_some_and(|t| bool::from(t.ct_eq(presented)));
    let generation: [u8; GENERATION_BYTES] = generation.try_into().ok()?;
    valid.then(|| u64::from(u32::from_be_bytes(generation)))
}

/// The successor of `token` at `generation` (see the module docs).
#[must_use]
pub fn successor(
    transaction_secret: &[u8],
    family_id: &str,
    token: &str,
    generation: u64,
) -> String {
    let chain = hmac_sha256(
        &token_key(transaction_secret),
        format!("edge-oauth refresh v2:{token}:{generation}").as_bytes(),
    );
    family_token(transaction_secret, family_id, generation, &chain)
}

/// The successor as tokens issued before the tagged format derived it (a rotation from
/// before that, still within its overlap window, hands this one out again).
fn untagged_successor(
    transaction_secret: &[u8],
    family_id: &str,
    token: &str,
    generation: u64,
) -> String {
    let mac = hmac_sha256(
        &token_key(transaction_secret),
        format!("edge-oauth refresh v1:{token}:{generation}").as_bytes(),
    );
    format!("{family_id}.{}", base64url::encode(&mac))
}

/// Which of its family's tokens a presented token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Presented {
    /// The current token.
    Current,
    /// A token the family issued at this generation and has rotated out since.
    RotatedOut(u64),
}

/// What the presented token is to `record`; `None` when the family never issued it.
fn presented(
    transaction_secret: &[u8],
    family_id: &str,
    token: &str,
    hash: &str,
    record: &FamilyRecord,
) -> Option<Presented> {
    if hash == record.current {
        return Some(Presented::Current);
    }
    if record.previous.as_deref() == Some(hash) {
        return Some(Presented::RotatedOut(record.generation.saturating_sub(1)));
    }
    issued_generation(transaction_secret, family_id, token)
        .filter(|g| *g < record.generation)
        .map(Presented::RotatedOut)
}

/// Processes a refresh token request for an authenticated client, with the request's
/// verified DPoP proof (if any), whose `jti` this records before any state change.
///
/// # Errors
/// The RFC 6749 §5.2 error to answer.
pub async fn grant<S: Store, P: Platform>(
    app: &App<S, P>,
    auth: &AuthenticatedClient,
    params: &Params,
    proof: Option<&VerifiedProof>,
) -> Result<TokenResponse, OAuthError> {
    let client = &auth.client;
    let dpop_jkt = proof.map(|p| p.jkt.as_str());
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
    let mut jti = super::ProofJti::new(proof);
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
        let verdict = check(app, client, params, dpop_jkt, &record, token, &hash).await;
        let rotates = matches!(&verdict, Ok(Verdict::Go(c)) if matches!(c.step, Step::Rotate));
        if !fresh && !rotates {
            continue;
        }
        let checked = verdict?;
        // RFC 9449 §11.1: a replayed proof is refused before it can change anything (a
        // captured request replayed after its rotation must not revoke the family).
        jti.record(app).await?;
        let checked = match checked {
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
                    rotation: Some(crate::tokens::random_id(&app.platform)?),
                    ..record.clone()
                };
                (next, Some(rotated))
            }
            Step::Overlap => {
                // The successor handed out at the rotation; a rotation from before the
                // tagged format derived it the earlier way.
                let secret = &app.config.transaction_secret;
                let tagged = successor(secret, family_id, token, record.generation);
                let same = if sha256_b64(tagged.as_bytes()) == record.current {
                    tagged
                } else {
                    untagged_successor(secret, family_id, token, record.generation)
                };
                (same, None)
            }
        };
        if written.is_none() && sha256_b64(successor.as_bytes()) != record.current {
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
        // Signed before the family changes: a signature that fails leaves the presented
        // token current, so the client's retry rotates it instead of reusing it.
        response.sign(app, client).await?;
        if let Some(rotated) = written {
            let new = serde_json::to_string(&rotated).map_err(|_| OAuthError::server_error())?;
            let ttl = Some(family_ttl(&rotated, now));
            let swapped = match app
                .store
                .compare_and_swap(&key, Some(&text), &new, ttl)
                .await
            {
                Ok(swapped) => swapped,
                // The call failed, perhaps after the family changed: when the family holds
                // exactly this rotation, it happened, and these tokens are its answer (a
                // 500 would leave the client a spent token, whose retry is reuse).
                Err(_) if super::landed(&app.store, &key, &new).await => Swap::Done,
                Err(err) => return Err(err.into()),
            };
            if let Swap::Conflict(current) = swapped {
                // Another request changed the family first (or the copy was stale): decide
                // again on what the family holds now.
                known = Some(current.ok_or_else(invalid)?);
                fresh = true;
                continue;
            }
        }
        return Ok(response);
    }
    Err(OAuthError::new(
        "temporarily_unavailable",
        503,
        "the refresh token is being used by several requests at once; retry (with a new DPoP proof, if the request had one)",
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
    token: &str,
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
    // A secret this family never issued (the family id is no secret): nothing happens.
    let family_id = family_of(token).ok_or_else(invalid)?;
    let Some(presented) = presented(
        &app.config.transaction_secret,
        family_id,
        token,
        hash,
        record,
    ) else {
        return Err(invalid());
    };
    // A family bound at a rotation: whoever holds a token from before it may be the thief
    // who chose the key (or its victim), so such a token without that key is reuse
    // (RFC 9700 §4.14.2), not a key mismatch that leaves the family alive. A token issued
    // after the binding went to the key's holder: without the key it is a mismatch.
    if let (Some(bound_at), Presented::RotatedOut(generation)) = (record.bound_at, presented)
        && generation < bound_at
        && dpop_jkt != record.jkt.as_deref()
    {
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
    if !super::parents_alive(app, record, now).await? {
        return Err(invalid());
    }
    let api = load_record_api(app, record.audience.as_deref(), invalid).await?;
    let step = if presented == Presented::Current {
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
        // RFC 7009 §2.1: any token the family issued (current or rotated out) revokes an
        // unbound family, whose rotated-out tokens are reuse at the token endpoint anyway;
        // a secret it never issued revokes nothing. A DPoP-bound family's older tokens are
        // useless without its key (a key mismatch at the token endpoint), and this request
        // proves no key: only the current token and the one it replaced revoke it, so an
        // old token leaked long ago cannot end the session.
        Some(r) => {
            let hash = sha256_b64(token.as_bytes());
            let secret = &app.config.transaction_secret;
            let issued = presented(secret, family_id, token, &hash, &r);
            // A token the family never issued is an invalid token: `200` whoever asks
            // (§2.2), which tells nothing about the family. Only a token it issued is
            // checked against the client (§2.1).
            if issued.is_some() && r.client_id != client_id {
                return Err(OAuthError::invalid_grant(
                    "the token was issued to another client",
                ));
            }
            let revokes = match issued {
                Some(Presented::Current) => true,
                Some(Presented::RotatedOut(_)) if r.jkt.is_some() => {
                    r.previous.as_deref() == Some(hash.as_str())
                }
                Some(Presented::RotatedOut(_)) => true,
                None => false,
            };
            if revokes {
                revoke_family(app, family_id, "revoked").await
            } else {
                Ok(())
            }
        }
    }
}
