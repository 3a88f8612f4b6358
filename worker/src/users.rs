//! Users: the password check and its brute-force brake, shared by the login form
//! (`POST /authorize/login`) and the password grant ([`crate::grants::password`]), and the
//! server's subject index for `/userinfo`.

use crate::App;
use crate::config::{User, user_key};
use crate::endpoints::userinfo::user_index_key;
use crate::http::HttpRequest;
use crate::platform::Platform;
use crate::store::{Store, StoreError, get_json, put_json};
use edge_oauth::base64url;
use serde_json::json;
use subtle::ConstantTimeEq;

/// Rule 12: counts a login attempt per account and per client address (`CF-Connecting-IP`)
/// before the password is checked; `false` when either is over the limit. The login form
/// and the password grant count under the same keys.
pub async fn login_allowed<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    username: &str,
) -> bool {
    let mut allowed = true;
    if !username.is_empty() && username.len() <= 254 {
        allowed &= app
            .platform
            .rate_limit(&crate::ratelimit::login_email_key(username))
            .await;
    }
    if let Some(ip) = crate::ratelimit::client_ip(req) {
        allowed &= app
            .platform
            .rate_limit(&crate::ratelimit::login_ip_key(ip))
            .await;
    }
    allowed
}

/// Checks an email and password against `user:{email}` (PBKDF2-SHA256, compared in
/// constant time): the user on success, `None` for a wrong password or an unknown email.
/// An unknown email, or a record hashed with another count than `PASSWORD_ITERATIONS`,
/// costs one dummy derivation with the configured count, so the answer and its timing
/// are the same for known and unknown emails.
///
/// # Errors
/// Storage failures.
pub async fn authenticate_user<S: Store, P: Platform>(
    app: &App<S, P>,
    username: &str,
    password: &str,
) -> Result<Option<User>, StoreError> {
    let user: Option<User> = get_json(&app.store, &user_key(username)).await?;
    // A record hashed with another count than PASSWORD_ITERATIONS is refused (re-create
    // the user): every login then costs the same, known email or not.
    let configured = app.config.password_iterations;
    let user = user.filter(|u| {
        u.password.alg == "PBKDF2-SHA256"
            && u.password.iterations > 0
            && configured.is_none_or(|n| n == u.password.iterations)
    });
    let Some(user) = user else {
        // Same work as a real check, so timing does not reveal which emails exist.
        let _ = app
            .platform
            .pbkdf2_sha256(
                password.as_bytes(),
                b"edge-oauth-dummy-salt",
                app.config.dummy_password_iterations(),
            )
            .await;
        return Ok(None);
    };
    let salt = base64url::decode(&user.password.salt).unwrap_or_default();
    let stored = base64url::decode(&user.password.hash).unwrap_or_default();
    let derived = app
        .platform
        .pbkdf2_sha256(password.as_bytes(), &salt, user.password.iterations)
        .await;
    let ok = derived.is_ok_and(|d| stored.len() == 32 && bool::from(d.as_slice().ct_eq(&stored)));
    Ok(ok.then_some(user))
}

/// Writes the server's own subject index `userid:{user_id}` → `{"email": ...}` for
/// `/userinfo`, once per user.
///
/// # Errors
/// Storage failures, except a rate-limited write (another request is writing the same
/// index).
pub async fn ensure_subject_index<S: Store, P: Platform>(
    app: &App<S, P>,
    user: &User,
) -> Result<(), StoreError> {
    let index = user_index_key(&user.user_id);
    if app.store.get(&index).await?.is_none() {
        // Two first logins of one user within a second both write the same value; KV
        // refuses the second write of a key within a second (429), which loses nothing.
        match put_json(&app.store, &index, &json!({"email": user.email}), None).await {
            Ok(()) | Err(StoreError::RateLimited) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}
