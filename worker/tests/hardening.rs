//! Native tests of the review fixes: code-replay revocation after expiry, refresh tokens
//! of deleted users, bounded scope parsing, TLS, the CORS origin index, rate limits,
//! password iteration policy, and the smaller hardening items. Test names cite the rule
//! (`rules.md` item) or RFC section they check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use edge_oauth::base64url;
use edge_oauth_worker::config::Config;
use edge_oauth_worker::http::{HttpRequest, HttpResponse};
use edge_oauth_worker::jwt::{DecodedJwt, sha256_b64};
use edge_oauth_worker::params::{Params, ParamsError};
use edge_oauth_worker::platform::NativePlatform;
use edge_oauth_worker::store::Store;
use edge_oauth_worker::testing::block_on;
use edge_oauth_worker::tokens::{MAX_SCOPE_TOKENS, parse_scope};
use serde_json::{Value, json};

const CLOSED_API: &str = "https://closed.example.com";
const SPA_ORIGIN: &str = "https://spa.example";
const ITERATIONS: u32 = 1000;

struct Options {
    client_secret_key: bool,
    password_iterations: Option<&'static str>,
    rate_limit: Option<u32>,
}

const DEFAULTS: Options = Options {
    client_secret_key: false,
    password_iterations: None,
    rate_limit: None,
};

fn harness_with(options: &Options) -> Harness {
    let v = vectors();
    let csk = base64url::encode(&[9u8; 32]);
    let config = config(&v, options.client_secret_key.then_some(csk.as_str()))
        .with_password_iterations(options.password_iterations)
        .unwrap();
    let (clock, store) = Harness::clock_and_store();
    // Every client here is an SPA-type record.
    let client = |id: &str, method: &str, grants: &[&str], secret: Option<&str>, cb: &[&str]| {
        common::client(id, "spa", method, grants, secret, cb)
    };
    put(
        &store,
        "client:spa",
        &client(
            "spa",
            "none",
            &["authorization_code", "refresh_token"],
            None,
            &[SPA_CB],
        ),
    );
    put(
        &store,
        "client:m2m",
        &client(
            "m2m",
            "client_secret_basic",
            &["client_credentials"],
            Some(M2M_SECRET),
            &[],
        ),
    );
    let mut pkj = client(
        "client-abc",
        "private_key_jwt",
        &["client_credentials"],
        None,
        &[],
    );
    pkj["jwks"] = json!({"keys": [
        v["client_assertions"]["client_assertions"]["verifier_policy"]["registered_public_jwk"]
    ]});
    put(&store, "client:client-abc", &pkj);
    put(
        &store,
        &format!("origin:{SPA_ORIGIN}"),
        &json!({"clients": ["client-abc", "m2m", "spa"]}),
    );
    put(
        &store,
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items"], "token_lifetime": 3600, "allow_offline_access": true}),
    );
    put(
        &store,
        &format!("api:{CLOSED_API}"),
        &json!({"identifier": CLOSED_API, "scopes": ["read"], "allow_offline_access": false}),
    );
    put(
        &store,
        &format!("grant:m2m:{API}"),
        &json!({"client_id": "m2m", "audience": API, "scopes": ["read:items"]}),
    );
    put(
        &store,
        "user:alice@example.com",
        &user_record("user|alice", "alice@example.com", "Alice", ITERATIONS),
    );
    let mut platform = NativePlatform::new(clock.clone());
    if let Some(limit) = options.rate_limit {
        platform = platform.with_rate_limit(limit, 60);
    }
    Harness::new(config, store, platform, clock)
}

fn harness() -> Harness {
    harness_with(&DEFAULTS)
}

impl Harness {
    fn token(&self, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
        self.post("/oauth/token", body, headers)
    }

    fn authorize_page(&self, audience: &str, scope: &str) -> HttpResponse {
        self.send(&HttpRequest::new(
            "GET",
            &format!(
                "/authorize?response_type=code&client_id=spa&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&audience={}&scope={}",
                enc(SPA_CB),
                enc(audience),
                enc(scope)
            ),
        ))
    }

