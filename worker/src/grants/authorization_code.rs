//! `grant_type=authorization_code` with PKCE (RFC 6749 §4.1.3, RFC 7636 §4.5–4.6,
//! RFC 9700 §2.1.1, OIDC Core §3.1.3).
//!
//! The code is redeemed with one atomic [`Store::take_if`] (exactly once on the Durable
//! Object store): of any number of simultaneous redemptions one takes it, the others see
//! it taken. The checks that need nothing but the request (client, `redirect_uri`, PKCE,
//! `dpop_jkt`) go with the take as its condition, checked in the same step: a request
//! that fails them leaves the code exactly as it was, so whoever holds a leaked code
//! without its verifier cannot make the real client's concurrent exchange fail or look
//! like a replay. The checks, in order: it has not expired; it belongs to this client;
//! `redirect_uri` is identical when one was sent to `/authorize`; PKCE: a verifier
//! without a challenge or a challenge without a verifier is refused (downgrade), and the
//! S256 transform must match in constant time. PKCE failures of any kind, including a
//! malformed verifier, are `invalid_grant` (rules.md items 49 and 51: decided here).
//! Then DPoP: a code issued with `dpop_jkt` needs a proof from that key, else
//! `invalid_grant` (RFC 9449 §10, as node-oidc-provider), and an API with
//! `dpop: required` needs a proof (`invalid_dpop_proof`). Only the checks that need the
//! API (it was deleted, it requires DPoP, its tokens cannot be signed) run after the take;
//! a request failing them (which passed all of the above) gives the code back
//! ([`Store::untake`]), and so does one whose tokens could not be minted (the user left
//! the code's organization, a tenant record could not be read), unless a replay of the
//! code revoked its family meanwhile. A public client's refresh token is bound to the
//! proof key (§5).
//!
//! The DPoP proof's `jti` (RFC 9449 §11.1) is recorded before the write that hands out
//! tokens, and the refresh-token family after the take: when either write fails, or the
//! `jti` was seen before, the code is given back too, so that a storage failure or a
//! replayed proof never spends a code whose tokens nobody received.
//!
//! A code taken before is `invalid_grant` "already used" (RFC 6749 §4.1.2), also after the
//! code record itself expired (the take receipt lives 600 s, rules.md items 19, 89). It
//! revokes the refresh-token family issued from the code only when the replaying request
//! authenticates as the client the code was issued to and, for a PKCE code, proves the
//! verifier: a leaked used code sent with some other `client_id` revokes nothing.
//!
//! **One call when this isolate issued the code.** With a copy of the code record from
//! the write at `/authorize` ([`Store::copy`]), every check runs on the copy first and the
//! tokens and family record are made; then one [`Store::take_if_then_put`] takes the
//! code only if it still is that copy and passes the condition, and starts the family in
//! the same step: its id is picked so that it lives in the code's Durable Object shard
//! ([`super::family_id_in_shard`]), so that is one call. A stale copy, or any check that
//! fails on the copy, falls back to the steps above on the stored record (so errors and
//! their side effects are exactly those of the two-call path), having written nothing.
//!
//! A code issued for an organization needs the user still to be a member
//! ([`crate::orgs`]); an API with `enforce_rbac` narrows the scope to the user's roles
//! ([`crate::rbac`]).

use super::{
    CODE_USED_TTL, CodeReceipt, CodeRecord, FamilyRecord, FirstToken, ProofJti,
    access_token_lifetime, bind_claims, family_id_in_shard, family_key, family_lifetimes,
    family_taken, first_token, has_scope, load_record_api, proof_digest, require_dpop_for_api,
    require_grant, required_credential_hash, revoke_family, token_type,
};
use crate::App;
use crate::client_auth::AuthenticatedClient;
use crate::config::{Api, Client};
use crate::error::OAuthError;
use crate::params::Params;
use crate::platform::Platform;
use crate::store::{Condition, PutIfAbsent, Store, TakenIf, shard_of};
use crate::tokens::{
    AccessTokenSpec, IdTokenSpec, TokenResponse, mint_access_token, mint_id_token, random_id,
};
use edge_oauth::dpop::VerifiedProof;
use edge_oauth::pkce::{self, CodeChallengeMethod};
use serde_json::{Map, json};

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the authorization code is invalid or expired")
}

