//! Grant processing, one file per grant type, as plain async Rust over [`Store`].
//!
//! Server-owned records (values JSON, keys hash the credential, never store it):
//! - `code:{sha256(code)}` → [`CodeRecord`], TTL 60 s (the code lifetime). Redeeming it is
//!   one [`Store::take`] whose receipt ([`CodeReceipt`]) names the refresh-token family
//!   issued from it and is kept 600 s, so a replay is detected (and, when it comes from
//!   the code's own client, revokes that family);
//! - `family:{id}` → [`FamilyRecord`]: a refresh-token family with the hash of its one
//!   current token and its generation. A refresh token is `{family id}.{secret}`, so its
//!   family is found (and its Durable Object shard chosen) without a lookup. Rotation is
//!   a [`Store::compare_and_swap`] of the family record;
//! - `device:{sha256(device_code)}` and `user_code:{sha256(user code)}`: the device
//!   authorization grant ([`device_code`]), every state change a compare-and-swap.
//!
//! DPoP (RFC 9449): every grant takes the thumbprint of the request's verified proof key
//! (`dpop_jkt`, `None` without a `DPoP` header). With a key, the access token carries
//! `cnf.jkt` and `token_type` is `DPoP` (§5, §6.1). An API with `dpop: required` refuses
//! requests without a proof ([`require_dpop_for_api`]). A code issued with `dpop_jkt`
//! (§10) needs a proof from that key; a public client's refresh token is bound to the
//! key it was issued with (§5), a confidential client's only to the client.
//!
//! The atomic operations hold exactly on the Durable Object store (the default). On the
//! KV-only store they are a read followed by a write: two truly concurrent redemptions can
//! both succeed there (README, "Consistency").

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod password;
pub mod refresh_token;
pub mod token_exchange;

use crate::App;
use crate::config::{Api, Client, DpopPolicy, api_key};
use crate::error::OAuthError;
use crate::params::Params;
use crate::platform::Platform;
use crate::store::{Store, get_json, put_json};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

/// Lifetime of an authorization code, in seconds (KV's minimum TTL; RFC 6749 §4.1.2
/// recommends at most 10 minutes).
pub const CODE_LIFETIME: i64 = 60;

/// How long a redeemed code is remembered to detect replays, in seconds.
pub const CODE_USED_TTL: u64 = 600;

/// Default absolute lifetime of a refresh-token family, in seconds (30 days, as Auth0).
pub const REFRESH_ABSOLUTE_LIFETIME: i64 = 30 * 86_400;

/// Default idle lifetime of a refresh-token family, in seconds (15 days, as Auth0).
pub const REFRESH_IDLE_LIFETIME: i64 = 15 * 86_400;

/// The longest rotation overlap window an API may set, in seconds.
pub const MAX_REFRESH_OVERLAP: u64 = 300;

/// `code:{hash}`: what an authorization code is bound to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeRecord {
    /// The client the code was issued to.
    pub client_id: String,
    /// The `redirect_uri` sent to `/authorize` (`None` when it was omitted).
    pub redirect_uri: Option<String>,
    /// The effective redirect URI (sent or the single registered one).
    pub effective_redirect_uri: String,
    /// The PKCE challenge (`None` without PKCE).
    pub code_challenge: Option<String>,
    /// Always `S256` when a challenge is present.
    pub code_challenge_method: Option<String>,
    /// Granted scope.
    pub scope: String,
    /// The API (`None`: userinfo only).
    pub audience: Option<String>,
    /// The OIDC nonce.
    pub nonce: Option<String>,
    /// The user.
    pub sub: String,
    /// The user's email (for the ID token and userinfo).
    pub email: String,
    /// The user's name.
    pub name: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// When the code expires.
    pub expires_at: i64,
    /// `dpop_jkt` of the authorization request (RFC 9449 §10): the key the token request
    /// must prove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// The organization the user logged in to (`/authorize?organization=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
}

/// The receipt a code redemption leaves with the taken code ([`Store::take`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeReceipt {
    /// The refresh-token family issued from the code, if any.
    pub family_id: Option<String>,
    /// The DPoP proof the redemption came with ([`proof_digest`]), so that a copy of the
    /// same request is known as one even before the redemption has recorded the proof's
    /// `jti`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

