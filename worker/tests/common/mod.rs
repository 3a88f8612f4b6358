//! Setup shared by the native server tests (`server.rs`, `dpop.rs`, `hardening.rs`): the
//! common constants, the vectors, store seeding, the harness around `App` and request
//! helpers. Each test crate uses a part of it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use base64ct::{Base64, Encoding};
use edge_oauth::base64url;
use edge_oauth_worker::config::Config;
use edge_oauth_worker::http::{HttpRequest, HttpResponse};
use edge_oauth_worker::jwt::{DecodedJwt, sha256_b64};
use edge_oauth_worker::params::Params;
use edge_oauth_worker::platform::{NativePlatform, pbkdf2_hmac_sha256};
use edge_oauth_worker::store::Store;
use edge_oauth_worker::store::memory::{Clock, MemoryStore};
use edge_oauth_worker::testing::block_on;
use edge_oauth_worker::{App, route};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://auth.example.com/";
pub const NOW: i64 = 1_700_000_000;
pub const API: &str = "https://api.example.com";
pub const SPA_CB: &str = "https://spa.example/cb";
pub const WEB_CB: &str = "https://web.example/callback";
pub const M2M_SECRET: &str = "m2m-secret-abcdefghijklmnopqrstuvwxyz012345";
pub const WEB_SECRET: &str = "web-secret-abcdefghijklmnopqrstuvwxyz012345";
pub const PASSWORD: &str = "correct horse battery staple";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// `../shared/vectors/vectors.json`.
pub fn vectors() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/vectors.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `Config::from_env` for `ISSUER` with the vectors' AS key (`kid` `as-key-1`) and a fixed
/// transaction secret; `client_secret_key` as given.
pub fn config(v: &Value, client_secret_key: Option<&str>) -> Config {
    let mut key =
        v["rfc9068_access_token"]["rfc9068_example_access_token"]["as_private_jwk"].clone();
    key["kid"] = json!("as-key-1");
    let keys = json!([key]).to_string();
    let tx_secret = base64url::encode(&[7u8; 32]);
    Config::from_env(ISSUER, Some(&keys), Some(&tx_secret), client_secret_key).unwrap()
}

/// An RSA signing key for the RS256 tests (2048 bits, generated with Node's
/// `crypto.generateKeyPairSync("rsa")` for these tests only; `kid` `as-rsa-1`).
pub fn rsa_signing_jwk() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/rsa-signing-key.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// [`config`] with the RSA key of [`rsa_signing_jwk`] after the EC key.
pub fn config_with_rsa(v: &Value) -> Config {
    let mut key =
        v["rfc9068_access_token"]["rfc9068_example_access_token"]["as_private_jwk"].clone();
    key["kid"] = json!("as-key-1");
    let keys = json!([key, rsa_signing_jwk()]).to_string();
    let tx_secret = base64url::encode(&[7u8; 32]);
    Config::from_env(ISSUER, Some(&keys), Some(&tx_secret), None).unwrap()
}

/// The app under test and its clock.
pub struct Harness {
    pub app: App<MemoryStore, NativePlatform>,
    pub clock: Clock,
}

impl Harness {
    /// A fresh clock at `NOW` and an empty store on it, answering [`Store::copy`] as the
    /// Durable Object store does on the isolate that wrote a record (so a code exchange
    /// takes its one-call path; a failing check on the copy falls back to the stored
    /// record, which the tests then see decide).
    pub fn clock_and_store() -> (Clock, MemoryStore) {
        let clock = Clock::new(NOW);
        let store = MemoryStore::new(clock.clone());
        store.keep_copies(true);
        (clock, store)
    }

    pub fn new(config: Config, store: MemoryStore, platform: NativePlatform, clock: Clock) -> Self {
        Self {
            app: App {
                config,
                store,
                platform,
            },
            clock,
        }
    }

    pub fn send(&self, req: &HttpRequest) -> HttpResponse {
        block_on(route(&self.app, req))
    }

    /// A form POST to `path` with extra headers.
    pub fn post(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
        let mut req = HttpRequest::new("POST", path)
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_body(body.as_bytes().to_vec());
        for (n, v) in headers {
            req = req.with_header(n, v);
        }
        self.send(&req)
    }
}

pub fn put(store: &MemoryStore, key: &str, value: &Value) {
    block_on(store.put(key, &value.to_string(), None)).unwrap();
}

