//! `edge-oauth-worker`: an OAuth 2.0 / OpenID Connect authorization server for
//! Cloudflare Workers, with Auth0-compatible `/oauth/token` semantics.
//!
//! This file only wires routes to named handlers. Everything below [`route`] is plain
//! async Rust over the [`store::Store`] and [`platform::Platform`] traits, so the whole
//! server runs natively under `cargo test` against [`store::memory::MemoryStore`].
//! Only `lib.rs` (the fetch event), `http.rs` (conversions), the store backends
//! `store/kv.rs` and `store/durable.rs` (with the Durable Object class `StateShard`) and
//! `webcrypto.rs` touch Workers or JavaScript types, and only on `wasm32`.

#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod client_auth;
pub mod config;
pub mod dpop;
pub mod endpoints;
pub mod error;
pub mod grants;
pub mod http;
pub mod jwt;
pub mod mtls;
pub mod orgs;
pub mod params;
pub mod platform;
pub mod ratelimit;
pub mod rbac;
pub mod store;
pub mod tokens;
pub mod users;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(not(test))]
#[doc(hidden)]
pub mod testing;

#[cfg(target_arch = "wasm32")]
pub mod webcrypto;

use config::Config;
use endpoints::{authorize, device, discovery, revoke, token, userinfo};
use http::{HttpRequest, HttpResponse};
use platform::Platform;
use store::Store;

/// Everything a handler needs: configuration, storage and platform services.
pub struct App<S, P> {
    /// The configuration.
    pub config: Config,
    /// The store (Durable Objects for server state and KV for the tenant, in production).
    pub store: S,
    /// Clock, randomness and platform crypto.
    pub platform: P,
}

/// Routes a request to its handler. Unknown paths are `404` (static assets of the demo
/// SPA are served by the Workers assets layer before the worker runs).
///
/// Plain `http:` is refused (`400 invalid_request`, rules.md items 1, 10) unless the host
/// is a loopback address; a `GET` of `/authorize` over plain HTTP is redirected to the
/// same URL on `https:` instead, since a browser may have typed it.
pub async fn route<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    if !req.is_secure_or_loopback() {
        return refuse_plain_http(req);
    }
    with_hsts(req, dispatch(app, req).await)
}

/// `Strict-Transport-Security: max-age=31536000` (RFC 6797 §7.1) on every response to a
/// request that came over `https:`; plain-HTTP answers (loopback development) get none,
/// since browsers ignore it there (§8.1).
#[must_use]
pub fn with_hsts(req: &HttpRequest, response: HttpResponse) -> HttpResponse {
    if req.origin.starts_with("https://") && response.header("strict-transport-security").is_none()
    {
        response.with_header("Strict-Transport-Security", HSTS)
    } else {
        response
    }
}

/// The `Strict-Transport-Security` value: one year.
pub const HSTS: &str = "max-age=31536000";

async fn dispatch<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    match req.path.as_str() {
        "/oauth/token" => token::handle(app, req).await,
        "/oauth/revoke" => revoke::handle(app, req).await,
        "/authorize" => authorize::handle(app, req).await,
        "/authorize/login" => authorize::login(app, req).await,
        "/oauth/par" => authorize::par(app, req).await,
        "/oauth/device/code" => device::device_authorization(app, req).await,
        "/activate" => device::activate(app, req).await,
        "/activate/login" => device::activate_login(app, req).await,
        "/activate/confirm" => device::activate_confirm(app, req).await,
        "/userinfo" => userinfo::handle(app, req).await,
        "/.well-known/openid-configuration" | "/.well-known/oauth-authorization-server" => {
            discovery::handle_metadata(app, req)
        }
        "/.well-known/jwks.json" => discovery::handle_jwks(app, req),
        _ => HttpResponse::json(
            404,
            &serde_json::json!({"error": "not_found", "error_description": "no such endpoint"}),
        ),
    }
}

fn refuse_plain_http(req: &HttpRequest) -> HttpResponse {
    if req.path == "/authorize"
        && (req.method == "GET" || req.method == "HEAD")
        && let Some(authority) = req.origin.strip_prefix("http://")
    {
        let mut location = format!("https://{authority}{}", req.path);
        if let Some(query) = &req.query {
            location.push('?');
            location.push_str(query);
        }
        return HttpResponse::redirect(301, &location);
    }
    error::OAuthError::invalid_request("TLS is required: use https").to_response()
}

#[cfg(target_arch = "wasm32")]
mod entry {
    use super::{App, Config, HttpRequest, route};
    use crate::config::ConfigError;
    use crate::error::OAuthError;
    use crate::store::durable::DurableStore;
    use crate::store::kv::KvStore;
    use crate::webcrypto::WebPlatform;
    use std::cell::RefCell;
    use worker::{Context, Env, Request, Response, console_error, console_warn, event};
    use zeroize::Zeroizing;

    fn env_string(env: &Env, name: &str) -> Option<String> {
        env.secret(name)
            .map(|s| s.to_string())
            .or_else(|_| env.var(name).map(|v| v.to_string()))
            .ok()
            .filter(|s| !s.trim().is_empty())
    }

