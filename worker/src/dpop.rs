//! DPoP (RFC 9449) on the server: proof checks at the token endpoint, PAR and
//! `/userinfo`, single-use `jti`s, and stateless nonces.
//!
//! Every check of RFC 9449 §4.3 runs in the core verifier, in its order
//! ([`edge_oauth::dpop::parse_proof`], then the ES256 signature through
//! [`Platform::verify_es256_key`]: WebCrypto on Workers, then
//! [`edge_oauth::dpop::ParsedProof::check_claims`]); this module supplies the policy (method, the
//! issuer-derived endpoint URL, the `iat` window of [`crate::config::DpopConfig`], the
//! expected nonce, the access token and its `cnf.jkt`) and does what needs the store:
//!
//! - **One header.** Several `DPoP` fields (or one field with a list, which is what
//!   workerd makes of repeated fields) fail as `DPOP_MULTIPLE_HEADERS`.
//! - **`jti` replay** (§11.1): after a proof passes, `jti:{jkt}:{sha256(jti)}` is written
//!   with a TTL covering the rest of the proof's acceptance window (at least 60 s, KV's
//!   minimum); a proof whose key already used that `jti` is `invalid_dpop_proof`. Only a
//!   hash of the `jti` is kept. The marker is an insert-if-absent: exact on the Durable
//!   Object store (two copies sent at the same instant: one passes), best effort on the
//!   KV-only store. At the token endpoint and PAR it is written only after the request's
//!   other checks passed, so a junk request writes nothing.
//! - **Nonces** (§8) are stateless, so any isolate can check them:
//!   `base64url(HMAC-SHA256(key, "edge-oauth dpop-nonce v1:" || step))` where
//!   `step = floor(now / 300 s)` and `key` is `DPOP_NONCE_SECRET`. A proof may carry the
//!   nonce of the current or the previous step (so a nonce lives 5 to 10 minutes). They are
//!   required from clients whose record says so
//!   ([`crate::config::Client::requires_dpop_nonce`]: public clients by default), and
//!   every response to a DPoP request of such a client carries the current one in
//!   `DPoP-Nonce`. Other clients are never handed nonces (RFC 9449 §11.3: a server that
//!   provided one must not accept proofs without it); a proof that carries a nonce is
//!   always checked, and from them one that is not this server's is `invalid_dpop_proof`.
//!   `/userinfo` does not require nonces (§9 leaves resource-server nonces optional).
//!
//! Wire errors: at the token endpoint and PAR, `400 invalid_dpop_proof` or
//! `400 use_dpop_nonce` (with a fresh `DPoP-Nonce`), the description being the core
//! error's fixed message (it never echoes the proof). At `/userinfo`, `401` with
//! `WWW-Authenticate: DPoP error="invalid_dpop_proof" | "invalid_token"`, `algs="ES256"`.

use crate::App;
use crate::config::Client;
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::jwt::{hmac_sha256, sha256_b64};
use crate::platform::Platform;
use crate::store::{MIN_TTL_SECONDS, Store, StoreError};
use edge_oauth::base64url;
use edge_oauth::dpop::{MAX_PROOF_LEN, VerifiedProof, VerifyPolicy, parse_proof};

/// The proof algorithms the server accepts (`dpop_signing_alg_values_supported`).
pub const SIGNING_ALGS: [&str; 1] = ["ES256"];

/// The `DPoP-Nonce` response header.
pub const NONCE_HEADER: &str = "DPoP-Nonce";

/// The nonce of time step `step` under `secret`.
#[must_use]
pub fn nonce_for_step(secret: &[u8], step: i64) -> String {
    let mac = hmac_sha256(
        secret,
        format!("edge-oauth dpop-nonce v1:{step}").as_bytes(),
    );
    base64url::encode(&mac)
}

fn step_of<S: Store, P: Platform>(app: &App<S, P>) -> i64 {
    app.platform
        .now()
        .div_euclid(app.config.dpop.nonce_step.max(1))
}

/// The nonce to hand out now.
#[must_use]
pub fn current_nonce<S: Store, P: Platform>(app: &App<S, P>) -> String {
    nonce_for_step(&app.config.dpop.nonce_secret, step_of(app))
}

/// The previous step's nonce (still accepted).
fn previous_nonce<S: Store, P: Platform>(app: &App<S, P>) -> String {
    nonce_for_step(
        &app.config.dpop.nonce_secret,
        step_of(app).saturating_sub(1),
    )
}

/// Adds the current `DPoP-Nonce` to a response unless it already has one.
#[must_use]
pub fn with_nonce<S: Store, P: Platform>(app: &App<S, P>, response: HttpResponse) -> HttpResponse {
    if response.header(NONCE_HEADER).is_some() {
        return response;
    }
    response.with_header(NONCE_HEADER, &current_nonce(app))
}