/// Processes an authorization code request for an authenticated client.
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
    require_grant(client, "authorization_code")?;
    let hash = required_credential_hash(params, "code")?;
    let key = format!("code:{hash}");
    // Recorded once: before the first write that hands something out (the take that
    // starts the family on the copy path, the family after the take otherwise), or
    // before a replay's revocation.
    let mut jti = ProofJti::new(proof);
    if let Some(copy) = app.store.copy(&key)
        && let FromCopy::Done(response) =
            exchange_copy(app, auth, params, &mut jti, &key, &copy).await?
    {
        return Ok(response);
    }
    // The family id is chosen before the take, so that its receipt can name it.
    let family_id = random_id(&app.platform)?;
    let receipt = serde_json::to_string(&CodeReceipt {
        family_id: Some(family_id.clone()),
        proof: proof.map(proof_digest),
    })
    .map_err(|_| OAuthError::server_error())?;
    // Taken only if it passes the checks that need nothing but the request, in the same
    // step: a request that fails them leaves the code exactly as it was.
    let condition = request_condition(client, params, dpop_jkt);
    let taken = match app
        .store
        .take_if(&key, &condition, &receipt, CODE_USED_TTL)
        .await?
    {
        TakenIf::Absent => return Err(invalid()),
        TakenIf::Before { value, receipt } => {
            return Err(replayed(app, client, params, &mut jti, &value, &receipt).await);
        }
        TakenIf::Unmet(value) => {
            // The precise answer; the condition is never weaker than these checks.
            let record: CodeRecord =
                serde_json::from_str(&value).map_err(|_| OAuthError::server_error())?;
            if record.expires_at <= app.platform.now() {
                return Err(invalid());
            }
            check_request(client, params, dpop_jkt, &record)?;
            return Err(invalid());
        }
        TakenIf::Now(value) => value,
    };
    let record: CodeRecord =
        serde_json::from_str(&taken).map_err(|_| OAuthError::server_error())?;
    if record.expires_at <= app.platform.now() {
        return Err(invalid());
    }
    let api = match check(app, client, params, dpop_jkt, &record).await {
        Ok(api) => api,
        Err(err) => {
            // Only a request that passed the client, redirect URI, PKCE and key checks
            // gets here (its API is gone, or wants DPoP): the code stays usable.
            give_back(&app.store, &key, &receipt, &family_id).await;
            return Err(err);
        }
    };
    let x5t_s256 = auth.x5t_s256.as_deref();
    let prepared = match prepare(
        app,
        client,
        dpop_jkt,
        x5t_s256,
        &record,
        api.as_ref(),
        &family_id,
    )
    .await
    {
        Ok(prepared) => prepared,
        Err(err) => {
            // Nothing was issued (the user left the organization, a record could not be
            // read, ...): the code stays usable, as after a failed check.
            give_back(&app.store, &key, &receipt, &family_id).await;
            return Err(err);
        }
    };
    // The proof's `jti` (RFC 9449 §11.1) and the family are written after the take; when
    // either write fails, or the `jti` was seen before, nothing was handed out: the code
    // is given back for the client's retry, which must not look like a replay of it.
    let issued = async {
        jti.record(app).await?;
        issue(app, prepared, &family_id).await
    }
    .await;
    if issued.is_err() {
        give_back(&app.store, &key, &receipt, &family_id).await;
    }
    issued
}

/// Gives a taken code back ([`Store::untake`]) after a failure that issued nothing,
/// unless its family id already holds a record: then a replay of the code raced this
/// exchange and revoked it ([`replayed`]), and the code stays used. The answer of the
/// failed request matters more than a failure to give the code back.
async fn give_back<S: Store>(store: &S, key: &str, receipt: &str, family_id: &str) {
    if matches!(store.get(&family_key(family_id)).await, Ok(None)) {
        let _ = store.untake(key, receipt).await;
    }
}