/// What a [`CodeReceipt`] keeps of a DPoP proof: a hash of its key thumbprint and `jti`.
#[must_use]
pub fn proof_digest(proof: &edge_oauth::dpop::VerifiedProof) -> String {
    crate::jwt::sha256_b64(format!("{}:{}", proof.jkt, proof.jti).as_bytes())
}

/// `family:{id}`: a refresh-token family. Only hashes of its tokens are kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FamilyRecord {
    /// The client the family is bound to.
    pub client_id: String,
    /// The user.
    pub sub: String,
    /// The user's email.
    pub email: String,
    /// The user's name.
    pub name: String,
    /// The scope originally granted.
    pub scope: String,
    /// The API.
    pub audience: Option<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The DPoP key thumbprint the family is bound to (public clients, RFC 9449 §5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// The generation at which an unbound family became bound to [`Self::jkt`] by a
    /// refresh with a proof; `None` when it was bound at issuance (or is unbound). Tokens
    /// from before that rotation were never bound, so the key check cannot protect them:
    /// presenting one again is reuse, whatever key comes with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_at: Option<u64>,
    /// When the family ends, whatever its use (absolute lifetime).
    pub expires_at: i64,
    /// How long the family may go unused, in seconds (idle lifetime).
    pub idle_lifetime: i64,
    /// When a token of the family was last redeemed (or issued).
    pub last_used: i64,
    /// The generation of the current token (1 for the first).
    pub generation: u64,
    /// SHA-256 (base64url) of the current token: the only one that rotates.
    pub current: String,
    /// SHA-256 of the token rotated last (for the overlap window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// When the last rotation happened.
    pub rotated_at: i64,
    /// Why the family was revoked (`revoked`, `refresh_token_reuse`, `code_replay`), or
    /// `None` while it lives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
    /// The organization of the login the family came from; every refresh checks that the
    /// user is still a member ([`crate::orgs::require_member`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// The families this one was exchanged from (RFC 8693, [`token_exchange`]), nearest
    /// first: when any of them is revoked or ends, so does this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<String>,
    /// A random id of the request that made this version of the record (a rotation): the
    /// successor token is derived from the presented one, so without it two requests
    /// presenting the same token in the same second would write identical records, and
    /// a request whose write failed could take the other's for its own ([`landed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<String>,
}

/// The access-token claim naming the refresh-token family (the session) the token was
/// issued with: a token exchange ties the families it starts to it.
pub const FAMILY_CLAIM: &str = "sid";

/// Adds [`FAMILY_CLAIM`] to the (still unsigned) access token and ID token of
/// `response`: both name the session, so that a token exchange of either ends with it
/// ([`token_exchange`]).
pub fn tag_family(response: &mut TokenResponse, family_id: &str) {
    if let crate::tokens::Jwt::Unsigned { claims, .. } = &mut response.access_token {
        claims.insert(FAMILY_CLAIM.into(), serde_json::json!(family_id));
    }
    if let Some(crate::tokens::Jwt::Unsigned { claims, .. }) = &mut response.id_token {
        claims.insert(FAMILY_CLAIM.into(), serde_json::json!(family_id));
    }
}

/// Whether a family is alive at `now`: not revoked, within its absolute and idle
/// lifetimes.
#[must_use]
pub fn family_alive(record: &FamilyRecord, now: i64) -> bool {
    record.revoked.is_none()
        && record.expires_at > now
        && record.last_used.saturating_add(record.idle_lifetime) > now
}

/// The KV / Durable Object key of a refresh-token family.
#[must_use]
pub fn family_key(family_id: &str) -> String {
    format!("family:{family_id}")
}

/// The result of a grant: the success body.
pub use crate::tokens::TokenResponse;

