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
/// A browser that signed in to this account before (it sends the account's device cookie,
/// [`device_cookie`]) is not counted per account, only per address: whoever guesses
/// passwords for an account from elsewhere cannot lock its owner out on their own device
/// (RFC 6819 §5.1.4.2.3), and still stops at the per-account limit.
pub async fn login_allowed<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    username: &str,
) -> bool {
    let mut allowed = true;
    if !username.is_empty()
        && username.len() <= 254
        && !known_device(app, req, username, app.platform.now())
    {
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

/// The MAC of a device cookie for `email` (compared case-insensitively) made at `iat`.
fn device_mac(secret: &[u8], email: &str, iat: i64) -> String {
    let mut message = b"edge-oauth device v1\0".to_vec();
    message.extend_from_slice(email.trim().to_lowercase().as_bytes());
    message.push(0);
    message.extend_from_slice(iat.to_string().as_bytes());
    base64url::encode(&crate::jwt::hmac_sha256(secret, &message))
}

/// The `Set-Cookie` value that marks this browser as one that signed in to `email` at
/// `now`: `v1.{iat}.{HMAC of email and iat}` under the transaction secret, `HttpOnly`,
/// `SameSite=Strict`, for [`DEVICE_COOKIE_LIFETIME`], `Secure` on an `https` issuer. It
/// names no account in the clear and grants nothing but the exemption of
/// [`login_allowed`].
///
/// ```
/// # use edge_oauth_worker::users::device_cookie;
/// let cookie = device_cookie("https://auth.example.com/", &[7; 32], "alice@example.com", 1000);
/// assert!(cookie.starts_with("__Host-edge_oauth_device=v1.1000."));
/// assert!(cookie.ends_with("; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000; Secure"));
/// ```
#[must_use]
pub fn device_cookie(issuer: &str, secret: &[u8], email: &str, now: i64) -> String {
    let mut cookie = format!(
        "{}=v1.{now}.{}; Path=/; HttpOnly; SameSite=Strict; Max-Age={DEVICE_COOKIE_LIFETIME}",
        device_cookie_name(issuer),
        device_mac(secret, email, now)
    );
    if issuer.starts_with("https://") {
        cookie.push_str("; Secure");
    }
    cookie
}

/// Whether the request carries a device cookie of `email` made within the last
/// [`DEVICE_COOKIE_LIFETIME`] (its MAC compared in constant time).
fn known_device<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    email: &str,
    now: i64,
) -> bool {
    let Some(header) = req.header("cookie") else {
        return false;
    };
    let name = device_cookie_name(&app.config.issuer);
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .filter_map(|(_, value)| {
            let rest = value.strip_prefix("v1.")?;
            let (iat, mac) = rest.split_once('.')?;
            Some((iat.parse::<i64>().ok()?, mac))
        })
        .any(|(iat, mac)| {
            iat <= now.saturating_add(60)
                && now.saturating_sub(iat) < DEVICE_COOKIE_LIFETIME
                && bool::from(
                    device_mac(&app.config.transaction_secret, email, iat)
                        .as_bytes()
                        .ct_eq(mac.as_bytes()),
                )
        })
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