/// A code taken before: `invalid_grant`, after revoking its family when the request comes
/// from the code's own client (and proves its PKCE verifier) and, when the code is bound
/// to a DPoP key (`dpop_jkt`, RFC 9449 §10), proves that key: a replay of the captured
/// body without the key revokes nothing, as a refresh without it does. A copy of
/// the request that took the code (the proof its receipt names) is `invalid_dpop_proof`
/// and revokes nothing, also when it comes before that request has recorded the proof's
/// `jti`; any other proof's `jti` is recorded before the revocation (RFC 9449 §11.1): a
/// captured exchange replayed with its own proof revokes nothing, since whoever sent it
/// may hold no key at all.
async fn replayed<S: Store, P: Platform>(
    app: &App<S, P>,
    client: &Client,
    params: &Params,
    jti: &mut ProofJti<'_>,
    value: &str,
    receipt: &str,
) -> OAuthError {
    let proof = jti.proof;
    let used = OAuthError::invalid_grant("the authorization code was already used");
    let Ok(record) = serde_json::from_str::<CodeRecord>(value) else {
        return used;
    };
    let same_client = record.client_id == client.client_id
        && check_pkce(&record, params.get("code_verifier")).is_ok();
    let Ok(receipt) = serde_json::from_str::<CodeReceipt>(receipt) else {
        return used;
    };
    // A copy of the request that took the code, proof and all (sent twice at once, or
    // captured): its `jti` may not be recorded yet, but it is this proof's.
    if let Some(proof) = proof
        && receipt.proof.as_deref() == Some(proof_digest(proof).as_str())
    {
        return crate::dpop::token_endpoint_error(app, &edge_oauth::Error::DpopJtiReplayed);
    }
    let family = receipt.family_id;
    // Decided on the code record alone: the family's key is the first redeemer's, who may
    // be a thief with the code and its verifier, and must not be able to opt out of the
    // revocation by sending a proof of a key of its own.
    let proof_jkt = proof.map(|p| p.jkt.as_str());
    let Some(family) = family.filter(|_| same_client && check_dpop_jkt(&record, proof_jkt).is_ok())
    else {
        return used;
    };
    if let Err(err) = jti.record(app).await {
        return err;
    }
    if let Err(err) = revoke_family(app, &family, "code_replay").await {
        return err;
    }
    used
}

/// The checks of [`check_request`] as a [`Condition`] on the code record, which the
/// store checks in the step that takes the code. It is at least as strict: a record that
/// meets it passes them (`effective_redirect_uri` is the `redirect_uri` sent to
/// `/authorize`, when one was sent).
fn request_condition(client: &Client, params: &Params, dpop_jkt: Option<&str>) -> Condition {
    let condition = Condition::default().field("client_id", &[Some(&client.client_id)]);
    let condition = match params.get("redirect_uri") {
        Some(given) => condition
            .field("redirect_uri", &[Some(given), None])
            .field("effective_redirect_uri", &[Some(given)]),
        None => condition.field("redirect_uri", &[None]),
    };
    let condition = match params.get("code_verifier") {
        None => condition.field("code_challenge", &[None]),
        Some(verifier) => match pkce::CodeVerifier::new(verifier) {
            Ok(verifier) => condition
                .field("code_challenge", &[Some(verifier.challenge().as_str())])
                .field("code_challenge_method", &[Some("S256")]),
            // A malformed verifier matches no challenge.
            Err(_) => condition.field("code_challenge", &[]),
        },
    };
    match dpop_jkt {
        Some(jkt) => condition.field("dpop_jkt", &[None, Some(jkt)]),
        None => condition.field("dpop_jkt", &[None]),
    }
}

/// The checks of a code that need nothing but the request: client, `redirect_uri`, PKCE
/// and the `dpop_jkt` binding.
fn check_request(
    client: &Client,
    params: &Params,
    dpop_jkt: Option<&str>,
    record: &CodeRecord,
) -> Result<(), OAuthError> {
    if record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    match (&record.redirect_uri, params.get("redirect_uri")) {
        (Some(sent), Some(given)) if sent == given => {}
        (Some(_), _) => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        (None, Some(given)) if given != record.effective_redirect_uri => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        (None, _) => {}
    }
    check_pkce(record, params.get("code_verifier"))?;
    check_dpop_jkt(record, dpop_jkt)
}

/// The checks of a taken code that need no write; the API on success.
async fn check<S: Store, P: Platform>(
    app: &App<S, P>,
    client: &Client,
    params: &Params,
    dpop_jkt: Option<&str>,
    record: &CodeRecord,
) -> Result<Option<Api>, OAuthError> {
    check_request(client, params, dpop_jkt, record)?;
    // A deleted API is a plain invalid_grant.
    let api = load_record_api(app, record.audience.as_deref(), invalid).await?;
    require_dpop_for_api(api.as_ref(), dpop_jkt)?;
    crate::tokens::check_signable(
        &app.config,
        client,
        crate::tokens::access_token_alg(api.as_ref())?,
    )?;
    Ok(api)
}

