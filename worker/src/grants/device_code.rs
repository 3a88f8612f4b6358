//! The device authorization grant (RFC 8628): the records, the user code and
//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` at the token endpoint.
//!
//! Records (only hashes of the codes are kept):
//! - `device:{sha256(device_code)}` → [`DeviceRecord`]: the client, the request (scope,
//!   audience), the expiry, the polling interval and the time of the last poll, and the
//!   state: [`DeviceState::Pending`] until the user acts on `/activate`, then
//!   [`DeviceState::Approved`] (with the user) or [`DeviceState::Denied`], and
//!   [`DeviceState::Used`] after the one successful token request. Every change is a
//!   [`Store::compare_and_swap`] of this record, which lives in the Durable Object shard
//!   of the device-code hash: a poll, an approval and a redemption are each one atomic
//!   step, so of any number of simultaneous polls after approval exactly one gets tokens.
//! - `user_code:{sha256(normalised user code)}` → [`UserCodeRecord`] (the device-code
//!   hash): written once with [`Store::put_if_absent`] (a collision draws another code),
//!   so a user code names one device code only.
//!
//! Polling (§3.5): `authorization_pending` while pending; `slow_down` when polled again
//! sooner than the interval after the last poll, and the interval grows by 5 seconds for
//! that device code from then on; `access_denied` after "Deny"; `expired_token` after
//! the expiry; `invalid_grant` for an unknown code, another client's code or a used one.

use super::authorization_code::{UserGrant, issue_user_tokens};
use super::{
    FamilyRecord, access_token_lifetime, family_lifetimes, has_scope, load_record_api,
    require_dpop_for_api, require_grant, start_family,
};
use crate::App;
use crate::client_auth::AuthenticatedClient;
use crate::config::{Client, User, user_key};
use crate::error::OAuthError;
use crate::jwt::sha256_b64;
use crate::params::Params;
use crate::platform::Platform;
use crate::store::{Store, Swap, get_json};
use crate::tokens::{TokenResponse, random_id};
use edge_oauth::dpop::VerifiedProof;
use serde::{Deserialize, Serialize};

/// The grant type of RFC 8628 §3.4.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The default lifetime of a device code, in seconds (`expires_in`).
pub const DEVICE_CODE_LIFETIME: u64 = 900;

/// The longest device-code lifetime a client record may set, in seconds.
pub const MAX_DEVICE_CODE_LIFETIME: u64 = 1_800;

/// The polling interval a device starts with, in seconds (`interval`).
pub const DEVICE_POLL_INTERVAL: i64 = 5;

/// How much `slow_down` adds to the interval, in seconds (§3.5).
pub const SLOW_DOWN_STEP: i64 = 5;

/// The characters of a user code (RFC 8628 §6.1: no vowels, so no words; 20 characters,
/// 8 of them: about 34.5 bits).
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// The length of a user code, without its dash.
pub const USER_CODE_LENGTH: usize = 8;

/// How often a state change re-reads the record after losing a compare-and-swap.
const ATTEMPTS: usize = 4;

/// Where a device code stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeviceState {
    /// The user has not acted yet.
    Pending,
    /// The user allowed the request.
    Approved {
        /// The user.
        sub: String,
        /// The user's email.
        email: String,
        /// The user's name.
        name: String,
        /// When the user authenticated.
        auth_time: i64,
    },
    /// The user denied the request.
    Denied,
    /// The tokens were issued (once).
    Used,
}

/// `device:{sha256(device_code)}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// The client the device code was issued to.
    pub client_id: String,
    /// The scope requested (validated).
    pub scope: String,
    /// The API (`None`: userinfo only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// When the device code expires.
    pub expires_at: i64,
    /// The current polling interval, in seconds.
    pub interval: i64,
    /// When the device last polled (`None`: not yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_poll: Option<i64>,
    /// The state.
    #[serde(flatten)]
    pub state: DeviceState,
}

/// `user_code:{sha256(user code)}`: the device code a user code names.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserCodeRecord {
    /// SHA-256 (base64url) of the device code.
    pub device: String,
}

/// The key of a device record.
#[must_use]
pub fn device_key(device_hash: &str) -> String {
    format!("device:{device_hash}")
}

