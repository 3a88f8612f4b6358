//! The device authorization grant's endpoints (RFC 8628, Auth0's paths):
//! `POST /oauth/device/code` and the user's pages under `/activate`.
//!
//! `POST /oauth/device/code` (§3.1, §3.2) authenticates the client as the token endpoint
//! does (a public client by its id), requires the device-code grant in its record,
//! validates `scope` and `audience` (or `resource`) as the password grant does, and
//! answers `device_code` (256 random bits, kept only as a SHA-256 hash), `user_code`
//! (`XXXX-XXXX`), `verification_uri`, `verification_uri_complete`, `expires_in` and
//! `interval`. Requests of public clients are rate limited per client and address, as
//! pushed requests are.
//!
//! The pages, in order, all plain forms with the login form's look, escaping and headers
//! (no framing, no scripts, `no-store`):
//! 1. `GET /activate`: a field for the code; `GET /activate?user_code=..` looks it up
//!    (case-insensitive, dash optional). Every lookup counts against the address
//!    (`activate-ip:`, [`crate::ratelimit::activate_ip_key`]); a code that is unknown,
//!    expired, used or malformed gets one message that tells them apart in no way.
//! 2. The login form (`POST /activate/login`), checked as the one of `/authorize`: the
//!    post must come from this server's page ([`super::authorize::from_login_page`]), the
//!    request travels in a field signed with `TRANSACTION_SECRET`, attempts are counted
//!    per account and address.
//! 3. The confirmation page (`POST /activate/confirm`) with the application's name, the
//!    scopes and the code, and "Allow" / "Deny"; the decision is one compare-and-swap of
//!    the device record ([`crate::grants::device_code::decide`]).

use super::authorize::{error_page, from_login_page, page, store_failure_page};
use super::{cors, method_not_allowed, read_body_params, refuse_query_credentials};
use crate::App;
use crate::config::{Client, client_key};
use crate::error::OAuthError;
use crate::grants::device_code::{
    DEVICE_CODE_GRANT, DEVICE_POLL_INTERVAL, DeviceRecord, DeviceState, UserCodeRecord, device_key,
    display_user_code, find_pending, lifetime_for, random_user_code, record_ttl, user_code_key,
};
use crate::grants::{OIDC_SCOPES, load_api, require_grant};
use crate::http::{HttpRequest, HttpResponse};
use crate::jwt::{hmac_sha256, sha256_b64};
use crate::params::{Params, form_encode, html_escape};
use crate::platform::Platform;
use crate::store::{Store, get_json};
use crate::tokens::{parse_scope, random_token};
use crate::users::ensure_subject_index;
use edge_oauth::base64url;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;

/// How long the login and confirmation forms stay valid, in seconds.
pub const FORM_LIFETIME: i64 = 600;

/// The one message for a code that cannot be used, whatever the reason.
pub const INVALID_CODE: &str =
    "That code is not valid. Check the code shown on your device and try again.";

/// `POST /oauth/device/code`.
pub async fn device_authorization<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
) -> HttpResponse {
    match req.method.as_str() {
        "OPTIONS" => return cors::preflight(app, req).await,
        "POST" => {}
        _ => return method_not_allowed("POST"),
    }
    let hint = read_body_params(req)
        .ok()
        .and_then(|p| p.get("client_id").map(str::to_owned));
    let response = match start(app, req).await {
        Ok(response) => response,
        Err(err) => err.to_response(),
    };
    cors::decorate(app, req, hint.as_deref(), response).await
}