/// Revokes a refresh-token family: its record says why from now on (a family unknown
/// yet gets a revoked record, so a family issued later under that id is born revoked).
///
/// # Errors
/// Storage failures.
pub async fn revoke_family<S: Store, P: Platform>(
    app: &App<S, P>,
    family_id: &str,
    reason: &str,
) -> Result<(), OAuthError> {
    let key = family_key(family_id);
    let now = app.platform.now();
    let record = match get_json::<S, FamilyRecord>(&app.store, &key).await? {
        Some(r) if r.revoked.is_some() => return Ok(()),
        Some(r) => FamilyRecord {
            revoked: Some(reason.to_owned()),
            ..r
        },
        None => FamilyRecord {
            revoked: Some(reason.to_owned()),
            expires_at: now.saturating_add(REFRESH_ABSOLUTE_LIFETIME),
            ..FamilyRecord::default()
        },
    };
    put_json(&app.store, &key, &record, Some(family_ttl(&record, now))).await?;
    Ok(())
}

/// The storage TTL of a family record: until its absolute expiry (at least 60 s).
#[must_use]
pub fn family_ttl(record: &FamilyRecord, now: i64) -> u64 {
    u64::try_from(record.expires_at.saturating_sub(now))
        .unwrap_or(0)
        .max(crate::store::MIN_TTL_SECONDS)
}

/// Loads an API.
///
/// # Errors
/// Storage failures.
pub async fn load_api<S: Store, P: Platform>(
    app: &App<S, P>,
    identifier: &str,
) -> Result<Option<Api>, OAuthError> {
    if identifier.is_empty() || identifier.len() > crate::config::MAX_API_IDENTIFIER_BYTES {
        return Ok(None);
    }
    Ok(get_json(&app.store, &api_key(identifier)).await?)
}

/// Refuses a client that is not registered for `grant_type`.
///
/// # Errors
/// `400 unauthorized_client` "the client is not allowed to use {grant_type}".
pub fn require_grant(client: &Client, grant_type: &str) -> Result<(), OAuthError> {
    if client.allows_grant(grant_type) {
        Ok(())
    } else {
        Err(not_allowed(grant_type))
    }
}

/// `400 unauthorized_client` "the client is not allowed to use {grant_type}".
#[must_use]
pub fn not_allowed(grant_type: &str) -> OAuthError {
    OAuthError::unauthorized_client(format!("the client is not allowed to use {grant_type}"))
}

/// The SHA-256 (base64url) of the required credential parameter `name` (a code or a
/// refresh token): its records are keyed by this hash.
///
/// # Errors
/// `400 invalid_request` "{name} is required".
pub fn required_credential_hash(params: &Params, name: &str) -> Result<String, OAuthError> {
    let value = params
        .get(name)
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))?;
    Ok(crate::jwt::sha256_b64(value.as_bytes()))
}

/// Loads the API a code or refresh token was issued for, if it names one; a named API
/// that no longer exists is the error `missing` gives.
///
/// # Errors
/// Storage failures, or `missing()`.
pub async fn load_record_api<S: Store, P: Platform>(
    app: &App<S, P>,
    audience: Option<&str>,
    missing: impl FnOnce() -> OAuthError,
) -> Result<Option<Api>, OAuthError> {
    match audience {
        Some(aud) => Ok(Some(load_api(app, aud).await?.ok_or_else(missing)?)),
        None => Ok(None),
    }
}

/// The access-token lifetime for a user token at `api` (the default without one).
#[must_use]
pub fn access_token_lifetime(api: Option<&Api>) -> u64 {
    api.map_or(crate::tokens::DEFAULT_ACCESS_TOKEN_LIFETIME, |a| {
        a.token_lifetime
    })
}

/// The first token of a new refresh-token family and the family record that goes with
/// it, not written yet ([`first_token`]). No `Debug`: it holds the token.
pub struct FirstToken {
    /// `{family id}.{secret}`, generation 1.
    pub token: String,
    /// The family record (JSON) holding the token's hash.
    pub record: String,
    /// The record's storage TTL ([`family_ttl`]).
    pub ttl: u64,
}

