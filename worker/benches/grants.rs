//! CPU per request of the grant paths, natively (`cargo bench -p edge-oauth-worker --bench
//! grants`): the whole `route` of a request (parsing, client authentication, the grant,
//! signing, the response) over the exact memory store, with criterion's wall-clock
//! samples of one thread. Setup that is not the request itself (logins that mint codes,
//! DPoP proofs) runs outside the timed part (`iter_batched`).
//!
//! Native code over an in-memory store: a floor for the worker's CPU per request. The
//! worker runs the same code as wasm in V8 (slower per instruction) and signs RS256 ID
//! tokens through WebCrypto, not through the `rsa` crate measured here; the ES256 access
//! token signature is the p256 code measured here, on both.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use edge_oauth::dpop::{DpopKey, ProofOptions};
use edge_oauth_worker::http::HttpRequest;
use edge_oauth_worker::platform::NativePlatform;
use edge_oauth_worker::store::memory::MemoryStore;
use serde_json::json;
use std::cell::RefCell;
use std::hint::black_box;

fn seed(store: &MemoryStore) {
    let grants = ["authorization_code", "refresh_token"];
    put(
        store,
        "client:spa",
        &client("spa", "spa", "none", &grants, None, &[SPA_CB]),
    );
    put(
        store,
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
        store,
        &format!("grant:m2m:{API}"),
        &json!({"client_id": "m2m", "audience": API, "scopes": ["read:items"]}),
    );
    put(
        store,
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items"], "token_lifetime": 3600, "allow_offline_access": true}),
    );
    put_alice(store);
}

/// The server with an RS256 key for ID tokens after the ES256 key (the default setup);
/// `rsa: false`: ES256 only (ID tokens ES256 too), without the software RSA of this
/// native build, which the worker replaces with WebCrypto.
fn harness(rsa: bool) -> Harness {
    let (clock, store) = Harness::clock_and_store();
    seed(&store);
    let platform = NativePlatform::new(clock.clone());
    let config = if rsa {
        config_with_rsa(&vectors())
    } else {
        config(&vectors(), None)
    };
    Harness::new(config, store, platform, clock)
}

fn token_request(body: &str, headers: &[(&str, &str)]) -> HttpRequest {
    let mut req = HttpRequest::new("POST", "/oauth/token")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.as_bytes().to_vec());
    for (n, v) in headers {
        req = req.with_header(n, v);
    }
    req
}

/// A code for `spa` through /authorize and the login form.
fn code(h: &Harness) -> String {
    let resp = h.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?response_type=code&client_id=spa&redirect_uri={}&scope=openid%20offline_access%20read%3Aitems&audience={}&code_challenge={CHALLENGE}&code_challenge_method=S256&nonce=n",
            enc(SPA_CB),
            enc(API)
        ),
    ));
    assert_eq!(resp.status, 200);
    let resp = h.send(&login_request(
        &hidden_tx(&resp),
        "alice@example.com",
        PASSWORD,
    ));
    assert_eq!(resp.status, 303);
    query_param(resp.header("location").unwrap(), "code").unwrap()
}

fn exchange(code: &str) -> HttpRequest {
    token_request(
        &format!(
            "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(SPA_CB)
        ),
        &[],
    )
}

fn grants(c: &mut Criterion) {
    let h = harness(true);
    let m2m = basic("m2m", M2M_SECRET);
    let cc_body = format!("grant_type=client_credentials&audience={}", enc(API));

    c.bench_function("client_credentials (Bearer, ES256 access token)", |b| {
        let req = token_request(&cc_body, &[("authorization", &m2m)]);
        b.iter(|| {
            let resp = h.send(black_box(&req));
            assert_eq!(resp.status, 200);
        });
    });

    let key = DpopKey::generate(&mut rand_core::UnwrapErr(getrandom::SysRng));
    let htu = format!("{ISSUER}oauth/token");
    c.bench_function(
        "client_credentials (DPoP proof checked, jti recorded)",
        |b| {
            b.iter_batched(
                || {
                    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
                    let options = ProofOptions::new("POST", &htu, NOW);
                    let proof = key.create_proof(&options, &mut rng).unwrap();
                    token_request(&cc_body, &[("authorization", &m2m), ("dpop", &proof)])
                },
                |req| {
                    let resp = h.send(&req);
                    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
                },
                BatchSize::SmallInput,
            );
        },
    );

    c.bench_function(
        "authorization_code + PKCE (ES256 access, RS256 ID, refresh)",
        |b| {
            b.iter_batched(
                || exchange(&code(&h)),
                |req| {
                    let resp = h.send(&req);
                    assert_eq!(resp.status, 200);
                },
                BatchSize::SmallInput,
            );
        },
    );

    let first = h.send(&exchange(&code(&h)));
    let rt = RefCell::new(json_str(&first, "refresh_token"));
    let access = json_str(&first, "access_token");
    c.bench_function("refresh_token rotation (ES256 access, RS256 ID)", |b| {
        b.iter(|| {
            let body = format!(
                "grant_type=refresh_token&client_id=spa&refresh_token={}",
                rt.borrow()
            );
            let resp = h.send(&token_request(&body, &[]));
            assert_eq!(resp.status, 200);
            *rt.borrow_mut() = json_str(&resp, "refresh_token");
        });
    });

    let es = harness(false);
    c.bench_function(
        "authorization_code + PKCE (ES256 access and ID, refresh)",
        |b| {
            b.iter_batched(
                || exchange(&code(&es)),
                |req| {
                    let resp = es.send(&req);
                    assert_eq!(resp.status, 200);
                },
                BatchSize::SmallInput,
            );
        },
    );
    let es_rt = RefCell::new(json_str(&es.send(&exchange(&code(&es))), "refresh_token"));
    c.bench_function("refresh_token rotation (ES256 access and ID)", |b| {
        b.iter(|| {
            let body = format!(
                "grant_type=refresh_token&client_id=spa&refresh_token={}",
                es_rt.borrow()
            );
            let resp = es.send(&token_request(&body, &[]));
            assert_eq!(resp.status, 200);
            *es_rt.borrow_mut() = json_str(&resp, "refresh_token");
        });
    });

    // The same token each time: after the first request its signature is known
    // (worker/src/verified.rs), as for a client that calls /userinfo again.
    c.bench_function("userinfo (Bearer, a token verified before)", |b| {
        let req = HttpRequest::new("GET", "/userinfo")
            .with_header("authorization", &format!("Bearer {access}"));
        b.iter(|| {
            let resp = h.send(black_box(&req));
            assert_eq!(resp.status, 200);
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = grants
}
criterion_main!(benches);