/// What the exchange decided on this isolate's copy of the code record.
enum FromCopy {
    /// The code is taken and the family started: the response.
    Done(TokenResponse),
    /// Decide on the stored record instead (nothing was written).
    Fallback,
}

/// The code exchange on this isolate's copy `copy` of the code record under `key` (the
/// module docs): [`FromCopy::Fallback`] whenever anything but the one
/// [`Store::take_if_then_put`] call would decide.
async fn exchange_copy<S: Store, P: Platform>(
    app: &App<S, P>,
    auth: &AuthenticatedClient,
    params: &Params,
    jti: &mut ProofJti<'_>,
    key: &str,
    copy: &str,
) -> Result<FromCopy, OAuthError> {
    let client = &auth.client;
    let proof = jti.proof;
    let dpop_jkt = proof.map(|p| p.jkt.as_str());
    let condition = request_condition(client, params, dpop_jkt);
    let Ok(record) = serde_json::from_str::<CodeRecord>(copy) else {
        return Ok(FromCopy::Fallback);
    };
    if record.expires_at <= app.platform.now() || !condition.holds(copy) {
        return Ok(FromCopy::Fallback);
    }
    let Ok(api) = check(app, client, params, dpop_jkt, &record).await else {
        return Ok(FromCopy::Fallback);
    };
    let family_id = family_id_in_shard(&app.platform, shard_of(key))?;
    let receipt = serde_json::to_string(&CodeReceipt {
        family_id: Some(family_id.clone()),
        proof: proof.map(proof_digest),
    })
    .map_err(|_| OAuthError::server_error())?;
    let x5t_s256 = auth.x5t_s256.as_deref();
    let Ok(prepared) = prepare(
        app,
        client,
        dpop_jkt,
        x5t_s256,
        &record,
        api.as_ref(),
        &family_id,
    )
    .await
    else {
        return Ok(FromCopy::Fallback);
    };
    // Before the one call that takes the code and starts the family: a `jti` seen before,
    // or a marker that cannot be written, leaves the code as it was.
    jti.record(app).await?;
    let family = family_key(&family_id);
    let then = prepared.family.as_ref().map(|first| PutIfAbsent {
        key: &family,
        value: &first.record,
        ttl: Some(first.ttl),
    });
    let (taken, written) = match app
        .store
        .take_if_then_put(
            key,
            copy,
            &condition,
            &receipt,
            CODE_USED_TTL,
            then.as_ref(),
        )
        .await
    {
        Ok(done) => done,
        // The call failed, perhaps after it committed: the family holding exactly this
        // request's record says it did (the take and the family are one transaction).
        Err(_)
            if let Some(first) = &prepared.family
                && super::landed(&app.store, &family, &first.record).await =>
        {
            (TakenIf::Now(copy.to_owned()), true)
        }
        Err(err) => return Err(err.into()),
    };
    match taken {
        TakenIf::Now(_) => {
            let mut response = prepared.response;
            if let Some(first) = prepared.family {
                if !written {
                    return Err(family_taken());
                }
                response.refresh_token = Some(first.token);
            }
            Ok(FromCopy::Done(response))
        }
        TakenIf::Absent => Err(invalid()),
        TakenIf::Before { value, receipt } => {
            Err(replayed(app, client, params, jti, &value, &receipt).await)
        }
        // The copy was stale (or, impossibly, the condition failed on it there).
        TakenIf::Unmet(_) => Ok(FromCopy::Fallback),
    }
}

/// The tokens of a redeemed code (signed) and, when it grants `offline_access`, the
/// first token and record of its refresh-token family `family_id`, not written yet.
struct Prepared {
    response: TokenResponse,
    family: Option<FirstToken>,
}

/// Starts the refresh-token family of a redeemed code, when it has one, and returns its
/// tokens.
async fn issue<S: Store, P: Platform>(
    app: &App<S, P>,
    prepared: Prepared,
    family_id: &str,
) -> Result<TokenResponse, OAuthError> {
    let mut response = prepared.response;
    if let Some(first) = prepared.family {
        let key = family_key(family_id);
        let written = match app
            .store
            .put_if_absent(&key, &first.record, Some(first.ttl))
            .await
        {
            Ok(written) => written,
            Err(_) if super::landed(&app.store, &key, &first.record).await => true,
            Err(err) => return Err(err.into()),
        };
        if !written {
            return Err(family_taken());
        }
        response.refresh_token = Some(first.token);
    }
    Ok(response)
}

