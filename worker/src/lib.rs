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
pub(crate) mod verified;

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
    use wasm_bindgen::JsValue;
    use worker::{Context, Env, ObjectNamespace, console_error, console_warn, event};
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

    /// What a request needs from the environment besides the configuration: `ISSUER`,
    /// `STORE` and the bindings.
    #[derive(Clone)]
    struct Bindings {
        issuer: Option<String>,
        kv_only: bool,
        kv: Option<worker::kv::KvStore>,
        shards: Option<ObjectNamespace>,
        /// The rate-limit binding (a `worker::RateLimiter`, which is not `Clone`).
        limiter: Option<JsValue>,
    }

    impl Bindings {
        fn read(env: &Env) -> Self {
            Self {
                issuer: env_string(env, "ISSUER"),
                kv_only: env_string(env, "STORE").as_deref() == Some("kv"),
                kv: env.kv("OAUTH_KV").ok(),
                shards: env.durable_object(crate::store::durable::BINDING).ok(),
                // The Workers Rate Limiting binding, read without the constructor-name check
                // of `Env::rate_limiter`. Missing: fail open, with a warning
                // (crate::ratelimit).
                limiter: js_sys::Reflect::get(env, &crate::ratelimit::BINDING.into())
                    .ok()
                    .filter(JsValue::is_object),
            }
        }
    }

    /// Whether `env` is the very object `seen` (the runtime hands every request of an
    /// isolate the same `env`, whose bindings never change).
    fn same_env(env: &Env, seen: &JsValue) -> bool {
        js_sys::Object::is(env, seen)
    }

    thread_local! {
        /// The configuration of this isolate, parsed once (signing keys checked, secrets
        /// decoded), with the `env` object, the issuer and the SHA-256 of the issuer and
        /// environment values it was made from: the same `env` object and issuer reuse it
        /// without reading the environment, another `env` whose values have the same
        /// digest reuses it after reading them, anything else is parsed again. Borrowed
        /// only in [`cached_config`], never across an await.
        static CONFIG: RefCell<Option<(JsValue, String, String, Config)>> = const { RefCell::new(None) };

        /// The bindings read from the `env` object this isolate saw last.
        static BINDINGS: RefCell<Option<(JsValue, Bindings)>> = const { RefCell::new(None) };
    }

    /// The bindings of `env`: read on the first request of an isolate (about twenty calls
    /// into JavaScript), then a copy while `env` is the same object.
    fn cached_bindings(env: &Env) -> Bindings {
        let hit = BINDINGS.with(|b| {
            b.borrow()
                .as_ref()
                .filter(|(seen, _)| same_env(env, seen))
                .map(|(_, bindings)| bindings.clone())
        });
        if let Some(bindings) = hit {
            return bindings;
        }
        let bindings = Bindings::read(env);
        let seen: &JsValue = env;
        BINDINGS.with(|b| *b.borrow_mut() = Some((seen.clone(), bindings.clone())));
        bindings
    }

    /// The configuration for `issuer` and this environment: parsed on the first request of
    /// an isolate, then a copy of the parsed one (parsing SIGNING_KEYS checks each P-256
    /// point and costs more than the copy).
    fn cached_config(env: &Env, issuer: &str) -> Result<Config, ConfigError> {
        let same = CONFIG.with(|c| {
            c.borrow()
                .as_ref()
                .filter(|(seen, i, _, _)| i == issuer && same_env(env, seen))
                .map(|(_, _, _, config)| config.clone())
        });
        if let Some(config) = same {
            return Ok(config);
        }
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
        let seen: &JsValue = env;
        let hit = CONFIG.with(|c| {
            let mut c = c.borrow_mut();
            let entry = c.as_mut().filter(|(_, _, f, _)| *f == fingerprint)?;
            entry.0 = seen.clone();
            entry.1 = issuer.to_owned();
            Some(entry.3.clone())
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
        CONFIG.with(|c| {
            *c.borrow_mut() = Some((seen.clone(), issuer.to_owned(), fingerprint, config.clone()));
        });
        Ok(config)
    }

    /// The fetch handler, on the runtime's own `Request` and `Response` (read and built by
    /// [`HttpRequest::from_web`] and [`crate::http::HttpResponse::into_web`] with few calls
    /// into JavaScript).
    #[event(fetch)]
    async fn fetch(
        req: web_sys::Request,
        env: Env,
        _ctx: Context,
    ) -> worker::Result<web_sys::Response> {
        let Ok(http) = HttpRequest::from_web(req).await else {
            return OAuthError::invalid_request("the request could not be read")
                .to_response()
                .into_web();
        };
        // Before the configuration: without ISSUER it derives from the request origin.
        if !http.is_secure_or_loopback() {
            return super::refuse_plain_http(&http).into_web();
        }
        let bindings = cached_bindings(&env);
        let issuer = bindings
            .issuer
            .clone()
            .unwrap_or_else(|| format!("{}/", http.origin));
        let config = match cached_config(&env, &issuer) {
            Ok(config) => config,
            Err(err) => {
                console_error!("edge-oauth configuration error: {err}");
                return super::with_hsts(&http, OAuthError::server_error().to_response())
                    .into_web();
            }
        };
        let Some(kv) = bindings.kv else {
            console_error!("edge-oauth configuration error: KV binding OAUTH_KV is missing");
            return super::with_hsts(&http, OAuthError::server_error().to_response()).into_web();
        };
        if bindings.limiter.is_none() {
            console_warn!(
                "edge-oauth configuration warning: rate-limit binding RATE_LIMITER is missing; rate limiting is off"
            );
        }
        let platform = WebPlatform::new(
            bindings
                .limiter
                .map(wasm_bindgen::JsCast::unchecked_into::<worker::RateLimiter>),
        );
        // STORE = "kv" selects the KV-only store (README, "Consistency"); the default keeps
        // server state in the OAUTH_STATE Durable Objects.
        if bindings.kv_only {
            let app = App {
                config,
                store: KvStore::new(kv),
                platform,
            };
            return route(&app, &http).await.into_web();
        }
        let Some(shards) = bindings.shards else {
            console_error!(
                "edge-oauth configuration error: Durable Object binding OAUTH_STATE is missing (set STORE = \"kv\" for the KV-only store)"
            );
            return OAuthError::server_error().to_response().into_web();
        };
        let app = App {
            config,
            store: DurableStore::new(KvStore::new(kv), shards),
            platform,
        };
        route(&app, &http).await.into_web()
    }
}
