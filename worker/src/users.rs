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
///
/// At a login form (`form`), a browser that signed in to this account before (it sends
/// the account's device cookie, [`device_cookie`]) is counted under its cookie instead of
/// the account, and per address: whoever guesses passwords for an account elsewhere
/// cannot lock its owner out on their own device (RFC 6819 §5.1.4.2.3) and still stops
/// at the per-account limit, and one cookie gets no more attempts than an account. The
/// password grant (`form` false) never reads cookies.
pub async fn login_allowed<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    username: &str,
    form: bool,
) -> bool {
    let mut allowed = true;
    if !username.is_empty() && username.len() <= 254 {
        let device = if form {
            known_device(app, req, username, app.platform.now()).await
        } else {
            None
        };
        let key = match device {
            Some(mac) => crate::ratelimit::login_device_key(&mac),
            None => crate::ratelimit::login_email_key(username),
        };
        allowed &= app.platform.rate_limit(&key).await;
    }
    if let Some(ip) = crate::ratelimit::client_ip(req) {
        allowed &= app
            .platform
            .rate_limit(&crate::ratelimit::login_ip_key(ip))
            .await;
    }
    allowed
}

/// The name of the device cookie: with the `__Host-` prefix (RFC 6265bis §4.1.3.2: set
/// only with `Secure`, for the whole host) when the issuer is `https`.
fn device_cookie_name(issuer: &str) -> &'static str {
    if issuer.starts_with("https://") {
        "__Host-edge_oauth_device"
    } else {
        "edge_oauth_device"
    }
}

/// How long a device cookie is honoured, in seconds (30 days).
pub const DEVICE_COOKIE_LIFETIME: i64 = 30 * 24 * 3600;

/// The MAC of a device cookie for `user` made at `iat`: over the email (compared
/// case-insensitively), the time and the user's password salt and hash, so that a new
/// password voids every cookie made before it.
fn device_mac(secret: &[u8], user: &User, iat: i64) -> String {
    let mut message = b"edge-oauth device v1\0".to_vec();
    for part in [
        user.email.trim().to_lowercase().as_str(),
        iat.to_string().as_str(),
        user.password.salt.as_str(),
        user.password.hash.as_str(),
    ] {
        message.extend_from_slice(part.as_bytes());
        message.push(0);
    }
    base64url::encode(&crate::jwt::hmac_sha256(secret, &message))
}

/// The `Set-Cookie` value that marks this browser as one that signed in as `user` at
/// `now`: `v1.{iat}.{MAC}` ([`device_mac`]) under the transaction secret, `HttpOnly`,
/// `SameSite=Strict`, for [`DEVICE_COOKIE_LIFETIME`], `Secure` on an `https` issuer. It
/// names no account in the clear and grants nothing but the bucket of its own in
/// [`login_allowed`].
///
/// ```
/// # use edge_oauth_worker::config::User;
/// # use edge_oauth_worker::users::device_cookie;
/// let user: User = serde_json::from_value(serde_json::json!({
///     "user_id": "user|alice", "email": "alice@example.com", "name": "Alice",
///     "password": {"alg": "PBKDF2-SHA256", "iterations": 1000, "salt": "c2FsdA", "hash": "aGFzaA"}
/// })).unwrap();
/// let cookie = device_cookie("https://auth.example.com/", &[7; 32], &user, 1000);
/// assert!(cookie.starts_with("__Host-edge_oauth_device=v1.1000."));
/// assert!(cookie.ends_with("; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000; Secure"));
/// ```
#[must_use]
pub fn device_cookie(issuer: &str, secret: &[u8], user: &User, now: i64) -> String {
    let mut cookie = format!(
        "{}=v1.{now}.{}; Path=/; HttpOnly; SameSite=Strict; Max-Age={DEVICE_COOKIE_LIFETIME}",
        device_cookie_name(issuer),
        device_mac(secret, user, now)
    );
    if issuer.starts_with("https://") {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The MAC of the device cookie of the account `email` that the request carries, made
/// within the last [`DEVICE_COOKIE_LIFETIME`] and since the account's password was last
/// set (compared in constant time); `None` otherwise, or when the account cannot be read.
async fn known_device<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    email: &str,
    now: i64,
) -> Option<String> {
    let name = device_cookie_name(&app.config.issuer);
    // The device cookies of the request still within their lifetime, as (iat, MAC).
    let candidates: Vec<(i64, &str)> = req
        .header("cookie")?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .filter_map(|(_, value)| {
            let (iat, mac) = value.strip_prefix("v1.")?.split_once('.')?;
            Some((iat.parse::<i64>().ok()?, mac))
        })
        .filter(|(iat, _)| {
            *iat <= now.saturating_add(60) && now.saturating_sub(*iat) < DEVICE_COOKIE_LIFETIME
        })
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let user: User = get_json(&app.store, &user_key(email)).await.ok()??;
    candidates
        .into_iter()
        .find(|(iat, mac)| {
            bool::from(
                device_mac(&app.config.transaction_secret, &user, *iat)
                    .as_bytes()
                    .ct_eq(mac.as_bytes()),
            )
        })
        .map(|(_, mac)| mac.to_owned())
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