    /// The variables and secrets the configuration is made of, in a fixed order.
    const CONFIG_VARS: [&str; 11] = [
        "SIGNING_KEYS",
        "TRANSACTION_SECRET",
        "CLIENT_SECRET_KEY",
        "DPOP_NONCE_SECRET",
        "DPOP_IAT_MAX_AGE",
        "DPOP_IAT_MAX_FUTURE",
        "PASSWORD_ITERATIONS",
        "CLIENT_ASSERTION_MAX_LIFETIME",
        "ORGANIZATION_NAME_IN_TOKENS",
        "MTLS_PROXY_SECRET",
        "TOKEN_EXCHANGE_REFRESH_TOKENS",
    ];

    thread_local! {
        /// The configuration of this isolate, parsed once (signing keys checked, secrets
        /// decoded), with the SHA-256 of the issuer and environment values it was made
        /// from, so that a changed environment is parsed again. Borrowed only in
        /// [`cached_config`], never across an await.
        static CONFIG: RefCell<Option<(String, Config)>> = const { RefCell::new(None) };
    }

    /// The configuration for `issuer` and this environment: parsed on the first request of
    /// an isolate, then a copy of the parsed one (parsing SIGNING_KEYS checks each P-256
    /// point and costs more than the copy).
    fn cached_config(env: &Env, issuer: &str) -> Result<Config, ConfigError> {
        let values: Vec<Option<Zeroizing<String>>> = CONFIG_VARS
            .iter()
            .map(|name| env_string(env, name).map(Zeroizing::new))
            .collect();
        let mut material = Zeroizing::new(issuer.to_owned());
        for value in &values {
            // NUL separates the values; SOH stands for an absent one.
            material.push('\0');
            material.push_str(value.as_ref().map_or("\u{1}", |v| v.as_str()));
        }
        let fingerprint = crate::jwt::sha256_b64(material.as_bytes());
        let hit = CONFIG.with(|c| {
            c.borrow()
                .as_ref()
                .filter(|(f, _)| *f == fingerprint)
                .map(|(_, config)| config.clone())
        });
        if let Some(config) = hit {
            return Ok(config);
        }
        let value = |i: usize| values.get(i).and_then(Option::as_ref).map(|v| v.as_str());
        let config = Config::from_env(issuer, value(0), value(1), value(2))
            .and_then(|config| config.with_dpop_env(value(3), value(4), value(5)))
            .and_then(|config| config.with_password_iterations(value(6)))
            .and_then(|config| config.with_assertion_max_lifetime(value(7)))
            .and_then(|config| config.with_organization_names(value(8)))
            .and_then(|config| config.with_mtls_proxy_secret(value(9)))
            .and_then(|config| config.with_token_exchange_refresh_tokens(value(10)))?;
        CONFIG.with(|c| *c.borrow_mut() = Some((fingerprint, config.clone())));
        Ok(config)
    }

    #[event(fetch)]
    async fn fetch(mut req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
        let Ok(http) = HttpRequest::from_worker(&mut req).await else {
            return OAuthError::invalid_request("the request could not be read")
                .to_response()
                .into_worker();
        };
        // Before the configuration: without ISSUER it derives from the request origin.
        if !http.is_secure_or_loopback() {
            return super::refuse_plain_http(&http).into_worker();
        }
        let issuer = env_string(&env, "ISSUER").unwrap_or_else(|| format!("{}/", http.origin));
        let config = match cached_config(&env, &issuer) {
            Ok(config) => config,
            Err(err) => {
                console_error!("edge-oauth configuration error: {err}");
                return super::with_hsts(&http, OAuthError::server_error().to_response())
                    .into_worker();
            }
        };
        let kv = match env.kv("OAUTH_KV") {
            Ok(kv) => kv,
            Err(_) => {
                console_error!("edge-oauth configuration error: KV binding OAUTH_KV is missing");
                return super::with_hsts(&http, OAuthError::server_error().to_response())
                    .into_worker();
            }
        };
        // The Workers Rate Limiting binding, read without the constructor-name check of
        // `Env::rate_limiter`. Missing: fail open, with a warning (crate::ratelimit).
        let limiter = js_sys::Reflect::get(&env, &crate::ratelimit::BINDING.into())
            .ok()
            .filter(wasm_bindgen::JsValue::is_object)
            .map(wasm_bindgen::JsCast::unchecked_into::<worker::RateLimiter>);
        if limiter.is_none() {
            console_warn!(
                "edge-oauth configuration warning: rate-limit binding RATE_LIMITER is missing; rate limiting is off"
            );
        }
        let platform = WebPlatform::new(limiter);
        // STORE = "kv" selects the KV-only store (README, "Consistency"); the default keeps
        // server state in the OAUTH_STATE Durable Objects.
        if env_string(&env, "STORE").as_deref() == Some("kv") {
            let app = App {
                config,
                store: KvStore::new(kv),
                platform,
            };
            return route(&app, &http).await.into_worker();
        }
        let Ok(shards) = env.durable_object(crate::store::durable::BINDING) else {
            console_error!(
                "edge-oauth configuration error: Durable Object binding OAUTH_STATE is missing (set STORE = \"kv\" for the KV-only store)"
            );
            return OAuthError::server_error().to_response().into_worker();
        };
        let app = App {
            config,
            store: DurableStore::new(KvStore::new(kv), shards),
            platform,
        };
        route(&app, &http).await.into_worker()
    }
}