/// The first token of family `family_id` for `record` (generation 1: a random chain part
/// under the family's tag, [`refresh_token::family_token`]) and its family record.
///
/// # Errors
/// RNG failures.
pub fn first_token<S: Store, P: Platform>(
    app: &App<S, P>,
    family_id: &str,
    record: FamilyRecord,
) -> Result<FirstToken, OAuthError> {
    let mut chain = zeroize::Zeroizing::new([0u8; refresh_token::CHAIN_BYTES]);
    app.platform
        .fill_random(chain.as_mut_slice())
        .map_err(|_| OAuthError::server_error())?;
    let token = refresh_token::family_token(
        &app.config.transaction_secret,
        family_id,
        1,
        chain.as_slice(),
    );
    let now = app.platform.now();
    let record = FamilyRecord {
        generation: 1,
        current: crate::jwt::sha256_b64(token.as_bytes()),
        previous: None,
        last_used: now,
        rotated_at: now,
        revoked: None,
        ..record
    };
    let text = serde_json::to_string(&record).map_err(|_| OAuthError::server_error())?;
    Ok(FirstToken {
        token,
        record: text,
        ttl: family_ttl(&record, now),
    })
}

/// Starts a refresh-token family `family_id` for `record` (generation 1) and returns its
/// first token ([`first_token`]). The family record is written only if absent: a code
/// replay that raced this exchange may have revoked the id already, and then no token is
/// issued.
///
/// # Errors
/// RNG or storage failures; `invalid_grant` when the family was revoked meanwhile.
pub async fn start_family<S: Store, P: Platform>(
    app: &App<S, P>,
    family_id: &str,
    record: FamilyRecord,
) -> Result<String, OAuthError> {
    let first = first_token(app, family_id, record)?;
    let key = family_key(family_id);
    let written = match app
        .store
        .put_if_absent(&key, &first.record, Some(first.ttl))
        .await
    {
        Ok(written) => written,
        Err(_) if landed(&app.store, &key, &first.record).await => true,
        Err(err) => return Err(err.into()),
    };
    if !written {
        return Err(family_taken());
    }
    Ok(first.token)
}

/// A request's DPoP proof, whose `jti` a grant records once (RFC 9449 §11.1), before its
/// first state change; a grant that loops over attempts records it on the first.
pub struct ProofJti<'a> {
    /// The verified proof, if the request had one.
    pub proof: Option<&'a edge_oauth::dpop::VerifiedProof>,
    recorded: bool,
}

impl<'a> ProofJti<'a> {
    /// The proof, its `jti` not recorded yet.
    #[must_use]
    pub fn new(proof: Option<&'a edge_oauth::dpop::VerifiedProof>) -> Self {
        Self {
            proof,
            recorded: false,
        }
    }

    /// Records the proof's `jti` unless it is recorded already (or there is no proof).
    ///
    /// # Errors
    /// `400 invalid_dpop_proof` for a `jti` seen before, or a storage error.
    pub async fn record<S: Store, P: Platform>(
        &mut self,
        app: &App<S, P>,
    ) -> Result<(), OAuthError> {
        let Some(proof) = self.proof.filter(|_| !self.recorded) else {
            return Ok(());
        };
        crate::dpop::record_token_request_jti(app, proof).await?;
        self.recorded = true;
        Ok(())
    }
}