    fn login(&self, tx: &str, user: &str, password: &str, ip: Option<&str>) -> HttpResponse {
        let mut req = login_request(tx, user, password);
        if let Some(ip) = ip {
            req = req.with_header("cf-connecting-ip", ip);
        }
        self.send(&req)
    }

    fn code_for(&self, audience: &str, scope: &str) -> String {
        let page = self.authorize_page(audience, scope);
        assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
        let resp = self.login(&hidden_tx(&page), "alice@example.com", PASSWORD, None);
        assert_eq!(resp.status, 303);
        query_param(resp.header("location").unwrap(), "code").unwrap()
    }

    fn exchange(&self, code: &str) -> HttpResponse {
        self.token(
            &format!(
                "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
                enc(SPA_CB)
            ),
            &[],
        )
    }

    fn refresh(&self, token: &str) -> HttpResponse {
        self.token(
            &format!("grant_type=refresh_token&client_id=spa&refresh_token={token}"),
            &[],
        )
    }
}

// ------------------------------------------------------------ 1. code replay (19, 89)

#[test]
fn rule_19_89_code_replay_after_the_code_expired_still_revokes_the_family() {
    let h = harness();
    let code = h.code_for(API, "openid offline_access read:items");
    let first = h.exchange(&code);
    assert_eq!(first.status, 200, "{:?}", first.json_body());
    let refresh = json_str(&first, "refresh_token");
    // The code record (60 s) is gone; the replay marker (600 s) is not.
    h.clock.advance(120);
    let hash = sha256_b64(code.as_bytes());
    assert!(
        block_on(h.app.store.get(&format!("code:{hash}")))
            .unwrap()
            .is_none()
    );
    let replay = h.exchange(&code);
    assert_eq!(
        (replay.status, error_of(&replay).as_str()),
        (400, "invalid_grant")
    );
    assert_eq!(
        replay.json_body()["error_description"],
        "the authorization code was already used"
    );
    assert_eq!(
        error_of(&h.refresh(&refresh)),
        "invalid_grant",
        "the family issued from the replayed code is revoked"
    );
}

// ------------------------------------------------------------ 2. refresh of a deleted user