/// The key of a user code's index record (`code` normalised, [`normalize_user_code`]).
#[must_use]
pub fn user_code_key(code: &str) -> String {
    format!("user_code:{}", sha256_b64(code.as_bytes()))
}

/// A user code as typed: upper-cased, without dashes and spaces; `None` unless it is
/// eight characters of [`USER_CODE_ALPHABET`].
///
/// ```
/// use edge_oauth_worker::grants::device_code::normalize_user_code;
/// assert_eq!(normalize_user_code("bcdf-ghjk").as_deref(), Some("BCDFGHJK"));
/// assert_eq!(normalize_user_code("BCDFGHJK").as_deref(), Some("BCDFGHJK"));
/// assert_eq!(normalize_user_code("ABCD-EFGH"), None); // vowels are not in the alphabet
/// ```
#[must_use]
pub fn normalize_user_code(typed: &str) -> Option<String> {
    if typed.len() > 32 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let ok =
        code.len() == USER_CODE_LENGTH && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    ok.then_some(code)
}

/// `XXXX-XXXX`.
#[must_use]
pub fn display_user_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(USER_CODE_LENGTH / 2));
    format!("{a}-{b}")
}

/// Draws a user code (normalised form) by rejection sampling, so every character is
/// equally likely.
///
/// # Errors
/// `server_error` when the platform RNG fails.
pub fn random_user_code<P: Platform>(platform: &P) -> Result<String, OAuthError> {
    let mut out = String::with_capacity(USER_CODE_LENGTH);
    // 240 is the largest multiple of 20 up to 256.
    while out.len() < USER_CODE_LENGTH {
        let mut bytes = [0u8; 16];
        platform
            .fill_random(&mut bytes)
            .map_err(|_| OAuthError::server_error())?;
        for b in bytes {
            if b < 240 && out.len() < USER_CODE_LENGTH {
                out.push(char::from(USER_CODE_ALPHABET[usize::from(b % 20)]));
            }
        }
    }
    Ok(out)
}

/// The device-code lifetime for `client` (its record's `device_code_lifetime`, else
/// [`DEVICE_CODE_LIFETIME`]), at most [`MAX_DEVICE_CODE_LIFETIME`].
#[must_use]
pub fn lifetime_for(client: &Client) -> u64 {
    client
        .device_code_lifetime
        .filter(|s| *s > 0)
        .unwrap_or(DEVICE_CODE_LIFETIME)
        .min(MAX_DEVICE_CODE_LIFETIME)
}

/// The storage TTL of a device record: until its expiry plus ten minutes (so a late poll
/// still gets `expired_token` rather than `invalid_grant`), at least 60 s.
#[must_use]
pub fn record_ttl(record: &DeviceRecord, now: i64) -> u64 {
    u64::try_from(record.expires_at.saturating_sub(now))
        .unwrap_or(0)
        .saturating_add(600)
        .max(crate::store::MIN_TTL_SECONDS)
}

/// Reads the device record behind `device_hash` with its stored text (for a
/// compare-and-swap).
///
/// # Errors
/// Storage failures; `server_error` for a record that does not parse.
pub async fn load<S: Store, P: Platform>(
    app: &App<S, P>,
    device_hash: &str,
) -> Result<Option<(String, DeviceRecord)>, OAuthError> {
    let Some(text) = app.store.get(&device_key(device_hash)).await? else {
        return Ok(None);
    };
    let record = serde_json::from_str(&text).map_err(|_| OAuthError::server_error())?;
    Ok(Some((text, record)))
}

/// Finds the pending, unexpired device request a typed user code names.
///
/// # Errors
/// Storage failures.
pub async fn find_pending<S: Store, P: Platform>(
    app: &App<S, P>,
    typed: &str,
) -> Result<Option<(String, DeviceRecord)>, OAuthError> {
    let Some(code) = normalize_user_code(typed) else {
        return Ok(None);
    };
    let Some(index) = get_json::<S, UserCodeRecord>(&app.store, &user_code_key(&code)).await?
    else {
        return Ok(None);
    };
    let now = app.platform.now();
    Ok(load(app, &index.device)
        .await?
        .filter(|(_, r)| r.state == DeviceState::Pending && r.expires_at > now)
        .map(|(_, r)| (index.device, r)))
}