/// The single `DPoP` header value, `None` when absent.
///
/// # Errors
/// [`edge_oauth::Error::DpopMultipleHeaders`] when the field occurs more than once.
pub fn header_value(req: &HttpRequest) -> Result<Option<&str>, edge_oauth::Error> {
    match req.header_count("dpop") {
        0 => Ok(None),
        1 => Ok(req.header("dpop")),
        _ => Err(edge_oauth::Error::DpopMultipleHeaders),
    }
}

/// The `nonce` claim of a proof, read without verification, only to choose which of the
/// two accepted nonces the core verifier should then require.
fn peek_nonce(proof: &str) -> Option<String> {
    if proof.len() > MAX_PROOF_LEN {
        return None;
    }
    let payload = proof.split('.').nth(1)?;
    let bytes = base64url::decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("nonce")?.as_str().map(str::to_owned)
}

/// [`edge_oauth::dpop::verify_proof`] with the signature verified by the platform
/// (natively in the runtime on Workers, where p256 in wasm costs milliseconds): the core
/// checks the header, `typ` and key, the platform the signature, the core the claims.
///
/// # Errors
/// The core's error for the first check that fails; a signature the platform refuses or
/// cannot check is `DPOP_SIGNATURE_INVALID`.
///
/// ```
/// use edge_oauth::dpop::{DpopKey, ProofOptions, VerifyPolicy};
/// use edge_oauth_worker::dpop::verify_proof_with;
/// use edge_oauth_worker::platform::NativePlatform;
/// use edge_oauth_worker::store::memory::Clock;
/// use edge_oauth_worker::testing::block_on;
///
/// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
/// let key = DpopKey::generate(&mut rng);
/// let htu = "https://as.example/oauth/token";
/// let proof = key.create_proof(&ProofOptions::new("POST", htu, 5), &mut rng).unwrap();
/// let platform = NativePlatform::new(Clock::new(5));
/// let policy = VerifyPolicy::new("POST", htu, 5);
/// let verified = block_on(verify_proof_with(&platform, &proof, &policy)).unwrap();
/// assert_eq!(verified.jkt, key.thumbprint());
/// let get = VerifyPolicy { htm: "GET", ..policy };
/// let refused = block_on(verify_proof_with(&platform, &proof, &get)).unwrap_err();
/// assert_eq!(refused.code(), "DPOP_HTM_MISMATCH");
/// ```
pub async fn verify_proof_with<P: Platform>(
    platform: &P,
    proof: &str,
    policy: &VerifyPolicy<'_>,
) -> Result<VerifiedProof, edge_oauth::Error> {
    let parsed = parse_proof(proof, policy)?;
    let verified = platform
        .verify_es256_key(
            parsed.jwk(),
            parsed.signing_input().as_bytes(),
            parsed.signature(),
        )
        .await;
    if verified != Ok(true) {
        return Err(edge_oauth::Error::DpopSignatureInvalid);
    }
    parsed.check_claims(policy)
}

/// A DPoP failure: the core's verdict, or a storage failure while recording the `jti`.
#[derive(Debug)]
pub enum DpopFailure {
    /// The proof was refused (the core error names the check).
    Proof(edge_oauth::Error),
    /// The store failed (`temporarily_unavailable` / `server_error`).
    Store(StoreError),
}