/// The signed tokens of a redeemed code and the first token of its family, nothing
/// written.
async fn prepare<S: Store, P: Platform>(
    app: &App<S, P>,
    client: &Client,
    dpop_jkt: Option<&str>,
    x5t_s256: Option<&str>,
    record: &CodeRecord,
    api: Option<&Api>,
    family_id: &str,
) -> Result<Prepared, OAuthError> {
    let offline = has_scope(&record.scope, "offline_access")
        && api.is_some_and(|a| a.allow_offline_access)
        && client.allows_grant("refresh_token");
    // No refresh token: `offline_access` is not granted (RFC 6749 §3.3, the response
    // `scope` says what was granted).
    let granted_scope = if offline {
        record.scope.clone()
    } else {
        record
            .scope
            .split(' ')
            .filter(|s| !s.is_empty() && *s != "offline_access")
            .collect::<Vec<_>>()
            .join(" ")
    };
    // The organization's membership and the user's roles as they are now.
    let org = match &record.org_id {
        Some(org_id) => Some(crate::orgs::require_member(app, org_id, &record.sub).await?),
        None => None,
    };
    let roles = crate::rbac::roles_of(app, api, &record.sub, &record.email).await?;
    let granted = crate::rbac::grant_for(app, api, &roles, &granted_scope).await?;
    let grant = UserGrant {
        sub: &record.sub,
        email: &record.email,
        name: &record.name,
        scope: &granted.scope,
        audience: record.audience.as_deref(),
        auth_time: record.auth_time,
        nonce: record.nonce.as_deref(),
        lifetime: access_token_lifetime(api),
        dpop_jkt,
        alg: crate::tokens::access_token_alg(api)?,
        org: org.as_ref(),
        permissions: granted.permissions.as_deref(),
        x5t_s256,
    };
    let mut response = issue_user_tokens(app, client, &grant)?;
    let mut family = None;
    if offline {
        let (absolute, idle) = family_lifetimes(api);
        let family_record = FamilyRecord {
            client_id: client.client_id.clone(),
            sub: record.sub.clone(),
            email: record.email.clone(),
            name: record.name.clone(),
            scope: record.scope.clone(),
            audience: record.audience.clone(),
            auth_time: record.auth_time,
            // RFC 9449 §5: a public client's refresh token is bound to its DPoP key; a
            // confidential client's is bound to the client (it authenticates).
            jkt: dpop_jkt.filter(|_| client.is_public()).map(str::to_owned),
            org_id: record.org_id.clone(),
            expires_at: app.platform.now().saturating_add(absolute),
            idle_lifetime: idle,
            ..FamilyRecord::default()
        };
        family = Some(first_token(app, family_id, family_record)?);
        super::tag_family(&mut response, family_id);
    }
    // Signed before anything is written for the exchange: when a signature fails, the
    // code is given back (or was never taken) and the client's retry can redeem it.
    response.sign(app, client).await?;
    Ok(Prepared { response, family })
}

/// RFC 7636 §4.6 with downgrade protection (RFC 9700 §2.1.1).
fn check_pkce(record: &CodeRecord, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (&record.code_challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier was sent but the authorization request had no code_challenge",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        (Some(challenge), Some(verifier)) => {
            let method_ok = record.code_challenge_method.as_deref() == Some("S256");
            let verified = pkce::verify(verifier, challenge, CodeChallengeMethod::S256);
            if method_ok && verified.is_ok() {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ))
            }
        }
    }
}

/// RFC 9449 §10: a code issued with `dpop_jkt` is redeemed only with a proof from that
/// key. The RFC names no error code; `invalid_grant` as node-oidc-provider.
fn check_dpop_jkt(record: &CodeRecord, dpop_jkt: Option<&str>) -> Result<(), OAuthError> {
    match (&record.dpop_jkt, dpop_jkt) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "a DPoP proof is required: the authorization code is bound to a key (dpop_jkt)",
        )),
        (Some(bound), Some(jkt)) if bound == jkt => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant(
            "the DPoP proof key does not match dpop_jkt",
        )),
    }
}

