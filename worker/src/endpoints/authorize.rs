//! `GET /authorize` (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2) and
//! `POST /authorize/login`.
//!
//! `POST /authorize` (OIDC Core §3.1.2.1) takes the same parameters as an
//! `application/x-www-form-urlencoded` body (16 KB at most, parsed as strictly as the
//! query) and runs the same steps; a POST that also has a query string, or another media
//! type, is refused with the error page. Like a `GET`, it only shows the login page or
//! redirects back to the client: nothing is written and nobody is signed in, so a
//! cross-site form posted to it can do no more than a cross-site link. The login step
//! keeps its own origin check ([`from_login_page`]).
//!
//! Errors about the client or the redirect URI are shown on an error page (never
//! redirected, RFC 6749 §4.1.2.1); the rest go back to the client with `error`, `state`
//! and `iss` (RFC 9207). A valid request renders a plain, accessible login form whose
//! hidden `tx` field carries the validated request, HMAC-SHA256-signed with
//! `TRANSACTION_SECRET` and valid for 10 minutes, so the login step trusts nothing else
//! from the browser. PKCE is required for public clients; `S256` is the only method and
//! the default when `code_challenge_method` is omitted.
//!
//! `POST /oauth/par` (RFC 9126) takes the same parameters from an authenticated client,
//! validates them the same way (errors as JSON), and keeps them for 60 s (KV's minimum
//! TTL) under `par:{sha256(request_uri)}`; `/authorize?client_id=..&request_uri=..` then
//! uses the stored parameters and ignores the others. A `request_uri` may be reloaded
//! within its lifetime (RFC 9126 §4 allows duplicates from a refreshing browser). Request
//! objects are not supported: `request` is refused with `request_not_supported`, and a
//! `request_uri` that is not a pushed one (`urn:ietf:params:oauth:request_uri:`) with
//! `request_uri_not_supported` (OIDC Core §6.2), redirected once the client and redirect
//! URI are validated.
//!
//! DPoP (RFC 9449 §10): `dpop_jkt` (a JWK SHA-256 thumbprint, 43 base64url characters)
//! binds the code to a key; the token request must prove that key. At PAR a `DPoP` header
//! is verified like at the token endpoint (`htu` = the PAR endpoint, same nonce policy);
//! its key becomes `dpop_jkt` when none was sent, and a different `dpop_jkt` is
//! `invalid_request` (§10.1, as node-oidc-provider).
//!
//! `organization` (an id or a name, [`crate::orgs`]) must name an existing organization
//! (`invalid_request` otherwise); after the password check the user must be one of its
//! members, else the browser goes back to the client with `access_denied`. The code then
//! carries the organization's id into the tokens and the refresh-token family.

use crate::App;
use crate::config::{Client, User, client_key};
use crate::grants::{CODE_LIFETIME, CodeRecord, OIDC_SCOPES, has_scope, load_api};
use crate::http::{HttpRequest, HttpResponse};
use crate::jwt::{hmac_sha256, sha256_b64};
use crate::params::{Params, form_encode, html_escape};
use crate::platform::Platform;
use crate::store::{Store, get_json, put_json};
use crate::tokens::{parse_scope, random_token};
use crate::users::{authenticate_user, login_allowed};
use edge_oauth::base64url;
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;

/// How long the login form stays valid, in seconds.
pub const TRANSACTION_LIFETIME: i64 = 600;

/// The validated authorization request, carried by the signed `tx` field.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Transaction {
    /// The client.
    pub client_id: String,
    /// `redirect_uri` as sent (`None` when omitted).
    pub redirect_uri: Option<String>,
    /// Where to send the response.
    pub effective_redirect_uri: String,
    /// Requested (and validated) scope.
    pub scope: String,
    /// Client state.
    pub state: Option<String>,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// API identifier.
    pub audience: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method (`S256`).
    pub code_challenge_method: Option<String>,
    /// The DPoP key the code is bound to (RFC 9449 §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// The organization (`organization=`, resolved to its id): the user must be a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// Expiry (Unix seconds).
    pub exp: i64,
}

/// An error sent back to the client's redirect URI.
struct Failure {
    error: &'static str,
    description: &'static str,
}