async fn start<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
) -> Result<HttpResponse, OAuthError> {
    refuse_query_credentials(req)?;
    let params = read_body_params(req)?;
    let auth = crate::client_auth::authenticate(app, req, &params).await?;
    let client = auth.client;
    require_grant(&client, DEVICE_CODE_GRANT)?;
    if client.is_public() {
        let ip = crate::ratelimit::client_ip(req).unwrap_or("unknown");
        let key = crate::ratelimit::device_authorization_key(&client.client_id, ip);
        if !app.platform.rate_limit(&key).await {
            return Err(OAuthError::rate_limited(
                "slow_down",
                "too many device authorization requests; retry later",
            ));
        }
    }
    if params.contains("organization") {
        return Err(OAuthError::invalid_request(
            "organization is not supported with the device authorization grant",
        ));
    }
    let audience = match (params.get("audience"), params.get("resource")) {
        (Some(a), Some(r)) if a != r => {
            return Err(OAuthError::invalid_request(
                "audience and resource name different APIs",
            ));
        }
        (Some(a), _) => Some((a, false)),
        (None, Some(r)) => Some((r, true)),
        (None, None) => None,
    };
    let api = match audience {
        None => None,
        Some((aud, by_resource)) => Some(load_api(app, aud).await?.ok_or_else(|| {
            if by_resource {
                OAuthError::invalid_target("the resource is not a known API")
            } else {
                OAuthError::access_denied("the audience is not a known API")
            }
        })?),
    };
    let scopes = parse_scope(params.get("scope").unwrap_or_default())?;
    for s in &scopes {
        let known =
            OIDC_SCOPES.contains(&s.as_str()) || api.as_ref().is_some_and(|a| a.scopes.contains(s));
        if !known {
            return Err(OAuthError::invalid_scope("a requested scope is not known"));
        }
    }

    // The checks passed: only now is anything written.
    let device_code = random_token(&app.platform)?;
    let device_hash = sha256_b64(device_code.as_bytes());
    let lifetime = lifetime_for(&client);
    let now = app.platform.now();
    let record = DeviceRecord {
        client_id: client.client_id.clone(),
        scope: scopes.join(" "),
        audience: api.map(|a| a.identifier),
        expires_at: now.saturating_add(i64::try_from(lifetime).unwrap_or(0)),
        interval: DEVICE_POLL_INTERVAL,
        last_poll: None,
        state: DeviceState::Pending,
    };
    let text = serde_json::to_string(&record).map_err(|_| OAuthError::server_error())?;
    let ttl = Some(record_ttl(&record, now));
    app.store.put(&device_key(&device_hash), &text, ttl).await?;
    let index = serde_json::to_string(&UserCodeRecord {
        device: device_hash,
    })
    .map_err(|_| OAuthError::server_error())?;
    // A user code names one device code: a collision with a live one draws again.
    let mut user_code = None;
    for _ in 0..4 {
        let code = random_user_code(&app.platform)?;
        if app
            .store
            .put_if_absent(&user_code_key(&code), &index, ttl)
            .await?
        {
            user_code = Some(code);
            break;
        }
    }
    let user_code = display_user_code(&user_code.ok_or_else(OAuthError::server_error)?);
    let verification_uri = format!("{}activate", app.config.issuer);
    let complete = format!("{verification_uri}?user_code={}", form_encode(&user_code));
    Ok(HttpResponse::json(
        200,
        &json!({
            "device_code": device_code.as_str(),
            "user_code": user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": complete,
            "expires_in": lifetime,
            "interval": DEVICE_POLL_INTERVAL,
        }),
    )
    .no_store())
}

/// What the login form of `/activate` carries (signed).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LoginForm {
    /// The device-code hash.
    device: String,
    /// Expiry of the form.
    exp: i64,
}

/// What the confirmation form carries (signed): the request and the signed-in user.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ConsentForm {
    device: String,
    sub: String,
    email: String,
    name: String,
    auth_time: i64,
    exp: i64,
}

/// `b64url(json).b64url(HMAC-SHA256(secret, purpose + "." + b64url(json)))`.
fn seal<T: Serialize>(secret: &[u8], purpose: &str, value: &T) -> String {
    let body = base64url::encode(json!(value).to_string().as_bytes());
    let mac = hmac_sha256(secret, format!("{purpose}.{body}").as_bytes());
    format!("{body}.{}", base64url::encode(&mac))
}

/// Verifies a sealed value of `purpose` (constant-time MAC check).
fn open<T: DeserializeOwned>(secret: &[u8], purpose: &str, sealed: &str) -> Option<T> {
    let (body, mac) = sealed.split_once('.')?;
    let mac = base64url::decode(mac).ok()?;
    let expected = hmac_sha256(secret, format!("{purpose}.{body}").as_bytes());
    if !bool::from(expected.as_slice().ct_eq(&mac)) {
        return None;
    }
    serde_json::from_slice(&base64url::decode(body).ok()?).ok()
}

const LOGIN_PURPOSE: &str = "device-login";
const CONSENT_PURPOSE: &str = "device-consent";

/// `GET /activate` (and `?user_code=`).
pub async fn activate<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    if req.method != "GET" && req.method != "HEAD" {
        return method_not_allowed("GET, HEAD");
    }
    let Ok(params) = Params::from_form(req.query.as_deref().unwrap_or_default().as_bytes()) else {
        return code_page(Some(INVALID_CODE), "", 400);
    };
    let Some(typed) = params.get("user_code").map(str::trim) else {
        return code_page(None, "", 200);
    };
    if typed.is_empty() {
        return code_page(Some("Enter the code shown on your device."), "", 400);
    }
    if let Some(ip) = crate::ratelimit::client_ip(req)
        && !app
            .platform
            .rate_limit(&crate::ratelimit::activate_ip_key(ip))
            .await
    {
        return error_page(429, "Too many attempts. Wait a minute, then try again.").with_header(
            "Retry-After",
            &crate::ratelimit::RETRY_AFTER_SECONDS.to_string(),
        );
    }
    let found = match find_pending(app, typed).await {
        Ok(found) => found,
        Err(e) => return super::authorize::oauth_failure_page(&e),
    };
    let Some((device, record)) = found else {
        return code_page(Some(INVALID_CODE), typed, 400);
    };
    let client = match load_client(app, &record.client_id).await {
        Ok(client) => client,
        Err(page) => return page,
    };
    let form = LoginForm {
        device,
        exp: app.platform.now().saturating_add(FORM_LIFETIME),
    };
    login_page(app, &client, &record, &form, None, 200)
}