/// Whether every family `record` was exchanged from (RFC 8693, `parents`) lives at `now`:
/// an exchanged family ends with any of them.
///
/// # Errors
/// Storage failures.
pub async fn parents_alive<S: Store, P: Platform>(
    app: &App<S, P>,
    record: &FamilyRecord,
    now: i64,
) -> Result<bool, OAuthError> {
    for parent in &record.parents {
        let parent: Option<FamilyRecord> = get_json(&app.store, &family_key(parent)).await?;
        if !parent.is_some_and(|p| family_alive(&p, now)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// After a write to `key` that failed: whether `key` now holds exactly `value`, so the
/// write happened and only its answer was lost (a Durable Object call can fail after its
/// transaction committed). The values written by the grants are unique to their request
/// (a first token's hash of fresh random bytes, a rotation's [`FamilyRecord::rotation`]),
/// so a match is this request's own write.
pub async fn landed<S: Store>(store: &S, key: &str, value: &str) -> bool {
    matches!(store.get(key).await, Ok(Some(current)) if current == value)
}

/// The answer when a new family's id already holds a record (revoked by a code replay
/// that raced the exchange).
#[must_use]
pub fn family_taken() -> OAuthError {
    OAuthError::invalid_grant("the authorization code was already used")
}

/// A random family id whose record `family:{id}` lives in the state shard `shard`
/// ([`crate::store::shard_of`]): candidates of 16 random bytes each, base64url, the first
/// that lands there (on average 64 tries of one SHA-256 each, at most
/// [`MAX_FAMILY_ID_TRIES`]; then a plain [`random_id`](crate::tokens::random_id)). The
/// candidates a search finds for other shards are kept for the next exchanges (at most
/// [`SPARE_FAMILY_IDS_PER_SHARD`] per shard, per isolate, each used once), so most
/// exchanges take one instead of searching: the search was 4% of a code exchange in the
/// isolate profile (`node bench/profile.mjs`). Every candidate has random bytes of its
/// own, so no id says anything about another. A family id is no secret (access tokens
/// carry it as `sid`). A code exchange uses it to start the family in the code's shard,
/// in the call that takes the code.
///
/// # Errors
/// `server_error` when the platform RNG fails.
pub fn family_id_in_shard<P: Platform>(platform: &P, shard: u32) -> Result<String, OAuthError> {
    let spare = SPARE_FAMILY_IDS.with(|s| {
        s.borrow_mut()
            .get_mut(usize::try_from(shard).ok()?)
            .and_then(Vec::pop)
    });
    if let Some(id) = spare {
        return Ok(id);
    }
    // Random bytes for 64 candidates at a time (one RNG call per 64 tries).
    let mut random = [0u8; 16 * 64];
    for attempt in 0..MAX_FAMILY_ID_TRIES {
        let i = attempt % 64;
        if i == 0 {
            platform
                .fill_random(&mut random)
                .map_err(|_| OAuthError::server_error())?;
        }
        let Some(candidate) = random.get(i * 16..(i + 1) * 16) else {
            break;
        };
        let id = edge_oauth::base64url::encode(candidate);
        // The shard of `family:{id}` is that of its owner `id` (base64url has no `:`).
        let landed = crate::store::shard_of(&id);
        if landed == shard {
            return Ok(id);
        }
        keep_spare(landed, id);
    }
    crate::tokens::random_id(platform)
}

/// The most candidates [`family_id_in_shard`] tries before it gives up on the shard (a
/// miss has probability (63/64)^1024, about 1e-7).
pub const MAX_FAMILY_ID_TRIES: usize = 1024;

/// The most spare family ids [`family_id_in_shard`] keeps per shard.
pub const SPARE_FAMILY_IDS_PER_SHARD: usize = 2;

thread_local! {
    /// Spare family ids per shard (index: the shard), found by [`family_id_in_shard`].
    /// Borrowed only in the functions here, never across an await.
    static SPARE_FAMILY_IDS: RefCell<Vec<Vec<String>>> = const { RefCell::new(Vec::new()) };
}

/// Keeps `id`, whose family lives in shard `landed`, unless that shard has enough.
fn keep_spare(landed: u32, id: String) {
    SPARE_FAMILY_IDS.with(|s| {
        let mut s = s.borrow_mut();
        if s.is_empty() {
            s.resize(crate::store::SHARDS as usize, Vec::new());
        }
        if let Some(ids) = usize::try_from(landed).ok().and_then(|i| s.get_mut(i))
            && ids.len() < SPARE_FAMILY_IDS_PER_SHARD
        {
            ids.push(id);
        }
    });
}

/// The absolute and idle lifetimes of a family for `api`.
#[must_use]
pub fn family_lifetimes(api: Option<&Api>) -> (i64, i64) {
    let get = |v: Option<u64>, default: i64| {
        v.and_then(|s| i64::try_from(s).ok())
            .filter(|s| *s > 0)
            .unwrap_or(default)
    };
    (
        get(
            api.and_then(|a| a.refresh_token_lifetime),
            REFRESH_ABSOLUTE_LIFETIME,
        ),
        get(
            api.and_then(|a| a.refresh_token_idle_lifetime),
            REFRESH_IDLE_LIFETIME,
        ),
    )
}

/// Refuses a token request without a DPoP proof for an API whose policy is
/// `dpop: required`.
///
/// The RFC names no error for this (§5.2 only says "reject"); `invalid_dpop_proof` is the
/// code a DPoP client already handles, and what node-oidc-provider's `InvalidDpopProof`
/// family uses, so the client learns that the proof is what is missing (rules.md item 74).
///
/// # Errors
/// `400 invalid_dpop_proof` "a DPoP proof is required for this API".
pub fn require_dpop_for_api(api: Option<&Api>, dpop_jkt: Option<&str>) -> Result<(), OAuthError> {
    if dpop_jkt.is_none() && api.is_some_and(|a| a.dpop == DpopPolicy::Required) {
        return Err(OAuthError::new(
            "invalid_dpop_proof",
            400,
            "a DPoP proof is required for this API",
        ));
    }
    Ok(())
}

/// The `token_type` for an access token bound to `dpop_jkt` (or not).
#[must_use]
pub fn token_type(dpop_jkt: Option<&str>) -> &'static str {
    if dpop_jkt.is_some() { "DPoP" } else { "Bearer" }
}

/// Adds `cnf: {"jkt": ..}` (RFC 9449 §6.1) to access-token claims when bound.
pub fn bind_claims(extra: &mut serde_json::Map<String, serde_json::Value>, dpop_jkt: Option<&str>) {
    if let Some(jkt) = dpop_jkt {
        extra.insert("cnf".into(), serde_json::json!({ "jkt": jkt }));
    }
}

/// Adds `cnf: {"x5t#S256": ..}` (RFC 8705 §3.1) to access-token claims when the
/// client's tokens are certificate-bound, next to a DPoP `jkt` if there is one.
pub fn bind_certificate_claims(
    extra: &mut serde_json::Map<String, serde_json::Value>,
    x5t_s256: Option<&str>,
) {
    let Some(x5t) = x5t_s256 else {
        return;
    };
    match extra
        .get_mut("cnf")
        .and_then(serde_json::Value::as_object_mut)
    {
        Some(cnf) => {
            cnf.insert("x5t#S256".into(), serde_json::json!(x5t));
        }
        None => {
            extra.insert("cnf".into(), serde_json::json!({ "x5t#S256": x5t }));
        }
    }
}

/// The OIDC scopes the server understands besides API scopes.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Whether a space-separated scope string contains `token`.
#[must_use]
pub fn has_scope(scope: &str, token: &str) -> bool {
    scope.split(' ').any(|s| s == token)
}

#[cfg(test)]
mod tests {
    use super::{SPARE_FAMILY_IDS, SPARE_FAMILY_IDS_PER_SHARD, family_id_in_shard};
    use crate::platform::NativePlatform;
    use crate::store::memory::Clock;
    use crate::store::{SHARDS, shard_of};

    fn spares() -> Vec<Vec<String>> {
        SPARE_FAMILY_IDS.with(|s| s.borrow().clone())
    }

    #[test]
    fn spare_ids_are_kept_per_shard_handed_out_once_and_bounded() {
        let platform = NativePlatform::new(Clock::new(1_000));
        let first = family_id_in_shard(&platform, 0).unwrap();
        assert_eq!(shard_of(&format!("family:{first}")), 0);
        let kept = spares();
        assert!(kept.iter().any(|ids| !ids.is_empty()));
        assert!(
            kept.iter()
                .all(|ids| ids.len() <= SPARE_FAMILY_IDS_PER_SHARD)
        );
        // A shard with a spare id gets exactly that one next, and it is gone after.
        let (shard, ids) = kept
            .iter()
            .enumerate()
            .find(|(_, ids)| !ids.is_empty())
            .unwrap();
        let next = family_id_in_shard(&platform, u32::try_from(shard).unwrap()).unwrap();
        assert_eq!(Some(&next), ids.last());
        assert_eq!(shard_of(&format!("family:{next}")) as usize, shard);
        assert!(!spares()[shard].contains(&next));
        // Ids of one search share nothing: no two agree on their first 8 characters.
        let mut prefixes = std::collections::BTreeSet::new();
        for id in spares().iter().flatten() {
            assert!(prefixes.insert(id[..8].to_owned()), "{id}");
        }
        // Many searches keep the pool bounded.
        for i in 0..500 {
            let _ = family_id_in_shard(&platform, i % SHARDS).unwrap();
        }
        let total: usize = spares().iter().map(Vec::len).sum();
        assert!(total <= SPARE_FAMILY_IDS_PER_SHARD * SHARDS as usize);
    }
}