#[test]
fn rfc6749_6_refresh_token_of_a_deleted_or_recreated_user_is_invalid_grant() {
    let h = harness();
    let first = h.exchange(&h.code_for(API, "openid profile offline_access read:items"));
    let r1 = json_str(&first, "refresh_token");
    // The name comes from the fresh user record.
    put(
        &h.app.store,
        "user:alice@example.com",
        &user_record(
            "user|alice",
            "alice@example.com",
            "Alice Renamed",
            ITERATIONS,
        ),
    );
    let second = h.refresh(&r1);
    assert_eq!(second.status, 200, "{:?}", second.json_body());
    let id = DecodedJwt::decode(second.json_body()["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(id.claims["name"], "Alice Renamed");
    let r2 = json_str(&second, "refresh_token");
    // Re-created under the same email with another user_id: refused.
    put(
        &h.app.store,
        "user:alice@example.com",
        &user_record("user|other", "alice@example.com", "Alice", ITERATIONS),
    );
    assert_eq!(error_of(&h.refresh(&r2)), "invalid_grant");
    // Deleted: refused.
    block_on(h.app.store.delete("user:alice@example.com")).unwrap();
    assert_eq!(error_of(&h.refresh(&r2)), "invalid_grant");
}

// ------------------------------------------------------------ 3. bounded scope parsing

#[test]
fn rfc6749_3_3_scope_token_count_is_capped_and_repeats_are_dropped() {
    let ok = vec!["a"; MAX_SCOPE_TOKENS].join(" ");
    assert_eq!(parse_scope(&ok).unwrap(), vec!["a".to_owned()]);
    let distinct: Vec<String> = (0..MAX_SCOPE_TOKENS).map(|i| format!("s{i}")).collect();
    assert_eq!(parse_scope(&distinct.join(" ")).unwrap(), distinct);
    let over = vec!["a"; MAX_SCOPE_TOKENS + 1].join(" ");
    assert_eq!(parse_scope(&over).unwrap_err().error, "invalid_scope");
    // At /authorize, a huge scope (about 15 KB, 5000 tokens) is refused quickly.
    let h = harness();
    let huge: Vec<String> = (0..5000).map(|i| format!("x{i}")).collect();
    let started = std::time::Instant::now();
    let resp = h.authorize_page(API, &huge.join(" "));
    assert!(started.elapsed().as_secs() < 2);
    assert_eq!(resp.status, 302);
    let location = resp.header("location").unwrap();
    assert_eq!(
        query_param(location, "error").as_deref(),
        Some("invalid_scope")
    );
}

// ------------------------------------------------------------ 4. TLS (rules 1, 10)

#[test]
fn rule_1_10_plain_http_is_refused_except_on_loopback() {
    let h = harness();
    let on = |origin: &str, method: &str, path: &str| {
        let mut req = HttpRequest::new(method, path);
        req.origin = origin.to_owned();
        h.send(&req)
    };
    let resp = on("http://auth.example.com", "POST", "/oauth/token");
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (400, "invalid_request")
    );
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let resp = on("http://auth.example.com", "GET", "/.well-known/jwks.json");
    assert_eq!(resp.status, 400);
    // GET /authorize over http is sent to https, query kept.
    let resp = on(
        "http://auth.example.com",
        "GET",
        "/authorize?client_id=spa&x=1",
    );
    assert_eq!(resp.status, 301);
    assert_eq!(
        resp.header("location"),
        Some("https://auth.example.com/authorize?client_id=spa&x=1")
    );
    for origin in [
        "https://auth.example.com",
        "http://localhost:8787",
        "http://127.0.0.1:8787",
        "http://127.1.2.3",
        "http://[::1]:8787",
    ] {
        let resp = on(origin, "GET", "/.well-known/jwks.json");
        assert_eq!(resp.status, 200, "{origin}");
    }
    for origin in [
        "http://127.0.0.1.evil.example",
        "http://localhost.evil.example",
    ] {
        assert_eq!(
            on(origin, "GET", "/.well-known/jwks.json").status,
            400,
            "{origin}"
        );
    }
}

#[test]
fn rfc8414_2_issuer_must_be_https_without_query_or_fragment() {
    let v = vectors();
    let mut key =
        v["rfc9068_access_token"]["rfc9068_example_access_token"]["as_private_jwk"].clone();
    key["kid"] = json!("k");
    let keys = json!([key]).to_string();
    let tx = base64url::encode(&[7u8; 32]);
    let build = |issuer: &str| Config::from_env(issuer, Some(&keys), Some(&tx), None);
    for good in [
        "https://auth.example.com/",
        "https://auth.example.com/tenant",
        "http://127.0.0.1:8787/",
        "http://localhost:8787",
        "http://[::1]:8787/",
    ] {
        assert!(build(good).is_ok(), "{good}");
    }
    for bad in [
        "http://auth.example.com/",
        "https://auth.example.com/?a=b",
        "https://auth.example.com/#f",
        "ftp://auth.example.com/",
        "https:///",
        "https://user@auth.example.com/",
    ] {
        assert!(build(bad).is_err(), "{bad}");
    }
}

// ------------------------------------------------------------ 5. CORS origin index

#[test]
fn cors_preflight_reads_only_the_origin_index() {
    let h = harness();
    let pre = |origin: &str| {
        h.send(&HttpRequest::new("OPTIONS", "/oauth/token").with_header("origin", origin))
    };
    assert_eq!(
        pre(SPA_ORIGIN).header("access-control-allow-origin"),
        Some(SPA_ORIGIN)
    );
    // A client record alone (no index) does not answer a preflight: no scan of clients.
    let mut other = json!({
        "client_id": "other", "redirect_uris": [], "allowed_origins": ["https://other.example"],
        "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic",
        "client_secret_hash": null, "jwks": null, "app_type": "m2m"
    });
    put(&h.app.store, "client:other", &other);
    assert!(
        pre("https://other.example")
            .header("access-control-allow-origin")
            .is_none()
    );
    put(
        &h.app.store,
        "origin:https://other.example",
        &json!({"clients": ["other"]}),
    );
    assert_eq!(
        pre("https://other.example").header("access-control-allow-origin"),
        Some("https://other.example")
    );
    // An empty index, an unknown or an over-long origin: no CORS.
    put(
        &h.app.store,
        "origin:https://gone.example",
        &json!({"clients": []}),
    );
    assert!(
        pre("https://gone.example")
            .header("access-control-allow-origin")
            .is_none()
    );
    assert!(
        pre("https://evil.example")
            .header("access-control-allow-origin")
            .is_none()
    );
    let long = format!("https://{}.example", "a".repeat(300));
    assert!(pre(&long).header("access-control-allow-origin").is_none());
    // The actual response still checks the named client's own record.
    other["allowed_origins"] = json!([]);
    put(&h.app.store, "client:other", &other);
    let resp = h.token(
        "grant_type=client_credentials&client_id=other&client_secret=x",
        &[("origin", "https://other.example")],
    );
    assert!(resp.header("access-control-allow-origin").is_none());
}

// ------------------------------------------------------------ 6. rate limits (rule 12)

#[test]
fn rule_12_login_attempts_are_rate_limited_per_account_and_address() {
    let h = harness_with(&Options {
        rate_limit: Some(3),
        ..DEFAULTS
    });
    let tx = hidden_tx(&h.authorize_page(API, "openid"));
    for _ in 0..3 {
        assert_eq!(h.login(&tx, "alice@example.com", "wrong", None).status, 401);
    }
    // Past the limit even the right password is refused: guessing stops.
    let resp = h.login(&tx, "Alice@Example.com", PASSWORD, None);
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("60"));
    assert!(String::from_utf8_lossy(&resp.body).contains("Too many sign-in attempts"));
    // Another account is not affected; after the window the account works again.
    assert_eq!(h.login(&tx, "bob@example.com", "x", None).status, 401);
    h.clock.advance(60);
    assert_eq!(
        h.login(&tx, "alice@example.com", PASSWORD, None).status,
        303
    );
    // Per address: many accounts from one CF-Connecting-IP.
    h.clock.advance(60);
    let tx = hidden_tx(&h.authorize_page(API, "openid"));
    for i in 0..3 {
        let resp = h.login(&tx, &format!("u{i}@example.com"), "x", Some("203.0.113.7"));
        assert_eq!(resp.status, 401);
    }
    let resp = h.login(&tx, "u9@example.com", "x", Some("203.0.113.7"));
    assert_eq!(resp.status, 429);
    let resp = h.login(&tx, "u9@example.com", "x", Some("198.51.100.1"));
    assert_eq!(resp.status, 401);
}

