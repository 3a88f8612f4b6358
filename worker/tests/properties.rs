//! Property tests of the worker's untrusted-input parsers and of the whole router, on
//! stable inside `cargo test` (`fuzz/` has the coverage-guided targets for nightly).
//!
//! Generated hostile requests (every endpoint, mutated bodies and headers from a seed
//! corpus of valid requests) never get a 5xx, an answer without `Cache-Control: no-store`
//! on the token endpoints, or an error that is not RFC 6749 JSON.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use edge_oauth_worker::http::HttpRequest;
use edge_oauth_worker::jwt::DecodedJwt;
use edge_oauth_worker::params::Params;
use edge_oauth_worker::platform::NativePlatform;
use edge_oauth_worker::ratelimit::ip_prefix;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
use serde_json::{Value, json};

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x776f_726b_6572),
        ..Config::default()
    }
}

fn harness() -> Harness {
    let (clock, store) = Harness::clock_and_store();
    put(
        &store,
        "client:spa",
        &client(
            "spa",
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
            "m2m",
            "client_secret_basic",
            &["client_credentials"],
            Some(M2M_SECRET),
            &[],
        ),
    );
    put(
        &store,
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items"]}),
    );
    put(
        &store,
        &format!("grant:m2m:{API}"),
        &json!({"client_id": "m2m", "audience": API, "scopes": ["read:items"]}),
    );
    put_alice(&store);
    let platform = NativePlatform::new(clock.clone()).with_rate_limit(1_000_000, 60);
    Harness::new(config_with_rsa(&vectors()), store, platform, clock)
}

const PATHS: &[&str] = &[
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/par",
    "/userinfo",
    "/authorize",
    "/authorize/login",
    "/.well-known/openid-configuration",
    "/.well-known/jwks.json",
    "/nope",
];

const BODY_SEEDS: &[&str] = &[
    "grant_type=client_credentials&audience=https%3A%2F%2Fapi.example.com",
    "grant_type=authorization_code&client_id=spa&code=abc&redirect_uri=https%3A%2F%2Fspa.example%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "grant_type=refresh_token&client_id=spa&refresh_token=xyz",
    "token=abc&token_type_hint=refresh_token",
    "response_type=code&client_id=spa&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
    r#"{"grant_type":"client_credentials","client_id":"m2m","client_secret":"x"}"#,
    "tx=e30.AAAA&username=alice%40example.com&password=pw",
    "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJhbGciOiJFUzI1NiJ9.e30.AA",
];

const HEADER_SEEDS: &[(&str, &str)] = &[
    ("content-type", "application/x-www-form-urlencoded"),
    ("content-type", "application/json"),
    ("content-type", "text/plain"),
    ("authorization", "Basic bTJtOm0ybS1zZWNyZXQ="),
    ("authorization", "Bearer eyJhbGciOiJFUzI1NiJ9.e30.AA"),
    ("authorization", "DPoP abc, Bearer abc"),
    ("authorization", "Basic %%%"),
    ("dpop", "eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.AA"),
    ("origin", "https://spa.example"),
    ("origin", "null"),
    ("cf-connecting-ip", "2001:db8::1"),
    ("cf-connecting-ip", "not an ip"),
    ("sec-fetch-site", "same-origin"),
];

fn mutate(seed: &str, edits: &[(u8, prop::sample::Index, u8)]) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for (op, at, byte) in edits {
        let len = bytes.len();
        match op {
            0 => bytes.insert(at.index(len + 1), *byte),
            1 if len > 0 => {
                bytes.remove(at.index(len));
            }
            _ if len > 0 => bytes[at.index(len)] = *byte,
            _ => bytes.push(*byte),
        }
    }
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(u8, prop::sample::Index, u8)>> {
    prop::collection::vec((0..3u8, any::<prop::sample::Index>(), any::<u8>()), 0..6)
}

fn request() -> impl Strategy<Value = HttpRequest> {
    (
        prop::sample::select(vec!["POST", "GET", "OPTIONS", "PUT", "HEAD"]),
        prop::sample::select(PATHS.to_vec()),
        proptest::option::of((prop::sample::select(BODY_SEEDS.to_vec()), edits())),
        prop::sample::subsequence(HEADER_SEEDS.to_vec(), 0..5),
        prop::collection::vec(edits(), 5),
        any::<bool>(),
    )
        .prop_map(|(method, path, query, headers, header_edits, https)| {
            let mut req = HttpRequest::new(method, path);
            if https {
                req.origin = "https://auth.example.com".into();
            }
            if let Some((seed, e)) = &query {
                let q = String::from_utf8_lossy(&mutate(seed, e)).into_owned();
                if method == "GET" {
                    req.query = Some(q);
                } else {
                    req = req.with_body(q.into_bytes());
                }
            }
            for (i, (name, value)) in headers.iter().enumerate() {
                let value = mutate(value, &header_edits[i % header_edits.len()]);
                req = req.with_header(name, &String::from_utf8_lossy(&value));
            }
            req
        })
}

proptest! {
    #![proptest_config(config(200))]

    /// Every endpoint, hostile requests: never a 5xx; errors are RFC 6749 JSON with
    /// no-store (HTML pages for the browser endpoints), no internals.
    #[test]
    fn route_answers_hostile_requests_without_5xx(req in request()) {
        let h = harness();
        let resp = h.send(&req);
        prop_assert!(resp.status < 500, "{} {} -> {}: {:?}", req.method, req.path, resp.status, String::from_utf8_lossy(&resp.body));
        let body = String::from_utf8_lossy(&resp.body);
        prop_assert!(!body.contains("panicked") && !body.contains("RuntimeError"), "{body}");
        let html = resp.header("content-type").is_some_and(|c| c.starts_with("text/html"));
        if resp.status >= 400 && !html {
            let json: Value = serde_json::from_slice(&resp.body).map_err(|e| TestCaseError::fail(format!("{} {}: not JSON ({e}): {body}", req.method, req.path)))?;
            prop_assert!(json["error"].is_string(), "{body}");
            let ok_chars = |s: &str| s.bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\');
            prop_assert!(ok_chars(json["error"].as_str().unwrap()), "{body}");
            if let Some(d) = json["error_description"].as_str() {
                prop_assert!(ok_chars(d), "error_description outside RFC 6749 §5.2: {body}");
            }
        }
        if req.path.starts_with("/oauth/") && resp.status >= 400 {
            prop_assert_eq!(resp.header("cache-control"), Some("no-store"));
        }
    }

    /// Strict JSON parameters agree with serde_json on objects of strings.
    #[test]
    fn params_from_json_agrees_with_serde_json(map in prop::collection::btree_map(any::<String>(), any::<String>(), 0..6)) {
        let text = serde_json::to_string(&map).unwrap();
        let params = Params::from_json(text.as_bytes()).unwrap();
        for (k, v) in &map {
            let want = if v.is_empty() { None } else { Some(v.as_str()) };
            prop_assert_eq!(params.get(k), want);
        }
    }

    #[test]
    fn params_and_jwt_decoding_never_panic(seed in prop::sample::select(BODY_SEEDS.to_vec()), e in edits()) {
        let bytes = mutate(seed, &e);
        let _ = Params::from_form(&bytes);
        let _ = Params::from_json(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = DecodedJwt::decode(&text);
        let prefix = ip_prefix(&text);
        prop_assert!(prefix.len() <= 45, "{prefix}");
    }
}