impl From<StoreError> for DpopFailure {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

/// Records `proof.jti` for `proof.jkt` with [`Store::put_if_absent`]; a repeat within the
/// window (even one sent at the same instant, on the Durable Object store) is a replay.
///
/// # Errors
/// [`DpopFailure::Proof`] with `DPOP_JTI_REPLAYED`, or a storage failure.
pub async fn record_jti<S: Store, P: Platform>(
    app: &App<S, P>,
    proof: &VerifiedProof,
) -> Result<(), DpopFailure> {
    let key = format!("jti:{}:{}", proof.jkt, sha256_b64(proof.jti.as_bytes()));
    // The proof stays acceptable until iat + max_age; remember it at least that long.
    let max_age = i64::try_from(app.config.dpop.max_age).unwrap_or(i64::MAX);
    let left = proof
        .iat
        .saturating_add(max_age)
        .saturating_sub(app.platform.now())
        .saturating_add(1);
    let ttl = u64::try_from(left).unwrap_or(0).max(MIN_TTL_SECONDS);
    if app.store.put_if_absent(&key, "1", Some(ttl)).await? {
        Ok(())
    } else {
        Err(DpopFailure::Proof(edge_oauth::Error::DpopJtiReplayed))
    }
}

/// Records the `jti` of a proof verified by [`verify_token_request`], once the request's
/// other checks have passed (nothing is written for a request before that).
///
/// # Errors
/// `400 invalid_dpop_proof` for a replayed `jti`, or a storage error.
pub async fn record_token_request_jti<S: Store, P: Platform>(
    app: &App<S, P>,
    proof: &VerifiedProof,
) -> Result<(), OAuthError> {
    match record_jti(app, proof).await {
        Ok(()) => Ok(()),
        Err(DpopFailure::Proof(e)) => Err(token_endpoint_error(app, &e)),
        Err(DpopFailure::Store(e)) => Err(e.into()),
    }
}

/// Verifies the `DPoP` header of a request to one of the server's own `POST` endpoints
/// (the token endpoint or PAR, `htu` its issuer-derived URL) from an authenticated
/// `client`. `Ok(None)` when the request has no `DPoP` header. Writes nothing: the caller
/// records the `jti` with [`record_token_request_jti`] once its own checks have passed.
///
/// # Errors
/// `400 invalid_dpop_proof`, `400 use_dpop_nonce` (with `DPoP-Nonce`), or a storage error.
pub async fn verify_token_request<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    client: &Client,
    htu: &str,
) -> Result<Option<VerifiedProof>, OAuthError> {
    let proof = match header_value(req) {
        Ok(None) => return Ok(None),
        Ok(Some(proof)) => proof,
        Err(err) => return Err(token_endpoint_error(app, &err)),
    };
    let current = current_nonce(app);
    let previous = previous_nonce(app);
    let expected = match peek_nonce(proof) {
        Some(n) if n == previous => Some(previous.as_str()),
        Some(_) => Some(current.as_str()),
        None if client.requires_dpop_nonce() => Some(current.as_str()),
        None => None,
    };
    let policy = VerifyPolicy {
        max_age: app.config.dpop.max_age,
        max_future: app.config.dpop.max_future,
        nonce: expected,
        ..VerifyPolicy::new("POST", htu, app.platform.now())
    };
    let verified = verify_proof_with(&app.platform, proof, &policy)
        .await
        .map_err(|e| match e.dpop_wire_error() {
            // A client that need not send nonces is never handed one (RFC 9449 §11.3): a
            // nonce it sends that is not this server's is a bad proof, not a challenge.
            Some("use_dpop_nonce") if !client.requires_dpop_nonce() => {
                OAuthError::new("invalid_dpop_proof", 400, e.to_string())
            }
            _ => token_endpoint_error(app, &e),
        })?;
    Ok(Some(verified))
}

/// The RFC 6749 §5.2 error for a refused proof at the token endpoint or PAR: `400` with
/// the core's wire code and fixed message; `use_dpop_nonce` carries a fresh nonce.
#[must_use]
pub fn token_endpoint_error<S: Store, P: Platform>(
    app: &App<S, P>,
    err: &edge_oauth::Error,
) -> OAuthError {
    match err.dpop_wire_error() {
        Some("use_dpop_nonce") => OAuthError::new("use_dpop_nonce", 400, err.to_string())
            .with_header(NONCE_HEADER, &current_nonce(app)),
        Some(_) => OAuthError::new("invalid_dpop_proof", 400, err.to_string()),
        // Not a proof problem: the server's own endpoint URL did not parse.
        None => OAuthError::server_error(),
    }
}

/// Verifies the proof of a resource request (`/userinfo`): method `htm`, URL `htu`,
/// `ath` of `access_token`, key `jkt` (the token's `cnf.jkt`), then records the `jti`.
/// No nonce is required here.
///
/// # Errors
/// [`DpopFailure::Proof`] with the failing check (no header: `DPOP_MALFORMED`), or a
/// storage failure.
pub async fn verify_resource_request<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    htu: &str,
    access_token: &str,
    jkt: &str,
) -> Result<VerifiedProof, DpopFailure> {
    let proof = header_value(req)
        .map_err(DpopFailure::Proof)?
        .ok_or(DpopFailure::Proof(edge_oauth::Error::DpopMalformed(
            "a DPoP proof is required with the DPoP scheme",
        )))?;
    let policy = VerifyPolicy {
        max_age: app.config.dpop.max_age,
        max_future: app.config.dpop.max_future,
        access_token: Some(access_token),
        expected_jkt: Some(jkt),
        ..VerifyPolicy::new(&req.method, htu, app.platform.now())
    };
    let verified = verify_proof_with(&app.platform, proof, &policy)
        .await
        .map_err(DpopFailure::Proof)?;
    record_jti(app, &verified).await?;
    Ok(verified)
}