/// RFC 6819 §5.1.4.2.3: guessing an account's password from elsewhere does not lock its
/// owner out of a browser that signed in to it before. A right password sets a device
/// cookie (HMAC of the account, its password and the time, `HttpOnly`,
/// `SameSite=Strict`, `Secure` and `__Host-` on an `https` issuer); a login that sends it
/// for that account is counted under the cookie instead of the account, so one cookie
/// gets no more attempts than an account. Without it, or with a cookie of another
/// account, a forged one, one made before the password changed or one older than 30 days,
/// the per-account limit stops guessing as before.
#[test]
fn rfc6819_5_1_4_2_3_guessing_elsewhere_does_not_lock_the_owner_out_of_a_known_browser() {
    let h = harness_with(&Options {
        rate_limit: Some(3),
        ..DEFAULTS
    });
    // `n` wrong passwords for `user`, each from its own address of `net`.
    let guess_from = |tx: &str, user: &str, net: &str, n: u8| {
        for i in 0..n {
            let resp = h.login(tx, user, "guess", Some(&format!("{net}.{i}")));
            assert_eq!(resp.status, 401);
        }
    };
    let tx = hidden_tx(&h.authorize_page(API, "openid"));
    let signed_in = h.login(&tx, "alice@example.com", PASSWORD, Some("198.51.100.1"));
    assert_eq!(signed_in.status, 303);
    let set_cookie = signed_in.header("set-cookie").unwrap().to_owned();
    for attribute in [
        "; Path=/",
        "; HttpOnly",
        "; SameSite=Strict",
        "; Max-Age=2592000",
        "; Secure",
    ] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("alice"),
        "names no account: {set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert!(
        cookie.starts_with("__Host-edge_oauth_device=v1."),
        "{cookie}"
    );
    // Each from an address of its own: the per-address limit stays out of the way.
    let ip = std::cell::Cell::new(10);
    let with_cookie = |user: &str, password: &str, cookie: &str| {
        ip.set(ip.get() + 1);
        h.send(
            &login_request(&tx, user, password)
                .with_header("cf-connecting-ip", &format!("198.51.100.{}", ip.get()))
                .with_header("cookie", &format!("theme=dark; {cookie}")),
        )
    };
    // Guessing from elsewhere fills the account's bucket (the owner's sign-in counted one).
    guess_from(&tx, "alice@example.com", "203.0.113", 2);
    let guess = h.login(&tx, "alice@example.com", PASSWORD, Some("203.0.113.9"));
    assert_eq!(guess.status, 429, "guessing stops");
    // The owner's browser still signs in.
    assert_eq!(
        with_cookie("alice@example.com", PASSWORD, &cookie).status,
        303
    );
    assert_eq!(
        with_cookie("alice@example.com", "typo", &cookie).status,
        401
    );
    // Not for another account, nor with a forged or stale cookie.
    guess_from(&tx, "bob@example.com", "192.0.2", 3);
    assert_eq!(with_cookie("bob@example.com", "guess", &cookie).status, 429);
    let (prefix, mac) = cookie.rsplit_once('.').unwrap();
    let forged = format!("{prefix}.{}", mac.replace(&mac[..2], "AA"));
    assert_eq!(
        with_cookie("alice@example.com", PASSWORD, &forged).status,
        429
    );
    let (head, _) = prefix.rsplit_once('.').unwrap();
    let later = format!("{head}.{}.{mac}", NOW + 5);
    assert_eq!(
        with_cookie("alice@example.com", PASSWORD, &later).status,
        429,
        "the time is signed"
    );
    // The cookie's own bucket: the third attempt with it fills it.
    assert_eq!(
        with_cookie("alice@example.com", PASSWORD, &cookie).status,
        303
    );
    assert_eq!(
        with_cookie("alice@example.com", PASSWORD, &cookie).status,
        429,
        "one cookie gets no more attempts than an account"
    );
    // A new password voids the cookies made before it.
    h.clock.advance(60);
    let tx = hidden_tx(&h.authorize_page(API, "openid"));
    let fresh = h.login(&tx, "alice@example.com", PASSWORD, Some("198.51.100.2"));
    let fresh = fresh.header("set-cookie").unwrap();
    let fresh = fresh.split(';').next().unwrap().to_owned();
    let mut alice: Value = serde_json::from_str(
        &block_on(h.app.store.get("user:alice@example.com"))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let old_salt = alice["password"]["salt"].as_str().unwrap().to_owned();
    alice["password"]["salt"] = json!("bmV3LXNhbHQ");
    put(&h.app.store, "user:alice@example.com", &alice);
    guess_from(&tx, "alice@example.com", "203.0.113", 2);
    let resp = h.send(
        &login_request(&tx, "alice@example.com", "guess")
            .with_header("cf-connecting-ip", "198.51.100.3")
            .with_header("cookie", &fresh),
    );
    assert_eq!(
        resp.status, 429,
        "the password changed: the cookie counts as none"
    );
    alice["password"]["salt"] = json!(old_salt);
    put(&h.app.store, "user:alice@example.com", &alice);
    h.clock.advance(30 * 24 * 3600);
    let tx = hidden_tx(&h.authorize_page(API, "openid"));
    guess_from(&tx, "alice@example.com", "203.0.113", 3);
    let stale = h.send(
        &login_request(&tx, "alice@example.com", PASSWORD)
            .with_header("cf-connecting-ip", "198.51.100.99")
            .with_header("cookie", &cookie),
    );
    assert_eq!(stale.status, 429, "30 days on, the cookie no longer counts");
}

