//! The whole router on one request built from the input (method, path, headers, body):
//! never a 5xx, errors are JSON or an HTML page, nothing panics.
#![no_main]

use edge_oauth_worker::App;
use edge_oauth_worker::config::Config;
use edge_oauth_worker::http::HttpRequest;
use edge_oauth_worker::platform::NativePlatform;
use edge_oauth_worker::store::memory::{Clock, MemoryStore};
use edge_oauth_worker::testing::block_on;
use libfuzzer_sys::fuzz_target;

/// The AS key of the RFC 9068 vector in ../shared/vectors/vectors.json.
const KEY: &str = r#"[{"kty":"EC","crv":"P-256","x":"uPSa-j7OOjgX3LuxQDw9ZpbsUt2daE3Aw9QyvA3DEDI","y":"rF0Oqro_DIqlcUG6vYvx1_KrowlHn-dc1kaomOG3aHA","d":"93rnumavZ-vdJBZIZoPUDLnhvM_nQnNfyjqEaeTWXOQ","kid":"as-key-1"}]"#;
const PATHS: [&str; 8] = [
    "/oauth/token", "/oauth/revoke", "/oauth/par", "/userinfo", "/authorize",
    "/authorize/login", "/.well-known/openid-configuration", "/.well-known/jwks.json",
];
const METHODS: [&str; 4] = ["POST", "GET", "OPTIONS", "PUT"];

fuzz_target!(|data: &[u8]| {
    let [m, p, rest @ ..] = data else { return };
    let text = String::from_utf8_lossy(rest);
    // Lines: headers as `name: value` until an empty line, then the body.
    let (head, body) = text.split_once("\n\n").unwrap_or(("", &text));
    let path = PATHS[usize::from(*p) % PATHS.len()];
    let method = METHODS[usize::from(*m) % METHODS.len()];
    let mut req = HttpRequest::new(method, path);
    for line in head.lines() {
        if let Some((name, value)) = line.split_once(':') {
            req = req.with_header(name.trim(), value.trim());
        }
    }
    if method == "GET" {
        req.query = Some(body.to_owned());
    } else {
        req = req.with_body(body.as_bytes().to_vec());
    }
    let Ok(config) = Config::from_env(
        "https://auth.example.com/",
        Some(KEY),
        Some("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"),
        None,
    ) else {
        panic!("the fixed configuration is valid");
    };
    let clock = Clock::new(1_700_000_000);
    let app = App {
        config,
        store: MemoryStore::new(clock.clone()),
        platform: NativePlatform::new(clock),
    };
    let resp = block_on(edge_oauth_worker::route(&app, &req));
    assert!(resp.status < 500, "{method} {path}: {}", resp.status);
});