/// Whether `value` looks like a JWK SHA-256 thumbprint (43 base64url characters), as a
/// `dpop_jkt` parameter must (RFC 9449 §10).
#[must_use]
pub fn is_thumbprint(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::PlatformError;
    use crate::testing::{RecordingPlatform, block_on};
    use edge_oauth::dpop::{DpopKey, ProofOptions, verify_proof};

    fn recording(answer: Option<Result<bool, PlatformError>>) -> RecordingPlatform {
        RecordingPlatform::new(1_000, answer)
    }

    const HTU: &str = "https://as.example/oauth/token";

    fn proof(key: &DpopKey, iat: i64) -> String {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        key.create_proof(&ProofOptions::new("POST", HTU, iat), &mut rng)
            .unwrap()
    }

    /// Flips one bit of the signature segment's first character (still base64url).
    fn tampered_signature(proof: &str) -> String {
        let (head, sig) = proof.rsplit_once('.').unwrap();
        let first = if sig.starts_with('A') { 'B' } else { 'A' };
        format!("{head}.{first}{}", &sig[1..])
    }

    #[test]
    fn rfc9449_4_3_signature_is_verified_by_the_platform() {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let key = DpopKey::generate(&mut rng);
        let good = proof(&key, 1_000);
        let policy = VerifyPolicy::new("POST", HTU, 1_000);

        // A genuine proof passes, with one platform verification, as the core alone says.
        let platform = recording(None);
        let verified = block_on(verify_proof_with(&platform, &good, &policy)).unwrap();
        assert_eq!(platform.calls.get(), 1);
        assert_eq!(verified, verify_proof(&good, &policy).unwrap());

        // A tampered signature is refused through the platform's software default.
        let bad = tampered_signature(&good);
        let platform = recording(None);
        let err = block_on(verify_proof_with(&platform, &bad, &policy)).unwrap_err();
        assert_eq!(err.code(), "DPOP_SIGNATURE_INVALID");
        assert_eq!(platform.calls.get(), 1);
        assert_eq!(
            verify_proof(&bad, &policy).unwrap_err().code(),
            "DPOP_SIGNATURE_INVALID"
        );

        // The platform's verdict is the one that counts: a refusal or a backend failure
        // refuses even a genuine proof.
        for answer in [Ok(false), Err(PlatformError::Crypto)] {
            let platform = recording(Some(answer));
            let err = block_on(verify_proof_with(&platform, &good, &policy)).unwrap_err();
            assert_eq!(err.code(), "DPOP_SIGNATURE_INVALID");
        }
    }

    #[test]
    fn rfc9449_4_3_checks_keep_their_order_with_the_platform_signature() {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let key = DpopKey::generate(&mut rng);
        // Stale iat and a bad signature: the signature check (6) comes before iat (11).
        let stale_bad = tampered_signature(&proof(&key, 1));
        let policy = VerifyPolicy::new("POST", HTU, 1_000);
        let platform = recording(None);
        let err = block_on(verify_proof_with(&platform, &stale_bad, &policy)).unwrap_err();
        assert_eq!(err.code(), "DPOP_SIGNATURE_INVALID");
        // A good signature, stale iat: the claims are checked after the platform said yes.
        let stale = proof(&key, 1);
        let err = block_on(verify_proof_with(&platform, &stale, &policy)).unwrap_err();
        assert_eq!(err.code(), "DPOP_IAT_TOO_OLD");
        // Not a JWS: refused before any crypto.
        let platform = recording(Some(Ok(true)));
        let err = block_on(verify_proof_with(&platform, "a.b", &policy)).unwrap_err();
        assert_eq!(err.code(), "DPOP_MALFORMED");
        assert_eq!(platform.calls.get(), 0);
    }

    #[test]
    fn rfc9449_8_1_nonce_is_nqchar_and_changes_per_step() {
        let a = nonce_for_step(&[1; 32], 10);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
        );
        assert_ne!(a, nonce_for_step(&[1; 32], 11));
        assert_ne!(a, nonce_for_step(&[2; 32], 10));
        assert_eq!(a, nonce_for_step(&[1; 32], 10));
    }

    #[test]
    fn rfc9449_10_dpop_jkt_syntax() {
        assert!(is_thumbprint("VIqXp_dbQ5G9BGpq6Gi9cYH2ZiAmVtMTo-MUc4zEGGo"));
        assert!(!is_thumbprint("VIqXp_dbQ5G9BGpq6Gi9cYH2ZiAmVtMTo-MUc4zEGG"));
        assert!(!is_thumbprint(
            "VIqXp_dbQ5G9BGpq6Gi9cYH2ZiAmVtMTo-MUc4zEGG="
        ));
    }
}