#[test]
fn rule_12_client_authentication_failures_are_rate_limited_per_client() {
    let h = harness_with(&Options {
        rate_limit: Some(3),
        ..DEFAULTS
    });
    let cc = "grant_type=client_credentials";
    for _ in 0..3 {
        let resp = h.token(cc, &[("authorization", &basic("m2m", "wrong"))]);
        assert_eq!(
            (resp.status, error_of(&resp).as_str()),
            (401, "invalid_client")
        );
    }
    let resp = h.token(cc, &[("authorization", &basic("m2m", "wrong"))]);
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (429, "invalid_client")
    );
    assert_eq!(resp.header("retry-after"), Some("60"));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert!(
        resp.header("www-authenticate")
            .unwrap()
            .starts_with("Basic ")
    );
    // Successes are not counted, and a real client still gets its token.
    let ok = h.token(
        &format!("{cc}&audience={}", enc(API)),
        &[("authorization", &basic("m2m", M2M_SECRET))],
    );
    assert_eq!(ok.status, 200, "{:?}", ok.json_body());
}

#[test]
fn rule_12_pushed_requests_of_public_clients_are_rate_limited() {
    let h = harness_with(&Options {
        rate_limit: Some(2),
        ..DEFAULTS
    });
    let par = |ip: &str| {
        h.send(
            &HttpRequest::new("POST", "/oauth/par")
                .with_header("content-type", "application/x-www-form-urlencoded")
                .with_header("cf-connecting-ip", ip)
                .with_body(format!(
                    "client_id=spa&response_type=code&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=openid",
                    enc(SPA_CB)
                )),
        )
    };
    assert_eq!(par("203.0.113.7").status, 201);
    assert_eq!(par("203.0.113.7").status, 201);
    let resp = par("203.0.113.7");
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (429, "invalid_request")
    );
    assert_eq!(resp.header("retry-after"), Some("60"));
    assert_eq!(par("198.51.100.1").status, 201);
}