fn redirect_error(error: &'static str, description: &'static str) -> Failure {
    Failure { error, description }
}

/// Builds `uri?name=value&...` (or `&` when the URI already has a query).
#[must_use]
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = uri.to_owned();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (name, value) in pairs {
        out.push(sep);
        out.push_str(name);
        out.push('=');
        out.push_str(&form_encode(value));
        sep = '&';
    }
    out
}

/// `GET /authorize` and `POST /authorize` (a form body instead of the query).
pub async fn handle<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    let parsed = match req.method.as_str() {
        "GET" | "HEAD" => Params::from_form(req.query.as_deref().unwrap_or_default().as_bytes()),
        "POST" => {
            if let Some(page) = refuse_post_form(req) {
                return page;
            }
            Params::from_form(&req.body)
        }
        _ => return super::method_not_allowed("GET, HEAD, POST"),
    };
    let Ok(params) = parsed else {
        return error_page(
            400,
            "The authorization request is malformed (a parameter is repeated or badly encoded).",
        );
    };
    if params.control_character().is_some() {
        return error_page(
            400,
            "The authorization request is malformed (a parameter contains a control character).",
        );
    }
    // Only pushed requests are accepted by reference; any other request_uri is refused
    // by `validate` (request_uri_not_supported) once the client and redirect URI are known.
    let params = match params.get("request_uri") {
        Some(uri) if uri.starts_with(PAR_URN_PREFIX) => {
            match pushed_params(app, &params, uri).await {
                Ok(stored) => stored,
                Err(page) => return page,
            }
        }
        _ => params,
    };
    let client = match params.get("client_id") {
        None => return error_page(400, "The authorization request has no client_id."),
        Some(id) if id.len() > crate::config::MAX_CLIENT_ID_BYTES => {
            return error_page(400, "Unknown client.");
        }
        Some(id) => match get_json::<S, Client>(&app.store, &client_key(id)).await {
            Ok(Some(c)) => c,
            Ok(None) => return error_page(400, "Unknown client."),
            Err(e) => return store_failure_page(&e),
        },
    };
    let effective = match params.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
        Some(_) => {
            return error_page(400, "The redirect_uri is not registered for this client.");
        }
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => return error_page(400, "The authorization request needs a redirect_uri."),
        },
    };
    let state = params.get("state");
    match validate(app, &client, &params, &effective).await {
        Ok(tx) => login_page(app, &client, &tx, None, 200),
        Err(Failure { error, description }) => {
            let mut pairs = vec![("error", error), ("error_description", description)];
            if let Some(state) = state {
                pairs.push(("state", state));
            }
            pairs.push(("iss", app.config.issuer.as_str()));
            HttpResponse::redirect(302, &with_query(&effective, &pairs))
        }
    }
}

/// The error page for a `POST /authorize` that is not a plain form post: a query string
/// besides the body (the parameters would come from two places), a body over the size
/// cap, or another media type. `None` when the body may be parsed.
fn refuse_post_form(req: &HttpRequest) -> Option<HttpResponse> {
    let problem = if req.query.as_deref().is_some_and(|q| !q.is_empty()) {
        "The authorization request is malformed (a POST carries its parameters in the body only, not in the query)."
    } else if req.body_too_large {
        "The authorization request is malformed (the form is larger than 16 KB)."
    } else if req.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        "The authorization request is malformed (a POST must be an application/x-www-form-urlencoded form)."
    } else {
        return None;
    };
    Some(error_page(400, problem))
}