/// The user's decision on `/activate`: moves a pending, unexpired record to `decision`
/// ([`DeviceState::Approved`] or [`DeviceState::Denied`]) with a compare-and-swap; `false`
/// when the record is gone, expired or no longer pending (decided in another tab).
///
/// # Errors
/// Storage failures.
pub async fn decide<S: Store, P: Platform>(
    app: &App<S, P>,
    device_hash: &str,
    decision: DeviceState,
) -> Result<bool, OAuthError> {
    for _ in 0..ATTEMPTS {
        let Some((text, record)) = load(app, device_hash).await? else {
            return Ok(false);
        };
        let now = app.platform.now();
        if record.state != DeviceState::Pending || record.expires_at <= now {
            return Ok(false);
        }
        let next = DeviceRecord {
            state: decision.clone(),
            ..record
        };
        if swap(app, device_hash, &text, &next, now).await? {
            return Ok(true);
        }
    }
    Err(busy())
}

async fn swap<S: Store, P: Platform>(
    app: &App<S, P>,
    device_hash: &str,
    expected: &str,
    next: &DeviceRecord,
    now: i64,
) -> Result<bool, OAuthError> {
    let new = serde_json::to_string(next).map_err(|_| OAuthError::server_error())?;
    let swapped = app
        .store
        .compare_and_swap(
            &device_key(device_hash),
            Some(expected),
            &new,
            Some(record_ttl(next, now)),
        )
        .await?;
    Ok(swapped == Swap::Done)
}

fn busy() -> OAuthError {
    OAuthError::new(
        "temporarily_unavailable",
        503,
        "the device code is being used by several requests at once; retry",
    )
}

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the device code is invalid")
}

/// Processes a device-code poll for an authenticated client (RFC 8628 §3.4, §3.5).
///
/// # Errors
/// `authorization_pending`, `slow_down`, `access_denied`, `expired_token` (all `400`), or
/// the RFC 6749 §5.2 error to answer.
pub async fn grant<S: Store, P: Platform>(
    app: &App<S, P>,
    auth: &AuthenticatedClient,
    params: &Params,
    proof: Option<&VerifiedProof>,
) -> Result<TokenResponse, OAuthError> {
    let client = &auth.client;
    let dpop_jkt = proof.map(|p| p.jkt.as_str());
    let mut jti = super::ProofJti::new(proof);
    require_grant(client, DEVICE_CODE_GRANT)?;
    let device_hash = super::required_credential_hash(params, "device_code")?;
    for _ in 0..ATTEMPTS {
        let Some((text, record)) = load(app, &device_hash).await? else {
            return Err(invalid());
        };
        if record.client_id != client.client_id {
            return Err(OAuthError::invalid_grant(
                "the device code was issued to another client",
            ));
        }
        let now = app.platform.now();
        if record.expires_at <= now {
            return Err(OAuthError::new(
                "expired_token",
                400,
                "the device code has expired; start again",
            ));
        }
        match &record.state {
            DeviceState::Used => {
                return Err(OAuthError::invalid_grant(
                    "the device code was already used",
                ));
            }
            DeviceState::Denied => {
                return Err(OAuthError::new(
                    "access_denied",
                    400,
                    "the user denied the authorization request",
                ));
            }
            DeviceState::Pending => {
                let too_fast = record
                    .last_poll
                    .is_some_and(|last| now < last.saturating_add(record.interval));
                let next = DeviceRecord {
                    last_poll: Some(now),
                    interval: if too_fast {
                        record.interval.saturating_add(SLOW_DOWN_STEP)
                    } else {
                        record.interval
                    },
                    ..record.clone()
                };
                if !swap(app, &device_hash, &text, &next, now).await? {
                    continue;
                }
                return Err(if too_fast {
                    OAuthError::new(
                        "slow_down",
                        400,
                        format!(
                            "polling too fast; wait at least {} seconds between requests",
                            next.interval
                        ),
                    )
                } else {
                    OAuthError::new(
                        "authorization_pending",
                        400,
                        "the user has not yet approved the request",
                    )
                });
            }
            DeviceState::Approved {
                sub,
                email,
                auth_time,
                ..
            } => {
                // The checks that need no write come first: a refused request leaves the
                // approval usable.
                let api = load_record_api(app, record.audience.as_deref(), invalid).await?;
                require_dpop_for_api(api.as_ref(), dpop_jkt)?;
                crate::tokens::check_signable(
                    &app.config,
                    client,
                    crate::tokens::access_token_alg(api.as_ref())?,
                )?;
                let user: Option<User> = get_json(&app.store, &user_key(email)).await?;
                let Some(user) = user.filter(|u| u.user_id == *sub) else {
                    return Err(invalid());
                };
                // Signed before the code is marked used: a signature that fails leaves
                // the approval for the device's next poll.
                let (mut response, family) = prepare(
                    app,
                    auth,
                    dpop_jkt,
                    &record,
                    api.as_ref(),
                    &user,
                    *auth_time,
                )
                .await?;
                // The proof's `jti` (RFC 9449 §11.1) before the approval is spent: a `jti`
                // seen before, or a marker that cannot be written, leaves it usable.
                jti.record(app).await?;
                let used = DeviceRecord {
                    state: DeviceState::Used,
                    last_poll: Some(now),
                    ..record.clone()
                };
                if !swap(app, &device_hash, &text, &used, now).await? {
                    continue;
                }
                if let Some((family_id, family)) = family {
                    match start_family(app, &family_id, family).await {
                        Ok(token) => response.refresh_token = Some(token),
                        Err(err) => {
                            // Nothing was handed out: the approval is the device's again
                            // (the family id is fresh, so no replay raced this).
                            if let Ok(used) = serde_json::to_string(&used) {
                                let _ = swap(app, &device_hash, &used, &record, now).await;
                            }
                            return Err(err);
                        }
                    }
                }
                return Ok(response);
            }
        }
    }
    Err(busy())
}