// ------------------------------------------------------------ 7. password iterations

#[test]
fn user_enumeration_timing_records_must_use_the_configured_iterations() {
    let h = harness_with(&Options {
        password_iterations: Some("1000"),
        ..DEFAULTS
    });
    assert_eq!(h.app.config.dummy_password_iterations(), 1000);
    let tx = hidden_tx(&h.authorize_page(API, "openid"));
    assert_eq!(
        h.login(&tx, "alice@example.com", PASSWORD, None).status,
        303
    );
    // A record hashed with another count is refused, like an unknown email.
    put(
        &h.app.store,
        "user:bob@example.com",
        &user_record("user|bob", "bob@example.com", "Bob", 2000),
    );
    assert_eq!(h.login(&tx, "bob@example.com", PASSWORD, None).status, 401);
    // Unset: the dummy costs the CLI default, and records keep their own counts.
    let h = harness();
    assert_eq!(h.app.config.dummy_password_iterations(), 20_000);
    let v = vectors();
    let mut key =
        v["rfc9068_access_token"]["rfc9068_example_access_token"]["as_private_jwk"].clone();
    key["kid"] = json!("k");
    let keys = json!([key]).to_string();
    let tx = base64url::encode(&[7u8; 32]);
    let config = Config::from_env(ISSUER, Some(&keys), Some(&tx), None).unwrap();
    for bad in ["999", "100001", "x"] {
        assert!(
            Config::from_env(ISSUER, Some(&keys), Some(&tx), None)
                .unwrap()
                .with_password_iterations(Some(bad))
                .is_err(),
            "{bad}"
        );
    }
    assert!(config.with_password_iterations(Some("20000")).is_ok());
}

// ------------------------------------------------------------ 8. the smaller items