/// A client record named after its id, allowed from `https://spa.example`.
pub fn client(
    id: &str,
    app_type: &str,
    method: &str,
    grants: &[&str],
    secret: Option<&str>,
    redirect: &[&str],
) -> Value {
    json!({
        "client_id": id, "name": id, "app_type": app_type,
        "redirect_uris": redirect, "allowed_origins": ["https://spa.example"],
        "grant_types": grants, "token_endpoint_auth_method": method,
        "client_secret_hash": secret.map(|s| sha256_b64(s.as_bytes())), "jwks": null
    })
}

/// A user record with password `PASSWORD`, PBKDF2 over a fixed salt.
pub fn user_record(user_id: &str, email: &str, name: &str, iterations: u32) -> Value {
    let salt = [3u8; 16];
    let hash = pbkdf2_hmac_sha256(PASSWORD.as_bytes(), &salt, iterations).unwrap();
    json!({
        "user_id": user_id, "email": email, "name": name,
        "password": {"alg": "PBKDF2-SHA256", "iterations": iterations,
            "salt": base64url::encode(&salt), "hash": base64url::encode(&hash)}
    })
}

/// `user:alice@example.com` with 1000 iterations.
pub fn put_alice(store: &MemoryStore) {
    put(
        store,
        "user:alice@example.com",
        &user_record("user|alice", "alice@example.com", "Alice", 1000),
    );
}

pub fn enc(s: &str) -> String {
    edge_oauth_worker::params::form_encode(s)
}

/// Token request bodies (with `{code}` where the code goes) that fail the checks of a code
/// issued to `spa` for `SPA_CB` with `VERIFIER`: a wrong verifier, none, another client,
/// another redirect URI. None of them may consume or revoke anything.
pub fn hostile_code_exchange_bodies() -> [String; 4] {
    [
        format!(
            "grant_type=authorization_code&client_id=spa&code={{code}}&redirect_uri={}&code_verifier={}",
            enc(SPA_CB),
            "x".repeat(43)
        ),
        format!(
            "grant_type=authorization_code&client_id=spa&code={{code}}&redirect_uri={}",
            enc(SPA_CB)
        ),
        format!(
            "grant_type=authorization_code&client_id=spa2&code={{code}}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(SPA_CB)
        ),
        format!(
            "grant_type=authorization_code&client_id=spa&code={{code}}&redirect_uri={}&code_verifier={VERIFIER}",
            enc("https://evil.example/cb")
        ),
    ]
}

pub fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        Base64::encode_string(format!("{id}:{secret}").as_bytes())
    )
}

/// The `tx` hidden field of the login page.
pub fn hidden_tx(resp: &HttpResponse) -> String {
    let html = String::from_utf8(resp.body.clone()).unwrap();
    let start = html.find("name=\"tx\" value=\"").unwrap() + 17;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

/// The login form POST, from the issuer's own page (`Origin`).
pub fn login_request(tx: &str, user: &str, password: &str) -> HttpRequest {
    HttpRequest::new("POST", "/authorize/login")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("origin", ISSUER.trim_end_matches('/'))
        .with_body(format!(
            "tx={}&username={}&password={}",
            enc(tx),
            enc(user),
            enc(password)
        ))
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    Params::from_form(query.as_bytes())
        .ok()?
        .get(name)
        .map(str::to_owned)
}

pub fn error_of(resp: &HttpResponse) -> String {
    resp.json_body()["error"].as_str().unwrap_or("").to_owned()
}

/// A string member of the JSON body (panics when it is missing).
#[track_caller]
pub fn json_str(resp: &HttpResponse, name: &str) -> String {
    resp.json_body()[name].as_str().unwrap().to_owned()
}

pub fn claims(jwt: &str) -> serde_json::Map<String, Value> {
    DecodedJwt::decode(jwt).unwrap().claims
}

/// The number of revoked refresh-token families (`family:{id}` records with `revoked`).
pub fn revoked_families(store: &MemoryStore) -> usize {
    block_on(store.list("family:"))
        .unwrap()
        .iter()
        .filter(|k| {
            let text = block_on(store.get(k)).unwrap().unwrap_or_default();
            serde_json::from_str::<Value>(&text).is_ok_and(|v| v.get("revoked").is_some())
        })
        .count()
}