/// The signed tokens of an approved device code and, when it grants `offline_access`, the
/// id and record of the refresh-token family to start once the code is marked used.
async fn prepare<S: Store, P: Platform>(
    app: &App<S, P>,
    auth: &AuthenticatedClient,
    dpop_jkt: Option<&str>,
    record: &DeviceRecord,
    api: Option<&crate::config::Api>,
    user: &User,
    auth_time: i64,
) -> Result<(TokenResponse, Option<(String, FamilyRecord)>), OAuthError> {
    let client = &auth.client;
    let offline = has_scope(&record.scope, "offline_access")
        && api.is_some_and(|a| a.allow_offline_access)
        && client.allows_grant("refresh_token");
    let scope = record
        .scope
        .split(' ')
        .filter(|s| !s.is_empty() && (offline || *s != "offline_access"))
        .collect::<Vec<_>>()
        .join(" ");
    let granted = crate::rbac::grant_for(app, api, &user.roles, &scope).await?;
    let grant = UserGrant {
        sub: &user.user_id,
        email: &user.email,
        name: &user.name,
        scope: &granted.scope,
        audience: record.audience.as_deref(),
        auth_time,
        nonce: None,
        lifetime: access_token_lifetime(api),
        dpop_jkt,
        alg: crate::tokens::access_token_alg(api)?,
        org: None,
        permissions: granted.permissions.as_deref(),
        x5t_s256: auth.x5t_s256.as_deref(),
    };
    let mut response = issue_user_tokens(app, client, &grant)?;
    let mut started = None;
    if offline {
        let now = app.platform.now();
        let (absolute, idle) = family_lifetimes(api);
        let family = FamilyRecord {
            client_id: client.client_id.clone(),
            sub: user.user_id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            scope,
            audience: record.audience.clone(),
            auth_time,
            jkt: dpop_jkt.filter(|_| client.is_public()).map(str::to_owned),
            expires_at: now.saturating_add(absolute),
            idle_lifetime: idle,
            ..FamilyRecord::default()
        };
        let family_id = random_id(&app.platform)?;
        super::tag_family(&mut response, &family_id);
        started = Some((family_id, family));
    }
    response.sign(app, client).await?;
    Ok((response, started))
}