#[test]
fn login_rechecks_that_the_client_may_still_use_the_redirect_uri() {
    let h = harness();
    let tx = hidden_tx(&h.authorize_page(API, "openid"));
    let mut spa: Value =
        serde_json::from_str(&block_on(h.app.store.get("client:spa")).unwrap().unwrap()).unwrap();
    spa["redirect_uris"] = json!(["https://spa.example/new"]);
    put(&h.app.store, "client:spa", &spa);
    assert_eq!(
        h.login(&tx, "alice@example.com", PASSWORD, None).status,
        400
    );
    spa["redirect_uris"] = json!([SPA_CB]);
    spa["grant_types"] = json!(["refresh_token"]);
    put(&h.app.store, "client:spa", &spa);
    assert_eq!(
        h.login(&tx, "alice@example.com", PASSWORD, None).status,
        400
    );
}

#[test]
fn rfc6749_3_3_offline_access_is_not_granted_without_a_refresh_token() {
    let h = harness();
    let resp = h.exchange(&h.code_for(CLOSED_API, "openid offline_access read"));
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    let body = resp.json_body();
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "openid read");
    let at = DecodedJwt::decode(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(at.claims["scope"], "openid read");
}

#[test]
fn rfc6750_3_1_userinfo_without_openid_is_403_insufficient_scope() {
    let h = harness();
    let resp = h.exchange(&h.code_for(API, "read:items"));
    let at = json_str(&resp, "access_token");
    // An API token without openid does not even have the userinfo audience.
    let resp = h.send(
        &HttpRequest::new("GET", "/userinfo").with_header("authorization", &format!("Bearer {at}")),
    );
    assert_eq!(resp.status, 401);
    // Without an API, the token's audience is userinfo, but without openid: 403.
    let resp = h.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?response_type=code&client_id=spa&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=profile",
            enc(SPA_CB)
        ),
    ));
    let login = h.login(&hidden_tx(&resp), "alice@example.com", PASSWORD, None);
    let code = query_param(login.header("location").unwrap(), "code").unwrap();
    let at = h.exchange(&code).json_body()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = h.send(
        &HttpRequest::new("GET", "/userinfo").with_header("authorization", &format!("Bearer {at}")),
    );
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (403, "insufficient_scope")
    );
    let challenge = resp.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Bearer ") && challenge.contains("error=\"insufficient_scope\""));
}