async fn load_client<S: Store, P: Platform>(
    app: &App<S, P>,
    client_id: &str,
) -> Result<Client, HttpResponse> {
    match get_json::<S, Client>(&app.store, &client_key(client_id)).await {
        Ok(Some(c)) if c.allows_grant(DEVICE_CODE_GRANT) => Ok(c),
        Ok(_) => Err(code_page(Some(INVALID_CODE), "", 400)),
        Err(e) => Err(store_failure_page(&e)),
    }
}

/// The code entry page.
fn code_page(error: Option<&str>, typed: &str, status: u16) -> HttpResponse {
    let (alert, invalid) = match error {
        Some(message) => (
            format!(
                "<p id=\"code-error\" class=\"error\" role=\"alert\">{}</p>",
                html_escape(message)
            ),
            " aria-invalid=\"true\" aria-describedby=\"code-error\"",
        ),
        None => (String::new(), ""),
    };
    let content = format!(
        "<h1>Connect a device</h1><p>Enter the code shown on your device.</p>{alert}\
<form method=\"get\" action=\"/activate\" novalidate>\
<label for=\"user_code\">Code</label>\
<input id=\"user_code\" name=\"user_code\" type=\"text\" autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" required autofocus value=\"{typed}\"{invalid}>\
<button type=\"submit\">Continue</button></form>",
        typed = html_escape(typed),
    );
    HttpResponse::html(status, page("Connect a device", &content))
}

fn app_name(client: &Client) -> &str {
    if client.name.is_empty() {
        &client.client_id
    } else {
        &client.name
    }
}

fn scope_list(record: &DeviceRecord) -> String {
    let items: String = record
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| format!("<li>{}</li>", html_escape(s)))
        .collect();
    let audience = record.audience.as_deref().map_or(String::new(), |a| {
        format!("<p>for the API <strong>{}</strong></p>", html_escape(a))
    });
    if items.is_empty() {
        format!("<p>The application asks for no particular permissions.</p>{audience}")
    } else {
        format!("<p>The application is asking for:</p><ul>{items}</ul>{audience}")
    }
}

fn login_page<S: Store, P: Platform>(
    app: &App<S, P>,
    client: &Client,
    record: &DeviceRecord,
    form: &LoginForm,
    error: Option<(&str, &str)>,
    status: u16,
) -> HttpResponse {
    let (username, alert, invalid) = match error {
        Some((u, message)) => (
            u,
            format!(
                "<p id=\"login-error\" class=\"error\" role=\"alert\">{}</p>",
                html_escape(message)
            ),
            " aria-invalid=\"true\" aria-describedby=\"login-error\"",
        ),
        None => ("", String::new(), ""),
    };
    let content = format!(
        "<h1>Sign in</h1><p>to connect a device to <strong>{app}</strong></p>{scopes}{alert}\
<form method=\"post\" action=\"/activate/login\" novalidate>\
<input type=\"hidden\" name=\"device_tx\" value=\"{tx}\">\
<label for=\"username\">Email</label>\
<input id=\"username\" name=\"username\" type=\"email\" autocomplete=\"username\" required autofocus value=\"{user}\"{invalid}>\
<label for=\"password\">Password</label>\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{invalid}>\
<button type=\"submit\">Continue</button></form>",
        app = html_escape(app_name(client)),
        scopes = scope_list(record),
        tx = html_escape(&seal(&app.config.transaction_secret, LOGIN_PURPOSE, form)),
        user = html_escape(username),
    );
    HttpResponse::html(status, page("Sign in", &content))
}

fn consent_page<S: Store, P: Platform>(
    app: &App<S, P>,
    client: &Client,
    record: &DeviceRecord,
    form: &ConsentForm,
) -> HttpResponse {
    let content = format!(
        "<h1>Allow access?</h1><p><strong>{app}</strong> wants to access your account \
(signed in as {email}) on a device.</p>{scopes}\
<p>Only allow this if you started it on your device yourself.</p>\
<form method=\"post\" action=\"/activate/confirm\">\
<input type=\"hidden\" name=\"consent\" value=\"{consent}\">\
<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button> \
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        app = html_escape(app_name(client)),
        email = html_escape(&form.email),
        scopes = scope_list(record),
        consent = html_escape(&seal(&app.config.transaction_secret, CONSENT_PURPOSE, form)),
    );
    HttpResponse::html(200, page("Allow access?", &content))
}