/// What a user-based grant (code or refresh) issues tokens for.
#[derive(Clone, Debug)]
pub struct UserGrant<'a> {
    /// The user.
    pub sub: &'a str,
    /// The user's email.
    pub email: &'a str,
    /// The user's name.
    pub name: &'a str,
    /// The scope of this access token.
    pub scope: &'a str,
    /// The API, if any.
    pub audience: Option<&'a str>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The nonce (code flow only).
    pub nonce: Option<&'a str>,
    /// Access token lifetime.
    pub lifetime: u64,
    /// The verified DPoP key: binds the access token (`cnf.jkt`, `token_type: DPoP`).
    pub dpop_jkt: Option<&'a str>,
    /// The access token's algorithm ([`crate::tokens::access_token_alg`] of the API).
    pub alg: crate::tokens::SigningAlg,
    /// The organization the user logged in to: `org_id` (and `org_name`) in both tokens.
    pub org: Option<&'a crate::orgs::Organization>,
    /// The `permissions` claim of the access token ([`crate::rbac`]).
    pub permissions: Option<&'a [String]>,
    /// The client certificate the access token is bound to (`cnf.x5t#S256`, RFC 8705).
    pub x5t_s256: Option<&'a str>,
}

/// Mints the access token (and the ID token when `openid` is in scope). The access
/// token's audience is the API, plus `{issuer}userinfo` when `openid` is in scope (as
/// Auth0); without an API it is `{issuer}userinfo` alone.
///
/// # Errors
/// Signing or RNG failures.
pub fn issue_user_tokens<S: Store, P: Platform>(
    app: &App<S, P>,
    client: &Client,
    grant: &UserGrant<'_>,
) -> Result<TokenResponse, OAuthError> {
    let openid = has_scope(grant.scope, "openid");
    let mut audiences = Vec::new();
    if let Some(aud) = grant.audience {
        audiences.push(aud.to_owned());
    }
    if openid || audiences.is_empty() {
        audiences.push(app.config.userinfo_endpoint());
    }
    let mut extra = Map::new();
    extra.insert("auth_time".into(), json!(grant.auth_time));
    bind_claims(&mut extra, grant.dpop_jkt);
    super::bind_certificate_claims(&mut extra, grant.x5t_s256);
    let with_org_name = app.config.organization_name_in_tokens;
    if let Some(org) = grant.org {
        org.add_claims(&mut extra, with_org_name);
    }
    if let Some(permissions) = grant.permissions {
        extra.insert("permissions".into(), json!(permissions));
    }
    let access_token = mint_access_token(
        &app.config,
        &app.platform,
        &AccessTokenSpec {
            sub: grant.sub,
            audiences,
            client_id: &client.client_id,
            scope: grant.scope,
            lifetime: grant.lifetime,
            extra,
            alg: grant.alg,
        },
    )?;
    let id_token = if openid {
        Some(mint_id_token(
            &app.config,
            &app.platform,
            &IdTokenSpec {
                sub: grant.sub,
                client_id: &client.client_id,
                auth_time: grant.auth_time,
                nonce: grant.nonce,
                access_token: &access_token,
                email: has_scope(grant.scope, "email").then_some(grant.email),
                name: has_scope(grant.scope, "profile").then_some(grant.name),
                org: grant
                    .org
                    .map(|o| (o.id.as_str(), with_org_name.then_some(o.name.as_str()))),
            },
        )?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: token_type(grant.dpop_jkt),
        expires_in: grant.lifetime,
        scope: grant.scope.to_owned(),
        refresh_token: None,
        id_token,
        issued_token_type: None,
    })
}

#[cfg(test)]
mod tests {
    use super::give_back;
    use crate::grants::family_key;
    use crate::store::memory::{Clock, MemoryStore};
    use crate::store::{Store, Taken};
    use crate::testing::block_on;

    #[test]
    fn a_code_is_given_back_unless_a_replay_revoked_its_family_meanwhile() {
        let store = MemoryStore::new(Clock::new(1_000));
        block_on(store.put("code:h", "{}", Some(60))).unwrap();
        let take = |receipt: &str| block_on(store.take("code:h", receipt, 600)).unwrap();
        assert!(matches!(take("r1"), Taken::Now(_)));
        block_on(give_back(&store, "code:h", "r1", "fam1"));
        assert!(matches!(take("r2"), Taken::Now(_)), "given back");
        // A replay of the code revoked the family of the exchange that took it ("r2").
        block_on(store.put(
            &family_key("fam2"),
            r#"{"revoked":"code_replay"}"#,
            Some(60),
        ))
        .unwrap();
        block_on(give_back(&store, "code:h", "r2", "fam2"));
        assert!(
            matches!(take("r3"), Taken::Before { receipt, .. } if receipt == "r2"),
            "still used"
        );
    }
}