fn assertion(iss: &str) -> String {
    let header = base64url::encode(br#"{"alg":"ES256","typ":"JWT"}"#);
    let claims = base64url::encode(
        json!({"iss": iss, "sub": iss, "aud": ISSUER, "exp": NOW + 60, "jti": "j1"})
            .to_string()
            .as_bytes(),
    );
    format!("{header}.{claims}.{}", base64url::encode(&[1u8; 64]))
}

#[test]
fn rfc7523_3_invalid_client_does_not_tell_which_clients_exist() {
    let h = harness();
    let send = |iss: &str| {
        h.token(
            &format!(
                "grant_type=client_credentials&client_assertion_type={}&client_assertion={}",
                enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                assertion(iss)
            ),
            &[],
        )
    };
    let unknown = send("nobody");
    let bad_signature = send("client-abc");
    let wrong_method = send("m2m");
    for resp in [&unknown, &bad_signature, &wrong_method] {
        assert_eq!(error_of(resp), "invalid_client");
    }
    assert_eq!(unknown.json_body(), bad_signature.json_body());
    assert_eq!(unknown.json_body(), wrong_method.json_body());
}

#[test]
fn kv_key_inputs_are_capped() {
    let h = harness();
    let long_id = "a".repeat(129);
    let resp = h.token(
        &format!("grant_type=client_credentials&client_id={long_id}"),
        &[],
    );
    assert_eq!(error_of(&resp), "invalid_client");
    let page = h.send(&HttpRequest::new(
        "GET",
        &format!("/authorize?response_type=code&client_id={long_id}"),
    ));
    assert_eq!(page.status, 400);
    // An API identifier over 377 bytes is never looked up: not a known API.
    let long_api = format!("https://{}.example", "a".repeat(370));
    put(
        &h.app.store,
        &format!("api:{long_api}"),
        &json!({"identifier": long_api, "scopes": []}),
    );
    let resp = h.authorize_page(&long_api, "openid");
    assert_eq!(resp.status, 302);
    assert_eq!(
        query_param(resp.header("location").unwrap(), "error").as_deref(),
        Some("access_denied")
    );
}

#[test]
fn json_and_html_responses_are_nosniff() {
    let h = harness();
    let json = h.send(&HttpRequest::new(
        "GET",
        "/.well-known/openid-configuration",
    ));
    assert_eq!(json.header("x-content-type-options"), Some("nosniff"));
    let err = h.token("grant_type=x", &[]);
    assert_eq!(err.header("x-content-type-options"), Some("nosniff"));
    let html = h.authorize_page(API, "openid");
    assert_eq!(html.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn rfc8414_2_client_secret_jwt_is_advertised_only_with_client_secret_key() {
    let without = harness()
        .send(&HttpRequest::new(
            "GET",
            "/.well-known/openid-configuration",
        ))
        .json_body();
    assert!(
        !without["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_secret_jwt"))
    );
    assert!(
        !without["token_endpoint_auth_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("HS256"))
    );
    let with = harness_with(&Options {
        client_secret_key: true,
        ..DEFAULTS
    })
    .send(&HttpRequest::new(
        "GET",
        "/.well-known/openid-configuration",
    ))
    .json_body();
    assert!(
        with["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_secret_jwt"))
    );
    assert!(
        with["token_endpoint_auth_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("HS256"))
    );
}

#[test]
fn debug_output_of_requests_responses_and_params_is_redacted() {
    let req = HttpRequest::new("POST", "/oauth/token?client_secret=q-secret")
        .with_header("authorization", "Basic aC1zZWNyZXQ=")
        .with_body(b"password=p-secret&code=c-secret".to_vec());
    let text = format!("{req:?}");
    for secret in ["q-secret", "aC1zZWNyZXQ", "p-secret", "c-secret"] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(text.contains("authorization"));
    let params = Params::from_form(b"password=p-secret&code=c-secret").unwrap();
    let text = format!("{params:?}");
    assert!(!text.contains("p-secret") && !text.contains("c-secret") && text.contains("password"));
    let resp = HttpResponse::redirect(303, "https://spa.example/cb?code=c-secret");
    let text = format!("{resp:?}");
    assert!(!text.contains("c-secret") && text.contains("303"));
}

#[test]
fn rule_6_json_duplicate_member_is_a_typed_error() {
    assert_eq!(
        Params::from_json(br#"{"a":"1","a":"2"}"#),
        Err(ParamsError::Duplicate)
    );
    // A value that merely mentions "duplicate" is not a duplicate.
    assert_eq!(
        Params::from_json(br#"{"a":"duplicate","b":1}"#),
        Err(ParamsError::BadJson)
    );
    assert_eq!(
        Params::from_json(br#"{"a":"1"} x"#),
        Err(ParamsError::BadJson)
    );
    assert_eq!(
        Params::from_json(br#"{"a":"duplicate"}"#).unwrap().get("a"),
        Some("duplicate")
    );
}

/// Two first logins of one user within a second both write the subject index; KV refuses
/// the second write of a key within a second (429). That write is idempotent, so the login
/// goes on; any other storage failure still fails it.
#[test]
fn kv_one_write_per_key_per_second_does_not_fail_a_first_login() {
    let h = harness();
    let user: edge_oauth_worker::config::User =
        serde_json::from_value(user_record("user|bob", "bob@example.com", "Bob", 1000)).unwrap();
    h.app
        .store
        .fail_writes(Some(edge_oauth_worker::store::StoreError::RateLimited));
    assert_eq!(
        block_on(edge_oauth_worker::users::ensure_subject_index(
            &h.app, &user
        )),
        Ok(())
    );
    h.app
        .store
        .fail_writes(Some(edge_oauth_worker::store::StoreError::Backend(
            "down".into(),
        )));
    assert!(
        block_on(edge_oauth_worker::users::ensure_subject_index(
            &h.app, &user
        ))
        .is_err()
    );
}