async fn validate<S: Store, P: Platform>(
    app: &App<S, P>,
    client: &Client,
    params: &Params,
    effective: &str,
) -> Result<Transaction, Failure> {
    match params.get("response_type") {
        None => {
            return Err(redirect_error(
                "invalid_request",
                "response_type is required",
            ));
        }
        Some("code") => {}
        Some(_) => {
            return Err(redirect_error(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    if !client.allows_grant("authorization_code") {
        return Err(redirect_error(
            "unauthorized_client",
            "the client may not use the authorization code flow",
        ));
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(redirect_error(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    if params.contains("request") {
        return Err(redirect_error(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    // A pushed request's parameters never hold request_uri: this one is by reference
    // (OIDC Core §6.2), which is not supported.
    if params.contains("request_uri") {
        return Err(redirect_error(
            "request_uri_not_supported",
            "only request_uri values from the pushed authorization request endpoint are supported",
        ));
    }
    if params
        .get("prompt")
        .is_some_and(|p| p.split(' ').any(|v| v == "none"))
    {
        return Err(redirect_error("login_required", "the user must log in"));
    }
    let method = match params.get("code_challenge_method") {
        Some("S256") => "S256",
        // Without a method the challenge is `plain` (RFC 7636 §4.3), which is not
        // supported: refused here rather than taken for S256 (rules.md item 44).
        None if params.contains("code_challenge") => {
            return Err(redirect_error(
                "invalid_request",
                "code_challenge_method is required: S256 (without it the method is plain, which is not supported)",
            ));
        }
        None => "S256",
        Some(_) => {
            return Err(redirect_error(
                "invalid_request",
                "transform algorithm not supported: use S256",
            ));
        }
    };
    let challenge = params.get("code_challenge");
    if let Some(c) = challenge {
        let ok = c.len() == 43
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(redirect_error(
                "invalid_request",
                "code_challenge must be a base64url SHA-256 (43 characters)",
            ));
        }
    } else if client.is_public() || params.contains("code_challenge_method") {
        return Err(redirect_error("invalid_request", "code challenge required"));
    }
    if params
        .get("dpop_jkt")
        .is_some_and(|j| !crate::dpop::is_thumbprint(j))
    {
        return Err(redirect_error(
            "invalid_request",
            "dpop_jkt must be a base64url SHA-256 JWK thumbprint",
        ));
    }
    for name in ["state", "nonce"] {
        if params.get(name).is_some_and(|v| v.len() > 1024) {
            return Err(redirect_error(
                "invalid_request",
                "state or nonce is too long",
            ));
        }
    }
    let audience = match params.get("audience") {
        None => None,
        Some(aud) => match load_api(app, aud).await {
            Ok(Some(api)) => Some(api),
            Ok(None) => {
                return Err(redirect_error(
                    "access_denied",
                    "the audience is not a known API",
                ));
            }
            Err(_) => {
                return Err(redirect_error(
                    "temporarily_unavailable",
                    "storage is unavailable",
                ));
            }
        },
    };
    let org_id = match params.get("organization") {
        None => None,
        Some(requested) => match crate::orgs::find(app, requested).await {
            Ok(Some(org)) => Some(org.id),
            Ok(None) => {
                return Err(redirect_error(
                    "invalid_request",
                    "the organization is not known",
                ));
            }
            Err(_) => {
                return Err(redirect_error(
                    "temporarily_unavailable",
                    "storage is unavailable",
                ));
            }
        },
    };
    let scopes = parse_scope(params.get("scope").unwrap_or_default())
        .map_err(|_| redirect_error("invalid_scope", "scope is malformed"))?;
    for s in &scopes {
        let known = OIDC_SCOPES.contains(&s.as_str())
            || audience.as_ref().is_some_and(|a| a.scopes.contains(s));
        if !known {
            return Err(redirect_error(
                "invalid_scope",
                "a requested scope is not known",
            ));
        }
    }
    Ok(Transaction {
        client_id: client.client_id.clone(),
        redirect_uri: params.get("redirect_uri").map(str::to_owned),
        effective_redirect_uri: effective.to_owned(),
        scope: scopes.join(" "),
        state: params.get("state").map(str::to_owned),
        nonce: params.get("nonce").map(str::to_owned),
        audience: audience.map(|a| a.identifier),
        code_challenge: challenge.map(str::to_owned),
        code_challenge_method: challenge.map(|_| method.to_owned()),
        dpop_jkt: params.get("dpop_jkt").map(str::to_owned),
        org_id,
        exp: app.platform.now().saturating_add(TRANSACTION_LIFETIME),
    })
}

/// The `request_uri` prefix of RFC 9126 §2.2.
pub const PAR_URN_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Lifetime of a pushed request, in seconds.
pub const PAR_LIFETIME: u64 = 60;

async fn pushed_params<S: Store, P: Platform>(
    app: &App<S, P>,
    query: &Params,
    uri: &str,
) -> Result<Params, HttpResponse> {
    let unknown = || {
        error_page(
            400,
            "The pushed authorization request is unknown or has expired. Go back to the application and start again.",
        )
    };
    if !uri.starts_with(PAR_URN_PREFIX) || uri.len() > 200 {
        return Err(unknown());
    }
    let stored: Params =
        match get_json(&app.store, &format!("par:{}", sha256_b64(uri.as_bytes()))).await {
            Ok(Some(p)) => p,
            Ok(None) => return Err(unknown()),
            Err(e) => return Err(store_failure_page(&e)),
        };
    if query.get("client_id").is_none() || query.get("client_id") != stored.get("client_id") {
        return Err(unknown());
    }
    Ok(stored)
}

/// `POST /oauth/par` (RFC 9126): authenticates the client like the token endpoint,
/// validates the authorization request, stores it and answers `201` with a `request_uri`.
pub async fn par<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    match req.method.as_str() {
        "OPTIONS" => return super::cors::preflight(app, req).await,
        "POST" => {}
        _ => return super::method_not_allowed("POST"),
    }
    let hint = super::read_body_params(req)
        .ok()
        .and_then(|p| p.get("client_id").map(str::to_owned));
    let mut nonce_required = false;
    let mut response = match push(app, req, &mut nonce_required).await {
        Ok(response) => response,
        Err(err) => err.to_response(),
    };
    // As at the token endpoint: a nonce only for clients that must send one.
    if nonce_required && req.header("dpop").is_some() {
        response = crate::dpop::with_nonce(app, response);
    }
    super::cors::decorate(app, req, hint.as_deref(), response).await
}

async fn push<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    nonce_required: &mut bool,
) -> Result<HttpResponse, crate::error::OAuthError> {
    use crate::error::OAuthError;
    super::refuse_query_credentials(req)?;
    let mut params = super::read_body_params(req)?;
    let auth = crate::client_auth::authenticate_at(
        app,
        req,
        &params,
        crate::client_auth::Endpoint::PushedAuthorization,
    )
    .await?;
    let client = auth.client;
    *nonce_required = client.requires_dpop_nonce();
    // A public client's pushed request is an unauthenticated KV write: rate-limited per
    // client and address (crate::ratelimit).
    if client.is_public() {
        let ip = crate::ratelimit::client_ip(req).unwrap_or("unknown");
        let key = crate::ratelimit::par_key(&client.client_id, ip);
        if !app.platform.rate_limit(&key).await {
            return Err(OAuthError::rate_limited(
                "invalid_request",
                "too many pushed authorization requests; retry later",
            ));
        }
    }
    if params.contains("request_uri") {
        return Err(OAuthError::invalid_request(
            "request_uri is not allowed in a pushed request",
        ));
    }
    let proof =
        crate::dpop::verify_token_request(app, req, &client, &app.config.par_endpoint()).await?;
    if let Some(proof) = &proof {
        match params.get("dpop_jkt") {
            None => params.insert("dpop_jkt", &proof.jkt),
            Some(jkt) if jkt == proof.jkt => {}
            Some(_) => {
                return Err(OAuthError::invalid_request(
                    "dpop_jkt does not match the DPoP proof key",
                ));
            }
        }
    }
    let effective = match params.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "redirect_uri is not registered for this client",
            ));
        }
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => return Err(OAuthError::invalid_request("redirect_uri is required")),
        },
    };
    if let Err(Failure { error, description }) = validate(app, &client, &params, &effective).await {
        let status = if error == "access_denied" { 403 } else { 400 };
        return Err(OAuthError::new(error, status, description));
    }
    // The checks passed: only now is anything written for this request.
    if let Some(proof) = &proof {
        crate::dpop::record_token_request_jti(app, proof).await?;
    }
    // Only the client's own credentials are dropped; everything else is replayed.
    let mut stored = Params::default();
    for name in [
        "response_type",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "audience",
        "code_challenge",
        "code_challenge_method",
        "response_mode",
        "prompt",
        "dpop_jkt",
        "organization",
    ] {
        if let Some(v) = params.get(name) {
            stored.insert(name, v);
        }
    }
    stored.insert("client_id", &client.client_id);
    params = stored;
    let id = random_token(&app.platform)?;
    let request_uri = format!("{PAR_URN_PREFIX}{}", id.as_str());
    put_json(
        &app.store,
        &format!("par:{}", sha256_b64(request_uri.as_bytes())),
        &params,
        Some(PAR_LIFETIME),
    )
    .await?;
    Ok(HttpResponse::json(
        201,
        &json!({"request_uri": request_uri, "expires_in": PAR_LIFETIME}),
    )
    .no_store())
}

/// Signs a transaction: `b64url(json).b64url(HMAC-SHA256(secret, "tx." + b64url(json)))`.
#[must_use]
pub fn seal_transaction(secret: &[u8], tx: &Transaction) -> String {
    let body = base64url::encode(json!(tx).to_string().as_bytes());
    let mac = hmac_sha256(secret, format!("tx.{body}").as_bytes());
    format!("{body}.{}", base64url::encode(&mac))
}

/// Verifies and decodes a signed transaction (constant-time MAC check, expiry).
#[must_use]
pub fn open_transaction(secret: &[u8], sealed: &str, now: i64) -> Option<Transaction> {
    let (body, mac) = sealed.split_once('.')?;
    let mac = base64url::decode(mac).ok()?;
    let expected = hmac_sha256(secret, format!("tx.{body}").as_bytes());
    if !bool::from(expected.as_slice().ct_eq(&mac)) {
        return None;
    }
    let tx: Transaction = serde_json::from_slice(&base64url::decode(body).ok()?).ok()?;
    (tx.exp > now).then_some(tx)
}

/// `POST /authorize/login`: checks the signed transaction and the credentials, then
/// issues a code and redirects (`303`). Wrong credentials re-render the form (`401`)
/// with one generic message.
pub async fn login<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    if req.method != "POST" {
        return super::method_not_allowed("POST");
    }
    if !from_login_page(&app.config.issuer, req) {
        return error_page(
            403,
            "This sign-in form was not sent from this server's sign-in page. Go back to the application and start again.",
        );
    }
    if req.body_too_large
        || req.media_type().as_deref() != Some("application/x-www-form-urlencoded")
    {
        return error_page(400, "The login form was not submitted correctly.");
    }
    let Ok(form) = Params::from_form(&req.body) else {
        return error_page(400, "The login form was not submitted correctly.");
    };
    let now = app.platform.now();
    let Some(tx) = form
        .get("tx")
        .and_then(|t| open_transaction(&app.config.transaction_secret, t, now))
    else {
        return error_page(
            400,
            "This login session is invalid or has expired. Go back to the application and start again.",
        );
    };
    let client = match get_json::<S, Client>(&app.store, &client_key(&tx.client_id)).await {
        Ok(Some(c)) => c,
        Ok(None) => return error_page(400, "Unknown client."),
        Err(e) => return store_failure_page(&e),
    };
    // The client may have changed since /authorize (up to 10 minutes ago).
    if !client.allows_grant("authorization_code")
        || !client.redirect_uris.contains(&tx.effective_redirect_uri)
    {
        return error_page(
            400,
            "This application can no longer sign in here. Go back to the application and start again.",
        );
    }
    let (username, user) = match sign_in(app, req, &form).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some(user) = user else {
        return login_page(
            app,
            &client,
            &tx,
            Some((&username, "Wrong email or password.")),
            401,
        );
    };
    // The right password: this browser is known to the account from now on.
    let cookie = crate::users::device_cookie(
        &app.config.issuer,
        &app.config.transaction_secret,
        &user,
        now,
    );
    signed_in(app, &tx, &user, now)
        .await
        .with_header("Set-Cookie", &cookie)
}

/// The answer to a sign-in with the right password: a code, or `access_denied` when the
/// user is not a member of the transaction's organization, by redirect (`303`).
async fn signed_in<S: Store, P: Platform>(
    app: &App<S, P>,
    tx: &Transaction,
    user: &User,
    now: i64,
) -> HttpResponse {
    // The organization may have changed since /authorize; the user must be a member.
    if let Some(org_id) = tx.org_id.as_deref() {
        match crate::orgs::find(app, org_id).await {
            Ok(Some(org)) if org.has_member(&user.user_id) => {}
            Ok(_) => {
                let mut pairs = vec![
                    ("error", "access_denied"),
                    (
                        "error_description",
                        "the user is not a member of the organization",
                    ),
                ];
                if let Some(state) = tx.state.as_deref() {
                    pairs.push(("state", state));
                }
                pairs.push(("iss", app.config.issuer.as_str()));
                return HttpResponse::redirect(
                    303,
                    &with_query(&tx.effective_redirect_uri, &pairs),
                );
            }
            Err(e) => return oauth_failure_page(&e),
        }
    }
    match issue_code(app, tx, user, now).await {
        Ok(code) => {
            let mut pairs = vec![("code", code.as_str())];
            if let Some(state) = tx.state.as_deref() {
                pairs.push(("state", state));
            }
            pairs.push(("iss", app.config.issuer.as_str()));
            HttpResponse::redirect(303, &with_query(&tx.effective_redirect_uri, &pairs))
        }
        Err(e) => store_failure_page(&e),
    }
}

/// The sign-in step of a login form (`username`, `password`), shared by `/authorize/login`
/// and `/activate/login`: the rate limits first (rule 12: over them the form answers `429`,
/// a right password too), then one password check whose cost is the same for known and
/// unknown emails. `Ok((username, None))`: wrong email or password, for the caller to show
/// its form again; `Err` is the page to answer.
///
/// # Errors
/// The `429` page, or the storage-failure page.
pub async fn sign_in<S: Store, P: Platform>(
    app: &App<S, P>,
    req: &HttpRequest,
    form: &Params,
) -> Result<(String, Option<User>), HttpResponse> {
    let username = form.get("username").unwrap_or_default().trim().to_owned();
    let password = zeroize::Zeroizing::new(form.get("password").unwrap_or_default().to_owned());
    if !login_allowed(app, req, &username, true).await {
        return Err(error_page(
            429,
            "Too many sign-in attempts. Wait a minute, then try again.",
        )
        .with_header(
            "Retry-After",
            &crate::ratelimit::RETRY_AFTER_SECONDS.to_string(),
        ));
    }
    if username.is_empty() || username.len() > 254 || password.is_empty() {
        return Ok((username, None));
    }
    match authenticate_user(app, &username, &password).await {
        Ok(user) => Ok((username, user)),
        Err(e) => Err(store_failure_page(&e)),
    }
}

/// Login CSRF protection (RFC 6749 §10.12, RFC 9700 §4.4.1.8): a login must come from
/// the server's own page. The `Origin` of the form post must be the issuer's origin
/// (browsers send it on every cross-origin and same-origin `POST`); without an `Origin`,
/// `Sec-Fetch-Site: same-origin` is accepted, and so is `Origin: null` with it (what a
/// browser sends from a page with `Referrer-Policy: no-referrer`, as ours are). Anything
/// else, `Origin: null` alone included, is refused, so another site cannot sign a
/// victim's browser into the attacker's account with a transaction of its own.
#[must_use]
pub fn from_login_page(issuer: &str, req: &HttpRequest) -> bool {
    let issuer_origin = issuer.split_once("://").map_or(issuer, |(scheme, rest)| {
        let authority = rest.split('/').next().unwrap_or_default();
        &issuer[..scheme.len() + 3 + authority.len()]
    });
    if req.header_count("origin") > 1 {
        return false;
    }
    let same_origin_metadata = req
        .header("sec-fetch-site")
        .is_some_and(|site| site.trim().eq_ignore_ascii_case("same-origin"));
    match req.header("origin") {
        // A page served with `Referrer-Policy: no-referrer` (ours) makes the browser send
        // `Origin: null` even for a same-origin form post (Fetch, "append a request
        // `Origin` header"); its fetch metadata, which no page can set, still says
        // same-origin. A sandboxed frame elsewhere sends `null` with `cross-site`.
        Some(origin) if origin.trim() == "null" => same_origin_metadata,
        Some(origin) => origin.eq_ignore_ascii_case(issuer_origin),
        None => same_origin_metadata,
    }
}

async fn issue_code<S: Store, P: Platform>(
    app: &App<S, P>,
    tx: &Transaction,
    user: &User,
    now: i64,
) -> Result<zeroize::Zeroizing<String>, crate::store::StoreError> {
    crate::users::ensure_subject_index(app, user).await?;
    let code = random_token(&app.platform)
        .map_err(|_| crate::store::StoreError::Backend("random".into()))?;
    let record = CodeRecord {
        client_id: tx.client_id.clone(),
        redirect_uri: tx.redirect_uri.clone(),
        effective_redirect_uri: tx.effective_redirect_uri.clone(),
        code_challenge: tx.code_challenge.clone(),
        code_challenge_method: tx.code_challenge_method.clone(),
        scope: tx.scope.clone(),
        audience: tx.audience.clone(),
        nonce: tx.nonce.clone(),
        sub: user.user_id.clone(),
        email: user.email.clone(),
        name: user.name.clone(),
        auth_time: now,
        expires_at: now.saturating_add(CODE_LIFETIME),
        dpop_jkt: tx.dpop_jkt.clone(),
        org_id: tx.org_id.clone(),
    };
    let ttl = u64::try_from(CODE_LIFETIME).unwrap_or(60);
    put_json(
        &app.store,
        &format!("code:{}", sha256_b64(code.as_bytes())),
        &record,
        Some(ttl),
    )
    .await?;
    Ok(code)
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}\
label{display:block;margin-top:1rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #555;border-radius:4px}\
input:focus,button:focus{outline:3px solid #1a5fb4;outline-offset:2px}\
button{margin-top:1.5rem;padding:.7rem 1.4rem;font-size:1rem;background:#1a5fb4;color:#fff;border:0;border-radius:4px;cursor:pointer}\
.error{color:#a51d2d;font-weight:600}";

/// A page of the server's own look (the login form's style), its title escaped.
#[must_use]
pub fn page(title: &str, content: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body><main>{content}</main></body></html>",
        html_escape(title)
    )
}

fn login_page<S: Store, P: Platform>(
    app: &App<S, P>,
    client: &Client,
    tx: &Transaction,
    error: Option<(&str, &str)>,
    status: u16,
) -> HttpResponse {
    let app_name = if client.name.is_empty() {
        &client.client_id
    } else {
        &client.name
    };
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
    let mut scopes = String::new();
    if has_scope(&tx.scope, "offline_access") || tx.audience.is_some() {
        scopes = format!(
            "<p>The application is asking for: <strong>{}</strong>.</p>",
            html_escape(&tx.scope)
        );
    }
    let content = format!(
        "<h1>Sign in</h1><p>to continue to <strong>{app}</strong></p>{scopes}{alert}\
<form method=\"post\" action=\"/authorize/login\" novalidate>\
<input type=\"hidden\" name=\"tx\" value=\"{tx}\">\
<label for=\"username\">Email</label>\
<input id=\"username\" name=\"username\" type=\"email\" autocomplete=\"username\" required autofocus value=\"{user}\"{invalid}>\
<label for=\"password\">Password</label>\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{invalid}>\
<button type=\"submit\">Continue</button></form>",
        app = html_escape(app_name),
        tx = html_escape(&seal_transaction(&app.config.transaction_secret, tx)),
        user = html_escape(username),
    );
    HttpResponse::html(status, page("Sign in", &content))
}

/// An error page (nothing redirected).
#[must_use]
pub fn error_page(status: u16, message: &str) -> HttpResponse {
    let content = format!(
        "<h1>Something went wrong</h1><p class=\"error\" role=\"alert\">{}</p>",
        html_escape(message)
    );
    HttpResponse::html(status, page("Error", &content))
}

/// The page for an internal failure of a grant step.
#[must_use]
pub fn oauth_failure_page(err: &crate::error::OAuthError) -> HttpResponse {
    if err.status == 503 {
        error_page(503, "The service is busy. Please try again in a moment.")
            .with_header("Retry-After", "1")
    } else {
        error_page(500, "The service is unavailable. Please try again later.")
    }
}

/// The page for a storage failure (`503` with `Retry-After` when rate limited).
#[must_use]
pub fn store_failure_page(err: &crate::store::StoreError) -> HttpResponse {
    if *err == crate::store::StoreError::RateLimited {
        error_page(503, "The service is busy. Please try again in a moment.")
            .with_header("Retry-After", "1")
    } else {
        error_page(500, "The service is unavailable. Please try again later.")
    }
}