/// Reads a form post from this server's own page; the error page otherwise.
fn own_form(app_issuer: &str, req: &HttpRequest) -> Result<Params, HttpResponse> {
    if req.method != "POST" {
        return Err(method_not_allowed("POST"));
    }
    if !from_login_page(app_issuer, req) {
        return Err(error_page(
            403,
            "This form was not sent from this server's page. Go back to your device and start again.",
        ));
    }
    if req.body_too_large
        || req.media_type().as_deref() != Some("application/x-www-form-urlencoded")
    {
        return Err(error_page(400, "The form was not submitted correctly."));
    }
    Params::from_form(&req.body)
        .map_err(|_| error_page(400, "The form was not submitted correctly."))
}

/// A pending, unexpired record and its client, or the one message.
async fn pending<S: Store, P: Platform>(
    app: &App<S, P>,
    device: &str,
) -> Result<(DeviceRecord, Client), HttpResponse> {
    let now = app.platform.now();
    let record = match crate::grants::device_code::load(app, device).await {
        Ok(Some((_, r))) if r.state == DeviceState::Pending && r.expires_at > now => r,
        Ok(_) => return Err(code_page(Some(INVALID_CODE), "", 400)),
        Err(e) => return Err(super::authorize::oauth_failure_page(&e)),
    };
    let client = load_client(app, &record.client_id).await?;
    Ok((record, client))
}

/// `POST /activate/login`.
pub async fn activate_login<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
) -> HttpResponse {
    let form = match own_form(&app.config.issuer, req) {
        Ok(form) => form,
        Err(page) => return page,
    };
    let now = app.platform.now();
    let Some(login) = form
        .get("device_tx")
        .and_then(|t| open::<LoginForm>(&app.config.transaction_secret, LOGIN_PURPOSE, t))
        .filter(|l| l.exp > now)
    else {
        return error_page(
            400,
            "This sign-in has expired. Enter the code from your device again.",
        );
    };
    let (record, client) = match pending(app, &login.device).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (username, user) = match super::authorize::sign_in(app, req, &form).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some(user) = user else {
        return login_page(
            app,
            &client,
            &record,
            &login,
            Some((&username, "Wrong email or password.")),
            401,
        );
    };
    if let Err(e) = ensure_subject_index(app, &user).await {
        return store_failure_page(&e);
    }
    // The right password: this browser is known to the account from now on.
    let cookie = crate::users::device_cookie(
        &app.config.issuer,
        &app.config.transaction_secret,
        &user,
        now,
    );
    let consent = ConsentForm {
        device: login.device,
        sub: user.user_id,
        email: user.email,
        name: user.name,
        auth_time: now,
        exp: now.saturating_add(FORM_LIFETIME),
    };
    consent_page(app, &client, &record, &consent).with_header("Set-Cookie", &cookie)
}

/// `POST /activate/confirm`: "Allow" approves the device code, "Deny" denies it.
pub async fn activate_confirm<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
) -> HttpResponse {
    let form = match own_form(&app.config.issuer, req) {
        Ok(form) => form,
        Err(page) => return page,
    };
    let now = app.platform.now();
    let Some(consent) = form
        .get("consent")
        .and_then(|t| open::<ConsentForm>(&app.config.transaction_secret, CONSENT_PURPOSE, t))
        .filter(|c| c.exp > now)
    else {
        return error_page(
            400,
            "This confirmation has expired. Enter the code from your device again.",
        );
    };
    let (decision, done) = match form.get("decision") {
        Some("allow") => (
            DeviceState::Approved {
                sub: consent.sub.clone(),
                email: consent.email.clone(),
                name: consent.name.clone(),
                auth_time: consent.auth_time,
            },
            "<h1>Device connected</h1><p role=\"status\">You can return to your device now.</p>",
        ),
        Some("deny") => (
            DeviceState::Denied,
            "<h1>Request denied</h1><p role=\"status\">The device was not given access. You can close this page.</p>",
        ),
        _ => return error_page(400, "Choose Allow or Deny."),
    };
    match crate::grants::device_code::decide(app, &consent.device, decision).await {
        Ok(true) => HttpResponse::html(200, page("Connect a device", done)),
        Ok(false) => code_page(Some(INVALID_CODE), "", 400),
        Err(e) => super::authorize::oauth_failure_page(&e),
    }
}
